"""Small helpers for turning a source row (a dict) into canonical fields, with field errors."""

from __future__ import annotations

import math
from typing import Any

from palate.io.readers import Row


class RowError(ValueError):
    """A problem with one field of one row; the importer adds file and line."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def require_str(row: Row, key: str, *, allow_empty: bool = True) -> str:
    if key not in row or row[key] is None:
        raise RowError("missing field", key)
    value = row[key]
    if not isinstance(value, str):
        raise RowError(f"expected text, got {type(value).__name__}", key)
    if not allow_empty and not value.strip():
        raise RowError("must not be empty", key)
    return value


def optional_float(row: Row, key: str) -> float | None:
    """A number, or None for a missing/null/NaN value (which sources use for 'no judgement')."""
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RowError(f"expected a number, got {type(value).__name__}", key)
    value = float(value)
    return None if math.isnan(value) else value


def extra_fields(row: Row, known: set[str]) -> dict[str, Any]:
    """Fields the canonical record has no place for, kept verbatim as metadata."""
    return {k: v for k, v in row.items() if k not in known}
