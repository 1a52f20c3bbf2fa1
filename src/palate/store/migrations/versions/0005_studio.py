"""Studio: users, projects, tasks, assignments, drafts, submissions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "studio_users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
    )
    op.create_table(
        "studio_projects",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("gold_dataset", sa.String(200)),
        sa.Column("rubric", sa.String(64)),
        sa.Column("overlap", sa.Integer, nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("studio_users.id"), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
    )
    op.create_table(
        "studio_tasks",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("studio_projects.id"), nullable=False),
        sa.Column("item", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("gold", sa.String(8)),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
    )
    op.create_index("ix_studio_tasks_project", "studio_tasks", ["project_id"])
    op.create_table(
        "studio_assignments",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("task_id", sa.BigInteger, sa.ForeignKey("studio_tasks.id"), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("studio_users.id"), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("swap", sa.Boolean, nullable=False),
        sa.Column("opened_at", _TIME),
        sa.Column("done", sa.Boolean, nullable=False),
        sa.UniqueConstraint("task_id", "user_id", name="uq_studio_assignment_task_user"),
    )
    op.create_index(
        "ix_studio_assignments_queue", "studio_assignments", ["user_id", "done", "position"]
    )
    op.create_table(
        "studio_drafts",
        sa.Column(
            "assignment_id",
            sa.BigInteger,
            sa.ForeignKey("studio_assignments.id"),
            primary_key=True,
        ),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("active_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
    )
    op.create_table(
        "studio_submissions",
        sa.Column("id", _ID, primary_key=True),
        sa.Column(
            "assignment_id", sa.BigInteger, sa.ForeignKey("studio_assignments.id"), nullable=False
        ),
        sa.Column("task_id", sa.BigInteger, sa.ForeignKey("studio_tasks.id"), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("studio_users.id"), nullable=False),
        sa.Column("winner", sa.SmallInteger),
        sa.Column("tie", sa.Boolean, nullable=False),
        sa.Column("strength", sa.Float, nullable=False),
        sa.Column("scores", sa.Text, nullable=False),
        sa.Column("critique", sa.Text, nullable=False),
        sa.Column("error_tags", sa.Text, nullable=False),
        sa.Column("time_spent_s", sa.Float, nullable=False),
        sa.Column("submitted_at", _TIME, nullable=False),
        sa.UniqueConstraint("assignment_id", name="uq_studio_submission_assignment"),
    )
    op.create_index("ix_studio_submissions_task", "studio_submissions", ["task_id"])


def downgrade() -> None:
    op.drop_index("ix_studio_submissions_task", table_name="studio_submissions")
    op.drop_table("studio_submissions")
    op.drop_table("studio_drafts")
    op.drop_index("ix_studio_assignments_queue", table_name="studio_assignments")
    op.drop_table("studio_assignments")
    op.drop_index("ix_studio_tasks_project", table_name="studio_tasks")
    op.drop_table("studio_tasks")
    op.drop_table("studio_projects")
    op.drop_table("studio_users")
