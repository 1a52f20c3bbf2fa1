"""Creating engines that behave the same on SQLite and PostgreSQL.

SQLite needs help to be a good multi-process store: WAL so readers never block, a busy
timeout so a second importer waits a while instead of failing at once, and transactions that
take the write lock up front (``BEGIN IMMEDIATE``) so two writers cannot deadlock upgrading
read locks. A wait that runs out becomes a one-line error naming the processes that hold the
database open (``explain_database_error``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from palate.errors import PalateError

BUSY_TIMEOUT_ENV = "PALATE_SQLITE_BUSY_TIMEOUT_S"
DEFAULT_BUSY_TIMEOUT_S = 30.0


def busy_timeout_s() -> float:
    """How long a SQLite writer waits for another one's lock: ``$PALATE_SQLITE_BUSY_TIMEOUT_S``,
    else 30 s."""
    raw = os.environ.get(BUSY_TIMEOUT_ENV)
    if not raw:
        return DEFAULT_BUSY_TIMEOUT_S
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise PalateError(f"${BUSY_TIMEOUT_ENV} must be a number of seconds >= 0, not {raw!r}")
    return seconds


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def lock_holders(path: Path) -> list[str]:
    """Other processes that have the SQLite file (or its WAL) open, as 'pid N (command)'.

    Read from /proc, so Linux only; elsewhere, or without permission, the list is empty."""
    targets = {str(path.resolve()), str(path.resolve()) + "-wal"}
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        if proc.name == str(os.getpid()):
            continue
        try:
            if any(os.readlink(fd) in targets for fd in (proc / "fd").iterdir()):
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                found.append(f"pid {proc.name} ({command[:80]})")
        except OSError:  # gone, or not ours to look at
            continue
    return found


def explain_database_error(exc: DBAPIError, url: str) -> PalateError:
    """A database driver's error as one line that says what to do."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    where = make_url(url).render_as_string(hide_password=True)
    path = sqlite_path(url)
    if path is not None and "locked" in reason:
        holders = lock_holders(path)
        who = f" by {', '.join(holders)}" if holders else " by another process"
        return PalateError(
            f"store {path} is locked{who}; gave up after {busy_timeout_s():g} s "
            f"(wait for it to finish, or set ${BUSY_TIMEOUT_ENV} to wait longer)"
        )
    if path is not None and "readonly" in reason.replace("read-only", "readonly"):
        return PalateError(
            f"store {path} is read-only: palate needs to write to the file and its folder "
            "(check their permissions)"
        )
    return PalateError(f"database error on {where}: {reason}")


def normalise_url(url: str) -> str:
    """Accept the URLs people type; pick psycopg 3 for PostgreSQL."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with a long message
        raise PalateError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend not in ("postgresql", "sqlite"):
        raise PalateError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        timeout = busy_timeout_s()
        engine = create_engine(url, connect_args={"timeout": timeout})
        _configure_sqlite(engine, round(timeout * 1000))
        return engine
    return create_engine(url, pool_pre_ping=True)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (pysqlite's implicit transactions get this wrong).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")
