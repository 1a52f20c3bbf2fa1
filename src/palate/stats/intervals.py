"""Machinery shared by the rankings: input checks, resampling, confidence intervals.

- Bootstrap (Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13): percentile
  intervals over resampled data. Resampling the N comparisons with replacement is the same as
  drawing the counts of the distinct (pair, outcome, weight) cells from a multinomial with the
  observed frequencies, so we draw counts (a few thousand numbers per replicate), never rows.
  Chatbot Arena does the same (FastChat ``get_bootstrap_result_elo_mle_with_tie``).
  The Poisson bootstrap (Hanley & MacGibbon 2006, Comput. Methods Programs Biomed. 83:57–62;
  Chamandy et al. 2012, Google tech. report "Estimating uncertainty for massive data streams")
  gives every row an independent Poisson(1) count instead; summed over a cell of c rows that is
  one Poisson(c) draw. It lets the total vary by about √N, which changes nothing at first order
  (the estimators are smooth functions of the cell frequencies), and numpy draws independent
  Poisson counts about twice as fast as the sequential binomials of a multinomial.
- Sandwich (Huber 1967; White 1982): Cov(θ̂) = H⁻¹ J H⁻¹ with H the Hessian of the negative
  log-likelihood and J the summed outer products of per-comparison scores. It stays valid when
  the model is wrong, e.g. when ties are counted as half wins; with J = H it is the Fisher
  information estimate. Ranking scores have a shift freedom, so inverses are taken on the
  subspace orthogonal to that shift (a generalised inverse), which gives the covariance of
  mean-centred scores.
- The rank rule is Chatbot Arena's (FastChat ``report_elo_analysis_results``): 1 + the number of
  models whose lower bound lies above this model's upper bound.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.stats import norm

from palate.errors import StatsError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

# Replicates drawn from one child generator: results do not depend on the number of threads.
BOOTSTRAP_CHUNK = 100

Resampling = Literal["poisson", "multinomial"]


def check_comparisons(
    model_a: npt.ArrayLike,
    model_b: npt.ArrayLike,
    outcome: npt.ArrayLike,
    n_models: int,
    weights: npt.ArrayLike | None = None,
) -> tuple[IntArray, IntArray, FloatArray, FloatArray | None]:
    """Validate comparison arrays once, so that the fits can trust them."""
    a = np.asarray(model_a)
    b = np.asarray(model_b)
    y = np.asarray(outcome, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape or a.shape != y.shape:
        raise StatsError(
            f"model_a, model_b and outcome must be 1-d arrays of equal length, got shapes "
            f"{a.shape}, {b.shape}, {y.shape}"
        )
    if n_models < 2:
        raise StatsError(f"a ranking needs at least two models, got {n_models}")
    if a.size == 0:
        raise StatsError("no comparisons to rank")
    for name, codes in (("model_a", a), ("model_b", b)):
        if not np.issubdtype(codes.dtype, np.integer):
            raise StatsError(f"{name} must hold integer model codes, got dtype {codes.dtype}")
        if codes.min() < 0 or codes.max() >= n_models:
            raise StatsError(f"{name} holds codes outside 0..{n_models - 1}")
    a = a.astype(np.intp, copy=False)
    b = b.astype(np.intp, copy=False)
    if (same := int(np.count_nonzero(a == b))) > 0:
        first = int(np.flatnonzero(a == b)[0])
        raise StatsError(f"{same} comparisons of a model with itself (first at index {first})")
    bad = ~((y >= 0.0) & (y <= 1.0))  # also catches NaN
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise StatsError(
            "outcome must be 1 (a won), 0 (b won), 0.5 (tie) or a preference in between; "
            f"index {first} holds {y[first]}"
        )
    w = None
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != a.shape:
            raise StatsError(f"weights has shape {w.shape}, expected {a.shape}")
        if not np.all(np.isfinite(w)) or (w < 0).any():
            raise StatsError("weights must be finite and non-negative")
        if not (w > 0).any():
            raise StatsError("all weights are zero")
    return a, b, y, w


def multinomial_bootstrap(
    cell_counts: FloatArray,
    to_statistics: sparse.csr_array,
    n_resamples: int,
    rng: np.random.Generator,
    fit: Callable[[FloatArray], FloatArray],
    *,
    resampling: Resampling = "multinomial",
) -> FloatArray:
    """Multinomial (or Poisson) bootstrap over cells, fitted chunk by chunk in threads.

    ``cell_counts`` are the integer numbers of comparisons in each distinct cell;
    ``to_statistics`` (cells × S) turns resampled cell counts into sufficient statistics, and
    ``fit`` maps a (chunk, S) array of those to (chunk, p) estimates. Each chunk of
    ``BOOTSTRAP_CHUNK`` replicates has its own child generator, so the answer for a seed is the
    same on any number of cores.
    """
    if resampling not in ("poisson", "multinomial"):
        raise StatsError(f"unknown resampling {resampling!r}; choose poisson or multinomial")
    n_total = round(float(cell_counts.sum()))
    pvals = cell_counts / cell_counts.sum()
    sizes = [
        min(BOOTSTRAP_CHUNK, n_resamples - start)
        for start in range(0, n_resamples, BOOTSTRAP_CHUNK)
    ]
    children = rng.spawn(len(sizes))

    def one_chunk(k: int) -> FloatArray:
        gen = children[k]
        if resampling == "poisson":
            draws = gen.poisson(cell_counts, size=(sizes[k], cell_counts.size)).astype(np.float64)
        else:
            draws = gen.multinomial(n_total, pvals, size=sizes[k]).astype(np.float64)
        return fit(np.asarray(draws @ to_statistics))

    workers = min(len(sizes), os.cpu_count() or 1)
    if workers == 1:
        return np.concatenate([one_chunk(k) for k in range(len(sizes))])
    with ThreadPoolExecutor(workers) as pool:
        return np.concatenate(list(pool.map(one_chunk, range(len(sizes)))))


def percentile_interval(samples: FloatArray, alpha: float) -> tuple[FloatArray, FloatArray]:
    """Equal-tailed percentile interval per column, interpolated as pandas' ``quantile`` is."""
    low, high = np.quantile(samples, [alpha / 2, 1 - alpha / 2], axis=0)
    return low, high


def normal_interval(
    estimate: FloatArray, standard_error: FloatArray, alpha: float
) -> tuple[FloatArray, FloatArray]:
    """Wald interval, for the sandwich and Fisher standard errors."""
    z = float(norm.ppf(1 - alpha / 2))
    return estimate - z * standard_error, estimate + z * standard_error


def gauge_inverse(hessian: FloatArray, n_shift: int) -> FloatArray:
    """Inverse of a Hessian whose first ``n_shift`` coordinates may all move together.

    With u = (1, …, 1, 0, …)/√n_shift the null direction, (H + uuᵀ)⁻¹ − uuᵀ is the generalised
    inverse that yields covariances of mean-centred scores. Pass ``n_shift=0`` when a prior has
    already made H invertible.
    """
    dim = hessian.shape[-1]
    u = np.zeros(dim)
    if n_shift:
        u[:n_shift] = 1 / np.sqrt(n_shift)
    shift = np.outer(u, u)
    return np.asarray(np.linalg.inv(hessian + shift) - shift)


def sandwich_covariance(hessian: FloatArray, meat: FloatArray | None, n_shift: int) -> FloatArray:
    """H⁻¹ J H⁻¹, or the inverse Fisher information H⁻¹ when ``meat`` is None."""
    bread = gauge_inverse(hessian, n_shift)
    if meat is None:
        return bread
    return np.asarray(bread @ meat @ bread)


def arena_rank(ci_low: FloatArray, ci_high: FloatArray) -> IntArray:
    """1 + the number of models whose whole interval lies above this model's interval."""
    above = ci_low[None, :] > ci_high[:, None]
    return np.asarray(1 + above.sum(axis=1), dtype=np.intp)
