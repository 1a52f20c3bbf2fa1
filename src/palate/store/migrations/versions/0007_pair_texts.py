"""Prompt and response texts of plain pairwise comparisons as columns, backfilled.

Training sets read these instead of decoding every record's JSON body; the body stays the
source of truth, and the backfill derives the columns from it with the same function that
fills them on import (so ``ledger verify`` re-derives the same values).

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-04
"""

import orjson
import sqlalchemy as sa
from alembic import op

from palate.store.tables import pair_texts

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_COLUMNS = ("prompt_text", "text_a", "text_b")
_BATCH = 10_000


def upgrade() -> None:
    with op.batch_alter_table("records") as batch:
        for name in _COLUMNS:
            batch.add_column(sa.Column(name, sa.Text, nullable=True))
    conn = op.get_bind()
    records = sa.table("records", sa.column("id"), sa.column("kind"), sa.column("body"),
                       *(sa.column(c) for c in _COLUMNS))  # fmt: skip
    update = (
        records.update()
        .where(records.c.id == sa.bindparam("row_id"))
        .values({c: sa.bindparam(f"new_{c}") for c in _COLUMNS})
    )
    last = 0
    while True:  # in id order, a batch at a time, so memory stays flat
        batch_rows = conn.execute(
            sa.select(records.c.id, records.c.body)
            .where(records.c.kind == "comparison", records.c.id > last)
            .order_by(records.c.id)
            .limit(_BATCH)
        ).all()
        if not batch_rows:
            return
        changes = []
        for row_id, body in batch_rows:
            texts = pair_texts(orjson.loads(body))
            if texts[2] is not None:
                changes.append(
                    {
                        "row_id": row_id,
                        **{f"new_{c}": t for c, t in zip(_COLUMNS, texts, strict=True)},
                    }
                )
        if changes:
            conn.execute(update, changes)
        last = batch_rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("records") as batch:
        for name in _COLUMNS:
            batch.drop_column(name)
