"""Chatbot Arena battles: JSON Lines (optionally gzipped), one battle a line.

Fields: ``model_a``, ``model_b``, ``winner`` (``model_a``, ``model_b``, ``tie`` or
``tie (bothbad)``), ``question_id``; others (``num``, ``judge``, ``turn``, conversations, ...)
are kept in ``metadata``. Battles name models and questions but usually carry no text.
"""

from __future__ import annotations

from palate.io.readers import Row
from palate.io.rows import RowError, extra_fields, require_str
from palate.schema import Comparison, Source

NAME = "arena"
KNOWN = {"model_a", "model_b", "winner", "question_id"}
WINNERS: dict[str, dict[str, int | bool]] = {
    "model_a": {"winner": 0},
    "model_b": {"winner": 1},
    "tie": {"tie": True},
    "tie (bothbad)": {"tie": True, "both_bad": True},
}


def looks_like(row: Row) -> bool:
    return {"model_a", "model_b", "winner"} <= row.keys()


def from_row(row: Row, judged_by: Source) -> Comparison:
    model_a = require_str(row, "model_a", allow_empty=False)
    model_b = require_str(row, "model_b", allow_empty=False)
    winner = require_str(row, "winner")
    if winner not in WINNERS:
        raise RowError(
            f"unknown winner {winner!r} (expected one of: {', '.join(WINNERS)})", "winner"
        )
    question = row.get("question_id")
    if question is None:
        raise RowError("missing field", "question_id")
    # One validation of plain data is several times faster than building nested models.
    return Comparison.model_validate(
        {
            "prompt": {"id": str(question)},
            "responses": [{"model": model_a}, {"model": model_b}],
            "judge": judged_by,
            "metadata": extra_fields(row, KNOWN),
            **WINNERS[winner],
        }
    )
