"""Several server processes on one store, as behind one address: they share the login
throttle's counts, sessions and drafts, and a restart loses none of them (real ``palate serve``
processes on loopback, on SQLite and on PostgreSQL)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
from fastapi.testclient import TestClient

from palate.studio import create_app
from palate.studio.throttle import LoginThrottled, ThrottleLimits
from tests.studio.conftest import PASSWORD, Studio, assignments_of, csrf_of

START_S = 120  # importing the CLI takes ~25 s on a busy 2-core machine


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_apps_on_one_store_share_the_login_limits(studio: Studio) -> None:
    """Two apps on one store stand for two server processes: failures on either count on
    both, and a burst of simultaneous attempts gets no more than the limit between them."""
    clock = Clock()
    limits = ThrottleLimits(per_account=3, per_address=5, window_s=60, clock=clock)
    apps = [create_app(studio.url, login_limits=limits) for _ in range(2)]
    clients = [TestClient(app) for app in apps]
    try:
        for i in range(3):
            wrong = clients[i % 2].post("/api/login", json={"name": "ann", "password": "guess"})
            assert wrong.status_code == 401
        for client in clients:
            right = client.post("/api/login", json={"name": "ann", "password": PASSWORD})
            assert right.status_code == 429 and right.headers["retry-after"] == "60"
        # Per address: failures spread over accounts, none at its own limit, on both apps.
        clock.now += 61
        for i, name in enumerate(("bob", "cat", "bob", "cat", "nobody")):
            wrong = clients[i % 2].post("/api/login", json={"name": name, "password": "x"})
            assert wrong.status_code == 401
        page = clients[1].post(
            "/login",
            data={"name": "admin", "password": PASSWORD, "csrf_token": csrf_of(clients[1])},
        )
        assert page.status_code == 429 and "too many wrong logins" in page.text
        # A right password clears its account's failures only: the address stays blocked.
        clock.now += 61
        assert clients[0].post("/api/login", json={"name": "bob", "password": PASSWORD}).is_success

        # Eight attempts at once on two processes: exactly the limit get to check a password.
        clock.now += 61

        def attempt(i: int, account: str, address: str) -> bool:
            try:
                apps[i % 2].state.throttle.attempt(account, address)
            except LoginThrottled:
                return False
            return True

        with ThreadPoolExecutor(8) as pool:
            allowed = list(pool.map(lambda i: attempt(i, "cat", f"10.0.0.{i}"), range(8)))
        assert sum(allowed) == 3
        # Logins in flight count against an address only once found wrong: eight raters behind
        # one NAT logging in at once (more than its limit of five) are all let through.
        clock.now += 61
        with ThreadPoolExecutor(8) as pool:
            nat = list(pool.map(lambda i: attempt(i, f"r{i}", "10.9.9.9"), range(8)))
        assert all(nat)
    finally:
        for app in apps:
            app.state.store.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "palate", "serve", "--port", str(port), "--db", url]
    return subprocess.Popen(
        [*command, "--workers", str(workers)],
        # No PALATE_STUDIO_SECRET: the first process generates one, all read it from the store.
        env={k: v for k, v in os.environ.items() if k != "PALATE_STUDIO_SECRET"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_healthy(server: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + START_S
    while True:
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is None and time.monotonic() > deadline:
            server.kill()  # so that reading its stderr below cannot block
            server.wait()
        if server.poll() is not None:
            raise RuntimeError(f"palate serve did not start: {server.stderr.read()!r}")  # type: ignore[union-attr]
        time.sleep(0.1)


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@contextmanager
def servers(url: str, workers: list[int]) -> Iterator[list[str]]:
    """``palate serve`` processes on one store, started together; their base URLs."""
    ports = [_free_port() for _ in workers]
    started = [_start(url, port, n) for port, n in zip(ports, workers, strict=True)]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for server, base in zip(started, bases, strict=True):
            _wait_healthy(server, base)
        yield bases
    finally:
        for server in started:
            _stop(server)


def test_server_processes_share_throttle_sessions_and_drafts_across_a_restart(
    studio: Studio,
) -> None:
    """A server, then another in its place (a restart): the second knows the first's wrong
    logins, sessions and drafts. On PostgreSQL the first is itself two worker processes
    (`--workers 2`); a client opening a new connection for each request lands on either."""
    first_workers = 2 if studio.url.startswith("postgresql") else 1
    fresh = httpx.Limits(max_keepalive_connections=0)
    wrong = {"name": "ann", "password": "not it"}
    with httpx.Client(limits=fresh, timeout=60) as client:
        with servers(studio.url, [first_workers]) as (first,):
            for _ in range(3):  # of the default five wrong logins an account may have
                assert client.post(f"{first}/api/login", json=wrong).status_code == 401
            bob = {"name": "bob", "password": PASSWORD}
            logged_in = client.post(f"{first}/api/login", json=bob)
            headers = {"X-CSRF-Token": logged_in.json()["csrf_token"]}
            aid = assignments_of(studio, "bob")[0]
            saved = client.put(
                f"{first}/api/tasks/{aid}/draft",
                json={"fields": {"critique": "half-written"}, "active_ms": 4200},
                headers=headers,
            )
            assert saved.status_code == 200
            assert client.get(f"{first}/api/tasks/{aid}").json()["draft"] == {
                "critique": "half-written"
            }
        with servers(studio.url, [1]) as (second,):
            for _ in range(2):
                assert client.post(f"{second}/api/login", json=wrong).status_code == 401
            right = client.post(f"{second}/api/login", json={"name": "ann", "password": PASSWORD})
            assert right.status_code == 429, right.text
            assert client.get(f"{second}/api/me").json()["name"] == "bob"
            view = client.get(f"{second}/api/tasks/{aid}").json()
            assert view["draft"] == {"critique": "half-written"} and view["active_ms"] == 4200
            url = f"{second}/api/tasks/{aid}/submission"
            assert client.post(url, json={"choice": "A"}, headers=headers).status_code == 201
            assert client.post(url, json={"choice": "A"}, headers=headers).status_code == 409
            assert client.post(f"{second}/api/logout", headers=headers).status_code == 200
            assert client.get(f"{second}/api/me").status_code == 401
    assert studio.store.submission_count(studio.project) == 1
