"""A judge's verdicts lined up with humans' on the same battles, with the judge's confidence.

Battles are matched by ``palate.stats.matching.battle_keys``, as for prediction-powered
inference: (item, model pair) in name order, repeats occurrence by occurrence.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from palate.errors import PalateError
from palate.routing.signals import self_consistency, signal_confidence
from palate.stats.matching import battle_keys

FloatArray = npt.NDArray[np.float64]

Signal = Literal["recorded", "self-consistency"]


@dataclass(frozen=True)
class Verdicts:
    """Every judged battle (``items``), the judge's confidence in it, and — where a human
    judged the same battle — whether they agreed (``agree``, NaN where no human label)."""

    items: list[str]
    confidence: FloatArray
    agree: FloatArray
    human_tie: npt.NDArray[np.bool_]
    signal: Signal

    @property
    def labelled(self) -> npt.NDArray[np.bool_]:
        return np.asarray(~np.isnan(self.agree), dtype=np.bool_)


def _label(outcome: float) -> str:
    return "first" if outcome > 0.5 else "second" if outcome < 0.5 else "tie"


def _keyed(
    rows: Iterable[tuple[Any, ...]],
) -> tuple[list[str], list[tuple[str, str]], list[float], list[str]]:
    """(battle key, (model_a, model_b), outcome, body) per scored row, in name order."""
    scored = [r for r in rows if r[1] is not None and r[2] is not None and r[3] is not None]
    keys, pairs, outcomes, bodies = [], [], [], []
    for (key, flipped), (_, model_a, model_b, outcome, body) in zip(
        battle_keys((item, a, b) for item, a, b, _, _ in scored), scored, strict=True
    ):
        keys.append(key)
        pairs.append((model_b, model_a) if flipped else (model_a, model_b))
        outcomes.append(1.0 - float(outcome) if flipped else float(outcome))
        bodies.append(body)
    return keys, pairs, outcomes, bodies


def pair_verdicts(
    judge_rows: Iterable[tuple[Any, ...]], human_rows: Iterable[tuple[Any, ...]], judge: str
) -> Verdicts:
    """Rows are (item, model_a, model_b, outcome, body) as the store's columns give them.
    Confidence comes from the records (``signal_confidence``) when every judge record has one,
    else from ``self_consistency`` (one rule for all, never a mix of scales)."""
    keys, pairs, outcomes, bodies = _keyed(judge_rows)
    if not keys:
        raise PalateError(f"judge source {judge!r} has no scored pairwise verdicts")
    recorded = [signal_confidence(json.loads(body)) for body in bodies]
    signal: Signal
    if all(c is not None for c in recorded):
        confidence = np.array(recorded, dtype=np.float64)
        signal = "recorded"
    else:
        confidence = self_consistency([a for a, _ in pairs], [b for _, b in pairs], outcomes)
        signal = "self-consistency"
    h_keys, _pairs, h_outcomes, _bodies = _keyed(human_rows)
    human = dict(zip(h_keys, h_outcomes, strict=True))
    agree = np.full(len(keys), np.nan)
    human_tie = np.zeros(len(keys), dtype=np.bool_)
    for k, (key, outcome) in enumerate(zip(keys, outcomes, strict=True)):
        if key in human:
            agree[k] = float(_label(outcome) == _label(human[key]))
            human_tie[k] = human[key] == 0.5
    return Verdicts(keys, confidence, agree, human_tie, signal)
