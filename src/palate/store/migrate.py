"""Bringing a database to the current schema with Alembic, safely from several processes."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x70616C617465  # "palate": serialises concurrent migrations on PostgreSQL


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def _current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Apply pending migrations; one cheap read when the schema is already current.

    The check runs without the write lock, so opening a store never waits for another
    process's long import; only a real upgrade takes the lock and checks again under it.
    """
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        if _current(conn) == head_revision():
            return
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        if _current(conn) != head_revision():
            command.upgrade(_config(conn), "head")
        conn.commit()
