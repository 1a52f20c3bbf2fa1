"""Test fixtures: the app over an in-memory SQLite database, called without HTTP."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
import teamnotes
from teamnotes.db import DatabaseError, Result, Value


class MemoryDatabase:
    """The same interface the service host gives the app, on an in-memory database."""

    def __init__(self) -> None:
        self.connection = sqlite3.connect(":memory:", isolation_level=None)

    def execute(self, sql: str, params: tuple[Value, ...] | list[Value] = ()) -> Result:
        try:
            cursor = self.connection.execute(sql, tuple(params))
            rows = cursor.fetchall()
        except sqlite3.Error as exc:
            raise DatabaseError(str(exc)) from exc
        return Result(rows, cursor.lastrowid, cursor.rowcount)


class Client:
    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db

    def request(
        self, method: str, target: str, payload: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = b"" if payload is None else json.dumps(payload).encode()
        status, response_headers, data = teamnotes.handle(self.db, method, target, headers, body)
        if response_headers.get("Content-Type", "").startswith("application/json"):
            return status, json.loads(data)
        return status, data.decode()

    def signup(self, email: str, plan: str = "pro") -> str:
        status, body = self.request("POST", "/signup", {"email": email, "plan": plan})
        assert status == 201, body
        return str(body["token"])

    def workspace(self, token: str, name: str = "team") -> int:
        status, body = self.request("POST", "/workspaces", {"name": name}, token)
        assert status == 201, body
        return int(body["id"])

    def note(self, token: str, workspace_id: int, title: str, body: str = "", **extra: Any) -> Any:
        status, data = self.request(
            "POST",
            "/notes",
            {"workspace_id": workspace_id, "title": title, "body": body, **extra},
            token,
        )
        assert status == 201, data
        return data


@pytest.fixture
def client() -> Iterator[Client]:
    db = MemoryDatabase()
    teamnotes.startup(db, {"secret": "test-secret"})
    yield Client(db)
    db.connection.close()
