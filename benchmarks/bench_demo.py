"""``palate demo`` end to end, time split by stage, against its budget (full ≤ 300 s,
--quick ≤ 60 s on a 2-core machine) and against a bare loop measured in the same run: the same
number of GRPO steps on the checkbox reward alone, with no judges, experts, store or ledger,
so the ratio is what palate's supervision costs on top of training.

    python benchmarks/bench_demo.py [--quick] [--seed N]
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

import torch

from palate.gym import GymConfig, run_demo
from palate.gym.judges import checkbox_score
from palate.gym.loop import grpo_train
from palate.gym.policy import frozen_copy, starting_policy
from palate.store import Store


def bare_loop(config: GymConfig) -> float:
    """Seconds for the start plus both arms' GRPO steps, nothing else."""
    torch.set_num_threads(1)
    started = time.perf_counter()
    start = starting_policy(config.policy, config.seed)
    reference = frozen_copy(start)
    for _ in range(2):
        policy = copy.deepcopy(start)
        optimiser = torch.optim.Adam(policy.parameters(), lr=config.learning_rate)
        generator = torch.Generator().manual_seed(config.seed)
        for _ in range(config.rounds):
            grpo_train(policy, reference, optimiser, checkbox_score, config, generator)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the --quick demo (budget 60 s)")
    parser.add_argument("--seed", type=int, default=0, help="demo seed")
    args = parser.parse_args()
    config = GymConfig.quick(args.seed) if args.quick else GymConfig(seed=args.seed)
    budget = 60.0 if args.quick else 300.0
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = run_demo(config, Store(f"sqlite:///{Path(tmp) / 'demo.db'}"), Path(tmp))
        total = time.perf_counter() - started
    bare = bare_loop(config)
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    print(f"demo{' --quick' if args.quick else ''}: {total:.1f}s ({stages}; report and rest "
          f"{total - sum(result.timings.values()):.1f}s)")  # fmt: skip
    print(f"  budget {budget:.0f}s: {total / budget:.2f}x of budget")
    print(f"  bare GRPO loop {bare:.1f}s: the full loop costs {total / bare:.1f}x the bare loop")
    print(f"  claims: {'all hold' if all(result.summary['checks'].values()) else 'SOME FAIL'}")
    return 0 if total <= budget and all(result.summary["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
