"""Rollouts: the overhead of Ray against local processes for the same episodes, measured in
the same run. Both run N quick-preset episodes of one agent two at a time; Ray is timed cold
(``--ray local``: starting Ray and its workers is part of the bill) and warm (a started Ray
whose workers have run a task, as on a cluster), and a serial run gives the ideal speed-up.
Every mode must give the serial digests.

    python benchmarks/bench_rollouts.py [--quick] [--episodes N] [--workers W]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import ray

from palate.saas.rollouts import Rollout, Runner, on_ray, processes, run_rollout, serial
from palate.saas.run import RunOptions


def timed(runner: Runner, base: RunOptions, seeds: list[int], out: Path) -> tuple[float, Rollout]:
    started = time.perf_counter()
    rollout = run_rollout(base, seeds, out, runner)
    return time.perf_counter() - started, rollout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter episodes")
    parser.add_argument("--episodes", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    episodes = args.episodes or (8 if args.quick else 16)
    base = RunOptions("root-cause", 0, "quick", days=3 if args.quick else None)
    seeds = list(range(episodes))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        walls: dict[str, float] = {}
        digests: dict[str, list[str]] = {}
        runs: list[tuple[str, Runner]] = [
            ("serial", serial),
            ("processes", processes(args.workers)),
            ("ray (cold)", on_ray("local", args.workers)),
        ]
        for name, runner in runs:
            walls[name], rollout = timed(runner, base, seeds, root / name.split()[0])
            digests[name] = [s["digest"] for s in rollout.summaries]
        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
        try:
            warm = on_ray("auto", args.workers)
            # Warm-up: Ray's worker processes start and import palate on their first task.
            run_rollout(RunOptions(base.agent, 0, "quick", days=1), seeds[: args.workers],
                        root / "warm-up", warm)  # fmt: skip
            walls["ray (warm)"], rollout = timed(warm, base, seeds, root / "warm")
            digests["ray (warm)"] = [s["digest"] for s in rollout.summaries]
        finally:
            ray.shutdown()
    print(f"{episodes} episodes of {base.agent}, {args.workers} at a time")
    for name, wall in walls.items():
        print(
            f"{name:>11}: {wall:6.1f}s  {episodes / wall:5.2f} episodes/s  "
            f"{wall / walls['processes']:.2f}x the processes' wall time"
        )
    ideal = walls["serial"] / args.workers
    print(f"ideal with {args.workers} workers: {ideal:.1f}s; processes reach "
          f"{ideal / walls['processes']:.0%} of it")  # fmt: skip
    overhead = (walls["ray (warm)"] - walls["processes"]) / episodes
    print(f"Ray overhead against processes (warm): {overhead * 1000:+.0f} ms per episode")
    same = all(d == digests["serial"] for d in digests.values())
    print(f"same digests in every mode: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
