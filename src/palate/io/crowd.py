"""Crowd labels in long form: a CSV with columns ``question,worker,answer``.

Each row becomes a Rating by a human worker; extra columns are kept in ``metadata``.
"""

from __future__ import annotations

from palate.io.readers import Row
from palate.io.rows import RowError, extra_fields
from palate.schema import Rating, Source

NAME = "crowd-csv"
COLUMNS = ("question", "worker", "answer")


def from_row(row: Row) -> Rating:
    for column in COLUMNS:
        if not row[column].strip():
            raise RowError("must not be empty", column)
    return Rating(
        item=row["question"],
        label=row["answer"],
        rater=Source(kind="human", name=row["worker"]),
        metadata=extra_fields(row, set(COLUMNS)),
    )
