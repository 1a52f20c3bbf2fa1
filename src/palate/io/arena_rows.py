"""Store rows for Arena battles read from JSON, built without the pydantic models.

Importing a battle the general way validates a ``Comparison``, dumps it back to plain data
and reads its fields into a ``records`` row: about as much work as inserting the row, all
to build objects that are thrown away. A battle that passes ``arena.from_row``'s checks
(two non-blank model names, a known winner, a question id) always becomes the same small
record, so its canonical JSON and row can be written down directly; the model's own
validators cannot fail on it (two responses, one consistent outcome).

That holds only for rows parsed from JSON (only plain JSON values in ``metadata``), so the
importer uses this for the ``arena`` format, whose rows always are (JSON Lines or a JSON
array; battles in parquet files come through the ``hf`` format). Any row this does not
build (``None``) goes the general way, which reports the problem or builds it. Tests check
that both ways give the same row, byte for byte, on awkward battles.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from palate.io.arena import KNOWN, WINNERS
from palate.io.readers import Row
from palate.schema import Source

# (score for the first response, winner, tie) columns of each winner
_OUTCOME_COLUMNS: dict[str, tuple[float, int | None, bool]] = {
    "model_a": (1.0, 0, False),
    "model_b": (0.0, 1, False),
    "tie": (0.5, None, True),
    "tie (bothbad)": (0.5, None, True),
}


class BattleRows:
    """Builds the ``records`` row (as ``record_values`` does) of a battle parsed from JSON."""

    def __init__(self, judged_by: Source) -> None:
        # The judge is the same on every row: dump it once, as ``record_dict`` would.
        self._judge = judged_by.model_dump(mode="json", exclude_defaults=True)
        self._judge_kind = judged_by.kind
        self._judge_name = judged_by.name

    def __call__(self, row: Row) -> tuple[Any, ...] | None:
        """The row, or None where the general way must decide (bad or unusual rows)."""
        model_a, model_b, winner = row.get("model_a"), row.get("model_b"), row.get("winner")
        question = row.get("question_id")
        if not (
            isinstance(model_a, str)
            and isinstance(model_b, str)
            and isinstance(winner, str)
            and winner in WINNERS
            and question is not None
            and model_a.strip()
            and model_b.strip()
        ):
            return None
        prompt_key = str(question)
        data: dict[str, Any] = {
            "kind": "comparison",
            "prompt": {"id": prompt_key},
            "responses": [{"model": model_a}, {"model": model_b}],
            "judge": self._judge,
            **WINNERS[winner],
        }
        metadata = {k: v for k, v in row.items() if k not in KNOWN}
        if metadata:  # an empty one is the default, which canonical JSON leaves out
            data["metadata"] = metadata
        try:
            encoded = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits from a JSON array file
            return None
        score, winner_index, tie = _OUTCOME_COLUMNS[winner]
        # In RECORD_COLUMNS order, the columns ``record_values`` fills for such a comparison.
        return (
            hashlib.sha256(encoded).hexdigest(),
            "comparison",
            prompt_key,
            model_a,
            model_b,
            None,
            None,
            score,
            winner_index,
            tie,
            None,
            None,
            self._judge_kind,
            self._judge_name,
            None,
            False,
            None,
            None,
            None,
            encoded.decode(),
        )
