"""Studio load test: simulated raters judging through the JSON API of `palate serve --workers 4`
(uvicorn worker processes on one address, sharing sessions and the signing secret through the
store) on PostgreSQL over loopback, against a bare health route in the same run.

Each rater logs in, then loops: next task, read it, save a draft, submit; every tenth answer
is sent twice to check the repeat is refused (409) and nothing is stored twice. After each
submission the rater also times GET /health, so the baseline sees the same load. Reported:
requests, errors, p50/p95 latency per action, and p95 of submitting over p95 of health.
Checked: no errors (a refused request or a dropped connection), and the database holds
exactly the submissions acknowledged: each acknowledged id once, for the assignment it was
sent for, with the critique sent, and nothing else.

`make bench` judges for two minutes; --quick for a few seconds (logging 200 raters in takes
longer than that: argon2 costs ~0.1-0.2 s of CPU a login by design, and is not timed).

Logins that find a process's password-hashing pool full are answered 503 with Retry-After;
the simulated raters wait and retry, as a browser user would.

    python benchmarks/bench_studio.py [--quick] [--raters N] [--seconds S] [--workers W]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import httpx
import numpy as np
from sqlalchemy import create_engine, select, text

from palate.schema import Comparison, Prompt, Response, Source
from palate.store import Store
from palate.store.studio import StudioStore
from palate.store.studio_tables import studio_submissions
from palate.studio.accounts import add_user
from palate.studio.projects import ProjectIn, create_project

PG_SERVER = "postgresql+psycopg://127.0.0.1:5432/test"
PASSWORD = "lunar tide load test 7"
TARGET_P95_RATIO = 20.0  # submitting may cost at most this many health checks at p95


def prepare(url: str, raters: int, tasks_per_rater: int) -> None:
    store = Store(url)
    judge = Source(kind="judge", name="seed")
    n = raters * tasks_per_rater
    store.add_records(
        "load",
        (
            Comparison(
                prompt=Prompt(id=f"p{i}", text=f"Prompt {i}: a poem about the moon."),
                responses=[
                    Response(model="m1", text=f"one {i}"),
                    Response(model="m2", text=f"two {i}"),
                ],
                tie=True,
                judge=judge,
            )
            for i in range(n)
        ),
    )
    studio = StudioStore(store)
    admin = add_user(studio, "admin", "admin", PASSWORD)
    for r in range(raters):  # one argon2 hash shared: hashing 200 passwords is not the point
        studio.add_user(f"r{r:03d}", "rater", admin.password_hash)
    create_project(studio, ProjectIn(name="load", dataset="load", overlap=1, seed=1), admin.id)
    store.close()


async def login(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    while True:
        # Logins are not timed: on a busy machine 200 argon2 checks can queue for minutes.
        answer = await client.post(
            "/api/login", json={"name": name, "password": PASSWORD}, timeout=600
        )
        if answer.status_code != 503:
            break
        await asyncio.sleep(float(answer.headers.get("retry-after", "1")) / 5)
    answer.raise_for_status()
    return {"X-CSRF-Token": answer.json()["csrf_token"]}


@dataclass
class Tally:
    """What the raters saw: latencies per action, counts, and every acknowledged answer."""

    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    statuses: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    acknowledged: dict[int, tuple[int, str]] = field(default_factory=dict)  # id: (task, critique)

    def error(self, action: str, why: str) -> None:
        self.counts["errors"] += 1
        self.statuses[f"{action} {why}"] += 1


async def rater(client: httpx.AsyncClient, headers: dict[str, str], stop: float, t: Tally) -> None:
    n = 0
    name = client.headers.get("x-rater", "")

    async def timed(action: str, method: str, url: str, **kw: object) -> httpx.Response | None:
        start = time.perf_counter()
        try:
            response = await client.request(method, url, **kw)  # type: ignore[arg-type]
        except httpx.TransportError as exc:  # a dropped connection is an error, not a crash
            t.error(action, type(exc).__name__)
            return None
        t.latency[action].append(time.perf_counter() - start)
        return response

    def ok(action: str, response: httpx.Response | None, status: int) -> bool:
        if response is None:
            return False
        if response.status_code != status:
            t.error(action, str(response.status_code))
            return False
        return True

    while time.monotonic() < stop:
        nxt = await timed("next", "GET", "/api/tasks/next")
        if not ok("next", nxt, 200) or nxt is None:
            continue
        aid = nxt.json()["assignment_id"]
        if aid is None:
            break
        ok("view", await timed("view", "GET", f"/api/tasks/{aid}"), 200)
        fields = {"choice": "A", "critique": "draft"}
        draft = {"fields": fields, "active_ms": 1000}
        ok(
            "draft",
            await timed("draft", "PUT", f"/api/tasks/{aid}/draft", json=draft, headers=headers),
            200,
        )
        critique = f"{name} {n}"
        body = {"choice": "A" if n % 3 else "tie", "strength": 2, "critique": critique}
        url = f"/api/tasks/{aid}/submission"
        sent = await timed("submit", "POST", url, json=body, headers=headers)
        if ok("submit", sent, 201) and sent is not None:
            t.acknowledged[int(sent.json()["submission_id"])] = (int(aid), critique)
        if n % 10 == 0:
            again = await timed("repeat", "POST", url, json=body, headers=headers)
            if ok("repeat", again, 409):
                t.counts["repeats_refused"] += 1
        ok("health", await timed("health", "GET", "/health"), 200)
        n += 1


async def load(base: str, raters: int, seconds: float) -> tuple[Tally, float, float]:
    """Log every rater in (argon2 by design costs ~0.1-0.2 s of CPU each), then judge."""
    tally = Tally()
    clients = [
        httpx.AsyncClient(base_url=base, timeout=60, headers={"x-rater": f"r{r:03d}"})
        for r in range(raters)
    ]
    try:
        begin = time.monotonic()
        tokens = await asyncio.gather(*(login(c, f"r{r:03d}") for r, c in enumerate(clients)))
        logins = time.monotonic() - begin
        start = time.monotonic()
        await asyncio.gather(
            *(rater(c, h, start + seconds, tally) for c, h in zip(clients, tokens, strict=True))
        )
        return tally, time.monotonic() - start, logins
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


def stored_once(url: str, acknowledged: dict[int, tuple[int, str]]) -> tuple[int, list[str]]:
    """How many submissions the store holds, and how it differs from what was acknowledged
    (an id missing, one never acknowledged, a wrong assignment or critique, a repeat)."""
    s = studio_submissions.c
    with create_engine(url).connect() as conn:
        rows = conn.execute(select(s.id, s.assignment_id, s.critique)).all()
    problems = []
    stored = {int(i): (int(a), c) for i, a, c in rows}
    per_assignment = defaultdict(int)
    for assignment, _ in stored.values():
        per_assignment[assignment] += 1
    problems += [f"assignment {a} stored {k} times" for a, k in per_assignment.items() if k > 1]
    problems += [f"acknowledged {i} missing" for i in acknowledged.keys() - stored.keys()]
    problems += [f"stored {i} never acknowledged" for i in stored.keys() - acknowledged.keys()]
    problems += [
        f"stored {i} differs from what was sent"
        for i in acknowledged.keys() & stored.keys()
        if stored[i] != acknowledged[i]
    ]
    return len(rows), problems


def serve(url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """`palate serve --workers N` on a free port, once its health route answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "palate", "serve", "--port", str(port), "--db", url]
    server = subprocess.Popen(
        [*command, "--workers", str(workers)],
        # No PALATE_STUDIO_SECRET: the first process generates one, all read it from the store.
        env={k: v for k, v in os.environ.items() if k != "PALATE_STUDIO_SECRET"},
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while server.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                return server, base
        except httpx.TransportError:
            time.sleep(0.1)
    stop(server)
    raise SystemExit("palate serve did not start")


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:  # a worker stuck in a request: stop it hard
        server.kill()
        server.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 seconds of judging, not 120")
    parser.add_argument("--raters", type=int, default=200, help="simulated raters")
    parser.add_argument("--seconds", type=float, default=None, help="length of the judging")
    parser.add_argument("--workers", type=int, default=4, help="server processes")
    args = parser.parse_args()
    seconds = args.seconds or (5.0 if args.quick else 120.0)
    schema = f"palate_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(PG_SERVER)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    try:
        prepare(url, args.raters, tasks_per_rater=int(seconds) + 20)
        server, base = serve(url, args.workers)
        try:
            tally, elapsed, logins = asyncio.run(load(base, args.raters, seconds))
        finally:
            stop(server)
        stored, problems = stored_once(url, tally.acknowledged)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    p = {
        k: (float(np.percentile(v, 50)) * 1000, float(np.percentile(v, 95)) * 1000)
        for k, v in tally.latency.items()
    }
    requests = sum(len(v) for v in tally.latency.values())
    acknowledged = len(tally.acknowledged)
    print(
        f"{args.workers} server processes; {args.raters} raters logged in in {logins:.1f} s; "
        f"then {elapsed:.0f} s of judging: "
        f"{requests} timed requests ({requests / elapsed:.0f}/s), "
        f"{acknowledged} submissions ({acknowledged / elapsed:.1f}/s)"
    )
    for action, (p50, p95) in sorted(p.items()):
        print(f"  {action:7s} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")
    ratio = p["submit"][1] / p["health"][1]
    print(f"  submit p95 / health p95 = {ratio:.2f} (target <= {TARGET_P95_RATIO})")
    errors = tally.counts["errors"]
    print(
        f"  errors {errors}{' ' + str(dict(tally.statuses)) if errors else ''}; "
        f"repeats refused {tally.counts['repeats_refused']}; "
        f"acknowledged {acknowledged}, stored {stored}, "
        f"stored exactly once as acknowledged: {'yes' if not problems else 'NO'}"
    )
    for problem in problems[:10]:
        print(f"    {problem}")
    ok = errors == 0 and not problems
    print("OK" if ok and ratio <= TARGET_P95_RATIO else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
