"""Dawid-Skene truth inference speed, against crowd-kit's DawidSkene in the same run.

    python benchmarks/bench_truth.py [--quick]

Data: N labels (1,000,000; 100,000 with --quick) on N/5 items, 5 labels an item from 1,000
workers, 3 classes. Workers differ: 40% good (about 95% right), 30% mediocre, 20% spammers
answering from a fixed distribution whatever the truth, 10% adversarial (a permuted confusion
matrix). Both libraries start from the string columns as they take them (palate three lists,
crowd-kit a DataFrame) and run their defaults; each time is the best of ``--repeat`` runs. We
print the speed-up, how often the two agree on an item's label, and each one's accuracy
against the generated truth.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from crowdkit.aggregation import DawidSkene

from palate.stats.truth import infer_truth


def generate(
    n: int, n_workers: int, k: int, per_item: int, seed: int
) -> tuple[list[str], list[str], list[str], dict[str, str]]:
    """Long-form labels from workers with heterogeneous confusion matrices."""
    rng = np.random.default_rng(seed)
    n_items = n // per_item
    truth = rng.choice(k, n_items, p=rng.dirichlet(np.full(k, 5.0)))
    kind = rng.choice(4, n_workers, p=[0.4, 0.3, 0.2, 0.1])
    eye = np.eye(k)
    shifted = np.roll(eye, 1, axis=1)
    spread = np.array([0.5, 2.0, 1.0, 0.5])[kind][:, None, None]
    peak = np.array([20.0, 4.0, 0.0, 20.0])[kind][:, None, None]
    target = np.where(kind[:, None, None] == 3, shifted, eye)
    confusion = rng.gamma(spread + peak * target)
    spam = kind == 2
    confusion[spam] = confusion[spam, :1, :]  # same answer distribution whatever the truth
    confusion /= confusion.sum(axis=2, keepdims=True)
    item = np.repeat(np.arange(n_items), per_item)
    # per_item distinct workers an item: a random offset plus distinct strides modulo n_workers
    worker = (rng.integers(0, n_workers, n_items)[:, None] + np.arange(per_item) * 7) % n_workers
    worker = worker.ravel()
    cumulative = confusion[worker, truth[item]].cumsum(axis=1)
    label = np.minimum((rng.random(item.size)[:, None] > cumulative).sum(axis=1), k - 1)
    names = np.char.add("i", item.astype(str)).tolist()
    gold = {f"i{i}": f"c{z}" for i, z in enumerate(truth)}
    return (
        names,
        np.char.add("w", worker.astype(str)).tolist(),
        np.char.add("c", label.astype(str)).tolist(),
        gold,
    )


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 labels instead of 10⁶")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per library")
    args = parser.parse_args()
    n = 100_000 if args.quick else 1_000_000

    items, workers, answers, gold = generate(n, n_workers=1000, k=3, per_item=5, seed=0)
    frame = pd.DataFrame({"task": items, "worker": workers, "label": answers})

    ours_s, ours = best_of(args.repeat, lambda: infer_truth(items, workers, answers))
    theirs_s, theirs = best_of(args.repeat, lambda: DawidSkene(n_iter=100).fit(frame))
    their_labels = theirs.labels_.reindex(ours.items).to_numpy()
    our_labels = np.asarray(ours.labels)
    truth = np.asarray([gold[i] for i in ours.items])
    print(
        f"dawid_skene ({n:,} labels): palate {ours_s:.2f} s ({ours.iterations} iterations), "
        f"crowd-kit {theirs_s:.2f} s ({len(theirs.loss_history_)} iterations), "
        f"speed-up {theirs_s / ours_s:.1f}x, "
        f"label agreement {100 * np.mean(our_labels == their_labels):.2f}%, "
        f"accuracy palate {100 * np.mean(our_labels == truth):.2f}% "
        f"crowd-kit {100 * np.mean(their_labels == truth):.2f}%"
    )


if __name__ == "__main__":
    main()
