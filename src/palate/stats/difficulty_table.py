"""A pinned instruction-difficulty table, so that a model's LC win rate ignores the others.

Without a table, ``palate.stats.length_controlled`` fits the instruction difficulties γ_x on
the models in the dataset and, lacking AlpacaEval's recorded length-gamed baselines, labels
its synthetic baseline variants with the dataset's pooled slopes (φ, ψ): both move when another
model is imported. A table fixes both, as AlpacaEval fixes γ by downloading one computed in
2024 (``instruction_difficulty.csv``). Two file forms are read:

- JSON written by ``DifficultyTable.save`` (e.g. ``palate stats winrate
  --save-difficulty-table``): ``{"instruction_difficulty": {instruction: γ}, "length_slope": φ,
  "difficulty_slope": ψ, "source": ...}``; the slopes may be null.
- CSV with columns ``instruction`` and ``instruction_difficulty`` (AlpacaEval's file; other
  columns are ignored), which carries no slopes.

Without slopes, each model's synthetic baseline variants are labelled with the slopes of a fit
on that model's own judgements, so its figure still depends on its own data only.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from palate.errors import PalateError
from palate.io.atomic import write_atomic


@dataclass(frozen=True)
class DifficultyTable:
    """γ per instruction and, optionally, the slopes (φ, ψ) that label the synthetic variants."""

    gamma: dict[str, float]
    length_slope: float | None = None
    difficulty_slope: float | None = None
    source: str = ""

    @property
    def slopes(self) -> tuple[float, float] | None:
        """(φ, ψ) when the table pins them, else None."""
        if self.length_slope is None or self.difficulty_slope is None:
            return None
        return self.length_slope, self.difficulty_slope

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "length_slope": self.length_slope,
            "difficulty_slope": self.difficulty_slope,
            "instruction_difficulty": self.gamma,
        }

    def save(self, path: str | Path) -> None:
        """Write the JSON form atomically: a temporary file beside it, then a rename."""
        write_atomic(Path(path), json.dumps(self.to_json(), indent=1, ensure_ascii=False))


def _number(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PalateError(f"{where}: expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise PalateError(f"{where}: expected a finite number, got {value!r}")
    return number


def _read_json(path: Path) -> DifficultyTable:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PalateError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("instruction_difficulty"), dict):
        raise PalateError(f"{path}: expected an object with an 'instruction_difficulty' object")
    gamma = {
        str(x): _number(v, f"{path}: instruction_difficulty[{x!r}]")
        for x, v in doc["instruction_difficulty"].items()
    }
    slopes = [
        None if doc.get(key) is None else _number(doc[key], f"{path}: {key}")
        for key in ("length_slope", "difficulty_slope")
    ]
    return DifficultyTable(gamma, slopes[0], slopes[1], str(doc.get("source", path.name)))


def _read_csv(path: Path) -> DifficultyTable:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        for column in ("instruction", "instruction_difficulty"):
            if column not in fields:
                raise PalateError(f"{path}:1: missing column {column!r} (have {fields})")
        gamma: dict[str, float] = {}
        for row in reader:
            where = f"{path}:{reader.line_num}: instruction_difficulty"
            gamma[row["instruction"]] = _number(row["instruction_difficulty"], where)
    return DifficultyTable(gamma, source=path.name)


def load_difficulty_table(path: str | Path) -> DifficultyTable:
    """Read a table (JSON or CSV, by suffix); ``PalateError`` naming file, line and field."""
    p = Path(path)
    if not p.is_file():
        raise PalateError(f"{p}: no such difficulty table")
    table = _read_json(p) if p.suffix.lower() == ".json" else _read_csv(p)
    if not table.gamma:
        raise PalateError(f"{p}: the table lists no instructions")
    return table
