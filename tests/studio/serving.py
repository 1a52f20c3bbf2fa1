"""``palate serve`` in a subprocess and Debian's chromium, for the browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")


def chromium_path() -> Path:
    """The browser, or a skip (a failure under CI, where it must be installed)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@contextmanager
def serving(store_url: str) -> Iterator[str]:
    """The base URL of ``palate serve`` on ``store_url``, stopped afterwards."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "palate", "serve", "--port", str(port), "--db", store_url],
        # No PALATE_STUDIO_SECRET: the server generates one and keeps it in the store.
        env={k: v for k, v in os.environ.items() if k != "PALATE_STUDIO_SECRET"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # importing the CLI takes ~25 s on a busy 2-core machine
    while True:
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if server.poll() is None and time.monotonic() > deadline:
            server.kill()  # so that reading its stderr below cannot block
            server.wait()
        if server.poll() is not None:
            raise RuntimeError(f"palate serve did not start: {server.stderr.read()!r}")  # type: ignore[union-attr]
        time.sleep(0.1)
    try:
        yield base
    finally:
        server.terminate()
        server.wait(10)
