"""Gold (honeypot) items: known answers hidden in raters' and judges' queues.

Gold measures each rater's or judge's accuracy directly; truth inference
(``palate.stats.truth.infer_truth``, Dawid-Skene by default) estimates it from overlap on
everything else. Tracking both per period shows who is drifting; items whose raters agree
little get more raters (overlap raised where agreement is low).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from palate.errors import PalateError
from palate.routing.cascade import agreement_lower_bound
from palate.stats.truth import Method, infer_truth


def mix_gold(
    queue: Sequence[str], gold: Sequence[str], rate: float, rng: np.random.Generator | int
) -> list[str]:
    """The queue with gold items at random positions, making up ``rate`` of the result; gold
    items are reused in a shuffled cycle when the pool is smaller than needed."""
    if not 0 <= rate < 1:
        raise PalateError(f"gold rate must lie in [0, 1), got {rate}")
    if rate > 0 and not gold:
        raise PalateError("a gold rate above 0 needs at least one gold item")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    n_gold = round(len(queue) * rate / (1 - rate))
    picks: list[str] = []
    while len(picks) < n_gold:
        picks.extend(gold[k] for k in gen.permutation(len(gold)))
    out = list(queue)
    positions = np.sort(gen.choice(len(queue) + n_gold, size=n_gold, replace=False))
    for position, item in zip(positions, picks[:n_gold], strict=True):
        out.insert(int(position), item)
    return out


@dataclass(frozen=True)
class Quality:
    """One rater's or judge's accuracy: on gold (with a two-sided 95% Clopper-Pearson
    interval), from truth inference, and on gold per period (``periods``: period → (n, acc))."""

    worker: str
    n_gold: int
    gold_accuracy: float | None
    ci_low: float | None
    ci_high: float | None
    truth_accuracy: float | None
    periods: dict[str, tuple[int, float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "worker": self.worker,
            "n_gold": self.n_gold,
            "gold_accuracy": self.gold_accuracy,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "truth_accuracy": self.truth_accuracy,
            "periods": {k: {"n": n, "accuracy": a} for k, (n, a) in self.periods.items()},
        }


def quality(
    items: Sequence[str],
    workers: Sequence[str],
    answers: Sequence[str],
    gold: Mapping[str, str],
    *,
    periods: Sequence[str] | None = None,
    method: Method = "ds",
) -> list[Quality]:
    """Per-worker accuracy from gold answers and from truth inference over the non-gold
    labels (``periods``, e.g. ISO weeks, gives the per-period gold accuracy)."""
    if not len(items) == len(workers) == len(answers):
        raise PalateError("items, workers and answers must be of one length")
    if periods is not None and len(periods) != len(items):
        raise PalateError("periods must give one period per label")
    hits: dict[str, list[bool]] = defaultdict(list)
    by_period: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    rest = [k for k, item in enumerate(items) if item not in gold]
    for k, item in enumerate(items):
        if item in gold:
            hit = answers[k] == gold[item]
            hits[workers[k]].append(hit)
            if periods is not None:
                by_period[workers[k]][periods[k]].append(hit)
    truth: dict[str, float] = {}
    if rest:
        result = infer_truth(
            [items[k] for k in rest],
            [workers[k] for k in rest],
            [answers[k] for k in rest],
            method=method,
        )
        truth = dict(zip(result.workers, map(float, result.worker_accuracy), strict=True))
    out = []
    for worker in sorted(set(workers)):
        mine = hits.get(worker, [])
        n, k = len(mine), sum(mine)
        out.append(
            Quality(
                worker=worker,
                n_gold=n,
                gold_accuracy=k / n if n else None,
                ci_low=agreement_lower_bound(k, n, 0.025) if n else None,
                ci_high=1 - agreement_lower_bound(n - k, n, 0.025) if n else None,
                truth_accuracy=truth.get(worker),
                periods={
                    p: (len(v), sum(v) / len(v)) for p, v in sorted(by_period[worker].items())
                },
            )
        )
    return out


def recommend_overlap(
    items: Sequence[str],
    answers: Sequence[str],
    *,
    min_agreement: float = 0.7,
    extra: int = 2,
) -> dict[str, int]:
    """Extra raters per item whose majority share is below ``min_agreement`` (items with a
    single label count as unagreed): {item: extra raters}."""
    if not 0 < min_agreement <= 1:
        raise PalateError(f"min_agreement must lie in (0, 1], got {min_agreement}")
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    for item, answer in zip(items, answers, strict=True):
        labels[item][answer] += 1
    out = {}
    for item, counts in labels.items():
        total = sum(counts.values())
        if total < 2 or max(counts.values()) / total < min_agreement:
            out[item] = extra
    return out
