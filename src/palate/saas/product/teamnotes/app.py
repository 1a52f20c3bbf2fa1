"""Entry points the service host calls."""

from __future__ import annotations

import json
from typing import Any

from teamnotes import handlers, schema
from teamnotes.db import Database, DatabaseError
from teamnotes.web import HTTPError, Request, dispatch, parse_target

_settings: dict[str, Any] = {}


def startup(db: Database, settings: dict[str, Any]) -> None:
    """Create the tables and remember the settings (the token secret)."""
    _settings.clear()
    _settings.update(settings)
    handlers.load_all()
    schema.create(db)


def handle(
    db: Database, method: str, target: str, headers: dict[str, str], body: bytes
) -> tuple[int, dict[str, str], bytes]:
    """Answer one HTTP request: (status, headers, body)."""
    path, query = parse_target(target)
    request = Request(
        db=db,
        method=method,
        path=path,
        query=query,
        headers={name.lower(): value for name, value in headers.items()},
        body=body,
        settings=_settings,
    )
    try:
        return dispatch(request).encode()
    except HTTPError as exc:
        status, message = exc.status, exc.message
    except DatabaseError as exc:
        status, message = 400, f"database error: {exc}"
    payload = json.dumps({"error": message}, ensure_ascii=False).encode()
    return status, {"Content-Type": "application/json; charset=utf-8"}, payload
