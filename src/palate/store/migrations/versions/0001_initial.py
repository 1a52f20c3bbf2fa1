"""Datasets and canonical records.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id"), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("item", sa.Text, nullable=False),
        sa.Column("model_a", sa.Text),
        sa.Column("model_b", sa.Text),
        sa.Column("length_a", sa.Integer),
        sa.Column("length_b", sa.Integer),
        sa.Column("outcome", sa.Float),
        sa.Column("winner", sa.SmallInteger),
        sa.Column("tie", sa.Boolean, nullable=False),
        sa.Column("label", sa.Text),
        sa.Column("score", sa.Float),
        sa.Column("source_kind", sa.String(16), nullable=False),
        sa.Column("source_name", sa.Text, nullable=False),
        sa.Column("dimension", sa.Text),
        sa.Column("unscored", sa.Boolean, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.UniqueConstraint("dataset_id", "hash", name="uq_records_dataset_hash"),
    )
    op.create_index("ix_records_dataset_id_id", "records", ["dataset_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_records_dataset_id_id", table_name="records")
    op.drop_table("records")
    op.drop_table("datasets")
