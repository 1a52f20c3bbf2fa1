"""Errors that are the user's to fix, shown as one line without a stack trace.

Anything that is not a ``PalateError`` is a bug in palate and keeps its traceback.
"""

from __future__ import annotations

from typing import Any


class PalateError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class InputError(PalateError):
    """Bad input, located as precisely as we can: file, line and field."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.reason = message
        where = []
        if file is not None:
            where.append(str(file))
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)

    def __reduce__(self) -> tuple[Any, ...]:  # keep file, line and field across processes
        return (_input_error, (type(self), self.reason, self.file, self.line, self.field))


def _input_error(
    cls: type[InputError], message: str, file: str | None, line: int | None, field: str | None
) -> InputError:
    return cls(message, file=file, line=line, field=field)


class StatsError(PalateError):
    """Data on which a statistic is undefined (e.g. a disconnected comparison graph)."""
