"""The SaaS harness: simulated customer-days per second for an ``idle`` episode, against the
bare request loop measured in the same run (the same scenarios, in the same order, sent to a
freshly deployed product with no market, books or log), and episode wall time per preset.
The quick preset must finish well under a minute on 2 cores.

    python benchmarks/bench_saas.py [--quick] [--seed N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from palate.saas.events import read_log
from palate.saas.run import EVENTS_FILE, RunOptions, run_episode
from palate.saas.traffic import SCENARIOS, Traffic
from palate.saas.workspace import Workspace

QUICK_BUDGET_S = 60.0


def timed_episode(preset: str, seed: int, root: Path) -> float:
    started = time.perf_counter()
    run_episode(RunOptions("idle", seed, preset), root / preset, root=root)
    return time.perf_counter() - started


def bare_loop(log: Path, root: Path) -> tuple[float, int]:
    """Seconds to deploy the product and send the episode's scenarios, nothing else."""
    events = read_log(log)
    runs = [(e.day, e.data["scenario"]) for e in events if e.kind in ("probe", "attack")]
    started = time.perf_counter()
    workspace = Workspace.create(root / "bare", seed=0)
    try:
        workspace.deploy()
        traffic = Traffic()
        traffic.service = workspace
        requests = sum(len(traffic.run(SCENARIOS[name], day).requests) for day, name in runs)
    finally:
        workspace.stop()
    return time.perf_counter() - started, requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="quick and default presets only")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    presets = ["quick", "default"] if args.quick else ["quick", "default", "long"]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        walls = {}
        for preset in presets:
            walls[preset] = timed_episode(preset, args.seed, root)
            print(f"{preset}: idle episode {walls[preset]:.1f}s", flush=True)
        default_log = root / "default" / EVENTS_FILE
        customer_days = sum(e.data["customers"] for e in read_log(default_log) if e.kind == "day")
        bare, requests = bare_loop(default_log, root)
        rate = customer_days / walls["default"]
        print(
            f"default: {customer_days} customer-days in {walls['default']:.1f}s = {rate:,.0f}/s; "
            f"bare request loop ({requests} requests) {bare:.1f}s: the simulation costs "
            f"{walls['default'] / bare:.2f}x the bare loop"
        )
        ok = walls["quick"] < QUICK_BUDGET_S
        print(f"quick budget {QUICK_BUDGET_S:.0f}s: {walls['quick'] / QUICK_BUDGET_S:.2f}x")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
