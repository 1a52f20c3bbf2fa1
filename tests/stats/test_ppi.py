"""Prediction-powered inference: agreement with ppi_py, coverage, and the Arena case.

Reference figures: ``ppi_mean``/``classical_mean`` equal ppi_py's ``ppi_mean_ci``/
``classical_mean_ci``; ``ppi_bradley_terry(hessian="pooled")`` at a given λ equals ppi_py's
``ppi_logistic_ci`` on the same comparisons coded as e_a − e_b with the anchor's column
dropped, and its tuned λ equals ppi_py's ``_calc_lam_glm`` with ``coord`` set; the human-only
fit equals ``palate.stats.bradley_terry.rank`` (sandwich) up to ppi_py's ddof.

On the shared Arena battles (GPT-4-0125 verdicts as the judge, 10% of the human verdicts as
the labels, seeds 0–4) we observe: BT intervals cover the all-human scores 95% of the time and
are on average 0.96× as wide as the human-only ones (0.89–1.03); win rates against the field
cover 96% and are 0.92× as wide (0.85–0.98). The judge agrees with humans on 55% of battles
(correlation 0.50), so the gains are modest, as Chatzi et al. (2024) also found.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import ppi_py
import pytest
from ppi_py import ppi as ppi_impl
from scipy.special import expit

from palate.errors import StatsError
from palate.stats.bradley_terry import ELO_SCALE, Ranking, rank
from palate.stats.ppi import (
    MeanInterval,
    RankInterval,
    classical_bradley_terry,
    classical_mean,
    oriented_outcomes,
    ppi_bradley_terry,
    ppi_mean,
)

ALPHA = 0.05


# --- simulated worlds -------------------------------------------------------------------


def mean_world(
    rng: np.random.Generator, n: int, big_n: int, accuracy: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binary labels with mean 0.6; the judge copies them with probability ``accuracy`` and
    otherwise says 1 with probability 0.8 (a biased judge)."""
    y = (rng.random(n + big_n) < 0.6).astype(float)
    copy = rng.random(n + big_n) < accuracy
    yhat = np.where(copy, y, (rng.random(n + big_n) < 0.8).astype(float))
    return y[:n], yhat[:n], yhat[n:]


class World(NamedTuple):
    a: np.ndarray
    b: np.ndarray
    y: np.ndarray  # human outcomes, ties included
    f: np.ndarray  # judge outcomes
    labelled: np.ndarray  # bool mask
    names: list[str]
    truth: np.ndarray  # human BT scores, Arena scale, mean 1000


def bt_world(
    rng: np.random.Generator, n: int = 400, big_n: int = 4000, accuracy: float = 0.7
) -> World:
    """Humans follow BT in the mean (ties 20%, E[y] = σ(θ_a − θ_b)); the judge copies them
    with probability ``accuracy`` and otherwise follows its own BT that favours model 0."""
    theta = np.linspace(-0.8, 0.8, 5)
    m, rows = theta.size, n + big_n
    a = rng.integers(0, m, rows)
    b = (a + rng.integers(1, m, rows)) % m
    p = expit(theta[a] - theta[b])
    tie = rng.random(rows) < 0.2
    y = np.where(tie, 0.5, (rng.random(rows) < (p - 0.1) / 0.8).astype(float))
    biased = theta + np.where(np.arange(m) == 0, 0.7, 0.0)
    own = (rng.random(rows) < expit(biased[a] - biased[b])).astype(float)
    f = np.where(rng.random(rows) < accuracy, y, own)
    labelled = np.arange(rows) < n
    truth = ELO_SCALE * (theta - theta.mean()) + 1000
    return World(a, b, y, f, labelled, [f"m{k}" for k in range(m)], truth)


def fit_world(
    w: World,
    *,
    lam: float | None = None,
    anchor: tuple[str, float] | None = None,
    hessian: Literal["objective", "pooled"] = "objective",
    guard: bool = True,
) -> RankInterval:
    lab, unl = w.labelled, ~w.labelled
    return ppi_bradley_terry(
        w.a[lab],
        w.b[lab],
        w.y[lab],
        w.f[lab],
        w.a[unl],
        w.b[unl],
        w.f[unl],
        w.names,
        lam=lam,
        anchor=anchor,
        hessian=hessian,
        guard=guard,
    )


def width(r: MeanInterval | RankInterval | Ranking) -> np.ndarray:
    return np.asarray(r.ci_high) - np.asarray(r.ci_low)


# --- means: agreement with ppi_py -----------------------------------------------------------


@pytest.mark.parametrize("lam", [None, 0.0, 0.5, 1.0])
def test_ppi_mean_matches_ppi_py(lam: float | None) -> None:
    rng = np.random.default_rng(1)
    for y, f, f_u in [
        mean_world(rng, 150, 2000, 0.8),
        (rng.normal(size=80), rng.normal(size=80), rng.normal(0.3, 2.0, size=500)),
    ]:
        ours = ppi_mean(y, f, f_u, alpha=0.1, lam=lam)
        low, high = ppi_py.ppi_mean_ci(y, f, f_u, alpha=0.1, lam=lam)
        estimate = ppi_py.ppi_mean_pointestimate(y, f, f_u, lam=lam)
        assert ours.ci_low == pytest.approx(float(low[0]), abs=1e-12)
        assert ours.ci_high == pytest.approx(float(high[0]), abs=1e-12)
        assert ours.estimate == pytest.approx(float(np.squeeze(estimate)), abs=1e-12)
        assert ours.method == ("ppi++" if lam is None else "ppi")
        assert (ours.n_labelled, ours.n_unlabelled) == (y.size, f_u.size)


def test_classical_mean_matches_ppi_py_and_lam_zero() -> None:
    y, f, f_u = mean_world(np.random.default_rng(2), 120, 1000, 0.8)
    ours = classical_mean(y, alpha=0.1)
    low, high = ppi_py.classical_mean_ci(y, alpha=0.1)
    assert (ours.ci_low, ours.ci_high) == pytest.approx((low, high), abs=1e-12)
    assert (ours.method, ours.lam, ours.n_unlabelled) == ("classical", 0.0, 0)
    zero = ppi_mean(y, f, f_u, alpha=0.1, lam=0.0)
    assert (zero.ci_low, zero.ci_high) == pytest.approx((ours.ci_low, ours.ci_high), abs=1e-12)


def test_mean_interval_json() -> None:
    y, f, f_u = mean_world(np.random.default_rng(3), 100, 1000, 0.8)
    doc = ppi_mean(y, f, f_u).to_json()
    assert set(doc) == {
        "estimate",
        "ci_low",
        "ci_high",
        "n_labelled",
        "n_unlabelled",
        "lam",
        "method",
        "standard_error",
    }
    assert json.loads(json.dumps(doc)) == doc


# --- means: coverage and width ------------------------------------------------------------


def test_ppi_mean_covers_and_beats_classical() -> None:
    seeds = 2000
    hits = np.zeros((2, seeds), dtype=bool)
    ratio = np.empty(seeds)
    for seed in range(seeds):
        y, f, f_u = mean_world(np.random.default_rng(seed), 100, 1000, 0.8)
        ppi, classical = ppi_mean(y, f, f_u, alpha=ALPHA), classical_mean(y, alpha=ALPHA)
        hits[:, seed] = [r.ci_low <= 0.6 <= r.ci_high for r in (ppi, classical)]
        ratio[seed] = width(ppi) / width(classical)
    # 1 − α minus three binomial standard errors (0.005 at 2000 seeds)
    assert (hits.mean(axis=1) >= 1 - ALPHA - 0.015).all(), hits.mean(axis=1)
    assert ratio.mean() < 0.8  # an 80%-accurate judge with 10× the items helps a lot


def test_ppi_mean_with_useless_judge_is_not_wider() -> None:
    """λ is tuned: a judge that knows nothing gets λ ≈ 0 and costs almost nothing."""
    ratio = []
    for seed in range(500):
        y, f, f_u = mean_world(np.random.default_rng(seed), 100, 1000, 0.0)
        ratio.append(width(ppi_mean(y, f, f_u)) / width(classical_mean(y)))
    assert np.mean(ratio) < 1.01
    assert np.max(ratio) < 1.05


# --- means: degenerate input ----------------------------------------------------------------


def test_mean_degenerate_input() -> None:
    y = np.array([1.0, 0.0, 1.0])
    with pytest.raises(StatsError, match="at least 2"):
        ppi_mean(y[:1], y[:1], y)
    with pytest.raises(StatsError, match="at least 2"):
        ppi_mean(y, y, y[:1])
    with pytest.raises(StatsError, match="at least 2"):
        classical_mean(y[:1])
    with pytest.raises(StatsError, match="paired"):
        ppi_mean(y, y[:2], y)
    with pytest.raises(StatsError, match="non-finite"):
        ppi_mean(y, np.array([1.0, np.nan, 0.0]), y)
    with pytest.raises(StatsError, match="alpha"):
        ppi_mean(y, y, y, alpha=1.0)
    with pytest.raises(StatsError, match="1-d"):
        classical_mean(np.ones((2, 2)))
    with pytest.raises(StatsError, match="zero variance"):
        classical_mean(np.ones(10))
    with pytest.raises(StatsError, match="zero variance"):
        ppi_mean(np.ones(10), np.ones(10), np.ones(50))


def test_constant_judge_gets_no_weight() -> None:
    """Var(Ŷ) = 0 would make λ 0/0; a constant judge is documented to get λ = 0."""
    y = np.array([1.0, 0.0, 1.0, 1.0])
    r = ppi_mean(y, np.ones(4), np.ones(20))
    assert r.lam == 0.0
    assert (r.ci_low, r.ci_high) == pytest.approx(
        (classical_mean(y).ci_low, classical_mean(y).ci_high)
    )


def test_oriented_outcomes() -> None:
    mask, y = oriented_outcomes(1, [0, 1, 2, 2], [1, 2, 0, 1], [1.0, 1.0, 0.5, 0.5])
    assert mask.tolist() == [True, True, False, True]
    assert y.tolist() == [0.0, 1.0, 0.5]


# --- Bradley-Terry: agreement with ppi_py and with palate's own BT --------------------------


def design(a: np.ndarray, b: np.ndarray, m: int) -> np.ndarray:
    """ppi_py's covariates: e_a − e_b without the anchor (model 0), whose θ is fixed at 0."""
    x = np.zeros((a.size, m))
    x[np.arange(a.size), a] = 1
    x[np.arange(a.size), b] -= 1
    return x[:, 1:]


@pytest.fixture(scope="module")
def no_tie_world() -> World:
    """ppi_py's logistic regression starts from scikit-learn, which refuses soft labels."""
    w = bt_world(np.random.default_rng(4))
    return w._replace(y=np.where(w.y == 0.5, 1.0, w.y))


@pytest.fixture
def ppi_py_uncompiled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run ppi_py's numba kernel as the plain Python it is written in: compiling it takes
    longer than this whole file."""
    kernel = ppi_impl._logistic_get_stats
    monkeypatch.setattr(ppi_impl, "_logistic_get_stats", getattr(kernel, "py_func", kernel))


@pytest.mark.usefixtures("ppi_py_uncompiled")
def test_bt_at_given_lambda_matches_ppi_py(no_tie_world: World) -> None:
    w, m = no_tie_world, len(no_tie_world.names)
    lab, unl = w.labelled, ~w.labelled
    x, x_u = design(w.a[lab], w.b[lab], m), design(w.a[unl], w.b[unl], m)
    tight = {"ftol": 1e-15, "gtol": 1e-12}
    for lam in (0.0, 0.4, 1.0):
        ours = fit_world(w, lam=lam, anchor=("m0", 0.0), hessian="pooled")
        low, high = ppi_py.ppi_logistic_ci(
            x, w.y[lab], w.f[lab], x_u, w.f[unl], alpha=ALPHA, lam=lam, optimizer_options=tight
        )
        assert np.abs(ours.ci_low[1:] - ELO_SCALE * low).max() < 1e-4
        assert np.abs(ours.ci_high[1:] - ELO_SCALE * high).max() < 1e-4
        assert (ours.score[0], ours.ci_low[0], ours.ci_high[0]) == (0.0, 0.0, 0.0)


@pytest.mark.usefixtures("ppi_py_uncompiled")
def test_bt_tuned_lambda_matches_ppi_py(no_tie_world: World) -> None:
    """ppi_py tunes λ at its λ = 1 fit, as we do; per coordinate with ``coord``."""
    w, m = no_tie_world, len(no_tie_world.names)
    lab, unl = w.labelled, ~w.labelled
    x, x_u = design(w.a[lab], w.b[lab], m), design(w.a[unl], w.b[unl], m)
    args = (x, w.y[lab], w.f[lab], x_u, w.f[unl])
    tight = {"ftol": 1e-15, "gtol": 1e-12}
    start = ppi_impl.ppi_logistic_pointestimate(*args, lam=1, optimizer_options=dict(tight))
    stats = ppi_impl._logistic_get_stats(start, *args, np.ones(x.shape[0]), np.ones(x_u.shape[0]))
    ours = fit_world(w, anchor=("m0", 0.0), hessian="pooled", guard=False)
    assert ours.method == "ppi++"
    for k in range(1, m):
        lam = ppi_impl._calc_lam_glm(*stats, coord=k - 1, clip=True)
        assert ours.lam[k] == pytest.approx(lam, abs=1e-8)
        low, high = ppi_py.ppi_logistic_ci(*args, alpha=ALPHA, lam=lam, optimizer_options=tight)
        assert ours.ci_low[k] == pytest.approx(ELO_SCALE * low[k - 1], abs=1e-4)
        assert ours.ci_high[k] == pytest.approx(ELO_SCALE * high[k - 1], abs=1e-4)


def test_classical_bt_is_palate_bt_with_sandwich() -> None:
    """Ties as half wins, Arena scale with mean 1000; ppi_py's ddof 1 widens by √(n/(n − 1))."""
    w = bt_world(np.random.default_rng(5))
    lab = w.labelled
    ours = classical_bradley_terry(w.a[lab], w.b[lab], w.y[lab], w.names)
    ref = rank(w.a[lab], w.b[lab], w.y[lab], w.names, ci="sandwich")
    n = int(lab.sum())
    assert np.abs(ours.score - ref.score).max() < 1e-6
    assert width(ours) == pytest.approx(width(ref) * np.sqrt(n / (n - 1)), rel=1e-8)
    assert ours.method == "classical"
    assert (ours.lam == 0).all()
    same = fit_world(w, lam=0.0)
    assert np.abs(same.ci_low - ours.ci_low).max() < 1e-9


def test_hessians_agree_at_lambda_zero_and_objective_is_steadier() -> None:
    """At λ = 0 both are the classical sandwich. With a judge that knows nothing, λ ≈ 0, and
    the objective's Hessian keeps each interval close to the human-only one, where ppi_py's
    pooled Hessian lets the luck of the labelled design move it by up to ~20%."""
    w = bt_world(np.random.default_rng(8))
    pooled, objective = (fit_world(w, lam=0.0, hessian=h) for h in ("pooled", "objective"))
    assert np.abs(pooled.ci_low - objective.ci_low).max() < 1e-9
    steady, pooled_ratio = [], []
    for seed in range(40):
        w = bt_world(np.random.default_rng(300 + seed), accuracy=0.0)
        lab = w.labelled
        classical = width(classical_bradley_terry(w.a[lab], w.b[lab], w.y[lab], w.names))
        steady.append(width(fit_world(w, guard=False)) / classical)
        pooled_ratio.append(width(fit_world(w, hessian="pooled", guard=False)) / classical)
    assert np.mean(steady) < 1.01
    assert np.max(steady) < 1.06
    assert np.max(pooled_ratio) > np.max(steady)


def test_anchor_shifts_scores() -> None:
    w = bt_world(np.random.default_rng(6))
    centred = fit_world(w, lam=0.5)
    anchored = fit_world(w, lam=0.5, anchor=("m2", 1114.0))
    assert anchored.score[2] == 1114.0
    assert np.abs(anchored.score - (centred.score - centred.score[2] + 1114)).max() < 1e-8
    assert centred.score.mean() == pytest.approx(1000)


# --- Bradley-Terry: coverage, width, rank-sets ------------------------------------------------


def test_ppi_bt_covers_and_is_not_wider() -> None:
    seeds = 150
    hits, rank_hits, ratio = [], [], []
    for seed in range(seeds):
        w = bt_world(np.random.default_rng(100 + seed))
        ppi = fit_world(w)
        lab = w.labelled
        classical = classical_bradley_terry(w.a[lab], w.b[lab], w.y[lab], w.names)
        hits.append((ppi.ci_low <= w.truth) & (w.truth <= ppi.ci_high))
        true_rank = np.arange(5, 0, -1)  # θ increases with the model code
        rank_hits.append(((ppi.rank_best <= true_rank) & (true_rank <= ppi.rank_worst)).all())
        ratio.append(width(ppi) / width(classical))
        assert (ppi.rank_best <= ppi.rank).all() and (ppi.rank <= ppi.rank_worst).all()
    coverage = np.mean(hits)
    # 750 intervals: three binomial standard errors are 0.024
    assert coverage >= 1 - ALPHA - 0.024, coverage
    assert np.mean(rank_hits) >= 1 - ALPHA - 0.05
    assert np.mean(ratio) < 0.9
    assert np.mean(ratio, axis=0).max() < 1.0


def position_biased(w: World, rng: np.random.Generator, share: float) -> World:
    """A judge that says "the first shown won" on ``share`` of the comparisons, else copies a
    fairly good judge: its labels carry little about the models and much about the order."""
    return w._replace(f=np.where(rng.random(w.f.size) < share, 1.0, w.f))


JUDGES = {  # name: (copy accuracy of bt_world's judge, share of position-biased answers)
    "good": (0.8, 0.0),
    "weak": (0.3, 0.0),
    "useless": (0.0, 0.0),
    "position-biased": (0.6, 0.85),
}


def test_guarded_ppi_bt_never_wider_than_human_only_and_covers() -> None:
    """Judges of several qualities, 200 human and 2,000 judge labels per world. The guard keeps
    every PPI++ interval within the human-only one, where tuning alone left about a fifth of the
    intervals of weak and position-biased judges wider, at nominal coverage either way."""
    seeds = 40
    hits: dict[str, list[np.ndarray]] = {name: [] for name in JUDGES}
    ratios: dict[str, list[np.ndarray]] = {name: [] for name in JUDGES}
    unguarded: list[np.ndarray] = []
    for name, (accuracy, share) in JUDGES.items():
        for seed in range(seeds):
            rng = np.random.default_rng(2000 + seed)
            w = position_biased(bt_world(rng, n=200, big_n=2000, accuracy=accuracy), rng, share)
            ppi = fit_world(w)
            lab = w.labelled
            classical = classical_bradley_terry(w.a[lab], w.b[lab], w.y[lab], w.names)
            hits[name].append((ppi.ci_low <= w.truth) & (w.truth <= ppi.ci_high))
            ratios[name].append(width(ppi) / width(classical))
            assert ((ppi.lam == 0) | (width(ppi) < width(classical))).all()
            assert ((ppi.lam > 0) | (np.abs(ppi.ci_low - classical.ci_low) < 1e-6)).all()
            if share > 0:
                unguarded.append(width(fit_world(w, guard=False)) / width(classical))
    for name in JUDGES:
        # 200 intervals per judge: three binomial standard errors are 0.046
        assert np.mean(hits[name]) >= 1 - ALPHA - 0.046, (name, np.mean(hits[name]))
        assert np.max(ratios[name]) <= 1 + 1e-8, name  # equal up to Newton's tolerance
    # 800 intervals in all: three standard errors are 0.023
    assert np.mean(list(hits.values())) >= 1 - ALPHA - 0.023
    assert np.mean(ratios["good"]) < 0.8  # a good judge still buys much narrower intervals
    assert np.mean(np.concatenate(unguarded) > 1 + 1e-9) > 0.1  # the guard had work to do


def test_rank_interval_json() -> None:
    doc = fit_world(bt_world(np.random.default_rng(7))).to_json()
    assert doc["method"] == "ppi++"
    assert (doc["n_labelled"], doc["n_unlabelled"]) == (400, 4000)
    rows = doc["models"]
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert set(rows[0]) == {
        "model",
        "score",
        "ci_low",
        "ci_high",
        "rank",
        "rank_best",
        "rank_worst",
        "lam",
    }
    assert json.loads(json.dumps(doc)) == doc


# --- Bradley-Terry: degenerate input --------------------------------------------------------


def test_bt_degenerate_input() -> None:
    names = ["a", "b", "c"]
    a, b = np.array([0, 1, 2, 0]), np.array([1, 2, 0, 2])
    y = np.array([1.0, 0.0, 0.5, 0.0])
    ok = (a, b, y, y, a, b, y, names)

    def call(*args: Any, **kwargs: Any) -> RankInterval:
        return ppi_bradley_terry(*args, **kwargs)

    with pytest.raises(StatsError, match="no human-labelled comparisons for 'c'"):
        call(a[[0, 0]], b[[0, 0]], y[:2], y[:2], a, b, y, names)
    with pytest.raises(StatsError, match="at least 2 human-labelled"):
        call(a[:1], b[:1], y[:1], y[:1], a[:1], b[:1], y[:1], ["a", "b"])
    with pytest.raises(StatsError, match="at least 2 judge-only"):
        call(a, b, y, y, a[:1], b[:1], y[:1], names)
    with pytest.raises(StatsError, match="unconnected groups"):
        call(np.array([0, 2]), np.array([1, 3]), y[:2], y[:2], a, b, y, [*names, "d"])
    with pytest.raises(StatsError, match="diverge"):  # 'a' never lost
        classical_bradley_terry(a[[0, 3, 1, 1]], b[[0, 3, 1, 1]], [1.0, 1.0, 0.5, 0.0], names)
    with pytest.raises(StatsError, match=r"must lie in \[0, 1\]"):
        call(a, b, y + 1, y, a, b, y, names)
    with pytest.raises(StatsError, match="against itself"):
        call(a, a, y, y, a, b, y, names)
    with pytest.raises(StatsError, match="codes outside"):
        call(a + 1, b, y, y, a, b, y, names)
    with pytest.raises(StatsError, match="equal lengths"):
        call(a, b, y[:3], y, a, b, y, names)
    with pytest.raises(StatsError, match="distinct"):
        call(*ok[:7], ["a", "a", "c"])
    with pytest.raises(StatsError, match="anchor"):
        call(*ok, anchor=("z", 0.0))
    with pytest.raises(StatsError, match="lam"):
        call(*ok, lam=1.5)
    with pytest.raises(StatsError, match="alpha"):
        call(*ok, alpha=0.0)
    # Twice humans saw 'a' beat 'b' where the judge saw 'b' win, yet the judge has 'a' win all
    # 20 judge-only battles: plain PPI credits 'a' with more than all of those, so its loss
    # has no minimum.
    unl_a, unl_b = np.array([0] * 20 + [0, 0, 1, 1]), np.array([1] * 20 + [2, 2, 2, 2])
    judge = np.array([1.0] * 20 + [1, 0, 1, 0])
    lab_a, lab_b = np.array([0, 0, 1, 1, 0, 0]), np.array([1, 1, 2, 2, 2, 2])
    human, judged = np.array([1.0, 1, 1, 0, 1, 0]), np.array([0.0, 0, 1, 0, 1, 0])
    with pytest.raises(StatsError, match="no finite minimum"):
        call(lab_a, lab_b, human, judged, unl_a, unl_b, judge, names, lam=1.0)
    ties = np.full(4, 0.5)
    with pytest.raises(StatsError, match="no variance"):
        call(a, b, ties, ties, a, b, ties, names)


# --- the shared Arena battles ---------------------------------------------------------------


class Arena(NamedTuple):
    a: np.ndarray
    b: np.ndarray
    human: np.ndarray
    judge: np.ndarray
    names: list[str]


@pytest.fixture(scope="module")
def arena(shared_data: Path) -> Arena:
    """Human and GPT-4-0125 verdicts on the same battles, matched by ``num``."""
    value = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "tie (bothbad)": 0.5}
    rows = {}
    for source in ("human", "gpt-4-0125-preview"):
        path = shared_data / "arena" / f"{source}.jsonl.gz"
        if not path.exists():
            pytest.skip(f"{path} not found")
        with gzip.open(path, "rt") as f:
            rows[source] = {r["num"]: r for r in map(json.loads, f)}
    nums = sorted(rows["human"])
    assert nums == sorted(rows["gpt-4-0125-preview"])
    human = [rows["human"][k] for k in nums]
    judge = [rows["gpt-4-0125-preview"][k] for k in nums]
    assert all(
        (h["model_a"], h["model_b"]) == (j["model_a"], j["model_b"])
        for h, j in zip(human, judge, strict=True)
    )
    names = sorted({r["model_a"] for r in human} | {r["model_b"] for r in human})
    code = {name: k for k, name in enumerate(names)}
    return Arena(
        np.array([code[r["model_a"]] for r in human]),
        np.array([code[r["model_b"]] for r in human]),
        np.array([value[r["winner"]] for r in human]),
        np.array([value[r["winner"]] for r in judge]),
        names,
    )


def arena_subset(arena: Arena, seed: int) -> np.ndarray:
    """10% of the battles, at random, get their human verdict."""
    rng = np.random.default_rng(seed)
    labelled = np.zeros(arena.a.size, dtype=bool)
    labelled[rng.choice(arena.a.size, arena.a.size // 10, replace=False)] = True
    return labelled


def test_arena_bt_ppi_is_narrower_and_covers_all_human(arena: Arena) -> None:
    everyone = classical_bradley_terry(arena.a, arena.b, arena.human, arena.names).score
    hits, ratio = [], []
    for seed in range(5):
        lab = arena_subset(arena, seed)
        unl = ~lab
        ppi = ppi_bradley_terry(
            arena.a[lab],
            arena.b[lab],
            arena.human[lab],
            arena.judge[lab],
            arena.a[unl],
            arena.b[unl],
            arena.judge[unl],
            arena.names,
        )
        classical = classical_bradley_terry(
            arena.a[lab], arena.b[lab], arena.human[lab], arena.names
        )
        hits.append((ppi.ci_low <= everyone) & (everyone <= ppi.ci_high))
        ratio.append(width(ppi) / width(classical))
        assert np.mean(ratio[-1]) < 1.0
    assert np.mean(hits) >= 0.9  # observed 0.95 over 100 intervals
    assert np.mean(ratio) < 0.98  # observed 0.96
    assert np.max(ratio) < 1.05  # observed 1.03


def test_arena_win_rate_ppi_is_narrower_and_covers_all_human(arena: Arena) -> None:
    hits, ratio = [], []
    for seed in range(5):
        lab = arena_subset(arena, seed)
        for model in range(len(arena.names)):
            mask, y = oriented_outcomes(model, arena.a, arena.b, arena.human)
            _, f = oriented_outcomes(model, arena.a, arena.b, arena.judge)
            mine = lab[mask]
            ppi = ppi_mean(y[mine], f[mine], f[~mine])
            classical = classical_mean(y[mine])
            hits.append(ppi.ci_low <= y.mean() <= ppi.ci_high)
            ratio.append(width(ppi) / width(classical))
    assert np.mean(hits) >= 0.9  # observed 0.96 over 100 intervals
    assert np.mean(ratio) < 0.95  # observed 0.92
    assert np.max(ratio) < 1.0
