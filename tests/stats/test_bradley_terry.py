"""Bradley-Terry, Davidson, their intervals, and ``rank``.

Reference figures: on the shared Chatbot Arena human battles, BT scores equal choix's and
evalica's BT fits (ties as half wins, tie weight 0.5) and FastChat's ``compute_elo_mle_with_tie``
(an L-BFGS fit of its loss, re-implemented here) on the Arena scale, 400/ln 10 · θ + 1000 with
mean 1000 (that data has no mixtral-8x7b, so FastChat applies no anchor shift).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, NamedTuple

import choix
import evalica
import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import expit

import palate.stats.intervals as intervals
from palate.errors import StatsError
from palate.stats.bradley_terry import (
    ELO_SCALE,
    Ranking,
    bootstrap_scores,
    bt_covariance,
    davidson_covariance,
    fit_bradley_terry,
    fit_davidson,
    pair_counts,
    rank,
    to_elo_scale,
)
from palate.stats.intervals import Resampling, arena_rank, percentile_interval
from tests.helpers import ARENA_OUTCOME, arena_battles


class Battles(NamedTuple):
    a: np.ndarray
    b: np.ndarray
    y: np.ndarray
    names: list[str]


@pytest.fixture(scope="module")
def arena(shared_data: Path) -> Battles:
    """Arena human battles in ``num`` order; 'tie' and 'tie (bothbad)' are both ties."""
    rows, names, code = arena_battles(shared_data / "arena" / "human.jsonl.gz")
    return Battles(
        np.array([code[r["model_a"]] for r in rows]),
        np.array([code[r["model_b"]] for r in rows]),
        np.array([ARENA_OUTCOME[r["winner"]] for r in rows]),
        names,
    )


def bt_battles(theta: np.ndarray, n: int, rng: np.random.Generator) -> Battles:
    """Random pairs, outcomes from Bradley-Terry without ties."""
    m = theta.size
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    y = (rng.random(n) < expit(theta[a] - theta[b])).astype(float)
    return Battles(a, b, y, [f"m{k}" for k in range(m)])


def davidson_battles(theta: np.ndarray, nu: float, n: int, rng: np.random.Generator) -> Battles:
    """Random pairs, outcomes from Davidson's model (Davidson 1970, eq. 2.1)."""
    m = theta.size
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    pi_a, pi_b = np.exp(theta[a]), np.exp(theta[b])
    denom = pi_a + pi_b + nu * np.sqrt(pi_a * pi_b)
    u = rng.random(n) * denom
    y = np.where(u < pi_a, 1.0, np.where(u < pi_a + nu * np.sqrt(pi_a * pi_b), 0.5, 0.0))
    return Battles(a, b, y, [f"m{k}" for k in range(m)])


def win_matrix(d: Battles) -> np.ndarray:
    m = len(d.names)
    wins = np.zeros((m, m))
    np.add.at(wins, (d.a, d.b), d.y)
    np.add.at(wins, (d.b, d.a), 1 - d.y)
    return wins


def centred(x: np.ndarray) -> np.ndarray:
    return x - x.mean()


# --- agreement with independent implementations ----------------------------------------------


def test_bt_matches_choix_on_arena(arena: Battles) -> None:
    theta = fit_bradley_terry(arena.a, arena.b, arena.y, len(arena.names))
    reference = choix.ilsr_pairwise_dense(win_matrix(arena), max_iter=10_000, tol=1e-14)
    diff = ELO_SCALE * np.abs(centred(theta) - centred(reference))
    assert diff.max() < 1e-6


def test_bt_matches_evalica_on_arena(arena: Battles) -> None:
    theta = fit_bradley_terry(arena.a, arena.b, arena.y, len(arena.names))
    winners = [
        evalica.Winner.X if v == 1 else evalica.Winner.Y if v == 0 else evalica.Winner.Draw
        for v in arena.y
    ]
    result = evalica.bradley_terry(
        arena.a, arena.b, winners, tie_weight=0.5, tolerance=1e-14, limit=100_000
    )
    reference = np.log(result.scores.reindex(range(len(arena.names))).to_numpy())
    assert ELO_SCALE * np.abs(centred(theta) - centred(reference)).max() < 1e-6


def test_scores_match_fastchat_mle_elo_on_arena(arena: Battles) -> None:
    """FastChat fits σ(ln 10 · (r_a − r_b)) by L-BFGS from zero and reports 400 r + 1000."""
    m = len(arena.names)
    rows, counts = np.unique(np.stack([arena.a, arena.b, arena.y]), axis=1, return_counts=True)
    pairs, outcome = rows[:2].astype(int), rows[2]

    def loss(r: np.ndarray) -> tuple[float, np.ndarray]:
        p = expit(np.log(10) * (r[pairs[0]] - r[pairs[1]]))
        value = -(counts * (outcome * np.log(p) + (1 - outcome) * np.log(1 - p))).sum()
        grad = np.zeros(m)
        np.add.at(grad, pairs[0], -np.log(10) * counts * (outcome - p))
        np.add.at(grad, pairs[1], np.log(10) * counts * (outcome - p))
        return value, grad

    # FastChat stops at gtol 1e-6 (about 0.01 Elo points here); we ask L-BFGS for more.
    tight = {"gtol": 1e-12, "ftol": 1e-16, "maxiter": 1000}
    fastchat = minimize(loss, np.zeros(m), jac=True, method="L-BFGS-B", options=tight)
    ranking = rank(arena.a, arena.b, arena.y, arena.names, ci="sandwich")
    assert np.abs(ranking.score - (400 * fastchat.x + 1000)).max() < 1e-5
    assert ranking.score.mean() == pytest.approx(1000)


def test_weights_equal_repeated_comparisons() -> None:
    d = bt_battles(np.array([0.0, 0.5, 1.0, -0.3]), 300, np.random.default_rng(1))
    y = d.y.copy()
    y[::7] = 0.5
    w = np.random.default_rng(2).integers(1, 4, d.a.size)
    weighted = fit_bradley_terry(d.a, d.b, y, 4, weights=w.astype(float))
    repeated = fit_bradley_terry(np.repeat(d.a, w), np.repeat(d.b, w), np.repeat(y, w), 4)
    np.testing.assert_allclose(weighted, repeated, atol=1e-10)


def test_l2_prior_is_the_penalised_maximum() -> None:
    d = bt_battles(np.array([0.0, 0.5, 1.0, -0.3, 0.2]), 200, np.random.default_rng(3))
    l2 = 2.0

    def objective(t: np.ndarray) -> float:
        dt = t[d.a] - t[d.b]
        return float(-(d.y * np.log(expit(dt)) + (1 - d.y) * np.log(expit(-dt))).sum()) + (
            0.5 * l2 * float(t @ t)
        )

    reference = minimize(objective, np.zeros(5), method="BFGS", options={"gtol": 1e-10}).x
    theta = fit_bradley_terry(d.a, d.b, d.y, 5, l2=l2)
    np.testing.assert_allclose(theta, reference, atol=1e-6)
    assert abs(reference.mean()) < 1e-6  # the prior itself centres the scores


def test_soft_outcomes_maximise_the_soft_label_likelihood() -> None:
    """Preferences in (0, 1) (e.g. AlpacaEval's) enter BT as FastChat's loss takes them."""
    rng = np.random.default_rng(12)
    d = bt_battles(np.array([0.0, 0.5, 1.0, -0.3]), 300, rng)
    y = np.clip(d.y * 0.8 + rng.random(d.y.size) * 0.2, 0, 1)
    w = rng.random(y.size) + 0.5

    def objective(t: np.ndarray) -> float:
        dt = t[d.a] - t[d.b]
        return float(-(w * (y * np.log(expit(dt)) + (1 - y) * np.log(expit(-dt)))).sum())

    reference = minimize(objective, np.zeros(4), method="BFGS", options={"gtol": 1e-10}).x
    theta = fit_bradley_terry(d.a, d.b, y, 4, weights=w)
    np.testing.assert_allclose(theta, centred(reference), atol=1e-6)
    # Listing each comparison the other way round (b first, 1 − y) changes nothing.
    swapped = fit_bradley_terry(d.b, d.a, 1 - y, 4, weights=w)
    np.testing.assert_allclose(swapped, theta, atol=1e-10)
    ranking = rank(d.a, d.b, y, d.names, weights=w, n_bootstrap=50)
    assert np.all(np.isfinite(ranking.ci_low)) and np.all(np.isfinite(ranking.ci_high))
    with pytest.raises(StatsError, match="Davidson's model needs outcomes"):
        rank(d.a, d.b, y, d.names, method="davidson")


def test_anchor_shifts_scores_like_arena(arena: Battles) -> None:
    plain = rank(arena.a, arena.b, arena.y, arena.names, ci="sandwich")
    anchored = rank(arena.a, arena.b, arena.y, arena.names, ci="sandwich", anchor=("gpt-4", 1114))
    k = arena.names.index("gpt-4")
    assert anchored.score[k] == pytest.approx(1114)
    np.testing.assert_allclose(anchored.score - plain.score, 1114 - plain.score[k])
    assert anchored.ci_low[k] == pytest.approx(1114)  # the anchor carries no uncertainty


# --- Davidson ------------------------------------------------------------------------------


def test_davidson_recovers_known_parameters() -> None:
    theta = np.array([-0.6, -0.2, 0.0, 0.3, 0.5])
    d = davidson_battles(theta, 0.8, 40_000, np.random.default_rng(4))
    fit = fit_davidson(d.a, d.b, d.y, 5)
    cov = davidson_covariance(pair_counts(d.a, d.b, d.y, 5), fit)
    se = np.sqrt(np.diag(cov))
    assert np.all(np.abs(fit.theta - centred(theta)) < 4 * se)
    assert fit.nu == pytest.approx(0.8, abs=0.03)


def test_davidson_matches_direct_likelihood_maximum() -> None:
    d = davidson_battles(np.array([0.0, 0.7, -0.4, 0.2]), 0.5, 3000, np.random.default_rng(5))

    def nll(x: np.ndarray) -> float:
        theta, nu = np.append(0.0, x[:3]), np.exp(x[3])
        pa, pb = np.exp(theta[d.a]), np.exp(theta[d.b])
        tie = nu * np.sqrt(pa * pb)
        num = np.where(d.y == 1, pa, np.where(d.y == 0, pb, tie))
        return float(-np.log(num / (pa + pb + tie)).sum())

    x = minimize(nll, np.zeros(4), method="BFGS", options={"gtol": 1e-9}).x
    fit = fit_davidson(d.a, d.b, d.y, 4)
    np.testing.assert_allclose(fit.theta, centred(np.append(0.0, x[:3])), atol=1e-5)
    assert fit.nu == pytest.approx(np.exp(x[3]), rel=1e-5)


def test_davidson_without_ties_is_bradley_terry() -> None:
    d = bt_battles(np.array([0.0, 0.5, 1.0, -0.3]), 400, np.random.default_rng(6))
    fit = fit_davidson(d.a, d.b, d.y, 4)
    assert fit.nu == 0.0
    np.testing.assert_allclose(fit.theta, fit_bradley_terry(d.a, d.b, d.y, 4), atol=1e-10)
    ranking = rank(d.a, d.b, d.y, d.names, method="davidson", n_bootstrap=50)
    assert np.all(np.isfinite(ranking.ci_low)) and np.all(np.isfinite(ranking.ci_high))


# --- intervals -----------------------------------------------------------------------------


def test_bootstrap_and_sandwich_cover_true_scores_at_nominal_rate() -> None:
    """200 data sets from known scores: 95% intervals must cover about 95% of the time."""
    theta = centred(np.array([-0.8, -0.4, 0.0, 0.2, 0.4, 0.6]))
    rng = np.random.default_rng(7)
    hits = {"bootstrap": 0, "sandwich": 0}
    trials = 200
    for _ in range(trials):
        d = bt_battles(theta, 600, rng)
        boot = bootstrap_scores(d.a, d.b, d.y, 6, n_bootstrap=200, rng=rng)
        low, high = percentile_interval(boot, 0.05)
        hits["bootstrap"] += int(((low <= theta) & (theta <= high)).sum())
        fit = fit_bradley_terry(d.a, d.b, d.y, 6)
        se = np.sqrt(np.diag(bt_covariance(pair_counts(d.a, d.b, d.y, 6), fit)))
        hits["sandwich"] += int((np.abs(fit - theta) <= 1.96 * se).sum())
    for kind, hit in hits.items():
        rate = hit / (trials * theta.size)
        # ±3 binomial standard errors of 1,200 intervals (0.019), a little more for B = 200
        assert 0.925 <= rate <= 0.975, (kind, rate)


def test_sandwich_equals_per_comparison_computation() -> None:
    """H⁻¹JH⁻¹ from per-comparison scores: weighted soft outcomes (BT), weighted ties (Davidson)."""
    rng = np.random.default_rng(13)
    d = davidson_battles(np.array([0.0, 0.4, -0.3, 0.6]), 0.7, 400, rng)
    w = rng.random(d.y.size) + 0.5
    diff = np.zeros((d.y.size, 4))
    diff[np.arange(d.y.size), d.a] = 1
    diff[np.arange(d.y.size), d.b] = -1

    def sandwich(scores: np.ndarray, hessian: np.ndarray) -> np.ndarray:
        bread = np.linalg.pinv(hessian)  # the minimum-norm inverse: centred scores
        return bread @ (scores.T * w**2) @ scores @ bread

    soft = np.clip(d.y + rng.normal(0, 0.2, d.y.size), 0, 1)
    theta = fit_bradley_terry(d.a, d.b, soft, 4, weights=w)
    p = expit(diff @ theta)
    expected = sandwich(diff * (soft - p)[:, None], (diff.T * w * p * (1 - p)) @ diff)
    got = bt_covariance(pair_counts(d.a, d.b, soft, 4, weights=w), theta)
    np.testing.assert_allclose(got, expected, atol=1e-12)

    fit = fit_davidson(d.a, d.b, d.y, 4, weights=w)
    half = diff @ fit.theta / 2
    denom = np.exp(half) + np.exp(-half) + fit.nu
    p_win, p_tie, p_loss = np.exp(half) / denom, fit.nu / denom, np.exp(-half) / denom

    def score(outcome: float) -> np.ndarray:  # per comparison, in (θ, ln ν)
        g_d = (outcome - 0.5) - (p_win - p_loss) / 2
        return np.column_stack([diff * g_d[:, None], (outcome == 0.5) - p_tie])

    outcomes = [(0.0, p_loss), (0.5, p_tie), (1.0, p_win)]
    hessian = sum((score(o).T * w * q) @ score(o) for o, q in outcomes)  # Fisher = Hessian here
    observed = np.select([d.y == o for o, _ in outcomes], [score(o).T for o, _ in outcomes]).T
    expected = sandwich(observed, np.asarray(hessian))[:4, :4]
    got = davidson_covariance(pair_counts(d.a, d.b, d.y, 4, weights=w), fit)
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_sandwich_agrees_with_bootstrap_on_arena(arena: Battles) -> None:
    m = len(arena.names)
    theta = fit_bradley_terry(arena.a, arena.b, arena.y, m)
    pc = pair_counts(arena.a, arena.b, arena.y, m)
    sandwich = np.sqrt(np.diag(bt_covariance(pc, theta)))
    fisher = np.sqrt(np.diag(bt_covariance(pc, theta, robust=False)))
    for resampling in ("poisson", "multinomial"):
        boot = bootstrap_scores(
            arena.a, arena.b, arena.y, m, n_bootstrap=400, rng=8, resampling=resampling
        )
        np.testing.assert_allclose(sandwich, boot.std(axis=0), rtol=0.15)
    # Half-win ties are less variable than the Bernoulli outcomes Fisher assumes.
    assert np.all(sandwich < fisher)


def test_bootstrap_is_seeded_and_independent_of_threads(
    arena: Battles, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = len(arena.names)
    first = bootstrap_scores(arena.a, arena.b, arena.y, m, n_bootstrap=250, rng=9)
    monkeypatch.setattr(intervals.os, "cpu_count", lambda: 1)
    again = bootstrap_scores(arena.a, arena.b, arena.y, m, n_bootstrap=250, rng=9)
    np.testing.assert_array_equal(first, again)
    ones = np.ones(arena.a.size)
    weighted = bootstrap_scores(arena.a, arena.b, arena.y, m, weights=ones, n_bootstrap=250, rng=9)
    np.testing.assert_allclose(weighted, first, atol=1e-12)


@pytest.mark.parametrize("resampling", ["poisson", "multinomial"])
def test_bootstrap_chord_fits_equal_full_newton_fits(resampling: Resampling) -> None:
    d = bt_battles(np.array([0.0, 0.5, 1.0, -0.3, 0.2]), 400, np.random.default_rng(10))
    y = d.y.copy()
    y[::5] = 0.5
    boot = bootstrap_scores(d.a, d.b, y, 5, n_bootstrap=5, rng=11, resampling=resampling)
    # Replay the same resamples: counts from the same child generators, fitted from scratch.
    children = np.random.default_rng(11).spawn(1)
    pc = pair_counts(d.a, d.b, y, 5)
    table = pc.counts.T.ravel()
    cells = np.flatnonzero(table > 0)
    if resampling == "poisson":  # one Poisson(count) per cell: each row drawn Poisson(1) times
        draws = children[0].poisson(table[cells], size=(5, cells.size))
    else:
        draws = children[0].multinomial(d.a.size, table[cells] / d.a.size, size=5)
    for r in range(5):
        resampled = np.zeros(table.size)
        resampled[cells] = draws[r]
        counts = resampled.reshape(-1, 3)
        rows = [(pc.i[p], pc.j[p], c / 2) for p, c in zip(*np.nonzero(counts), strict=True)]
        reps = counts[np.nonzero(counts)].astype(int)
        a = np.repeat([row[0] for row in rows], reps)
        b = np.repeat([row[1] for row in rows], reps)
        yy = np.repeat([row[2] for row in rows], reps)
        np.testing.assert_allclose(boot[r], fit_bradley_terry(a, b, yy, 5), atol=1e-7)


# --- rank and its JSON ---------------------------------------------------------------------


def test_rank_json_shape_and_arena_rank_rule(arena: Battles) -> None:
    ranking = rank(arena.a, arena.b, arena.y, arena.names, n_bootstrap=200)
    doc = ranking.to_json()
    assert doc["method"] == "bt"
    assert [set(row) for row in doc["models"]] == [
        {"model", "score", "ci_low", "ci_high", "rank"}
    ] * len(arena.names)
    scores = [row["score"] for row in doc["models"]]
    assert scores == sorted(scores, reverse=True)
    assert doc["models"][0]["model"] == "gpt-4" and doc["models"][0]["rank"] == 1
    assert all(row["ci_low"] <= row["score"] <= row["ci_high"] for row in doc["models"])
    json.dumps(doc)  # plain Python numbers only


def test_arena_rank_counts_models_clearly_above() -> None:
    low = np.array([10.0, 8.0, 0.0, -5.0])
    high = np.array([12.0, 11.0, 9.0, 1.0])
    # model 2 lies wholly below model 0 (10 > 9); model 3 below models 0 and 1, not 2 (0 < 1)
    np.testing.assert_array_equal(arena_rank(low, high), [1, 1, 2, 3])


@pytest.mark.parametrize("method", ["bt", "davidson"])
@pytest.mark.parametrize("ci", ["bootstrap", "sandwich", "fisher"])
def test_rank_methods_give_finite_ordered_results(
    arena: Battles,
    method: Literal["bt", "davidson"],
    ci: Literal["bootstrap", "sandwich", "fisher"],
) -> None:
    ranking = rank(arena.a, arena.b, arena.y, arena.names, method=method, ci=ci, n_bootstrap=100)
    assert isinstance(ranking, Ranking) and ranking.method == method
    for field in (ranking.score, ranking.ci_low, ranking.ci_high):
        assert np.all(np.isfinite(field))
    assert np.all(ranking.ci_low < ranking.ci_high)
    assert ranking.models[int(np.argmax(ranking.score))] == "gpt-4"


def test_to_elo_scale() -> None:
    theta = np.array([0.0, np.log(10)])
    np.testing.assert_allclose(to_elo_scale(theta), [800, 1200])
    np.testing.assert_allclose(to_elo_scale(theta, 0, 1114.0), [1114, 1514])


# --- degenerate input ----------------------------------------------------------------------


def test_empty_input() -> None:
    with pytest.raises(StatsError, match="no comparisons"):
        rank(np.array([], int), np.array([], int), np.array([]), ["x", "y"])


def test_single_model() -> None:
    with pytest.raises(StatsError, match="at least two models"):
        rank(np.array([0]), np.array([0]), np.array([1.0]), ["x"])


def test_self_comparison_and_bad_values() -> None:
    with pytest.raises(StatsError, match="with itself"):
        fit_bradley_terry(np.array([0, 1]), np.array([1, 1]), np.array([1.0, 0.0]), 2)
    with pytest.raises(StatsError, match="outcome must be"):
        fit_bradley_terry(np.array([0, 1]), np.array([1, 0]), np.array([1.0, np.nan]), 2)
    with pytest.raises(StatsError, match="outcome must be"):
        fit_bradley_terry(np.array([0, 1]), np.array([1, 0]), np.array([1.0, 2.0]), 2)
    with pytest.raises(StatsError, match="outside"):
        fit_bradley_terry(np.array([0, 2]), np.array([1, 0]), np.array([1.0, 0.0]), 2)
    with pytest.raises(StatsError, match="equal length"):
        fit_bradley_terry(np.array([0, 1]), np.array([1]), np.array([1.0, 0.0]), 2)
    with pytest.raises(StatsError, match="non-negative"):
        fit_bradley_terry(np.array([0]), np.array([1]), np.array([1.0]), 2, weights=[-1.0])


def test_unbeaten_model_needs_a_prior() -> None:
    a = np.array([0, 0, 1, 2, 1])
    b = np.array([1, 2, 2, 1, 0])
    y = np.array([1.0, 1.0, 1.0, 1.0, 0.0])  # model 0 wins all its comparisons
    names = ["champ", "mid", "low"]
    with pytest.raises(StatsError, match=r"'champ' won all its comparisons.*l2 > 0"):
        rank(a, b, y, names)
    ranking = rank(a, b, y, names, l2=1.0, n_bootstrap=100)
    assert np.all(np.isfinite(ranking.score)) and np.all(np.isfinite(ranking.ci_high))
    assert ranking.models[int(np.argmax(ranking.score))] == "champ"


def test_group_that_never_lost_is_named() -> None:
    a = np.array([0, 1, 0, 1, 2])
    b = np.array([1, 0, 2, 3, 3])
    y = np.array([1.0, 1.0, 1.0, 1.0, 0.5])  # {0, 1} beat {2, 3}; 2 and 3 tie
    with pytest.raises(StatsError, match=r"'a', 'b' won all their comparisons"):
        rank(a, b, y, ["a", "b", "c", "d"])


def test_disconnected_graph_names_the_groups() -> None:
    a = np.array([0, 1, 2, 3])
    b = np.array([1, 0, 3, 2])
    y = np.array([1.0, 1.0, 1.0, 1.0])
    with pytest.raises(StatsError, match=r"2 unconnected groups: \['a', 'b'\]; \['c', 'd'\]"):
        rank(a, b, y, ["a", "b", "c", "d"], ci="sandwich")
    ranking = rank(a, b, y, ["a", "b", "c", "d"], ci="sandwich", l2=1.0)
    np.testing.assert_allclose(ranking.score, 1000)  # each pair split evenly


def test_model_never_compared() -> None:
    with pytest.raises(StatsError, match="no comparisons for 'z'"):
        rank(np.array([0, 1]), np.array([1, 0]), np.array([1.0, 1.0]), ["x", "y", "z"], l2=1.0)


def test_all_ties() -> None:
    a, b = np.array([0, 1, 2]), np.array([1, 2, 0])
    y = np.full(3, 0.5)
    ranking = rank(a, b, y, ["x", "y", "z"], ci="sandwich")
    np.testing.assert_allclose(ranking.score, 1000)
    with pytest.raises(StatsError, match="every comparison is a tie"):
        rank(a, b, y, ["x", "y", "z"], method="davidson")


def test_bootstrap_resample_without_finite_fit_is_an_error() -> None:
    # 'top' lost once in 20 games: about a third of resamples contain no loss for it.
    a = np.array([0] * 20 + [1] * 10)
    b = np.array([1, 2] * 10 + [2] * 10)
    y = np.array([0.0] + [1.0] * 19 + [1.0, 0.0] * 5)
    names = ["top", "mid", "low"]
    with pytest.raises(StatsError, match="bootstrap resamples have no finite scores"):
        rank(a, b, y, names, n_bootstrap=100)
    assert np.all(np.isfinite(rank(a, b, y, names, ci="sandwich").ci_high))
    assert np.all(np.isfinite(rank(a, b, y, names, l2=0.5, n_bootstrap=100).ci_high))


def test_bad_options() -> None:
    a, b, y = np.array([0, 1]), np.array([1, 0]), np.array([1.0, 1.0])
    glicko: Any = "glicko"
    with pytest.raises(StatsError, match="alpha"):
        rank(a, b, y, ["x", "y"], alpha=1.5)
    with pytest.raises(StatsError, match="anchor"):
        rank(a, b, y, ["x", "y"], anchor=("nope", 1000.0))
    with pytest.raises(StatsError, match="distinct"):
        rank(a, b, y, ["x", "x"])
    with pytest.raises(StatsError, match="unknown method"):
        rank(a, b, y, ["x", "y"], method=glicko)
