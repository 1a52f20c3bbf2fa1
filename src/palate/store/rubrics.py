"""Queries of the rubrics table (palate.rubric decides what a rubric is; this runs the SQL).

Rows are keyed by version, the hash of the canonical body, so saving the same rubric twice is
a no-op and a stored body can always be re-hashed to check it (the ledger does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from palate.errors import PalateError
from palate.schema.rubric import Rubric, rubric_canonical_bytes, rubric_version
from palate.store.rubric_tables import rubrics
from palate.store.store import Store

_HEX = re.compile(r"[0-9a-f]{1,64}")


@dataclass(frozen=True)
class RubricInfo:
    """One stored rubric version, for listings."""

    version: str = field(metadata={"help": "sha256 hex of the canonical JSON"})
    name: str = field(metadata={"help": "the rubric's name"})
    created_at: datetime = field(metadata={"help": "when it was first stored"})


def save_rubric(store: Store, rubric: Rubric, source_text: str | None = None) -> str:
    """Store a rubric version (and the file it came from); return its version. Idempotent:
    a version already stored keeps its first source text and timestamp."""
    version = rubric_version(rubric)
    values = {
        "version": version,
        "name": rubric.name,
        "body": rubric_canonical_bytes(rubric).decode(),
        "source": source_text,
    }
    insert = pg_insert if store.backend == "postgresql" else sqlite_insert
    with store.engine.begin() as conn:
        conn.execute(insert(rubrics).values(**values).on_conflict_do_nothing())
    return version


def rubric_body(store: Store, version: str) -> bytes | None:
    """The stored canonical JSON of ``version`` (the exact bytes hashed), or None."""
    with store.engine.connect() as conn:
        body = conn.execute(
            select(rubrics.c.body).where(rubrics.c.version == version)
        ).scalar_one_or_none()
    return None if body is None else str(body).encode()


def rubric_source(store: Store, version: str) -> str | None:
    """The rubric file as its author wrote it, when it was saved with one."""
    with store.engine.connect() as conn:
        return conn.execute(
            select(rubrics.c.source).where(rubrics.c.version == version)
        ).scalar_one_or_none()


def resolve_version(store: Store, version_or_prefix: str) -> str:
    """The one stored version starting with ``version_or_prefix``; PalateError otherwise."""
    prefix = version_or_prefix.strip().lower()
    if not _HEX.fullmatch(prefix):
        raise PalateError(f"'{version_or_prefix}' is not a rubric version (hexadecimal)")
    with store.engine.connect() as conn:
        found = list(
            conn.execute(
                select(rubrics.c.version).where(rubrics.c.version.startswith(prefix)).limit(2)
            ).scalars()
        )
    if not found:
        raise PalateError(f"no stored rubric version starts with '{prefix}'")
    if len(found) > 1:
        raise PalateError(f"rubric version prefix '{prefix}' is ambiguous; give more digits")
    return str(found[0])


def load_rubric_version(store: Store, version_or_prefix: str) -> Rubric:
    """The stored rubric of a version or unique prefix; PalateError if unknown or ambiguous."""
    version = resolve_version(store, version_or_prefix)
    body = rubric_body(store, version)
    assert body is not None
    return Rubric.model_validate(orjson.loads(body))


def list_rubrics(store: Store) -> list[RubricInfo]:
    """Every stored version, oldest first."""
    query = select(rubrics.c.version, rubrics.c.name, rubrics.c.created_at).order_by(
        rubrics.c.created_at, rubrics.c.name, rubrics.c.version
    )
    with store.engine.connect() as conn:
        return [RubricInfo(str(v), str(n), c) for v, n, c in conn.execute(query)]
