"""Pairing judgements of the same comparison from two sources (humans and a judge).

Prediction-powered inference needs, for the few human-labelled comparisons, the judge's verdict
on the very same comparison. Two records match when they compare the same two models on the
same prompt; repeats of such a triple are paired in the order they were stored.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from palate.errors import StatsError
from palate.stats.data import Pairwise


@dataclass(frozen=True)
class Matched:
    """Judge comparisons split into those humans also labelled and the rest."""

    names: list[str]
    labelled: np.ndarray  # indices into the judge's comparisons
    human_outcome: np.ndarray  # human outcome for each labelled one, same orientation
    unlabelled: np.ndarray


def match(human: Pairwise, judge: Pairwise) -> Matched:
    names = judge.names
    code = {name: k for k, name in enumerate(names)}
    missing = sorted(set(human.names) - set(names))
    if missing:
        raise StatsError(f"models judged by humans but never by the judge: {', '.join(missing)}")
    waiting: dict[tuple[str, int, int], list[float]] = defaultdict(list)
    for k in range(len(human.outcome)):
        a, b = code[human.names[human.model_a[k]]], code[human.names[human.model_b[k]]]
        outcome = float(human.outcome[k])
        if a > b:  # orient every key the same way
            a, b, outcome = b, a, 1.0 - outcome
        waiting[(str(human.items[k]), a, b)].append(outcome)
    for stored in waiting.values():
        stored.reverse()  # pop() then yields them in stored order
    labelled, outcomes, unlabelled = [], [], []
    for k in range(len(judge.outcome)):
        a, b = int(judge.model_a[k]), int(judge.model_b[k])
        flipped = a > b
        queue = waiting.get((str(judge.items[k]), min(a, b), max(a, b)))
        if queue:
            outcome = queue.pop()
            labelled.append(k)
            outcomes.append(1.0 - outcome if flipped else outcome)
        else:
            unlabelled.append(k)
    if len(labelled) < 2:
        raise StatsError(
            f"only {len(labelled)} human comparisons match the judge's (same prompt and models)"
        )
    return Matched(
        names=names,
        labelled=np.asarray(labelled),
        human_outcome=np.asarray(outcomes),
        unlabelled=np.asarray(unlabelled, dtype=int),
    )
