"""What an export could not carry into its target format, counted instead of lost silently."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
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
