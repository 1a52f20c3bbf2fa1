"""Online Elo as Chatbot Arena computes it (FastChat ``compute_elo`` and ``get_bootstrap_result``).

Reference figures: FastChat's loop, re-implemented below as plain Python, replayed over the
shared Arena human battles in ``num`` order; and evalica's Elo with the same constants.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import evalica
import numpy as np
import pytest

from palate.errors import StatsError
from palate.stats.bradley_terry import rank
from palate.stats.elo import bootstrap_elo, online_elo
from tests.helpers import ARENA_OUTCOME, arena_battles


class Battles(NamedTuple):
    a: np.ndarray
    b: np.ndarray
    y: np.ndarray
    names: list[str]
    winners: list[str]


@pytest.fixture(scope="module")
def arena(shared_data: Path) -> Battles:
    rows, names, code = arena_battles(shared_data / "arena" / "human.jsonl.gz")
    return Battles(
        np.array([code[r["model_a"]] for r in rows]),
        np.array([code[r["model_b"]] for r in rows]),
        np.array([ARENA_OUTCOME[r["winner"]] for r in rows]),
        names,
        [r["winner"] for r in rows],
    )


def fastchat_compute_elo(
    battles: list[tuple[str, str, str]], k: float = 4, scale: float = 400, base: float = 10
) -> dict[str, float]:
    """FastChat's ``compute_elo``, written out as its plain loop over (a, b, winner) rows."""
    rating: defaultdict[str, float] = defaultdict(lambda: 1000.0)
    for model_a, model_b, winner in battles:
        ra, rb = rating[model_a], rating[model_b]
        ea = 1 / (1 + base ** ((rb - ra) / scale))
        eb = 1 / (1 + base ** ((ra - rb) / scale))
        sa = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "tie (bothbad)": 0.5}[winner]
        rating[model_a] += k * (sa - ea)
        rating[model_b] += k * (1 - sa - eb)
    return dict(rating)


def test_hand_computed_example() -> None:
    # 1: x beats y at 1000 vs 1000: E = 0.5, so x 1002, y 998.
    # 2: y ties z (998 vs 1000): E_y = 1 / (1 + 10^(2/400)), y += 4 (0.5 − E_y), z −= the same.
    ratings = online_elo(np.array([0, 1]), np.array([1, 2]), np.array([1.0, 0.5]), 3)
    e_y = 1 / (1 + 10 ** (2 / 400))
    np.testing.assert_allclose(
        ratings, [1002, 998 + 4 * (0.5 - e_y), 1000 - 4 * (0.5 - e_y)], atol=1e-12
    )


def test_reproduces_fastchat_on_arena_bit_for_bit(arena: Battles) -> None:
    rows = [
        (arena.names[i], arena.names[j], w)
        for i, j, w in zip(arena.a, arena.b, arena.winners, strict=True)
    ]
    expected = fastchat_compute_elo(rows)
    ours = online_elo(arena.a, arena.b, arena.y, len(arena.names))
    assert [float(r) for r in ours] == [expected[name] for name in arena.names]
    assert ours.mean() == pytest.approx(1000)  # updates are zero-sum


def test_agrees_with_evalica_on_arena(arena: Battles) -> None:
    winners = [
        evalica.Winner.X if v == 1 else evalica.Winner.Y if v == 0 else evalica.Winner.Draw
        for v in arena.y
    ]
    result = evalica.elo(arena.a, arena.b, winners, initial=1000, base=10, scale=400, k=4)
    reference = result.scores.reindex(range(len(arena.names))).to_numpy()
    ours = online_elo(arena.a, arena.b, arena.y, len(arena.names))
    np.testing.assert_allclose(ours, reference, atol=1e-9)


def test_bootstrap_replays_resampled_battles_like_fastchat() -> None:
    """Each replicate is FastChat's compute_elo over battles drawn with replacement, in order."""
    rng = np.random.default_rng(0)
    n, m, reps = 300, 4, 6
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    y = rng.choice([0.0, 0.5, 1.0], n)
    boot = bootstrap_elo(a, b, y, m, n_bootstrap=reps, rng=1)
    picks = np.random.default_rng(1).integers(0, n, size=(n, reps))  # the draws bootstrap_elo makes
    label = {1.0: "model_a", 0.0: "model_b", 0.5: "tie"}
    for r in range(reps):
        rows = [(str(a[t]), str(b[t]), label[y[t]]) for t in picks[:, r]]
        expected = fastchat_compute_elo(rows)
        np.testing.assert_allclose(boot[r], [expected.get(str(k), 1000.0) for k in range(m)])
    np.testing.assert_allclose(boot.mean(axis=1), 1000)


def test_rank_with_elo(arena: Battles) -> None:
    ranking = rank(arena.a, arena.b, arena.y, arena.names, method="elo", n_bootstrap=60)
    np.testing.assert_array_equal(
        ranking.score, online_elo(arena.a, arena.b, arena.y, len(arena.names))
    )
    assert ranking.to_json()["models"][0]["model"] == "gpt-4"
    assert np.all(ranking.ci_low < ranking.ci_high)
    anchored = rank(
        arena.a, arena.b, arena.y, arena.names, method="elo", n_bootstrap=60, anchor=("gpt-4", 1200)
    )
    k = arena.names.index("gpt-4")
    assert anchored.score[k] == 1200 and anchored.ci_low[k] == anchored.ci_high[k] == 1200


def test_elo_refuses_what_it_cannot_do() -> None:
    a, b, y = np.array([0, 1]), np.array([1, 0]), np.array([1.0, 0.5])
    with pytest.raises(StatsError, match="bootstrap"):
        rank(a, b, y, ["x", "y"], method="elo", ci="sandwich")
    with pytest.raises(StatsError, match="weights"):
        rank(a, b, y, ["x", "y"], method="elo", weights=np.ones(2))
    with pytest.raises(StatsError, match="no comparisons for 'z'"):
        rank(a, b, y, ["x", "y", "z"], method="elo")
    with pytest.raises(StatsError, match="no comparisons"):
        online_elo(np.array([], int), np.array([], int), np.array([]), 2)
