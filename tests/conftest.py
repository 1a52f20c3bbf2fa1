"""Shared fixtures: the shared data, and a store on each backend.

Every store test runs on SQLite and on the PostgreSQL server at 127.0.0.1:5432 (database
``test``), each test in a schema of its own that is dropped afterwards. Under ``CI=true`` a
missing PostgreSQL fails the run; on a user's machine those tests skip, saying why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("PALATE_SHARED_DATA", ROOT.parent / "shared" / "data"))
PG_SERVER = os.environ.get("PALATE_TEST_PG", "postgresql+psycopg://127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "alpacaeval").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared data missing at {SHARED_DATA}")
        pytest.skip(f"shared data not found at {SHARED_DATA} (set PALATE_SHARED_DATA)")
    return SHARED_DATA


def _postgres_reachable() -> str | None:
    try:
        with create_engine(PG_SERVER).connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # any failure to connect means "not reachable"
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def postgres_server() -> str:
    problem = _postgres_reachable()
    if problem is not None:
        message = f"PostgreSQL at {PG_SERVER} is not reachable: {problem}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return PG_SERVER


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh schema on the test server, as a URL whose search_path points at it."""
    schema = f"palate_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(postgres_server)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{postgres_server}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for an empty store, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'palate.db'}"
    return str(request.getfixturevalue("postgres_url"))
