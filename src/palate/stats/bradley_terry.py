"""Bradley-Terry and Davidson rankings from pairwise comparisons, and ``rank`` for the CLI.

Models, with θ_i the natural log-strength of model i:

- Bradley & Terry (1952), Biometrika 39:324–345: P(i beats j) = σ(θ_i − θ_j). A tie counts as
  half a win for each side, as FastChat's ``compute_elo_mle_with_tie`` (and its older
  ``compute_mle_elo``) does, and as choix and evalica do with a tie weight of 0.5. A soft
  outcome y ∈ (0, 1) (e.g. AlpacaEval's preference) contributes y·log σ + (1 − y)·log(1 − σ),
  as in FastChat's loss.
- Davidson (1970), JASA 65:317–328: with π = e^θ,
  P(i beats j) = π_i / (π_i + π_j + ν√(π_i π_j)),  P(tie) = ν√(π_i π_j) / (same denominator).
  Without ties the MLE of ν is 0 and the model is Bradley-Terry.

Both log-likelihoods depend on the data only through the weighted counts of (pair, outcome), so
we aggregate first (one ``bincount`` over the comparisons) and run Newton's method on the
counts. The negative log-likelihoods are convex (log-sum-exp of linear functions), so damped
Newton from zero converges, quadratically at the end. Bootstrap replicates are fitted as a batch
with the Hessian frozen at the full-data fit (the chord method: no linear solves), and Newton
takes over for any replicate where that contracts slowly. An optional Gaussian prior
θ ~ N(0, 1/l2) adds ½·l2·‖θ‖² to the objective.

The MLE is finite iff the directed graph "i got some credit against j (a win, a tie, y > 0)" is
strongly connected (Ford 1957; Hunter 2004, Ann. Statist. 32:384–406, Assumption 1). Without a
prior we check this and raise ``StatsError`` naming the models whose scores would diverge.

Scores are on Chatbot Arena's scale: 400/ln(10)·θ + 1000 (FastChat fits with logits
ln(10)·(r_a − r_b) and reports 400·r + 1000), with θ centred to mean zero, the gauge FastChat's
L-BFGS from zero also lands on. Arena then shifts every score so that one model has a fixed
value (mixtral-8x7b-instruct-v0.1 = 1114); ``anchor=(model, value)`` does the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse import csgraph
from scipy.special import expit

from palate.errors import StatsError
from palate.stats.elo import bootstrap_elo, online_elo
from palate.stats.intervals import (
    FloatArray,
    IntArray,
    Resampling,
    arena_rank,
    check_comparisons,
    gauge_inverse,
    multinomial_bootstrap,
    normal_interval,
    percentile_interval,
    sandwich_covariance,
)

ELO_SCALE = 400 / np.log(10)
ELO_CENTER = 1000.0
# Aggregate with a dense bincount while the possible keys are few next to the rows; else sort.
_DENSE_KEYS = 1 << 16
# Newton: stop when no coordinate moves more than this (natural log units, ~2e-8 Elo points).
_TOL = 1e-10
# Bootstrap replicates only feed quantiles: 1e-8 (2e-6 Elo points) is ample and saves iterations.
_CHORD_TOL = 1e-8
_MAX_ITER = 200
# Steps this small are inside Newton's quadratic region; a line search there only sees rounding.
_FULL_STEP = 1e-6
_MAX_HALVINGS = 60
# Chord iterations must at least halve their step each time, or Newton takes over.
_CHORD_RATE = 0.5
# Bound on batch × models² floats held by the Hessians of one batched Newton solve.
_BATCH_FLOATS = 1 << 24

Need = Literal["value", "gradient", "all"]
Objective = Callable[[FloatArray, IntArray, Need], Any]


@dataclass(frozen=True)
class PairCounts:
    """Weighted outcome counts per compared pair: all that BT and Davidson need of the data.

    A soft outcome y ∉ {0, ½, 1} counts as weight w·y won and w·(1 − y) lost: the same BT
    likelihood. ``moments`` keep Σw², Σw²y, Σw²y² (y for i), which the sandwich needs.
    """

    n_models: int
    i: IntArray  # (P,) first model of each compared pair; i < j, pairs sorted
    j: IntArray  # (P,) second model
    counts: FloatArray  # (3, P) summed weights of comparisons that i lost, tied, won
    moments: FloatArray  # (3, P) Σw², Σw²·y, Σw²·y² over each pair's comparisons
    soft: bool  # some outcome was a soft preference (Davidson's model has none)


@dataclass(frozen=True)
class DavidsonFit:
    """Davidson log-strengths (mean zero) and tie parameter ν ≥ 0 (0 when there are no ties)."""

    theta: FloatArray
    nu: float


def _group(
    keys: IntArray, n_keys: int, values: Sequence[FloatArray | None]
) -> tuple[IntArray, list[FloatArray]]:
    """Distinct keys, sorted, and per key the sum of each value array (None: count rows)."""
    if n_keys <= max(_DENSE_KEYS, 4 * keys.size):
        rows = np.bincount(keys, minlength=n_keys)
        distinct = np.flatnonzero(rows)
        sums = [rows if v is None else np.bincount(keys, v, n_keys) for v in values]
        return distinct, [np.asarray(s[distinct], dtype=np.float64) for s in sums]
    distinct, inverse = np.unique(keys, return_inverse=True)
    return distinct, [np.bincount(inverse, weights=v).astype(np.float64) for v in values]


def _is_discrete(y: FloatArray) -> bool:
    """All outcomes are 0, ½ or 1 (they are known to lie in [0, 1]): the fast path applies."""
    doubled = 2 * y
    return bool(np.array_equal(doubled.astype(np.intp), doubled))


def _pair_counts(
    a: IntArray, b: IntArray, y: FloatArray, w: FloatArray | None, m: int
) -> tuple[PairCounts, IntArray]:
    """Aggregate comparisons into ``PairCounts``; also return the sorted pair codes lo·M + hi."""
    if _is_discrete(y):
        # Group by ordered pair and outcome, (a·M + b)·3 + 2y, then fold (b, a) onto (a, b):
        # far fewer operations than orienting a million rows one by one.
        keys = np.asarray((a * m + b) * 3 + (2 * y).astype(np.intp), dtype=np.intp)
        squared = None if w is None else w * w
        distinct, (total, total_sq) = _group(keys, 3 * m * m, [w, squared])
        pair, cls = np.divmod(distinct, 3)
        first, second = np.divmod(pair, m)
        swap = first > second
        codes, at = np.unique(np.where(swap, second * m + first, pair), return_inverse=True)
        slot = np.where(swap, 2 - cls, cls) * codes.size + at
        counts = np.bincount(slot, total, 3 * codes.size).astype(np.float64).reshape(3, -1)
        sq = np.bincount(slot, total_sq, 3 * codes.size).reshape(3, -1)
        moments = np.stack([sq.sum(axis=0), 0.5 * sq[1] + sq[2], 0.25 * sq[1] + sq[2]])
        soft = False
    else:
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        y_lo = np.where(a < b, y, 1 - y)
        weight = np.ones(a.size) if w is None else w
        tie = y_lo == 0.5
        decisive = np.where(tie, 0.0, weight)
        values = [decisive * (1 - y_lo), weight * tie, decisive * y_lo]
        values += [weight**2, weight**2 * y_lo, weight**2 * y_lo**2]
        codes, sums = _group(lo * m + hi, m * m, values)
        counts, moments = np.stack(sums[:3]), np.stack(sums[3:])
        soft = True
    pc = PairCounts(m, codes // m, codes % m, counts, moments, soft)
    return pc, codes


def pair_counts(
    model_a: npt.ArrayLike,
    model_b: npt.ArrayLike,
    outcome: npt.ArrayLike,
    n_models: int,
    *,
    weights: npt.ArrayLike | None = None,
) -> PairCounts:
    """Sufficient statistics of the comparisons (outcome 1: a won, 0: b won, 0.5: tie)."""
    a, b, y, w = check_comparisons(model_a, model_b, outcome, n_models, weights)
    return _pair_counts(a, b, y, w, n_models)[0]


# --- graph checks -------------------------------------------------------------------------


def _credit_edges(counts: FloatArray) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Per pair: did i ever get credit against j (a win, a tie or y > 0: i→j), and j against i."""
    return counts[..., 2, :] + counts[..., 1, :] > 0, counts[..., 0, :] + counts[..., 1, :] > 0


def _listing(models: IntArray, names: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(repr(names[m]) for m in models[:limit])
    return shown + (f" and {models.size - limit} more" if models.size > limit else "")


def _divergence(
    i: IntArray,
    j: IntArray,
    n_models: int,
    forward: npt.NDArray[np.bool_],
    backward: npt.NDArray[np.bool_],
    names: Sequence[str],
) -> str | None:
    """Why the MLE is infinite (a group that won or lost all its games with the rest), or None."""
    src = np.concatenate([i[forward], j[backward]])
    dst = np.concatenate([j[forward], i[backward]])
    graph = sparse.csr_array(
        (np.ones(src.size), (src, dst)), shape=(n_models, n_models), dtype=np.float64
    )
    n_comp, label = csgraph.connected_components(graph, directed=True, connection="strong")
    if n_comp == 1:
        return None
    crossing = label[src] != label[dst]
    beaten = np.zeros(n_comp, dtype=bool)  # someone outside took credit from this group
    beat = np.zeros(n_comp, dtype=bool)  # this group took credit from someone outside
    beaten[label[dst[crossing]]] = True
    beat[label[src[crossing]]] = True
    top = np.flatnonzero(label == np.flatnonzero(~beaten)[0])
    bottom = np.flatnonzero(label == np.flatnonzero(~beat)[0])

    def who(group: IntArray, verb: str) -> str:
        if group.size == 1:
            return f"{names[group[0]]!r} {verb} all its comparisons"
        return f"{_listing(group, names)} {verb} all their comparisons with the other models"

    return f"{who(top, 'won')}, and {who(bottom, 'lost')}"


def check_identifiable(
    pc: PairCounts, names: Sequence[str] | None = None, *, l2: float = 0.0
) -> None:
    """Raise ``StatsError`` unless the scores have a finite, unique maximum."""
    m = pc.n_models
    names = [f"model {k}" for k in range(m)] if names is None else names
    credit = pc.counts.sum(axis=0) > 0
    played = np.zeros(m, dtype=bool)
    played[pc.i[credit]] = True
    played[pc.j[credit]] = True
    if not played.all():
        raise StatsError(f"no comparisons for {_listing(np.flatnonzero(~played), names)}")
    if l2 > 0:
        return
    graph = sparse.csr_array(
        (np.ones(int(credit.sum())), (pc.i[credit], pc.j[credit])), shape=(m, m), dtype=np.float64
    )
    n_comp, label = csgraph.connected_components(graph, directed=False)
    if n_comp > 1:
        groups = "; ".join(
            f"[{_listing(np.flatnonzero(label == c), names)}]" for c in range(min(n_comp, 5))
        )
        more = f"; and {n_comp - 5} more" if n_comp > 5 else ""
        raise StatsError(
            f"the comparison graph falls into {n_comp} unconnected groups: {groups}{more}; scores "
            "are only comparable within a group. Add comparisons across groups, or pass l2 > 0 "
            "(--l2: a Gaussian prior) to pull them to a common mean"
        )
    forward, backward = _credit_edges(pc.counts)
    reason = _divergence(pc.i, pc.j, m, forward, backward, names)
    if reason is not None:
        raise StatsError(
            f"scores diverge (no finite maximum likelihood): {reason}. Pass l2 > 0 "
            "(--l2: a Gaussian prior on log-strengths) for finite, shrunken scores"
        )


# --- Newton on aggregated counts ----------------------------------------------------------


def _incidence(i: IntArray, j: IntArray, n_models: int) -> sparse.csr_array:
    """(P, M) matrix with +1 at (p, i_p) and −1 at (p, j_p): pair terms → model gradients."""
    rows = np.concatenate([np.arange(i.size), np.arange(i.size)])
    vals = np.concatenate([np.ones(i.size), -np.ones(i.size)])
    return sparse.csr_array((vals, (rows, np.concatenate([i, j]))), shape=(i.size, n_models))


def _laplacian(
    c: FloatArray, i: IntArray, j: IntArray, inc: sparse.csr_array, dim: int
) -> FloatArray:
    """(B, dim, dim) with Σ_p c_p (e_i − e_j)(e_i − e_j)ᵀ in its leading M×M block."""
    out = np.zeros((c.shape[0], dim * dim))
    out[:, i * dim + j] = -c
    out[:, j * dim + i] = -c
    out[:, np.arange(inc.shape[1]) * (dim + 1)] = np.asarray(abs(inc).T @ c.T).T
    return out.reshape(c.shape[0], dim, dim)


def _columns(rows: IntArray, n_rows: int) -> IntArray | slice:
    """Select batch rows from (P, B) arrays; a slice when all are wanted, to avoid a copy."""
    return slice(None) if rows.size == n_rows else rows


def _bt_objective(counts: FloatArray, pc: PairCounts, l2: float) -> Objective:
    """Negative log-likelihood (ties as half wins) + prior; its gradient; or all with Hessian.

    ``counts`` is a (B, 3, P) batch over the pairs of ``pc``. Pair terms live in (P, B) arrays:
    the sparse incidence products that gather θ_i − θ_j and scatter pair terms back to models
    are then fast row operations.
    """
    i, j, m = pc.i, pc.j, pc.n_models
    credit = np.ascontiguousarray((counts[:, 2] + 0.5 * counts[:, 1]).T)
    total = np.ascontiguousarray(counts.sum(axis=1).T)
    inc = _incidence(i, j, m)
    inc_t = inc.T.tocsr()

    def fun(theta: FloatArray, rows: IntArray, need: Need) -> Any:
        cols = _columns(rows, total.shape[1])
        d = np.asarray(inc @ theta.T)
        w, n = credit[:, cols], total[:, cols]
        if need == "value":  # −[w log σ(d) + (n − w) log σ(−d)] = n log(1 + e^d) − w d
            f = (n * np.logaddexp(0, d) - w * d).sum(axis=0)
            return f + 0.5 * l2 * (theta * theta).sum(axis=1)
        p = expit(d)
        g = np.asarray(inc_t @ (n * p - w)).T + l2 * theta
        if need == "gradient":
            return g
        h = _laplacian((n * p * (1 - p)).T, i, j, inc, m)
        h[:, np.arange(m), np.arange(m)] += l2
        return fun(theta, rows, "value"), g, h

    return fun


def _davidson_parts(d: FloatArray, eta: FloatArray) -> tuple[FloatArray, ...]:
    """log D and the three outcome probabilities, D = e^{d/2} + e^{−d/2} + e^η."""
    log_d = np.logaddexp(np.logaddexp(d / 2, -d / 2), eta)
    return log_d, np.exp(d / 2 - log_d), np.exp(eta - log_d), np.exp(-d / 2 - log_d)


def _davidson_objective(counts: FloatArray, pc: PairCounts, l2: float) -> Objective:
    """Davidson negative log-likelihood + prior in x = (θ, ln ν); gradient; or all.

    ``counts`` is a (B, 3, P) batch: comparisons the first model of each pair lost, tied, won.
    """
    i, j, m = pc.i, pc.j, pc.n_models
    diff = np.ascontiguousarray((counts[:, 2] - counts[:, 0]).T)
    total = np.ascontiguousarray(counts.sum(axis=1).T)
    ties = counts[:, 1].sum(axis=1)
    inc = _incidence(i, j, m)
    inc_t = inc.T.tocsr()

    def fun(x: FloatArray, rows: IntArray, need: Need) -> Any:
        cols = _columns(rows, total.shape[1])
        theta, eta = x[:, :m], x[:, m]
        d = np.asarray(inc @ theta.T)
        n, won_lost = total[:, cols], diff[:, cols]
        log_d, pa, pt, pb = _davidson_parts(d, eta[None, :])
        f = (n * log_d - won_lost * d / 2).sum(axis=0) - ties[rows] * eta
        f += 0.5 * l2 * (theta * theta).sum(axis=1)
        if need == "value":
            return f
        g = np.empty_like(x)
        g[:, :m] = np.asarray(inc_t @ (n * (pa - pb) / 2 - won_lost / 2)).T + l2 * theta
        g[:, m] = (n * pt).sum(axis=0) - ties[rows]
        if need == "gradient":
            return g
        h = _laplacian((n * ((pa + pb) - (pa - pb) ** 2) / 4).T, i, j, inc, m + 1)
        h[:, np.arange(m), np.arange(m)] += l2
        cross = np.asarray(inc_t @ (-n * pt * (pa - pb) / 2)).T
        h[:, :m, m] = cross
        h[:, m, :m] = cross
        h[:, m, m] = (n * pt * (1 - pt)).sum(axis=0)
        return f, g, h

    return fun


def _newton(fun: Objective, x0: FloatArray, n_shift: int, rows: IntArray) -> FloatArray:
    """Damped Newton for batch rows ``rows`` of convex problems, each until its step < _TOL.

    The first ``n_shift`` coordinates may move together without changing the objective; adding
    11ᵀ/n to that block makes the Hessian invertible and keeps every step orthogonal to 1.
    """
    x = x0.copy()
    active = np.arange(x.shape[0])
    for _ in range(_MAX_ITER):
        xa = x[active]
        f, g, h = fun(xa, rows[active], "all")
        if n_shift:
            h[:, :n_shift, :n_shift] += 1.0 / n_shift
        step = -np.linalg.solve(h, g[..., None])[..., 0]
        slope = (g * step).sum(axis=1)
        t = np.ones(active.size)
        pending = np.abs(step).max(axis=1) > _FULL_STEP
        for _ in range(_MAX_HALVINGS):  # Armijo backtracking
            if not pending.any():
                break
            idx = np.flatnonzero(pending)
            trial = fun(xa[idx] + t[idx, None] * step[idx], rows[active[idx]], "value")
            ok = trial <= f[idx] + 1e-4 * t[idx] * slope[idx]
            pending[idx[ok]] = False
            t[idx[~ok]] /= 2
        moved = t[:, None] * step
        x[active] = xa + moved
        active = active[np.abs(moved).max(axis=1) >= _TOL]
        if active.size == 0:
            return x
    raise StatsError(f"Newton's method did not converge in {_MAX_ITER} iterations")


def _chord(fun: Objective, x0: FloatArray, bread: FloatArray) -> tuple[FloatArray, IntArray]:
    """Newton's iteration with the Hessian frozen at the full-data fit (the chord method).

    Bootstrap replicates lie close to the full-data optimum, where the Hessian barely changes,
    so this contracts fast at the cost of one gradient and one small matmul per iteration, with
    no solves. Returns the iterates and the rows that contracted too slowly, for Newton.
    """
    x = x0.copy()
    active = np.arange(x.shape[0])
    last = np.full(x.shape[0], np.inf)
    slow = []
    for _ in range(_MAX_ITER):
        step = -np.asarray(fun(x[active], active, "gradient")) @ bread
        size = np.abs(step).max(axis=1)
        fast = size <= _CHORD_RATE * last[active]
        slow.append(active[~fast])
        x[active[fast]] += step[fast]
        last[active] = size
        active = active[fast & (size >= _CHORD_TOL)]
        if active.size == 0:
            break
    return x, np.concatenate([*slow, active])


def _solve(fun: Objective, x0: FloatArray, n_shift: int, bread: FloatArray | None) -> FloatArray:
    """Minimise a batch: chord iterations when a frozen inverse Hessian is given, else Newton."""
    rows = np.arange(x0.shape[0])
    if bread is None:
        return _newton(fun, x0, n_shift, rows)
    x, left = _chord(fun, x0, bread)
    if left.size:
        x[left] = _newton(fun, x0[left], n_shift, left)
    return x


def _batches(n: int, m: int) -> list[slice]:
    size = max(1, _BATCH_FLOATS // (m + 1) ** 2)
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


def _fit_bt(
    counts: FloatArray,
    pc: PairCounts,
    l2: float,
    x0: FloatArray,
    bread: FloatArray | None = None,
) -> FloatArray:
    """(B, M) centred log-strengths for a (B, 3, P) batch of identifiable count tables."""
    m = pc.n_models
    out = np.empty((counts.shape[0], m))
    for s in _batches(counts.shape[0], m):
        fun = _bt_objective(counts[s], pc, l2)
        out[s] = _solve(fun, x0[s], 0 if l2 > 0 else m, bread)
    return out - out.mean(axis=1, keepdims=True)


def _fit_davidson(
    counts: FloatArray,
    pc: PairCounts,
    l2: float,
    x0: FloatArray,
    bread: FloatArray | None = None,
) -> FloatArray:
    """(B, M + 1) centred θ and ν from starts (θ, ln ν); no ties gives BT with ν = 0.

    A non-finite start for ln ν is replaced by the value that matches the tie rate at θ = 0.
    """
    m = pc.n_models
    out = np.zeros((counts.shape[0], m + 1))
    tied = counts[:, 1].sum(axis=1) > 0
    if (~tied).any():
        out[~tied, :m] = _fit_bt(counts[~tied], pc, l2, x0[~tied, :m])
    if tied.any():
        c = counts[tied]
        x = x0[tied].copy()
        share = c[:, 1].sum(axis=1) / c.sum(axis=(1, 2))
        x[:, m] = np.where(np.isfinite(x[:, m]), x[:, m], np.log(2 * share / (1 - share)))
        for s in _batches(x.shape[0], m):
            fun = _davidson_objective(c[s], pc, l2)
            x[s] = _solve(fun, x[s], 0 if l2 > 0 else m, bread)
        x[:, :m] -= x[:, :m].mean(axis=1, keepdims=True)
        x[:, m] = np.exp(x[:, m])
        out[tied] = x
    return out


def _check_davidson(pc: PairCounts) -> None:
    if pc.soft:
        raise StatsError("Davidson's model needs outcomes 1, 0 or 0.5; use bt for soft outcomes")
    if not (pc.counts[0] + pc.counts[2] > 0).any():
        raise StatsError(
            "every comparison is a tie, so Davidson's tie parameter is infinite; "
            "use the Bradley-Terry model (ties as half wins) instead"
        )


def fit_bt_counts(pc: PairCounts, *, l2: float = 0.0) -> FloatArray:
    """Mean-zero BT log-strengths from counts; call ``check_identifiable`` first."""
    return _fit_bt(pc.counts[None], pc, l2, np.zeros((1, pc.n_models)))[0]


def fit_davidson_counts(pc: PairCounts, *, l2: float = 0.0) -> DavidsonFit:
    """Davidson fit from counts; call ``check_identifiable`` first."""
    _check_davidson(pc)
    m = pc.n_models
    start = np.zeros((1, m + 1))
    start[0, m] = np.nan  # ln ν from the tie rate
    x = _fit_davidson(pc.counts[None], pc, l2, start)[0]
    return DavidsonFit(x[:m], float(x[m]))


def fit_bradley_terry(
    model_a: npt.ArrayLike,
    model_b: npt.ArrayLike,
    outcome: npt.ArrayLike,
    n_models: int,
    *,
    weights: npt.ArrayLike | None = None,
    l2: float = 0.0,
    names: Sequence[str] | None = None,
) -> FloatArray:
    """BT maximum likelihood (MAP with ``l2`` > 0) log-strengths, natural log, mean zero.

    Multiply by ``ELO_SCALE`` and add 1000 for Arena-style scores (see ``to_elo_scale``).
    """
    pc = pair_counts(model_a, model_b, outcome, n_models, weights=weights)
    check_identifiable(pc, names, l2=l2)
    return fit_bt_counts(pc, l2=l2)


def fit_davidson(
    model_a: npt.ArrayLike,
    model_b: npt.ArrayLike,
    outcome: npt.ArrayLike,
    n_models: int,
    *,
    weights: npt.ArrayLike | None = None,
    l2: float = 0.0,
    names: Sequence[str] | None = None,
) -> DavidsonFit:
    """Davidson's tie model by maximum likelihood (the prior, if any, is on θ only)."""
    pc = pair_counts(model_a, model_b, outcome, n_models, weights=weights)
    check_identifiable(pc, names, l2=l2)
    return fit_davidson_counts(pc, l2=l2)


# --- uncertainty --------------------------------------------------------------------------


def bt_covariance(
    pc: PairCounts, theta: FloatArray, *, l2: float = 0.0, robust: bool = True
) -> FloatArray:
    """(M, M) covariance of centred θ̂: sandwich H⁻¹JH⁻¹, or inverse Fisher H⁻¹ if not robust.

    Per comparison the score is w·(y − p)(e_a − e_b), so J is a Laplacian with pair weights
    Σ w²(y − p)² = Σw²y² − 2pΣw²y + p²Σw²; ties (y = ½) make J < H, which Fisher ignores.
    """
    m = pc.n_models
    h = _hessian(_bt_objective(pc.counts[None], pc, l2), theta)
    meat = None
    if robust:
        p = expit(theta[pc.i] - theta[pc.j])
        c = pc.moments[2] - 2 * p * pc.moments[1] + p**2 * pc.moments[0]
        meat = _laplacian(c[None], pc.i, pc.j, _incidence(pc.i, pc.j, m), m)[0]
    return _centred(sandwich_covariance(h, meat, 0 if l2 > 0 else m), m)


def davidson_covariance(
    pc: PairCounts, fit: DavidsonFit, *, l2: float = 0.0, robust: bool = True
) -> FloatArray:
    """(M, M) covariance of centred θ̂ under Davidson's model, ln ν profiled in jointly."""
    if fit.nu == 0:
        return bt_covariance(pc, fit.theta, l2=l2, robust=robust)
    m = pc.n_models
    x = np.concatenate([fit.theta, [np.log(fit.nu)]])
    h = _hessian(_davidson_objective(pc.counts[None], pc, l2), x)
    meat = None
    if robust:
        # Σw² per outcome (lost, tied, won) from the moments, as y ∈ {0, ½, 1} here.
        s0, s1, s2 = pc.moments
        squares = np.stack([s0 - 3 * s1 + 2 * s2, 4 * (s1 - s2), 2 * s2 - s1])
        _, pa, pt, pb = _davidson_parts(fit.theta[pc.i] - fit.theta[pc.j], np.log(fit.nu))
        g_d = np.array([-0.5, 0.0, 0.5])[:, None] - (pa - pb) / 2  # (3, P) ∂ℓ/∂d per outcome
        g_eta = np.array([0.0, 1.0, 0.0])[:, None] - pt
        meat = np.zeros((m + 1, m + 1))
        inc = _incidence(pc.i, pc.j, m)
        meat[:m, :m] = _laplacian((squares * g_d**2).sum(axis=0)[None], pc.i, pc.j, inc, m)[0]
        cross = np.asarray((squares * g_d * g_eta).sum(axis=0) @ inc)
        meat[:m, m] = cross
        meat[m, :m] = cross
        meat[m, m] = (squares * g_eta**2).sum()
    cov = sandwich_covariance(h, meat, 0 if l2 > 0 else m)
    return _centred(cov[:m, :m], m)


def _hessian(fun: Objective, x: FloatArray) -> FloatArray:
    """Hessian of a one-row objective at ``x``."""
    return np.asarray(fun(x[None], np.zeros(1, np.intp), "all")[2][0])


def _centred(cov: FloatArray, m: int) -> FloatArray:
    """Covariance of θ − mean(θ): a prior's Fisher inverse also carries the common level."""
    proj = np.eye(m) - 1.0 / m
    return np.asarray(proj @ cov @ proj)


def _bootstrap_cells(
    a: IntArray, b: IntArray, y: FloatArray, w: FloatArray | None, pc: PairCounts, codes: IntArray
) -> tuple[FloatArray, sparse.csr_array]:
    """Distinct (pair, outcome, weight) cells: their row counts, and a (cells, 3P) matrix that
    turns resampled row counts into the pair-major (P, 3) table of ``PairCounts.counts``.

    Cells are ordered by pair, outcome, weight, so unit weights resample exactly as no weights.
    """
    if w is None and not pc.soft:
        table = pc.counts.T.ravel()
        slots = np.flatnonzero(table > 0)
        ones = np.ones(slots.size)
        return table[slots], sparse.csr_array(
            (ones, (np.arange(slots.size), slots)), shape=(slots.size, table.size)
        )
    m = pc.n_models
    code = np.minimum(a, b) * m + np.maximum(a, b)
    y_levels, y_at = np.unique(np.where(a < b, y, 1 - y), return_inverse=True)
    w_levels, w_at = np.unique(np.ones(1) if w is None else w, return_inverse=True)
    if w is None:
        w_at = np.zeros(a.size, dtype=np.intp)
    rows_by_cell = np.column_stack([code, y_at.ravel(), w_at.ravel()])
    cells, rows = np.unique(rows_by_cell, axis=0, return_counts=True)
    base = np.searchsorted(codes, cells[:, 0]) * 3
    y_cell, w_cell = y_levels[cells[:, 1]], w_levels[cells[:, 2]]
    tie = y_cell == 0.5
    k = np.arange(rows.size)
    entries = [  # (cell, column, weight): ties to the tie column, the rest split lost / won
        (k[tie], base[tie] + 1, w_cell[tie]),
        (k[~tie], base[~tie], w_cell[~tie] * (1 - y_cell[~tie])),
        (k[~tie], base[~tie] + 2, w_cell[~tie] * y_cell[~tie]),
    ]
    cell_of, column, value = (np.concatenate(part) for part in zip(*entries, strict=True))
    matrix = sparse.csr_array((value, (cell_of, column)), shape=(rows.size, 3 * codes.size))
    return rows.astype(np.float64), matrix


def bootstrap_scores(
    model_a: npt.ArrayLike,
    model_b: npt.ArrayLike,
    outcome: npt.ArrayLike,
    n_models: int,
    *,
    method: Literal["bt", "davidson"] = "bt",
    weights: npt.ArrayLike | None = None,
    l2: float = 0.0,
    n_bootstrap: int = 1000,
    rng: np.random.Generator | int | None = 0,
    names: Sequence[str] | None = None,
    resampling: Resampling = "poisson",
) -> FloatArray:
    """(n_bootstrap, M) centred log-strengths refitted on resamples of the counts.

    ``resampling="poisson"`` (default) draws each (pair, outcome, weight) cell's count from
    Poisson(observed count): the row-level Poisson bootstrap, half the drawing cost of the
    classical ``"multinomial"`` resample of N rows, with the same first-order behaviour (see
    ``palate.stats.intervals``). Each replicate is warm-started at the full-data fit. Without
    a prior, a resample in which some model won (or lost) everything has no finite fit; then
    the percentile interval is unbounded and we raise ``StatsError`` rather than report a number.
    """
    if method not in ("bt", "davidson"):
        raise StatsError(f"unknown method {method!r}; choose bt or davidson")
    a, b, y, w = check_comparisons(model_a, model_b, outcome, n_models, weights)
    names = [f"model {k}" for k in range(n_models)] if names is None else names
    pc, codes = _pair_counts(a, b, y, w, n_models)
    check_identifiable(pc, names, l2=l2)
    m, i, j = n_models, pc.i, pc.j
    n_shift = 0 if l2 > 0 else m
    if method == "davidson":
        _check_davidson(pc)
        dav = fit_davidson_counts(pc, l2=l2)
        # ln ν = −inf marks "no ties"; those replicates are fitted as BT, without the chord.
        start = np.append(dav.theta, np.log(dav.nu) if dav.nu > 0 else -np.inf)
        objective = _davidson_objective(pc.counts[None], pc, l2)
        bread = gauge_inverse(_hessian(objective, start), n_shift) if dav.nu > 0 else None
    else:
        start = fit_bt_counts(pc, l2=l2)
        bread = gauge_inverse(_hessian(_bt_objective(pc.counts[None], pc, l2), start), n_shift)
    forward0, backward0 = _credit_edges(pc.counts)

    def fit(flat: FloatArray) -> FloatArray:
        counts = flat.reshape(-1, i.size, 3).transpose(0, 2, 1)
        if l2 == 0:
            forward, backward = _credit_edges(counts)
            kept = forward[:, forward0].all(axis=1) & backward[:, backward0].all(axis=1)
            for r in np.flatnonzero(~kept):
                reason = _divergence(i, j, m, forward[r], backward[r], names)
                if reason is not None:
                    raise StatsError(
                        f"some bootstrap resamples have no finite scores ({reason}), so the "
                        "interval is unbounded; pass l2 > 0 (--l2: a Gaussian prior) or use "
                        "the sandwich interval"
                    )
        x0 = np.broadcast_to(start, (counts.shape[0], start.size))
        if method == "bt":
            return _fit_bt(counts, pc, l2, x0, bread)
        if not (counts[:, 0] + counts[:, 2] > 0).any(axis=1).all():
            raise StatsError("a bootstrap resample has only ties; Davidson's ν is infinite there")
        return _fit_davidson(counts, pc, l2, x0, bread)[:, :m]

    cells, to_counts = _bootstrap_cells(a, b, y, w, pc, codes)
    gen = np.random.default_rng(rng)
    return multinomial_bootstrap(cells, to_counts, n_bootstrap, gen, fit, resampling=resampling)


def to_elo_scale(
    theta: FloatArray, anchor_index: int | None = None, anchor_value: float = ELO_CENTER
) -> FloatArray:
    """400/ln 10 · θ, shifted so the mean (or model ``anchor_index``) sits at ``anchor_value``."""
    theta = np.asarray(theta, dtype=np.float64)
    ref = theta.mean(axis=-1, keepdims=True) if anchor_index is None else theta[..., [anchor_index]]
    return np.asarray(ELO_SCALE * (theta - ref) + anchor_value)


# --- the ranking the CLI reports ----------------------------------------------------------


@dataclass(frozen=True)
class Ranking:
    """Scores, intervals and ranks per model, in the order of ``models``."""

    method: str
    models: list[str]
    score: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    rank: IntArray

    def to_json(self) -> dict[str, Any]:
        """The ``stats rank --json`` document: models by score, best first, ties by name."""
        order = sorted(range(len(self.models)), key=lambda k: (-self.score[k], self.models[k]))
        return {
            "method": self.method,
            "models": [
                {
                    "model": self.models[k],
                    "score": float(self.score[k]),
                    "ci_low": float(self.ci_low[k]),
                    "ci_high": float(self.ci_high[k]),
                    "rank": int(self.rank[k]),
                }
                for k in order
            ],
        }


def rank(
    model_a: np.ndarray,
    model_b: np.ndarray,
    outcome: np.ndarray,
    names: list[str],
    *,
    method: Literal["bt", "davidson", "elo"] = "bt",
    ci: Literal["bootstrap", "sandwich", "fisher"] = "bootstrap",
    weights: np.ndarray | None = None,
    alpha: float = 0.05,
    n_bootstrap: int = 1000,
    rng: np.random.Generator | int | None = 0,
    l2: float = 0.0,
    anchor: tuple[str, float] | None = None,
    resampling: Resampling = "poisson",
) -> Ranking:
    """Rank models from pairwise comparisons with (1 − alpha) intervals, as Chatbot Arena does.

    ``model_a``/``model_b`` are codes into ``names``; ``outcome`` is 1 (a won), 0 (b won) or
    0.5 (tie). Scores are on the Arena scale (mean 1000, or ``anchor=(model, value)``).
    ``ci``: "bootstrap" (percentile, ``n_bootstrap`` resamples: Poisson counts per cell by
    default, Arena's multinomial with ``resampling="multinomial"``), "sandwich" (robust
    Wald) or "fisher" (model-based Wald). ``rank`` is Arena's: 1 + the number of models whose
    lower bound exceeds this model's upper bound. ``l2`` > 0 puts a N(0, 1/l2) prior on
    log-strengths, which keeps scores finite for unbeaten models.

    For ``method="elo"`` the score is the online rating after replaying the comparisons in the
    order given (FastChat ``compute_elo``) and the interval is FastChat's bootstrap, which
    replays resamples in random order; order effects can put the score outside its interval.
    Elo takes no weights and only bootstrap intervals.
    """
    if len(set(names)) != len(names):
        raise StatsError("model names must be distinct")
    if method not in ("bt", "davidson", "elo"):
        raise StatsError(f"unknown method {method!r}; choose bt, davidson or elo")
    if ci not in ("bootstrap", "sandwich", "fisher"):
        raise StatsError(f"unknown interval {ci!r}; choose bootstrap, sandwich or fisher")
    if not 0 < alpha < 1:
        raise StatsError(f"alpha must lie in (0, 1), got {alpha}")
    if ci == "bootstrap" and n_bootstrap < 2:
        raise StatsError(f"n_bootstrap must be at least 2, got {n_bootstrap}")
    if l2 < 0 or not np.isfinite(l2):
        raise StatsError(f"l2 must be finite and non-negative, got {l2}")
    m = len(names)
    a, b, y, w = check_comparisons(model_a, model_b, outcome, m, weights)
    anchor_index, anchor_value = None, ELO_CENTER
    if anchor is not None:
        if anchor[0] not in names:
            raise StatsError(f"anchor model {anchor[0]!r} is not among the models")
        anchor_index, anchor_value = names.index(anchor[0]), float(anchor[1])

    if method == "elo":
        if ci != "bootstrap":
            raise StatsError("online Elo has no likelihood; use ci='bootstrap' with method='elo'")
        if w is not None:
            raise StatsError("online Elo takes no weights (Chatbot Arena's has none)")
        played = np.bincount(np.concatenate([a, b]), minlength=m) > 0
        if not played.all():
            raise StatsError(f"no comparisons for {_listing(np.flatnonzero(~played), names)}")
        ratings = online_elo(a, b, y, m)
        samples = bootstrap_elo(a, b, y, m, n_bootstrap=n_bootstrap, rng=rng)
        shift = 0.0 if anchor_index is None else anchor_value - ratings[anchor_index]
        score = ratings + shift
        if anchor_index is not None:
            samples = samples - samples[:, [anchor_index]] + anchor_value
        low, high = percentile_interval(samples, alpha)
        return _ranking(method, names, score, low, high)

    pc = pair_counts(a, b, y, m, weights=w)
    check_identifiable(pc, names, l2=l2)
    if method == "davidson":
        dav = fit_davidson_counts(pc, l2=l2)
        theta = dav.theta
    else:
        theta = fit_bt_counts(pc, l2=l2)
    score = to_elo_scale(theta, anchor_index, anchor_value)
    if ci == "bootstrap":
        boot = bootstrap_scores(
            a,
            b,
            y,
            m,
            method=method,
            weights=w,
            l2=l2,
            n_bootstrap=n_bootstrap,
            rng=rng,
            names=names,
            resampling=resampling,
        )
        low, high = percentile_interval(to_elo_scale(boot, anchor_index, anchor_value), alpha)
    else:
        robust = ci == "sandwich"
        cov = (
            davidson_covariance(pc, dav, l2=l2, robust=robust)
            if method == "davidson"
            else bt_covariance(pc, theta, l2=l2, robust=robust)
        )
        if anchor_index is None:
            var = np.diag(cov)
        else:
            var = np.diag(cov) + cov[anchor_index, anchor_index] - 2 * cov[:, anchor_index]
        se = ELO_SCALE * np.sqrt(np.clip(var, 0, None))
        low, high = normal_interval(score, se, alpha)
    return _ranking(method, names, score, low, high)


def _ranking(
    method: str, names: list[str], score: FloatArray, low: FloatArray, high: FloatArray
) -> Ranking:
    """The last guard: a non-finite number is never reported as a result."""
    if not (np.isfinite(score).all() and np.isfinite(low).all() and np.isfinite(high).all()):
        raise StatsError("the fit produced non-finite scores; check for extreme weights")
    return Ranking(method, list(names), score, low, high, arena_rank(low, high))
