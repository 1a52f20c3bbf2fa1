"""Telling formats apart: by file type first, then by the fields of the first row."""

from __future__ import annotations

from pathlib import Path

from palate.errors import InputError
from palate.io import alpacaeval, arena, canonical, hf, trl
from palate.io.readers import Row, iter_json


def row_format(row: Row) -> str | None:
    """The format whose rows look like this one, or None."""
    if canonical.looks_like(row):
        return canonical.NAME
    if alpacaeval.looks_like(row):
        return alpacaeval.NAME
    if arena.looks_like(row):
        return arena.NAME
    if trl.looks_like(row):
        return trl.NAME
    return None


def detect(path: Path) -> str:
    """Guess the format of ``path``; raise an InputError saying what was seen if unsure."""
    if not path.exists():
        raise InputError("file not found", file=str(path))
    name = path.name.lower()
    if path.is_dir() or name.endswith(".parquet"):
        return hf.NAME
    if name.endswith((".csv", ".csv.gz")):
        return "crowd-csv"
    for _source, line, row in iter_json(path):
        found = row_format(row)
        if found is None:
            fields = ", ".join(sorted(row)[:8])
            raise InputError(
                f"cannot tell the format from fields ({fields}); pass --format",
                file=str(path),
                line=line,
            )
        return found
    raise InputError("no records in file", file=str(path))  # pragma: no cover (readers raise)
