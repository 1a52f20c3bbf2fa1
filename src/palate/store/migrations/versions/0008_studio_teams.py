"""Studio for expert teams: task kinds, qualification, revision windows, reviews,
adjudications, gold explanations and AI-judge assistance; wrong logins counted in the store
(shared by every server process).

Every new column is nullable or has a default, so existing projects read as before
(pairwise, no qualification, no revision).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("studio_projects") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(16), nullable=False, server_default="pairwise")
        )
        batch.add_column(sa.Column("pass_mark", sa.Float))
        batch.add_column(sa.Column("revise_s", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("studio_tasks") as batch:
        batch.add_column(sa.Column("explanation", sa.Text))
        batch.add_column(sa.Column("assist", sa.Text))
    with op.batch_alter_table("studio_assignments") as batch:
        batch.add_column(sa.Column("shown", sa.Text))
    with op.batch_alter_table("studio_submissions") as batch:
        batch.alter_column("strength", existing_type=sa.Float, nullable=True)
        batch.add_column(sa.Column("ranking", sa.Text))
        batch.add_column(sa.Column("revised_at", _TIME))
        batch.add_column(sa.Column("review", sa.String(16)))
        batch.add_column(sa.Column("review_reason", sa.Text))
        batch.add_column(
            sa.Column(
                "reviewed_by",
                sa.Integer,
                sa.ForeignKey("studio_users.id", name="fk_studio_submissions_reviewed_by"),
            )
        )
        batch.add_column(sa.Column("reviewed_at", _TIME))
    op.create_table(
        "studio_adjudications",
        sa.Column("task_id", sa.BigInteger, sa.ForeignKey("studio_tasks.id"), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("studio_users.id"), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("rationale", sa.Text, nullable=False),
        sa.Column("submissions", sa.Text, nullable=False),
        sa.Column("decided_at", _TIME, nullable=False),
    )
    op.create_table(
        "studio_login_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_studio_login_failures_key", "studio_login_failures", ["key", "at"])
    op.create_index("ix_studio_login_failures_at", "studio_login_failures", ["at"])


def downgrade() -> None:
    op.drop_index("ix_studio_login_failures_at", table_name="studio_login_failures")
    op.drop_index("ix_studio_login_failures_key", table_name="studio_login_failures")
    op.drop_table("studio_login_failures")
    op.drop_table("studio_adjudications")
    with op.batch_alter_table("studio_submissions") as batch:
        batch.drop_constraint("fk_studio_submissions_reviewed_by", type_="foreignkey")
        for name in ("reviewed_at", "reviewed_by", "review_reason", "review", "revised_at"):
            batch.drop_column(name)
        batch.drop_column("ranking")
        batch.alter_column("strength", existing_type=sa.Float, nullable=False)
    with op.batch_alter_table("studio_assignments") as batch:
        batch.drop_column("shown")
    with op.batch_alter_table("studio_tasks") as batch:
        batch.drop_column("assist")
        batch.drop_column("explanation")
    with op.batch_alter_table("studio_projects") as batch:
        batch.drop_column("revise_s")
        batch.drop_column("pass_mark")
        batch.drop_column("kind")
