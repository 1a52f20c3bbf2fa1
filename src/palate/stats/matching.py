"""Pairing judgements of the same battle from two sources (humans and a judge).

One matching serves every consumer that lines a judge up with people: prediction-powered
inference (the judge's verdict on each human-labelled comparison) and routing calibration
(did the judge agree with the human on that battle?). A battle is a prompt and two models,
the pair put in name order (the outcome flipped to match), so a judge that saw the responses
the other way round still lines up; repeats of a battle are paired in the order they were
stored, occurrence by occurrence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from palate.errors import StatsError
from palate.stats.data import Pairwise


def battle_keys(rows: Iterable[tuple[object, str, str]]) -> list[tuple[str, bool]]:
    """Each (item, model_a, model_b) row's battle key, ``item\tA\tB`` with A <= B (``#k``
    added for the k-th repeat), and whether the row's pair is the other way round."""
    seen: dict[str, int] = defaultdict(int)
    keys = []
    for item, model_a, model_b in rows:
        flipped = model_b < model_a
        low, high = (model_b, model_a) if flipped else (model_a, model_b)
        base = f"{item}\t{low}\t{high}"
        k = seen[base]
        seen[base] += 1
        keys.append((base if k == 0 else f"{base}#{k}", flipped))
    return keys


def _rows(data: Pairwise) -> list[tuple[object, str, str]]:
    return [
        (data.items[k], data.names[data.model_a[k]], data.names[data.model_b[k]])
        for k in range(len(data.outcome))
    ]


@dataclass(frozen=True)
class Matched:
    """Judge comparisons split into those humans also labelled and the rest."""

    names: list[str]
    labelled: np.ndarray  # indices into the judge's comparisons
    human_outcome: np.ndarray  # human outcome for each labelled one, same orientation
    unlabelled: np.ndarray


def match(human: Pairwise, judge: Pairwise) -> Matched:
    """The judge's comparisons that humans labelled too, with the human outcome oriented as
    the judge's; raises when humans judged a model the judge never saw, or fewer than two
    battles match."""
    names = judge.names
    missing = sorted(set(human.names) - set(names))
    if missing:
        raise StatsError(f"models judged by humans but never by the judge: {', '.join(missing)}")
    human_outcome = {
        key: 1.0 - float(outcome) if flipped else float(outcome)
        for (key, flipped), outcome in zip(battle_keys(_rows(human)), human.outcome, strict=True)
    }
    labelled, outcomes, unlabelled = [], [], []
    for k, (key, flipped) in enumerate(battle_keys(_rows(judge))):
        if key in human_outcome:
            labelled.append(k)
            outcomes.append(1.0 - human_outcome[key] if flipped else human_outcome[key])
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
