"""What every request passes before the app sees it, and every response gets on its way out.

In: a body larger than ``max_body`` is refused with 413 before anything parses it (at once
when Content-Length says so, else as soon as the streamed bytes pass the limit), so memory
stays flat whatever is sent; a NUL character anywhere in the URL or body (raw, ``%00`` or
JSON's ``\\u0000``) is refused with 422, since PostgreSQL cannot store it in text and no
rater's answer needs it.

Out: security headers. The content security policy allows scripts, styles and frames only
from this server (no inline script anywhere, the API docs included), nothing may frame the
studio, browsers must not sniff types, and responses other than static files are not cached
(task content and answers stay off shared machines' disks).
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 2 * 1024 * 1024
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# JSON's \u0000 escape unless its backslash is itself escaped (an even run of backslashes).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
_URL_NUL = re.compile(rb"%00")


def _has_nul(data: bytes, content_type: bytes) -> bool:
    """A NUL in the data, raw or in the escape of its format (JSON, or URL encoding)."""
    if b"\x00" in data:
        return True
    if b"json" in content_type:
        return bool(_JSON_NUL.search(data))
    if b"urlencoded" in content_type:
        return bool(_URL_NUL.search(data))
    return False


class TooLarge(Exception):
    """The body went past the limit while it was being read."""


class RequestGuard:
    """ASGI middleware: body limit and NUL refusal in, security headers out."""

    def __init__(self, app: ASGIApp, *, max_body: int = MAX_BODY, https: bool = False) -> None:
        self.app = app
        self.max_body = max_body
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._with_headers(scope, send)
        path = scope["path"]
        url = scope.get("raw_path", path.encode()) + b"?" + scope.get("query_string", b"")
        headers = dict(scope["headers"])
        if "\x00" in path or _has_nul(url, b"urlencoded"):
            await _refuse(scope, send, 422, "text may not contain NUL characters")
            return
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await _refuse(scope, send, 413, f"request bodies are limited to {self.max_body} bytes")
            return
        try:
            body = await self._read(receive)
        except TooLarge:
            await _refuse(scope, send, 413, f"request bodies are limited to {self.max_body} bytes")
            return
        if _has_nul(body, headers.get(b"content-type", b"").lower()):
            await _refuse(scope, send, 422, "text may not contain NUL characters")
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _with_headers(self, scope: Scope, send: Send) -> Send:
        static = scope["path"].startswith("/static/")
        extra = [
            (b"content-security-policy", CSP.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
        ]
        if not static:
            extra.append((b"cache-control", b"no-store"))
        if self.https:
            extra.append((b"strict-transport-security", b"max-age=31536000"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in extra}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + extra}
            await send(message)

        return send_with_headers


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then the real stream's events."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _refuse(scope: Scope, send: Send, status: int, text: str) -> None:
    if scope["path"].startswith("/api/"):
        body = json.dumps({"detail": text, "field": None}).encode()
        kind = b"application/json"
    else:
        body = f"{text}\n".encode()
        kind = b"text/plain; charset=utf-8"
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    if status == 413:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
