"""Wrong logins, kept in the store so that every server process on it counts the same ones.

A row is one failure under one key (an account's or a client address's, as a SHA-256 hex so
rows have a fixed size whatever a client sends) at a wall-clock time in seconds. The studio's
throttle (``palate.studio.throttle``) decides the limits; this runs the SQL.

Checking the limits and counting an attempt are one transaction, serialised across processes
(SQLite's ``BEGIN IMMEDIATE``; a PostgreSQL advisory lock), so concurrent attempts cannot all
pass a check that only one of them should: the throttle counts an attempt at an account as a
failure before its password is checked, and uncounts it if the password was right.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    String,
    Table,
    delete,
    insert,
    or_,
    select,
    text,
)

from palate.store.tables import metadata

_PG_THROTTLE_LOCK = 0x7468726F74  # "throt": serialises checks of the limits on PostgreSQL

studio_login_failures = Table(
    "studio_login_failures",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("key", String(64), nullable=False),  # sha256 hex of "account:…" or "address:…"
    Column("at", Float, nullable=False),  # seconds since the epoch
)
Index("ix_studio_login_failures_key_at", studio_login_failures.c.key, studio_login_failures.c.at)
Index("ix_studio_login_failures_at", studio_login_failures.c.at)


def failure_key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


@dataclass(frozen=True)
class Reservation:
    row: int | None = field(metadata={"help": "the failure counted for the attempt"})
    wait_s: float | None = field(metadata={"help": "seconds until allowed, if refused"})


class LoginFailures:
    """The failure rows of one store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def reserve(
        self, limits: Sequence[tuple[str, int]], count: str, window_s: float, now: float
    ) -> Reservation:
        """Count one failure under the key ``count`` unless a key in ``limits`` already has its
        limit of failures in the window; then nothing is counted and ``wait_s`` says how long
        until one expires."""
        f = studio_login_failures.c
        waits = []
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_THROTTLE_LOCK})
            conn.execute(delete(studio_login_failures).where(f.at <= now - window_s))
            for key, limit in limits:
                # The limit-th most recent failure: once it expires, one more attempt is allowed.
                recent = select(f.at).where(f.key == key).order_by(f.at.desc())
                oldest = conn.execute(recent.offset(limit - 1).limit(1)).scalar()
                if oldest is not None:
                    waits.append(oldest + window_s - now)
            if waits:
                return Reservation(None, max(waits))
            new_id = conn.execute(
                insert(studio_login_failures).values(key=count, at=now).returning(f.id)
            ).scalar_one()
            return Reservation(int(new_id), None)

    def add(self, key: str, now: float) -> None:
        """Count one failure under ``key``."""
        with self.engine.begin() as conn:
            conn.execute(insert(studio_login_failures).values(key=key, at=now))

    def forget(self, row: int, key: str | None = None) -> None:
        """Delete the failure ``row``, and every failure under ``key`` when given."""
        f = studio_login_failures.c
        where = f.id == row if key is None else or_(f.id == row, f.key == key)
        with self.engine.begin() as conn:
            conn.execute(delete(studio_login_failures).where(where))
