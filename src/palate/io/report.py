"""What an export could not carry into its target format, counted instead of lost silently."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


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
