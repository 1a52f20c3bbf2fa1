"""Studio load test: simulated raters judging through the JSON API of `palate serve --workers 4`
(uvicorn worker processes on one address, sharing sessions and the signing secret through the
store) on PostgreSQL over loopback, against a bare health route in the same run.

Each rater logs in, then loops: next task, read it, save a draft, submit; every tenth answer
is sent twice to check the repeat is refused (409) and nothing is stored twice. After each
submission the rater also times GET /health, so the baseline sees the same load. Reported:
requests, errors, p50/p95 latency per action, and p95 of submitting over p95 of health.
Checked: no errors, and the database holds exactly the submissions acknowledged.

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

import httpx
import numpy as np
from sqlalchemy import create_engine, func, select, text

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


async def rater(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    stop: float,
    lat: dict[str, list[float]],
    counts: dict[str, int],
) -> None:
    n = 0
    name = client.headers.get("x-rater", "")
    while time.monotonic() < stop:

        async def timed(action: str, method: str, url: str, **kw: object) -> httpx.Response:
            start = time.perf_counter()
            response = await client.request(method, url, **kw)  # type: ignore[arg-type]
            lat[action].append(time.perf_counter() - start)
            return response

        nxt = await timed("next", "GET", "/api/tasks/next")
        aid = nxt.json()["assignment_id"] if nxt.status_code == 200 else None
        if nxt.status_code != 200:
            counts["errors"] += 1
        if aid is None:
            break
        view = await timed("view", "GET", f"/api/tasks/{aid}")
        fields = {"choice": "A", "critique": "draft"}
        draft = await timed(
            "draft",
            "PUT",
            f"/api/tasks/{aid}/draft",
            json={"fields": fields, "active_ms": 1000},
            headers=headers,
        )
        body = {"choice": "A" if n % 3 else "tie", "strength": 2, "critique": f"{name} {n}"}
        sent = await timed(
            "submit", "POST", f"/api/tasks/{aid}/submission", json=body, headers=headers
        )
        for response in (view, draft):
            counts["errors"] += response.status_code != 200
        if sent.status_code == 201:
            counts["acknowledged"] += 1
        else:
            counts["errors"] += 1
        if n % 10 == 0:
            again = await client.post(f"/api/tasks/{aid}/submission", json=body, headers=headers)
            counts["repeats_refused" if again.status_code == 409 else "errors"] += 1
        await timed("health", "GET", "/health")
        n += 1


Measured = tuple[dict[str, list[float]], dict[str, int], float, float]


async def load(base: str, raters: int, seconds: float) -> Measured:
    """Log every rater in (argon2 by design costs ~0.1-0.2 s of CPU each), then judge."""
    lat: dict[str, list[float]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
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
            *(
                rater(c, h, start + seconds, lat, counts)
                for c, h in zip(clients, tokens, strict=True)
            )
        )
        return lat, counts, time.monotonic() - start, logins
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20 seconds instead of 120")
    parser.add_argument("--raters", type=int, default=200, help="simulated raters")
    parser.add_argument("--seconds", type=float, default=None, help="length of the load")
    parser.add_argument("--workers", type=int, default=4, help="server processes")
    args = parser.parse_args()
    seconds = args.seconds or (20.0 if args.quick else 120.0)
    schema = f"palate_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(PG_SERVER)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    server = None
    try:
        prepare(url, args.raters, tasks_per_rater=int(seconds) + 20)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "palate",
                "serve",
                "--port",
                str(port),
                "--db",
                url,
                "--workers",
                str(args.workers),
            ],
            # No PALATE_STUDIO_SECRET: the first process generates one, all read it from the store.
            env={k: v for k, v in os.environ.items() if k != "PALATE_STUDIO_SECRET"},
            stdout=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(1200):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        lat, counts, elapsed, logins = asyncio.run(load(base, args.raters, seconds))
        with create_engine(url).connect() as conn:
            stored = conn.execute(select(func.count()).select_from(studio_submissions)).scalar_one()
            distinct = conn.execute(
                select(func.count(func.distinct(studio_submissions.c.assignment_id)))
            ).scalar_one()
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:  # a worker stuck in a request: stop it hard
                server.kill()
                server.wait()
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    p = {
        k: (float(np.percentile(v, 50)) * 1000, float(np.percentile(v, 95)) * 1000)
        for k, v in lat.items()
    }
    requests = sum(len(v) for v in lat.values())
    print(
        f"{args.workers} server processes; {args.raters} raters logged in in {logins:.1f} s; "
        f"then {elapsed:.0f} s of judging: "
        f"{requests} timed requests ({requests / elapsed:.0f}/s), "
        f"{counts['acknowledged']} submissions ({counts['acknowledged'] / elapsed:.1f}/s)"
    )
    for action, (p50, p95) in sorted(p.items()):
        print(f"  {action:7s} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")
    ratio = p["submit"][1] / p["health"][1]
    print(f"  submit p95 / health p95 = {ratio:.2f} (target <= {TARGET_P95_RATIO})")
    print(
        f"  errors {counts['errors']}; repeats refused {counts['repeats_refused']}; "
        f"stored {stored} (distinct assignments {distinct}), "
        f"acknowledged {counts['acknowledged']}"
    )
    ok = counts["errors"] == 0 and stored == distinct == counts["acknowledged"]
    print("OK" if ok and ratio <= TARGET_P95_RATIO else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
