"""What an export could not carry into its target format, counted instead of lost silently."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from palate.schema import Comparison, Rating


@dataclass
class ExportReport:
    format: str
    path: str
    written: int = 0
    dropped: Counter[str] = field(default_factory=Counter)  # whole records left out, by reason
    lost: Counter[str] = field(default_factory=Counter)  # fields left out of written records

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "path": self.path,
            "written": self.written,
            "dropped": dict(sorted(self.dropped.items())),
            "lost": dict(sorted(self.lost.items())),
        }


def comparison_rows(
    records: Iterable[Comparison | Rating],
    to_row: Callable[[Comparison, ExportReport], dict[str, Any] | None],
    report: ExportReport,
) -> Iterator[dict[str, Any]]:
    """Rows of a pairwise format; ratings and records ``to_row`` refuses are counted, not lost."""
    for record in records:
        if isinstance(record, Rating):
            report.dropped["rating (not a comparison)"] += 1
            continue
        row = to_row(record, report)
        if row is not None:
            report.written += 1
            yield row


def export_jsonl(
    name: str,
    records: Iterable[Comparison | Rating],
    to_row: Callable[[Comparison, ExportReport], dict[str, Any] | None],
    out: Path,
) -> ExportReport:
    """Write a pairwise JSON-lines format (TRL, OpenRLHF, open-instruct), one row a record."""
    report = ExportReport(format=name, path=str(out))
    with out.open("w", encoding="utf-8", newline="\n") as f:
        for row in comparison_rows(records, to_row, report):
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return report
