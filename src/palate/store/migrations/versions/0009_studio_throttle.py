"""Wrong logins in the store, so that every studio server process counts the same ones.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "studio_login_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_studio_login_failures_key_at", "studio_login_failures", ["key", "at"])
    op.create_index("ix_studio_login_failures_at", "studio_login_failures", ["at"])


def downgrade() -> None:
    op.drop_index("ix_studio_login_failures_at", table_name="studio_login_failures")
    op.drop_index("ix_studio_login_failures_key_at", table_name="studio_login_failures")
    op.drop_table("studio_login_failures")
