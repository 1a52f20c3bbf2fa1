"""What the service host gives us to store data: SQL in, rows out.

The host owns the SQLite file; we only send statements with ``?`` parameters. Each statement
commits on its own unless we send BEGIN ... COMMIT ourselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

Value = str | int | float | None


class DatabaseError(Exception):
    """A statement the database refused (syntax, constraint, interrupted)."""


@dataclass(frozen=True)
class Result:
    rows: list[tuple[Value, ...]]
    lastrowid: int | None
    rowcount: int

    def one(self) -> tuple[Value, ...] | None:
        return self.rows[0] if self.rows else None


class Database(Protocol):
    def execute(self, sql: str, params: tuple[Value, ...] | list[Value] = ()) -> Result: ...
