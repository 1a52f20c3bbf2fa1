"""Panels: majority, gold-learned and truth-inferred weights, and the recorded confidence."""

from __future__ import annotations

import asyncio
import itertools
import math

import numpy as np

from palate.judges.base import PairTask
from palate.judges.panel import (
    Panel,
    accuracy_weight,
    comparison_label,
    weights_from_gold,
    weights_from_truth,
)
from palate.schema import Comparison, Prompt, Response, Source

LABELS = ("0", "1")


class NoisyJudge:
    """A simulated judge that gives the true label with a fixed accuracy (seeded per item)."""

    def __init__(self, name: str, accuracy: float, truth: dict[str, str], seed: int) -> None:
        self.source = Source(kind="judge", name=name, version="1")
        self.accuracy, self.truth, self.seed = accuracy, truth, seed

    async def judge_pair(self, task: PairTask) -> Comparison:
        rng = np.random.default_rng([self.seed, int(task.item[1:])])
        right = self.truth[task.item]
        label = right if rng.random() < self.accuracy else ("1" if right == "0" else "0")
        return Comparison(prompt=task.prompt, responses=list(task.responses),
                          winner=int(label), judge=self.source)  # fmt: skip


def _tasks(n: int) -> list[PairTask]:
    pair = (Response(model="a", text="x"), Response(model="b", text="y"))
    return [PairTask(prompt=Prompt(id=f"i{i}"), responses=pair) for i in range(n)]


def _setup(n: int = 400) -> tuple[list[NoisyJudge], dict[str, str]]:
    rng = np.random.default_rng(0)
    truth = {f"i{i}": str(int(rng.integers(2))) for i in range(n)}
    accuracies = (0.95, 0.6, 0.6, 0.55)
    judges = [NoisyJudge(f"j{k}", a, truth, seed=k) for k, a in enumerate(accuracies)]
    return judges, truth


def _votes(judges: list[NoisyJudge], tasks: list[PairTask]) -> dict[str, dict[str, str]]:
    async def main() -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for j in judges:
            results = await asyncio.gather(*(j.judge_pair(t) for t in tasks))
            out[j.source.name] = {
                t.item: str(comparison_label(r)) for t, r in zip(tasks, results, strict=True)
            }
        return out

    return asyncio.run(main())


def _accuracy(panel: Panel, tasks: list[PairTask], truth: dict[str, str]) -> float:
    async def main() -> list[Comparison]:
        return list(await asyncio.gather(*(panel.judge_pair(t) for t in tasks)))

    return float(np.mean([comparison_label(c) == truth[c.prompt.key] for c in asyncio.run(main())]))


def test_learned_weights_beat_majority_and_truth_inference_finds_the_good_judge() -> None:
    judges, truth = _setup()
    tasks = _tasks(len(truth))
    gold_items, rest = tasks[:100], tasks[100:]
    votes = _votes(judges, tasks)
    gold = {t.item: truth[t.item] for t in gold_items}
    learned = weights_from_gold({k: {i: v[i] for i in gold} for k, v in votes.items()}, gold)
    inferred = weights_from_truth(votes)
    assert max(learned, key=learned.__getitem__) == "j0" == max(inferred, key=inferred.__getitem__)
    majority = _accuracy(Panel(judges), rest, truth)
    weighted = _accuracy(Panel(judges, weights=learned), rest, truth)
    assert weighted > majority + 0.1  # the 0.95 judge outvotes three weak ones
    assert weighted >= 0.9


def test_confidence_is_the_one_coin_posterior() -> None:
    """Brute-force Bayes over the one-coin model (three labels, uniform prior) agrees with the
    panel's softmax of log-odds weights."""
    accuracies = {"a": 0.9, "b": 0.7, "c": 0.6}
    weights = {k: accuracy_weight(p) for k, p in accuracies.items()}
    judges = [NoisyJudge(k, 1.0, {}, 0) for k in accuracies]
    panel = Panel(judges, weights=weights)
    task = _tasks(1)[0]
    for combo in itertools.product(("0", "1", "tie"), repeat=3):
        verdicts = [
            Comparison(
                prompt=task.prompt,
                responses=list(task.responses),
                judge=j.source,
                **({"tie": True} if v == "tie" else {"winner": int(v)}),
            )
            for j, v in zip(judges, combo, strict=True)
        ]
        result = panel.combine(task, verdicts)
        likelihood = {
            z: math.prod(
                p if v == z else (1 - p) / 2
                for p, v in zip(accuracies.values(), combo, strict=True)
            )
            for z in ("0", "1", "tie")
        }
        best = comparison_label(result)
        assert best is not None
        assert (
            abs(result.metadata["confidence"] - likelihood[best] / sum(likelihood.values())) < 1e-9
        )
        assert likelihood[best] == max(likelihood.values())
