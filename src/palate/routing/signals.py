"""How sure a judge was of each verdict, read from what its records carry.

In order of preference, per record:
1. ``metadata["confidence"]`` in [0, 1]: a panel's agreement, or a swap policy's combined
   confidence (the judges package writes it there);
2. ``call.preference`` = P(responses[0] preferred), from token logprobs or a reward model's
   margin (sigmoid of the Bradley-Terry log-odds): the probability the judge gave its own
   verdict (p for a first-response win, 1 − p for a second, 0.5 for a tie).
3. Neither, as with Arena's GPT-4 verdicts (labels only): ``self_consistency`` — the
   probability that the judge's own Bradley-Terry model, fitted to all of its verdicts in the
   dataset, gives the verdict it made. A verdict that follows the judge's overall view of the
   two models is likelier to match a human's; one that goes against it is the noisy kind.
   Ties score 0 (the judge declined to decide, so the item is escalated).

Why not the judge's historical agreement per model pair, which needs human labels: the
cascade's guarantee assumes the confidence is fixed before the calibration labels are looked
at. Self-consistency uses no human label at all, so every calibration label serves the
threshold test once, and the signal can be computed for unlabelled items alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit

from palate.schema import Comparison
from palate.stats.bradley_terry import fit_bradley_terry

FloatArray = npt.NDArray[np.float64]

# A weak N(0, 1/l2) prior keeps strengths finite for a model the judge never lets lose.
_L2 = 1e-3


def signal_confidence(record: Comparison | Mapping[str, Any]) -> float | None:
    """A verdict's confidence from its record (or its stored JSON body), or None when the
    record carries no signal (use ``self_consistency`` then)."""
    body = record.model_dump(mode="json") if isinstance(record, Comparison) else record
    stated = (body.get("metadata") or {}).get("confidence")
    if isinstance(stated, int | float) and 0 <= stated <= 1:
        return float(stated)
    preference = (body.get("call") or {}).get("preference")
    if isinstance(preference, int | float):
        if body.get("tie"):
            return 0.5
        winner = body.get("winner")
        if winner == 0:
            return float(preference)
        if winner == 1:
            return 1.0 - float(preference)
    return None


def self_consistency(
    model_a: Sequence[str], model_b: Sequence[str], outcome: npt.ArrayLike
) -> FloatArray:
    """P(the judge's verdict) under a Bradley-Terry model fitted to the same judge's verdicts
    (``outcome``: 1 first won, 0 second won, 0.5 tie); ties get 0."""
    y = np.asarray(outcome, dtype=np.float64)
    names = sorted(set(model_a) | set(model_b))
    code = {name: k for k, name in enumerate(names)}
    a = np.array([code[m] for m in model_a], dtype=np.intp)
    b = np.array([code[m] for m in model_b], dtype=np.intp)
    strength = fit_bradley_terry(a, b, y, len(names), l2=_L2, names=names)
    p_first = expit(strength[a] - strength[b])
    return np.asarray(np.where(y == 1, p_first, np.where(y == 0, 1 - p_first, 0.0)), np.float64)
