"""Property-based fuzzing of the JSON API from its OpenAPI document (schemathesis): no input
makes the server fail, on SQLite and on PostgreSQL (which refuses NUL characters and integers
past its column types, so it catches inputs SQLite lets through). Kept bounded: a few examples
per operation, as a logged-in admin.

The apps are built when the module is imported because schemathesis generates the tests from
their schema at collection time (its ``from_fixture`` does not work with our pytest).
"""

from __future__ import annotations

import atexit
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import create_engine, text

from tests.conftest import PG_SERVER, _postgres_reachable
from tests.studio.conftest import Studio, csrf_of, make_studio

pytestmark = pytest.mark.filterwarnings("ignore")

_TMP = tempfile.TemporaryDirectory(prefix="palate-openapi-")  # removed at interpreter exit


def _session(studio: Studio) -> dict[str, Any]:
    admin = studio.client("admin")
    return {"cookies": dict(admin.cookies), "headers": {"X-CSRF-Token": csrf_of(admin)}}


def _postgres_studio() -> Studio | None:
    if _postgres_reachable() is not None:
        return None
    schema = f"palate_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(PG_SERVER)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))

    def drop() -> None:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))

    atexit.register(drop)
    return make_studio(f"{PG_SERVER}?options=-csearch_path%3D{schema}", Path(_TMP.name), n_items=4)


_SQLITE = make_studio(f"sqlite:///{Path(_TMP.name) / 'studio.db'}", Path(_TMP.name), n_items=4)
_SQLITE_SESSION = _session(_SQLITE)
_POSTGRES = _postgres_studio()
_POSTGRES_SESSION = _session(_POSTGRES) if _POSTGRES else {}

sqlite_schema = schemathesis.openapi.from_asgi("/api/openapi.json", _SQLITE.app)
_FUZZ = settings(
    max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


@sqlite_schema.parametrize()
@_FUZZ
def test_api_never_fails_on_any_input(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error], **_SQLITE_SESSION)


if _POSTGRES is not None:
    postgres_schema = schemathesis.openapi.from_asgi("/api/openapi.json", _POSTGRES.app)

    @postgres_schema.parametrize()
    @_FUZZ
    def test_api_never_fails_on_any_input_on_postgresql(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=[not_a_server_error], **_POSTGRES_SESSION)

else:

    def test_api_never_fails_on_any_input_on_postgresql() -> None:
        message = f"PostgreSQL at {PG_SERVER} is not reachable"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
