"""The chat client's own HTTP/1.1 transport against raw loopback servers that answer in each
framing a server or proxy may choose: lengths, chunks, read-to-close, gzip, closed idle
connections, answers cut short and answers that are not HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import random
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from palate.judges.http import (
    HttpConnectionError,
    HttpResponse,
    HttpTimeout,
    KeepAlivePool,
    transport,
)

Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return await reader.readexactly(length)


def _serve(answer: Answer, bodies: list[bytes], connections: list[int]) -> Callable[..., object]:
    """A handler answering each request on a connection with ``answer`` until it says stop."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                try:
                    bodies.append(await _read_request(reader))
                except asyncio.IncompleteReadError:
                    return
                if not await answer(reader, writer):
                    return
        finally:
            writer.close()

    return handle


def _exchange(answer: Answer, posts: int = 2, timeout_s: float = 5.0) -> tuple[list, list, int]:
    """POST ``posts`` bodies one after another; (responses or errors, bodies seen, connections)."""
    bodies: list[bytes] = []
    connections: list[int] = []

    async def main() -> list[object]:
        server = await asyncio.start_server(_serve(answer, bodies, connections), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = KeepAlivePool(f"http://127.0.0.1:{port}/v1/chat", {"X-Test": "1"}, timeout_s)
        out: list[object] = []
        try:
            for i in range(posts):
                try:
                    out.append(await pool.post(b'{"n": %d}' % i))
                except (HttpConnectionError, HttpTimeout) as exc:
                    out.append(exc)
                await asyncio.sleep(0.05)  # lets the loop see a server's close of an idle one
        finally:
            await pool.aclose()
            server.close()
            await server.wait_closed()
        return out

    return asyncio.run(main()), bodies, len(connections)


def _ok(body: bytes, *headers: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


def test_content_length_answers_reuse_one_connection() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        headers = (b"Content-Length: 9", b"Retry-After: 3", b"X-A: 1", b"x-a: 2")
        writer.write(_ok(b'{"ok": 1}', *headers))
        return True

    out, bodies, connections = _exchange(answer, posts=3)
    assert [r.content for r in out] == [b'{"ok": 1}'] * 3
    assert out[0].headers["retry-after"] == "3" and out[0].headers["x-a"] == "1, 2"
    assert bodies == [b'{"n": 0}', b'{"n": 1}', b'{"n": 2}'] and connections == 1


def test_chunked_gzip_and_informational_answers_are_read_whole() -> None:
    text = '{"text": "' + random.Random(0).randbytes(3000).hex() + '"}'
    packed = gzip.compress(text.encode())
    chunks = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(c), c) for c in (packed[:100], packed[100:]))

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        writer.write(
            _ok(chunks + b"0\r\nX-Trailer: t\r\n\r\n", b"Transfer-Encoding: chunked",
                b"Content-Encoding: gzip")
        )  # fmt: skip
        return True

    out, _, connections = _exchange(answer)
    assert [r.status_code for r in out] == [200, 200] and connections == 1
    assert all(r.text == text for r in out)


def test_close_delimited_and_connection_close_answers_open_a_new_connection() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.0 503 Busy\r\n\r\nlater")
        return False

    out, _, connections = _exchange(answer)
    assert [(r.status_code, r.content) for r in out] == [(503, b"later")] * 2
    assert connections == 2


def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(_ok(b"{}", b"Content-Length: 2"))  # says keep-alive, then closes
        await writer.drain()
        return False

    out, bodies, connections = _exchange(answer, posts=3)
    assert all(r.status_code == 200 for r in out) and len(bodies) == 3 and connections == 3


@pytest.mark.parametrize(
    "reply",
    [
        _ok(b'{"ok"', b"Content-Length: 9"),  # cut short
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",  # not HTTP
        _ok(b"zz\r\n", b"Transfer-Encoding: chunked"),  # a bad chunk size
        _ok(b"not gzip", b"Content-Length: 8", b"Content-Encoding: gzip"),
    ],
)
def test_broken_answers_are_connection_errors(reply: bytes) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(reply)
        return False

    out, _, _ = _exchange(answer, posts=1)
    assert isinstance(out[0], HttpConnectionError)


def test_a_silent_server_times_out_and_a_closed_port_is_a_connection_error() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(1.0)
        return False

    out, _, _ = _exchange(answer, posts=1, timeout_s=0.1)
    assert isinstance(out[0], HttpTimeout)

    async def refused() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        pool = KeepAlivePool(f"http://127.0.0.1:{port}/", {}, 5.0)
        with pytest.raises(HttpConnectionError):
            await pool.post(b"{}")

    asyncio.run(refused())


def test_a_proxy_named_by_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    heads: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(_ok(b"{}", b"Content-Length: 2", b"Connection: close"))
        await writer.drain()
        writer.close()

    async def main() -> int:
        server = await asyncio.start_server(proxy, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        http = transport("http://judge.invalid/v1/chat/completions", {}, 5.0)
        try:
            return (await http.post(b"{}")).status_code
        finally:
            await http.aclose()
            server.close()
            await server.wait_closed()

    assert asyncio.run(main()) == 200
    assert heads[0].startswith(b"POST http://judge.invalid/v1/chat/completions HTTP/1.1")


def test_https_verifies_the_server_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, ssl.SSLError):
            await _read_request(reader)
            writer.write(_ok(b'{"tls": 1}', b"Content-Length: 10"))
            await writer.drain()
        writer.close()

    async def post() -> object:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=served)
        port = server.sockets[0].getsockname()[1]
        pool = KeepAlivePool(f"https://localhost:{port}/v1", {}, 5.0)
        try:
            return await pool.post(b"{}")
        except HttpConnectionError as exc:
            return exc
        finally:
            await pool.aclose()
            server.close()
            await server.wait_closed()

    untrusted = asyncio.run(post())  # a self-signed certificate nobody vouches for
    assert isinstance(untrusted, HttpConnectionError) and "CERTIFICATE_VERIFY_FAILED" in str(
        untrusted
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    trusted = asyncio.run(post())
    assert isinstance(trusted, HttpResponse) and trusted.content == b'{"tls": 1}'


def test_a_closed_pool_sends_nothing_more() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(_ok(b"{}", b"Content-Length: 2"))
        return True

    bodies: list[bytes] = []

    async def main() -> None:
        server = await asyncio.start_server(_serve(answer, bodies, []), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = KeepAlivePool(f"http://127.0.0.1:{port}/", {}, 5.0)
        assert (await pool.post(b"1")).status_code == 200
        await pool.aclose()
        with pytest.raises(RuntimeError, match="closed"):
            await pool.post(b"2")
        server.close()
        await server.wait_closed()

    asyncio.run(main())
    assert bodies == [b"1"]
