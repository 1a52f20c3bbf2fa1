"""Judge call cache (resume without repeating calls).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "judge_calls",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("judge", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index("ix_judge_calls_judge", "judge_calls", ["judge"])


def downgrade() -> None:
    op.drop_index("ix_judge_calls_judge", table_name="judge_calls")
    op.drop_table("judge_calls")
