"""Active labelling: spend a human-label budget where the judge is least sure.

Zrnic & Candès (2024), "Active Statistical Inference". Every item has a judge prediction
f_i ∈ [0, 1] of the human outcome y_i and an uncertainty u_i (for a probability, f(1 − f)).
Item i is sent to a human with probability π_i and the mean of y is estimated by

    θ̂ = (1/n) Σ_i [ f_i + (y_i − f_i) ξ_i / π_i ],   ξ_i ~ Bernoulli(π_i),

which is unbiased for any π > 0 (inverse-probability weighting corrects the judge), with a
CLT interval from the terms' sample variance. The variance is smallest when
π_i ∝ sqrt(E[(y − f)² | i] / c_i) for per-item cost c_i (the square-root rule), so π follows
sqrt(u_i / c_i), mixed with a uniform share so no item is starved by an overconfident judge,
and scaled so the expected spend Σ c_i π_i equals the budget (capped at 1, with the excess
passed on to the others). The uniform baseline spends the same budget at a flat rate.
The paper's power-tuning of the judge's weight is left out: with π from the judge's own
uncertainty, the untuned estimator already beats uniform sampling, which is what is claimed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from palate.errors import PalateError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ActiveEstimate:
    """An IPW prediction-powered mean with its (1 − alpha) CLT interval; ``n_labelled`` human
    labels were used and ``spent`` is their total cost."""

    estimate: float | FloatArray
    ci_low: float | FloatArray
    ci_high: float | FloatArray
    standard_error: float | FloatArray
    n_items: int
    n_labelled: int | npt.NDArray[np.intp]
    spent: float | FloatArray

    def to_json(self) -> dict[str, Any]:
        return {key: np.asarray(value).tolist() for key, value in asdict(self).items()}


def _costs(n: int, cost: npt.ArrayLike | None) -> FloatArray:
    if cost is None:
        return np.ones(n)
    c = np.broadcast_to(np.asarray(cost, dtype=np.float64), (n,)).copy()
    if not (np.isfinite(c) & (c > 0)).all():
        raise PalateError("every item's labelling cost must be positive and finite")
    return c


def _fill(weights: FloatArray, cost: FloatArray, budget: float) -> FloatArray:
    """π = min(1, s·w) with s chosen so that Σ cost·π = budget (water-filling)."""
    pi = np.zeros_like(weights)
    free = np.ones(weights.shape, dtype=np.bool_)
    left = budget
    while True:
        scale = left / float(cost[free] @ weights[free])
        pi[free] = scale * weights[free]
        over = free & (pi >= 1.0)
        if not over.any():
            return pi
        pi[over] = 1.0
        free &= ~over
        left -= float(cost[over].sum())
        if not free.any():
            return pi


def sampling_probabilities(
    uncertainty: npt.ArrayLike,
    budget: float,
    *,
    cost: npt.ArrayLike | None = None,
    uniform_share: float = 0.1,
) -> FloatArray:
    """Labelling probabilities π_i ∝ sqrt(u_i / c_i), with ``uniform_share`` of the budget
    spread at a flat rate, whose expected cost Σ c_i π_i is ``budget`` (labels when ``cost`` is
    None, else money). Raises ``PalateError`` for a budget the items cannot absorb."""
    u = np.asarray(uncertainty, dtype=np.float64)
    if u.ndim != 1 or u.size == 0 or not (np.isfinite(u) & (u >= 0)).all():
        raise PalateError("uncertainty must be a non-empty 1-d array of finite values ≥ 0")
    if not 0 <= uniform_share <= 1:
        raise PalateError(f"uniform_share must lie in [0, 1], got {uniform_share}")
    c = _costs(u.size, cost)
    if not 0 < budget <= float(c.sum()):
        raise PalateError(
            f"budget must lie in (0, {float(c.sum()):g}] (labelling every item), got {budget:g}"
        )
    weights = np.sqrt(u / c)
    if not weights.any():
        weights = np.ones_like(u)
    mixed = (1 - uniform_share) * weights / float(c @ weights) + uniform_share / float(c.sum())
    return _fill(mixed, c, budget)


def uniform_probabilities(
    n: int, budget: float, *, cost: npt.ArrayLike | None = None
) -> FloatArray:
    """The baseline at equal expected spend: every item labelled with the same probability."""
    c = _costs(n, cost)
    if not 0 < budget <= float(c.sum()):
        raise PalateError(f"budget must lie in (0, {float(c.sum()):g}], got {budget:g}")
    return np.full(n, budget / float(c.sum()))


def draw_labels(probabilities: npt.ArrayLike, rng: np.random.Generator | int) -> BoolArray:
    """Which items go to humans: independent Bernoulli(π_i) draws."""
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    pi = np.asarray(probabilities, dtype=np.float64)
    return np.asarray(gen.random(pi.shape) < pi, dtype=np.bool_)


def active_mean(
    predictions: npt.ArrayLike,
    labels: npt.ArrayLike,
    probabilities: npt.ArrayLike,
    *,
    alpha: float = 0.05,
    cost: npt.ArrayLike | None = None,
) -> ActiveEstimate:
    """The IPW prediction-powered mean of y over all items. ``labels`` holds y where a human
    labelled the item and NaN elsewhere; ``probabilities`` are the π the labels were drawn
    with. Vectorised: leading axes are independent replicates (the result's fields are then
    arrays)."""
    if not 0 < alpha < 1:
        raise PalateError(f"alpha must lie in (0, 1), got {alpha}")
    f = np.asarray(predictions, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    pi = np.broadcast_to(np.asarray(probabilities, dtype=np.float64), y.shape)
    labelled = ~np.isnan(y)
    if (labelled & ~(pi > 0)).any():
        raise PalateError("an item was labelled with sampling probability 0")
    correction = np.where(labelled, (np.nan_to_num(y) - f) / np.where(pi > 0, pi, 1.0), 0.0)
    terms = f + correction
    n = terms.shape[-1]
    if n < 2:
        raise PalateError("an interval needs at least two items")
    estimate = terms.mean(axis=-1)
    se = terms.std(axis=-1, ddof=1) / np.sqrt(n)
    half = float(norm.ppf(1 - alpha / 2)) * se
    c = _costs(n, cost)
    return ActiveEstimate(
        estimate=estimate,
        ci_low=estimate - half,
        ci_high=estimate + half,
        standard_error=se,
        n_items=n,
        n_labelled=labelled.sum(axis=-1),
        spent=(labelled * c).sum(axis=-1),
    )
