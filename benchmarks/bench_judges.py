"""Judge-run throughput against the loopback server, against a minimal raw-HTTP client.

    python benchmarks/bench_judges.py [--quick] [--rounds R]

N pairwise judgements with position swap (10,000; 2,000 with --quick), so 2N calls, through
``palate.judges.run`` (cache and output written to SQLite) against the scripted server in its own
process at 100 ms latency, concurrency 64. The ideal rate is 64 / 0.1 s = 640 calls a second.
Then the same against the server run in several processes sharing its socket
(``--server-processes``), so that the server is not the bottleneck: palate's share of the
ideal there is the figure that must reach 80%.
Baseline, measured in turns with palate against the same server process: a minimal client
of 64 keep-alive HTTP/1.1 connections on bare asyncio streams, sending the same number of
chat requests and parsing each JSON answer, nothing else (no retries, cache or store).
We print palate's rate as a share of the baseline's (target >= 0.9) and of the ideal
(target >= 80% against the multi-process server), the speed-up over a sequential client,
and the process RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import psutil

from palate.judges.config import OpenAIJudgeConfig
from palate.judges.loading import load
from palate.judges.run import run
from palate.schema import Comparison, Prompt, Response, Source
from palate.store import Store

LATENCY_S = 0.1
CONCURRENCY = 64


def pairs(n: int, tag: str) -> list[Comparison]:
    human = Source(kind="human", name="h")
    return [
        Comparison(
            prompt=Prompt(id=f"{tag}{i}", text=f"Question {tag}{i}?"),
            responses=[
                Response(model="a", text=f"answer {i}" + " more" * (i % 7)),
                Response(model="b", text=f"reply {i}" + " words" * (i % 5)),
            ],
            winner=0,
            judge=human,
        )
        for i in range(n)
    ]


def config(url: str, concurrency: int) -> OpenAIJudgeConfig:
    return OpenAIJudgeConfig(
        name="bench", kind="openai", model="loopback", base_url=url, api_key_env=None,
        concurrency=concurrency, timeout_s=30, max_retries=3,
    )  # fmt: skip


def timed(store: Store, dataset: str, url: str, concurrency: int) -> tuple[float, int]:
    judge = load(config(url, concurrency))
    started = time.perf_counter()
    result = run(store, dataset, judge, swap=True, out=f"{dataset}.c{concurrency}")
    assert result.scored + result.unscored == result.requested
    return time.perf_counter() - started, result.calls


_LENGTH = re.compile(rb"(?i)\r\ncontent-length: *(\d+)")


def raw_http_rate(url: str, calls: int, concurrency: int, tag: str) -> float:
    """Calls a second of the minimal keep-alive client (see the module docstring)."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    system = {"role": "system", "content": "You compare two answers. " * 20}
    bodies = (
        orjson.dumps(
            {
                "model": "loopback",
                "temperature": 0,
                "messages": [
                    system,
                    {"role": "user", "content": f"Question {tag}{i}?\n[A] a {i}\n[B] b {i}"},
                ],
            }
        )
        for i in range(calls)
    )

    async def worker() -> int:
        reader, writer = await asyncio.open_connection(host, int(port))
        done = 0
        for body in bodies:  # one shared iterator: each body goes to one connection
            writer.write(
                b"POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (host.encode(), len(body), body)
            )
            head = await reader.readuntil(b"\r\n\r\n")
            found = _LENGTH.search(head)
            assert found is not None, head
            answer = orjson.loads(await reader.readexactly(int(found.group(1))))
            done += bool(answer["choices"][0]["message"]["content"])
        writer.close()
        return done

    async def run_all() -> int:
        return sum(await asyncio.gather(*(worker() for _ in range(concurrency))))

    started = time.perf_counter()
    answered = asyncio.run(run_all())
    elapsed = time.perf_counter() - started
    assert answered == calls, (answered, calls)
    return calls / elapsed


def start_server(processes: int) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "palate.testing.loopback", "--latency", str(LATENCY_S),
         "--processes", str(processes)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def measure(
    url: str, store: Store, n: int, rounds: int, tag: str
) -> tuple[list[float], list[float]]:
    """Palate's and the raw client's rates, in turns; fresh pairs each round (no cache hits)."""
    rates, raw_rates = [], []
    for r in range(rounds):
        raw_rates.append(raw_http_rate(url, 2 * n, CONCURRENCY, f"raw{tag}{r}-"))
        store.add_records(f"pairs{tag}{r}", pairs(n, f"q{tag}{r}-"))
        run_s, calls = timed(store, f"pairs{tag}{r}", url, CONCURRENCY)
        rates.append(calls / run_s)
    return rates, raw_rates


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=2, help="turns of baseline and palate")
    parser.add_argument(
        "--server-processes", type=int, default=max(2, min(8, (os.cpu_count() or 2) // 2)),
        help="processes of the second server, which should not be the bottleneck",
    )  # fmt: skip
    args = parser.parse_args()
    n = 2_000 if args.quick else 10_000
    ideal = CONCURRENCY / LATENCY_S
    process = psutil.Process()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        store.add_records("base", pairs(25, "base"))
        server, url = start_server(1)
        try:
            base_s, base_calls = timed(store, "base", url, 1)
            rss_start = process.memory_info().rss
            rates, raw_rates = measure(url, store, n, args.rounds, "")
            rss_end = process.memory_info().rss
        finally:
            server.terminate()
            server.wait()
        server, url = start_server(args.server_processes)
        try:
            multi, multi_raw = measure(url, store, n, args.rounds, "m")
        finally:
            server.terminate()
            server.wait()
    rate, raw = max(rates), max(raw_rates)
    calls = 2 * n
    sequential = base_calls / base_s
    print(
        f"{n} judgements with swap ({calls} calls), best of {args.rounds} rounds: "
        f"{rate:.0f} calls/s ({', '.join(f'{x:.0f}' for x in rates)}); minimal raw-HTTP "
        f"client {raw:.0f} calls/s ({', '.join(f'{x:.0f}' for x in raw_rates)}): ratio "
        f"{rate / raw:.2f} (target >= 0.9) {'OK' if rate >= 0.9 * raw else 'BELOW TARGET'}"
    )
    print(
        f"share of the ideal {ideal:.0f}/s against the one-process server: palate "
        f"{100 * rate / ideal:.0f}%, raw client {100 * raw / ideal:.0f}%"
    )
    best, best_raw = max(multi), max(multi_raw)
    print(
        f"against a {args.server_processes}-process server: palate {best:.0f} calls/s "
        f"({', '.join(f'{x:.0f}' for x in multi)}), {100 * best / ideal:.0f}% of the ideal "
        f"(target >= 80%) {'OK' if best >= 0.8 * ideal else 'BELOW TARGET'}; raw client "
        f"{best_raw:.0f} calls/s, {100 * best_raw / ideal:.0f}%; ratio {best / best_raw:.2f} "
        f"(on {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})"
    )
    print(f"sequential client: {sequential:.1f} calls/s on {base_calls} calls "
          f"(would take {calls / sequential:.0f} s); "
          f"speed-up {rate / sequential:.0f}x")  # fmt: skip
    print(f"RSS {rss_start / 2**20:.0f} MiB before, {rss_end / 2**20:.0f} MiB after")


if __name__ == "__main__":
    main()
