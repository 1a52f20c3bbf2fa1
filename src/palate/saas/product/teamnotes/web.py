"""Requests, responses and routing: just enough HTTP for a JSON API."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from teamnotes.db import Database


class HTTPError(Exception):
    """Answer the request with this status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Request:
    db: Database
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise HTTPError(400, f"body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise HTTPError(400, "body must be a JSON object")
        return data

    def int_param(self, name: str) -> int:
        """A numeric path segment such as the 7 of /notes/7."""
        raw = self.params.get(name, "")
        if not raw.isdigit():
            raise HTTPError(404, "not found")
        return int(raw)

    def int_query(self, name: str, default: int | None = None) -> int:
        raw = self.query.get(name)
        if raw is None:
            if default is None:
                raise HTTPError(400, f"missing query parameter {name}")
            return default
        try:
            return int(raw)
        except ValueError as exc:
            raise HTTPError(400, f"{name} must be an integer") from exc


@dataclass
class Response:
    status: int
    payload: Any
    content_type: str = "application/json"

    def encode(self) -> tuple[int, dict[str, str], bytes]:
        if self.content_type == "application/json":
            body = json.dumps(self.payload, ensure_ascii=False).encode()
        else:
            body = str(self.payload).encode()
        return self.status, {"Content-Type": f"{self.content_type}; charset=utf-8"}, body


Handler = Callable[[Request], Response]
_routes: list[tuple[str, re.Pattern[str], Handler]] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Register a handler; ``{name}`` in the pattern matches one path segment."""
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

    def register(handler: Handler) -> Handler:
        _routes.append((method, regex, handler))
        return handler

    return register


def dispatch(request: Request) -> Response:
    allowed = False
    for method, regex, handler in _routes:
        match = regex.match(request.path)
        if match is None:
            continue
        allowed = True
        if method == request.method:
            request.params = match.groupdict()
            return handler(request)
    if allowed:
        raise HTTPError(405, "method not allowed")
    raise HTTPError(404, "not found")


def parse_target(target: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(target)
    return parts.path, dict(parse_qsl(parts.query))
