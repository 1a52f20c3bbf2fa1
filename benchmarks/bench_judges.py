"""Judge-run throughput against the loopback server, against a sequential client.

    python benchmarks/bench_judges.py [--quick]

N pairwise judgements with position swap (10,000; 2,000 with --quick), so 2N calls, through
``palate.judges.run`` (cache and output written to SQLite) against the scripted server in its own
process at 100 ms latency, concurrency 64. The ideal rate is 64 / 0.1 s = 640 calls a second;
we print the achieved share of it, the speed-up over a sequential client (concurrency 1,
measured on 50 calls and scaled), and the process RSS before and after the run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 2_000 if args.quick else 10_000
    server = subprocess.Popen(
        [sys.executable, "-m", "palate.testing.loopback", "--latency", str(LATENCY_S)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
            store.add_records("base", pairs(25, "base"))
            base_s, base_calls = timed(store, "base", url, 1)
            store.add_records("pairs", pairs(n, "q"))
            process = psutil.Process()
            rss_start = process.memory_info().rss
            run_s, calls = timed(store, "pairs", url, CONCURRENCY)
            rss_end = process.memory_info().rss
    finally:
        server.terminate()
        server.wait()
    rate = calls / run_s
    ideal = CONCURRENCY / LATENCY_S
    sequential = base_calls / base_s
    print(f"{n} judgements with swap ({calls} calls) in {run_s:.1f} s: {rate:.0f} calls/s, "
          f"{100 * rate / ideal:.0f}% of ideal {ideal:.0f}/s (target >= 80%)")  # fmt: skip
    print(f"sequential client: {sequential:.1f} calls/s on {base_calls} calls "
          f"(would take {calls / sequential:.0f} s); "
          f"speed-up {rate / sequential:.0f}x")  # fmt: skip
    print(f"RSS {rss_start / 2**20:.0f} MiB before, {rss_end / 2**20:.0f} MiB after")


if __name__ == "__main__":
    main()
