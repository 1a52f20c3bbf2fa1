"""A minimal HTTP/1.1 keep-alive client on asyncio streams, for the chat client's POSTs.

Judge runs send hundreds of small JSON requests a second. Through httpx each spent about
2 ms of CPU in httpx, httpcore, anyio and h11 (request models, a pool scan per request,
cancellation scopes), some 30 times the exchange itself, so on a shared machine the client,
not the judge, set the pace. This module does only what those POSTs need: keep-alive
connections reused last-in first-out, TLS, ``Content-Length``, chunked and read-to-close
bodies, gzip/deflate, one timeout for the whole exchange. When the environment names a proxy
for the endpoint (``HTTPS_PROXY`` and kin), requests go through httpx, which speaks proxies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import urllib.request
import zlib
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from palate.errors import PalateError

_MAX_HEAD = 64 * 1024  # bytes of status line and headers we accept


class HttpTimeout(Exception):
    """The exchange did not finish within the timeout."""


class HttpConnectionError(Exception):
    """The connection could not be opened or broke, or the answer was not HTTP/1.x."""


@dataclass(frozen=True)
class HttpResponse:
    status_code: int
    headers: dict[str, str]
    """Lower-case names; repeated headers joined with ', '."""
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class Transport(Protocol):
    async def post(self, body: bytes) -> HttpResponse: ...

    async def aclose(self) -> None: ...


def transport(url: str, headers: dict[str, str], timeout_s: float) -> Transport:
    """POSTs to ``url``: over our own connections, or through httpx when a proxy applies."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PalateError(f"not an http(s) URL: {url!r}")
    proxies = urllib.request.getproxies()
    if (parts.scheme in proxies or "all" in proxies) and not urllib.request.proxy_bypass(
        parts.hostname
    ):
        return _HttpxTransport(url, headers, timeout_s)
    return KeepAlivePool(url, headers, timeout_s)


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    def usable(self) -> bool:
        """Open at both ends (the event loop has seen no EOF from an idle server)."""
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


class KeepAlivePool:
    """HTTP/1.1 connections to one origin, one request at a time each, as many as requests in
    flight (the caller bounds those), idle ones reused most recent first."""

    def __init__(self, url: str, headers: dict[str, str], timeout_s: float) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or ""
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        self.timeout_s = timeout_s
        self._ssl: ssl.SSLContext | None = None
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default_port = self.port == (443 if self.tls else 80)
        authority = parts.hostname if default_port else f"{parts.hostname}:{self.port}"
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._head = (
            f"POST {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\n"
            "Accept-Encoding: gzip, deflate\r\nContent-Type: application/json\r\n"
            f"User-Agent: palate\r\n{extra}Content-Length: "
        ).encode("latin-1")
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        self._closed = False

    async def aclose(self) -> None:
        """Close every connection, in use or idle (requests in flight fail), and refuse new
        requests, as httpx does: a run stopped part-way sends nothing more."""
        self._closed = True
        self._idle = []
        connections, self._open = list(self._open), set()
        for connection in connections:
            connection.close()
        for connection in connections:
            with contextlib.suppress(OSError):
                await connection.writer.wait_closed()

    async def post(self, body: bytes) -> HttpResponse:
        if self._closed:
            raise RuntimeError("the HTTP client has been closed")
        try:
            async with asyncio.timeout(self.timeout_s):
                connection = await self._connection()
                try:
                    response, reusable = await self._exchange(connection, body)
                except BaseException:
                    self._discard(connection)
                    raise
        except TimeoutError as exc:
            raise HttpTimeout(f"no complete answer within {self.timeout_s:g} s") from exc
        except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise HttpConnectionError(f"{type(exc).__name__}: {exc}") from exc
        except (ValueError, IndexError, zlib.error) as exc:  # malformed head, chunk or encoding
            raise HttpConnectionError(f"not an HTTP/1.1 answer ({exc})") from exc
        if reusable and connection.usable() and not self._closed:
            self._idle.append(connection)
        else:
            self._discard(connection)
        return response

    def _discard(self, connection: _Connection) -> None:
        self._open.discard(connection)
        connection.close()

    async def _connection(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if connection.usable():
                return connection
            self._discard(connection)
        if self.tls and self._ssl is None:
            import httpx  # its context: certifi's roots, SSL_CERT_FILE/SSL_CERT_DIR honoured

            self._ssl = httpx.create_ssl_context()
        reader, writer = await asyncio.open_connection(
            self.host, self.port, ssl=self._ssl, limit=_MAX_HEAD
        )
        if self._closed:  # closed while this connection was being opened
            writer.close()
            raise RuntimeError("the HTTP client has been closed")
        connection = _Connection(reader, writer)
        self._open.add(connection)
        return connection

    async def _exchange(self, connection: _Connection, body: bytes) -> tuple[HttpResponse, bool]:
        """Send the request and read the whole answer; also whether the connection is reusable."""
        reader, writer = connection.reader, connection.writer
        writer.write(self._head + b"%d\r\n\r\n" % len(body) + body)
        await writer.drain()
        while True:  # informational (1xx) answers precede the real one
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head[:-4].decode("latin-1").split("\r\n")
            version, status_text = lines[0].split(" ", 2)[:2]
            if not version.startswith("HTTP/1."):
                raise ValueError(f"status line {lines[0][:80]!r}")
            status = int(status_text)
            if status >= 200 or status == 101:
                break
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            name, value = name.strip().lower(), value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        connection_tokens = headers.get("connection", "").lower()
        reusable = (
            "close" not in connection_tokens
            if version == "HTTP/1.1"
            else "keep-alive" in connection_tokens
        )
        if status in (204, 304) or 100 <= status < 200:
            content = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            content = await _read_chunked(reader)
        elif "content-length" in headers:
            content = await reader.readexactly(int(headers["content-length"]))
        else:
            content, reusable = await reader.read(), False
        encoding = headers.get("content-encoding", "").lower()
        if encoding in ("gzip", "x-gzip"):
            content = zlib.decompress(content, wbits=31)
        elif encoding == "deflate":
            content = zlib.decompress(content)
        return HttpResponse(status, headers, content), reusable


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailer fields, ignored
                pass
            return b"".join(parts)
        chunk = await reader.readexactly(size + 2)
        if chunk[-2:] != b"\r\n":
            raise ValueError("chunk not followed by CRLF")
        parts.append(chunk[:-2])


class _HttpxTransport:
    """POSTs through httpx (which honours the proxy settings of the environment)."""

    def __init__(self, url: str, headers: dict[str, str], timeout_s: float) -> None:
        import httpx

        self.url = url
        self._httpx = httpx
        self._client = httpx.AsyncClient(
            headers={**headers, "Content-Type": "application/json"},
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=None),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def post(self, body: bytes) -> HttpResponse:
        httpx: Any = self._httpx
        try:
            response = await self._client.post(self.url, content=body)
        except httpx.TimeoutException as exc:
            raise HttpTimeout(type(exc).__name__) from exc
        except httpx.TransportError as exc:
            raise HttpConnectionError(f"{type(exc).__name__}: {exc}") from exc
        return HttpResponse(response.status_code, dict(response.headers), response.content)
