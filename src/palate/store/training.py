"""Reads for building training sets: scored comparisons, streamed in batches.

Training sets are built from millions of stored comparisons, so this goes through the
database driver's cursor directly (SQLAlchemy's row objects cost as much as the rest of
the build) and filters judge and dimension in SQL, where the columns already are.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import func, select

from palate.store.store import BATCH_SIZE, Store
from palate.store.tables import records


def count_unscored(store: Store, dataset: str) -> int:
    """Comparisons in the dataset that carry no judgement (left out of every training set)."""
    with store.engine.connect() as conn:
        dataset_id = store.dataset_id(conn, dataset)
        query = (
            select(func.count())
            .where(records.c.dataset_id == dataset_id)
            .where(records.c.kind == "comparison")
            .where(records.c.unscored.is_(True))
        )
        return int(conn.execute(query).scalar_one())


ComparisonRow = tuple[str | None, str | None, str | None, float, str | None, str | None]
"""(prompt text, text of responses[0], of responses[1], outcome for responses[0],
dimension, body): the texts when the record is a plain text pair (then body is None, not
read), else the canonical JSON body (then the texts are None)."""


def comparison_rows(
    store: Store,
    dataset: str,
    *,
    judged_by: Sequence[str] | None = None,
    dimensions: Sequence[str] | None = None,
) -> Iterator[list[ComparisonRow]]:
    """The scored comparisons, in id order, in batches: texts from their columns where the
    record has them, else the JSON body to decode.

    ``judged_by`` keeps only those source names; ``dimensions`` only those rubric dimensions.
    """
    with store.engine.connect() as conn:
        dataset_id = store.dataset_id(conn, dataset)
        mark = "%s" if store.backend == "postgresql" else "?"
        where = [f"dataset_id = {mark}", "kind = 'comparison'", "NOT unscored"]
        params: list[object] = [dataset_id]
        for column, values in (("source_name", judged_by), ("dimension", dimensions)):
            if values is not None:
                where.append(f"{column} IN ({', '.join(mark for _ in values)})")
                params.extend(values)
        sql = (
            "SELECT prompt_text, text_a, text_b, outcome, dimension, "
            "CASE WHEN text_b IS NULL THEN body END "
            f"FROM records WHERE {' AND '.join(where)} ORDER BY id"
        )
        driver = conn.connection.driver_connection
        assert driver is not None
        # A named (server-side) cursor streams on PostgreSQL; SQLite cursors always stream.
        cursor = (
            driver.cursor(name="palate_training_bodies")
            if store.backend == "postgresql"
            else driver.cursor()
        )
        try:
            cursor.execute(sql, params)
            while batch := cursor.fetchmany(BATCH_SIZE):
                yield batch
        finally:
            cursor.close()
