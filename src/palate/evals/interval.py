"""Paired bootstrap intervals over prompts, the unit an evaluation set samples.

Judgements of one prompt are not independent (the same hard prompt hurts every response to
it), so the bootstrap resamples prompts, not rows: a replicate draws prompt counts from a
multinomial and re-weights each prompt's sum and count (Efron & Tibshirani 1993, ch. 13;
the cluster bootstrap of Field & Welsh 2007). Comparing two systems on the same prompts keeps
the pairing, which is what makes a small difference detectable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from palate.errors import StatsError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a (1 − alpha) percentile interval."""

    value: float
    ci_low: float
    ci_high: float
    n: int
    alpha: float

    def to_json(self) -> dict[str, float | int]:
        return {
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            "alpha": self.alpha,
        }


def clustered_mean(
    values: npt.ArrayLike,
    clusters: npt.ArrayLike,
    *,
    alpha: float = 0.05,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> Estimate:
    """Mean of ``values`` with a bootstrap interval that resamples whole ``clusters``."""
    if not 0 < alpha < 1:
        raise StatsError(f"alpha must lie in (0, 1), got {alpha}")
    y = np.asarray(values, dtype=np.float64)
    keys = np.asarray(clusters)
    if y.ndim != 1 or keys.shape != y.shape:
        raise StatsError("values and clusters must be 1-d and of equal length")
    if y.size < 2:
        raise StatsError(f"an interval needs at least 2 values, got {y.size}")
    if np.isnan(y).any():
        raise StatsError("values must not be NaN: drop unscored judgements first")
    _, code = np.unique(keys, return_inverse=True)
    k = int(code.max()) + 1
    sums = np.bincount(code, y, k)
    counts = np.bincount(code, minlength=k).astype(np.float64)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(k, np.full(k, 1.0 / k), size=n_bootstrap).astype(np.float64)
    replicates = (draws @ sums) / (draws @ counts)
    low, high = np.quantile(replicates, [alpha / 2, 1 - alpha / 2])
    return Estimate(float(y.mean()), float(low), float(high), int(y.size), alpha)


def wilson(successes: int, n: int, *, alpha: float = 0.05, scale: float = 1.0) -> Estimate:
    """A binomial proportion with Wilson's score interval (Wilson 1927), which keeps its
    coverage near 0 and 1, where red-team rates live and the normal interval collapses to a
    point. ``scale=100`` reports percent."""
    if n < 1 or not 0 <= successes <= n:
        raise StatsError(f"a proportion needs 0 <= successes <= n and n >= 1, got {successes}/{n}")
    return _wilson(successes / n, n, n, alpha, scale)


def wilson_clustered(
    flags: npt.ArrayLike, clusters: npt.ArrayLike, *, alpha: float = 0.05, scale: float = 1.0
) -> Estimate:
    """Wilson's interval for the share of true ``flags`` when flags in one cluster (several
    samples of one prompt) are correlated: the sample size is shrunk by the design effect,
    the ratio of the cluster-robust variance of the share to the binomial one (never below 1,
    so single-sample clusters give exactly :func:`wilson`)."""
    y = np.asarray(flags, dtype=np.float64)
    keys = np.asarray(clusters)
    if y.ndim != 1 or keys.shape != y.shape or y.size < 1:
        raise StatsError("flags and clusters must be 1-d, non-empty and of equal length")
    _, code = np.unique(keys, return_inverse=True)
    n = y.size
    p = float(y.mean())
    binomial = p * (1 - p) / n
    deff = 1.0
    if binomial > 0:
        residual = np.bincount(code, y - p)
        deff = max(1.0, float(residual @ residual) / (n * n) / binomial)
    return _wilson(p, n / deff, n, alpha, scale)


def _wilson(p: float, n_eff: float, n: int, alpha: float, scale: float) -> Estimate:
    if not 0 < alpha < 1:
        raise StatsError(f"alpha must lie in (0, 1), got {alpha}")
    z = NormalDist().inv_cdf(1 - alpha / 2)
    centre = (p + z * z / (2 * n_eff)) / (1 + z * z / n_eff)
    half = z * math.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff * n_eff)) / (1 + z * z / n_eff)
    low = 0.0 if p == 0 else max(0.0, centre - half)
    high = 1.0 if p == 1 else min(1.0, centre + half)
    return Estimate(scale * p, scale * low, scale * high, n, alpha)
