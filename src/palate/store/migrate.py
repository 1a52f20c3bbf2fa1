"""Bringing a database to the current schema with Alembic, safely from several processes.

Opening a store whose schema is current is the common case and costs one query: Alembic
(a fifth of a second to import) is loaded only when there is something to upgrade.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x70616C617465  # "palate": serialises concurrent migrations on PostgreSQL
_REVISION = re.compile(r"^(down_revision|revision)\s*=\s*(?:None|[\"']([^\"']+)[\"'])", re.M)


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@cache
def head_revision() -> str | None:
    """The newest migration, from the ``revision``/``down_revision`` lines of the migration
    files (our migrations form one chain; a test checks this agrees with Alembic)."""
    revisions: set[str | None] = set()
    parents: set[str | None] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for name, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            (revisions if name == "revision" else parents).add(value or None)
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"migrations must form one chain; heads: {sorted(map(str, heads))}")
    return heads.pop()


def _stamped(conn: Connection) -> str | None:
    """The revision the database is at, read without Alembic (None: not stamped)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return rows[0] if len(rows) == 1 else None


def _current(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Apply pending migrations; one cheap read when the schema is already current.

    The check runs without the write lock, so opening a store never waits for another
    process's long import; only a real upgrade takes the lock and checks again under it.
    """
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        if _stamped(conn) == head_revision():
            return
    # Alembic and the migration scripts are loaded before the write lock is taken: on a busy
    # machine that import takes seconds, and another process opening a new store waits on it.
    from alembic import command
    from alembic.script import ScriptDirectory

    ScriptDirectory.from_config(_config()).get_current_head()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        if _current(conn) != head_revision():
            command.upgrade(_config(conn), "head")
        conn.commit()
