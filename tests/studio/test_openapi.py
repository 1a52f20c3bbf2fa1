"""Property-based fuzzing of the JSON API from its OpenAPI document (schemathesis): no input
makes the server fail. Kept bounded: a few examples per operation, as a logged-in admin
(on SQLite: the point is the handlers, which the other tests run on both backends).

The app is built when the module is imported because schemathesis generates the tests from
its schema at collection time (its ``from_fixture`` does not work with our pytest).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.studio.conftest import csrf_of, make_studio

pytestmark = pytest.mark.filterwarnings("ignore")

_TMP = tempfile.TemporaryDirectory(prefix="palate-openapi-")  # removed at interpreter exit
_STUDIO = make_studio(f"sqlite:///{Path(_TMP.name) / 'studio.db'}", Path(_TMP.name), n_items=4)
_ADMIN = _STUDIO.client("admin")
_SESSION = {"cookies": dict(_ADMIN.cookies), "headers": {"X-CSRF-Token": csrf_of(_ADMIN)}}

schema = schemathesis.openapi.from_asgi("/api/openapi.json", _STUDIO.app)


@schema.parametrize()
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_api_never_fails_on_any_input(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error], **_SESSION)  # type: ignore[arg-type]
