"""Gold items: mixed in at the stated rate, and per-rater accuracy recovered from gold and
from truth inference on simulated raters of known accuracy."""

from __future__ import annotations

import numpy as np

from palate.routing.gold import mix_gold, quality, recommend_overlap


def test_mix_gold_rate_and_seed() -> None:
    queue = [f"q{k}" for k in range(900)]
    mixed = mix_gold(queue, ["g1", "g2", "g3"], 0.1, 5)
    assert len(mixed) == 1000 and sum(x.startswith("g") for x in mixed) == 100
    assert [x for x in mixed if x.startswith("q")] == queue  # order of real work kept
    assert mixed == mix_gold(queue, ["g1", "g2", "g3"], 0.1, 5)
    assert mixed != mix_gold(queue, ["g1", "g2", "g3"], 0.1, 6)


def test_quality_from_gold_and_truth_inference() -> None:
    rng = np.random.default_rng(0)
    accuracy = {"good": 0.95, "fair": 0.8, "poor": 0.55}
    truth = {f"i{k}": str(rng.integers(2)) for k in range(400)}
    gold = {item: label for item, label in list(truth.items())[:100]}
    items, workers, answers, periods = [], [], [], []
    for n, (item, label) in enumerate(truth.items()):
        for worker, acc in accuracy.items():
            items.append(item)
            workers.append(worker)
            answers.append(label if rng.uniform() < acc else str(1 - int(label)))
            periods.append("w1" if n < 50 else "w2")
    rows = {q.worker: q for q in quality(items, workers, answers, gold, periods=periods)}
    for worker, acc in accuracy.items():
        q = rows[worker]
        assert q.n_gold == 100 and q.ci_low is not None and q.ci_high is not None
        assert q.ci_low <= acc <= q.ci_high
        assert q.truth_accuracy is not None and abs(q.truth_accuracy - acc) < 0.1
        assert set(q.periods) == {"w1", "w2"}
    order = sorted(accuracy, key=lambda w: rows[w].gold_accuracy or 0)
    assert order == ["poor", "fair", "good"]
    extra = recommend_overlap(items, answers, min_agreement=1.0)
    assert extra and all(v == 2 for v in extra.values())
    assert len(extra) < len(truth)  # unanimous items need no more raters
