"""AlpacaEval annotations: a JSON array (optionally gzipped) of judged pairs.

Fields (alpaca_eval's annotation files): ``instruction``, ``output_1``/``generator_1`` (the
baseline), ``output_2``/``generator_2`` (the model), ``annotator`` and ``preference`` in [1, 2]
(1 = output_1 preferred, 2 = output_2; a missing preference is no judgement and is kept as
*unscored*). Every other field is kept in ``metadata`` and written back on export.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from palate.io.readers import Row
from palate.io.report import ExportReport, comparison_rows
from palate.io.rows import RowError, extra_fields, optional_float, require_str
from palate.schema import Comparison, Prompt, Rating, Response, Source, Unscored
from palate.schema.outcome import strength_outcome

NAME = "alpacaeval"
KNOWN = {"instruction", "output_1", "generator_1", "output_2", "generator_2", "annotator",
         "preference"}  # fmt: skip


def looks_like(row: Row) -> bool:
    return {"instruction", "output_1", "output_2"} <= row.keys()


def from_row(row: Row, judged_by: Source) -> Comparison:
    preference = optional_float(row, "preference")
    if preference is not None and not 1.0 <= preference <= 2.0:
        raise RowError(f"preference {preference} is outside [1, 2]", "preference")
    annotator = row.get("annotator")
    if annotator is not None and not isinstance(annotator, str):
        raise RowError("expected text", "annotator")
    judge = Source(kind="judge", name=annotator) if annotator else judged_by
    outcome: dict[str, Any] = (
        {"unscored": Unscored(reason="no preference given")}
        if preference is None
        else strength_outcome(preference)
    )
    return Comparison(
        prompt=Prompt(text=require_str(row, "instruction")),
        responses=[
            Response(model=require_str(row, "generator_1"), text=require_str(row, "output_1")),
            Response(model=require_str(row, "generator_2"), text=require_str(row, "output_2")),
        ],
        judge=judge,
        metadata=extra_fields(row, KNOWN),
        **outcome,
    )


def to_row(record: Comparison, report: ExportReport) -> dict[str, Any] | None:
    """The annotation dict for a pairwise comparison, or None (counted) if it has no place."""
    if len(record.responses) != 2:
        report.dropped["more than two responses"] += 1
        return None
    first, second = record.responses
    if record.strength is not None:
        preference: float | None = record.strength
    elif record.unscored is not None:
        preference = None
    else:
        score = record.score_for_first()
        preference = None if score is None else 2.0 - score
    if record.rationale:
        report.lost["rationale"] += 1
    if record.error_tags:
        report.lost["error_tags"] += 1
    if record.both_bad:
        report.lost["both_bad"] += 1
    if record.unscored is not None:
        report.lost["unscored reason"] += 1
    return {
        "instruction": record.prompt.text if record.prompt.text is not None else record.prompt.key,
        "output_1": first.text,
        "generator_1": first.model,
        "output_2": second.text,
        "generator_2": second.model,
        "annotator": record.judge.name,
        "preference": preference,
        **record.metadata,
    }


def export(records: Iterable[Comparison | Rating], out: Path) -> ExportReport:
    report = ExportReport(format=NAME, path=str(out))
    rows = list(comparison_rows(records, to_row, report))
    out.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return report
