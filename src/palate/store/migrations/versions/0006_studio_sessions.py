"""Studio hardening: server-side sessions, disabled accounts, case-insensitive names, settings,
and tasks a rater skipped or flagged with a reason.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("studio_users") as batch:
        batch.add_column(
            sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("name_key", sa.String(100)))
    users = sa.table(
        "studio_users", sa.column("id", sa.Integer), sa.column("name"), sa.column("name_key")
    )
    conn = op.get_bind()
    for user_id, name in conn.execute(sa.select(users.c.id, users.c.name)).all():
        key = unicodedata.normalize("NFKC", name).casefold()
        conn.execute(sa.update(users).where(users.c.id == user_id).values(name_key=key))
    with op.batch_alter_table("studio_users") as batch:
        batch.alter_column("name_key", existing_type=sa.String(100), nullable=False)
        batch.create_unique_constraint("uq_studio_users_name_key", ["name_key"])
    op.create_table(
        "studio_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("studio_users.id"), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
    )
    op.create_index("ix_studio_sessions_user", "studio_sessions", ["user_id"])
    op.create_table(
        "studio_settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "studio_skips",
        sa.Column(
            "assignment_id",
            sa.BigInteger,
            sa.ForeignKey("studio_assignments.id"),
            primary_key=True,
        ),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("skipped_at", _TIME, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("studio_skips")
    op.drop_table("studio_settings")
    op.drop_index("ix_studio_sessions_user", table_name="studio_sessions")
    op.drop_table("studio_sessions")
    with op.batch_alter_table("studio_users") as batch:
        batch.drop_constraint("uq_studio_users_name_key", type_="unique")
        batch.drop_column("name_key")
        batch.drop_column("disabled")
