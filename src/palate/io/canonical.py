"""Palate's own JSON Lines format: one canonical record a line, lossless.

Export writes each record's canonical JSON (sorted keys, no spaces), so export → import →
export is byte-identical.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from palate.io.readers import Row
from palate.io.report import ExportReport
from palate.io.rows import RowError
from palate.schema import Comparison, Rating, record_adapter

NAME = "jsonl"


def looks_like(row: Row) -> bool:
    return row.get("kind") in ("comparison", "rating")


def from_row(row: Row) -> Comparison | Rating:
    if row.get("kind") not in ("comparison", "rating"):
        raise RowError("expected 'comparison' or 'rating'", "kind")
    return record_adapter.validate_python(row)


def export(bodies: Iterable[str], out: Path) -> ExportReport:
    report = ExportReport(format=NAME, path=str(out))
    with out.open("w", encoding="utf-8", newline="\n") as f:
        for body in bodies:
            f.write(body)
            f.write("\n")
            report.written += 1
    return report
