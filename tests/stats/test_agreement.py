"""Agreement statistics against independent implementations and published figures.

- Cohen's kappa = ``sklearn.metrics.cohen_kappa_score`` (plain, linear and quadratic weights).
- Fleiss' kappa = ``statsmodels.stats.inter_rater.fleiss_kappa``.
- Krippendorff's alpha reproduces the worked examples of Krippendorff (2011), "Computing
  Krippendorff's Alpha-Reliability": example A (binary, two observers, α = 0.095) and
  example C (four observers, values 1–5, missing data: nominal α = 0.743, ordinal 0.815,
  interval 0.849, ratio 0.797); and equals the ``krippendorff`` package (test-only; the test
  skips without it) on random data with missing values.
- Percent agreement with and without ties = MT-Bench's ``get_mt_bench_agreement``
  (FastChat ``fastchat/llm_judge/compute_agreement.py``), re-implemented loop by loop below,
  for judge-vs-human and human-vs-human; and on the shipped Arena battles judged by both
  people and GPT-4, the table equals a direct comparison and scikit-learn's kappa.
"""

from __future__ import annotations

import gzip
import json
from itertools import combinations
from pathlib import Path
from typing import Literal

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss_kappa

from palate.errors import StatsError
from palate.stats.agreement import (
    TIES,
    Level,
    agreement_table,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    krippendorff_alpha_matrix,
    label_table,
    percent_agreement,
)

Weights = Literal["linear", "quadratic"] | None
nan = np.nan
# Krippendorff (2011), example C: observers A–D (rows) × units 1–12, missing values as NaN.
EXAMPLE_C = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
]
# Krippendorff (2011), example A: two observers × ten units, binary values.
EXAMPLE_A = [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]


def noisy_pair(seed: int, n: int = 300, k: int = 4) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, k, n)
    b = np.where(rng.random(n) < 0.6, a, rng.integers(0, k, n))
    return [f"c{x}" for x in a], [f"c{x}" for x in b]


# --- Cohen -------------------------------------------------------------------------------------


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("seed", range(3))
def test_cohen_kappa_equals_scikit_learn(seed: int, weights: Weights) -> None:
    a, b = noisy_pair(seed)
    ours = cohen_kappa(a, b, weights=weights)
    assert ours == pytest.approx(cohen_kappa_score(a, b, weights=weights), abs=1e-12)


def test_cohen_kappa_with_given_categories_equals_scikit_learn() -> None:
    a, b = noisy_pair(5)
    order = ["c3", "c1", "c0"]  # an order, and a subset: items labelled c2 drop out
    weightings: tuple[Weights, ...] = (None, "linear", "quadratic")
    for weights in weightings:
        ours = cohen_kappa(a, b, weights=weights, labels=order)
        theirs = cohen_kappa_score(a, b, weights=weights, labels=order)
        assert ours == pytest.approx(theirs, abs=1e-12)


def test_cohen_kappa_undefined_cases() -> None:
    with pytest.raises(StatsError, match="chance agreement is 1"):
        cohen_kappa(["x", "x"], ["x", "x"])
    with pytest.raises(StatsError, match="aligned"):
        cohen_kappa(["x"], ["x", "y"])
    with pytest.raises(StatsError, match="no labelled items"):
        cohen_kappa([], [])
    with pytest.raises(StatsError, match="weights"):
        cohen_kappa(["x", "y"], ["y", "x"], weights="cubic")  # type: ignore[arg-type]


# --- Fleiss ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_fleiss_kappa_equals_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, 80)
    shares = np.full((80, 3), 0.15) + 0.55 * np.eye(3)[truth]
    table = np.array([rng.multinomial(6, p) for p in shares])
    assert fleiss_kappa(table) == pytest.approx(statsmodels_fleiss_kappa(table), abs=1e-12)


def test_fleiss_kappa_from_long_form() -> None:
    items = ["q1"] * 3 + ["q2"] * 3 + ["q3"] * 3
    labels = ["a", "a", "b", "b", "b", "b", "a", "c", "c"]
    table = label_table(items, labels)
    assert table.items == ["q1", "q2", "q3"] and table.categories == ["a", "b", "c"]
    assert table.counts.tolist() == [[2, 1, 0], [0, 3, 0], [1, 0, 2]]
    assert fleiss_kappa(table) == pytest.approx(statsmodels_fleiss_kappa(table.counts))


def test_fleiss_kappa_undefined_cases() -> None:
    with pytest.raises(StatsError, match="same number of ratings"):
        fleiss_kappa([[2, 1], [1, 1]])
    with pytest.raises(StatsError, match="at least two ratings"):
        fleiss_kappa([[1, 0], [0, 1]])
    with pytest.raises(StatsError, match="one category"):
        fleiss_kappa([[3, 0], [3, 0]])
    with pytest.raises(StatsError, match="non-empty"):
        fleiss_kappa(np.zeros((0, 2)))


# --- Krippendorff ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_alpha_reproduces_example_c(level: Level, published: float) -> None:
    assert krippendorff_alpha_matrix(EXAMPLE_C, level=level) == pytest.approx(published, abs=5e-4)


def test_krippendorff_alpha_reproduces_example_a() -> None:
    assert krippendorff_alpha_matrix(EXAMPLE_A) == pytest.approx(0.095, abs=5e-4)
    # Two observers, nominal, no missing data: alpha is 1 − (n − 1)·D_o / D_e exactly.
    assert krippendorff_alpha_matrix(EXAMPLE_A) == pytest.approx(1 - 19 * 8 / (14 * 6 * 2))


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
@pytest.mark.parametrize("seed", range(3))
def test_krippendorff_alpha_equals_the_krippendorff_package(level: Level, seed: int) -> None:
    krippendorff = pytest.importorskip("krippendorff")
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 6, 60)
    data = np.where(rng.random((5, 60)) < 0.7, truth, rng.integers(1, 6, (5, 60))).astype(float)
    data[rng.random(data.shape) < 0.3] = nan
    theirs = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    ours = krippendorff_alpha_matrix(data, level=level)
    assert ours == pytest.approx(theirs, abs=1e-10)


def test_krippendorff_alpha_long_form_and_order() -> None:
    letters = {1: "low", 2: "mid", 3: "high", 4: "top", 5: "max"}
    units, values = [], []
    for row in EXAMPLE_C:
        for unit, value in enumerate(row):
            units.append(f"u{unit}")
            values.append(None if np.isnan(value) else letters[int(value)])
    order = ["low", "mid", "high", "top", "max"]
    ordinal = krippendorff_alpha(units, values, level="ordinal", order=order)
    assert ordinal == pytest.approx(krippendorff_alpha_matrix(EXAMPLE_C, level="ordinal"))
    assert krippendorff_alpha(units, values) == pytest.approx(0.743, abs=5e-4)
    # Numbers written as strings are numbers.
    as_text = [[None if np.isnan(v) else str(int(v)) for v in row] for row in EXAMPLE_C]
    assert krippendorff_alpha_matrix(as_text, level="interval") == pytest.approx(0.849, abs=5e-4)


def test_krippendorff_alpha_undefined_cases() -> None:
    with pytest.raises(StatsError, match="at least two values"):
        krippendorff_alpha(["u1", "u2"], ["a", "b"])
    with pytest.raises(StatsError, match="do not vary"):
        krippendorff_alpha(["u1", "u1", "u2", "u2"], ["a", "a", "a", "a"])
    with pytest.raises(StatsError, match="explicit order"):
        krippendorff_alpha(["u1", "u1"], ["low", "high"], level="ordinal")
    with pytest.raises(StatsError, match="missing from the given order"):
        krippendorff_alpha(["u1", "u1"], ["low", "high"], level="ordinal", order=["low"])
    with pytest.raises(StatsError, match="numeric"):
        krippendorff_alpha(["u1", "u1"], ["a", "b"], level="interval", order=["a", "b"])
    with pytest.raises(StatsError, match="raters × units"):
        krippendorff_alpha_matrix([1, 2, 3])


# --- percent agreement and the MT-Bench table --------------------------------------------------


def test_percent_agreement_with_and_without_ties() -> None:
    a = ["model_a", "model_b", "tie", "tie (bothbad)", "model_a"]
    b = ["model_a", "model_a", "tie (bothbad)", "model_b", "tie"]
    assert percent_agreement(a, b) == pytest.approx(2 / 5)  # the two ties agree
    assert percent_agreement(a, b, without_ties=True) == pytest.approx(1 / 2)
    with pytest.raises(StatsError, match="every item has a tie"):
        percent_agreement(["tie"], ["model_a"], without_ties=True)


def fastchat_agreement(
    votes: dict[str, dict[str, list[str]]], judge1: str, judge2: str, ban: list[str]
) -> tuple[int, int]:
    """MT-Bench's get_mt_bench_agreement, loop by loop: judge vs human pairs the judge's one
    vote with each human vote; human vs human pairs every two human votes on an item. Votes
    containing "tie" count as "tie" (for the ban) and agree with each other."""

    def kind(vote: str) -> str:
        return "tie" if "tie" in vote else vote

    def equal(x: str, y: str) -> bool:
        return ("tie" in x and "tie" in y) or x == y

    agree = total = 0
    for by_judge in votes.values():
        if judge1 != judge2:
            if judge1 not in by_judge or judge2 not in by_judge:
                continue
            (mine,) = by_judge[judge1]
            if kind(mine) in ban:
                continue
            for theirs in by_judge[judge2]:
                if kind(theirs) not in ban:
                    total += 1
                    agree += equal(mine, theirs)
        else:
            for x, y in combinations(by_judge.get(judge1, []), 2):
                if kind(x) not in ban and kind(y) not in ban:
                    total += 1
                    agree += equal(x, y)
    return agree, total


def mt_bench_like_votes(seed: int) -> tuple[list[str], list[str], list[str]]:
    """One judge vote and 0–4 human votes an item, about a quarter of them ties."""
    rng = np.random.default_rng(seed)
    outcomes = np.array(["model_a", "model_b", "tie", "tie (bothbad)"])
    items, sources, labels = [], [], []
    for i in range(400):
        truth = rng.choice(2)
        for source, n in (("gpt4-pair", int(rng.random() < 0.9)), ("human", rng.integers(0, 5))):
            for _ in range(n):
                vote = truth if rng.random() < 0.6 else rng.choice(4)
                items.append(f"q{i}")
                sources.append(source)
                labels.append(str(outcomes[vote]))
    return items, sources, labels


@pytest.mark.parametrize("seed", range(3))
def test_agreement_table_equals_mt_bench(seed: int) -> None:
    items, sources, labels = mt_bench_like_votes(seed)
    votes: dict[str, dict[str, list[str]]] = {}
    for item, source, label in zip(items, sources, labels, strict=True):
        votes.setdefault(item, {}).setdefault(source, []).append(label)
    rows = {(r.source_a, r.source_b): r for r in agreement_table(items, sources, labels)}
    assert set(rows) == {("gpt4-pair", "human"), ("human", "human")}
    for (first, second), row in rows.items():
        judge1, judge2 = (first, second) if first != second else ("human", "human")
        agree, total = fastchat_agreement(votes, judge1, judge2, ban=[])
        assert (row.pairs, row.agreement) == (total, pytest.approx(agree / total))
        agree, total = fastchat_agreement(votes, judge1, judge2, ban=["tie"])
        assert row.pairs_without_ties == total
        assert row.agreement_without_ties == pytest.approx(agree / total)
    both = sum("gpt4-pair" in v and "human" in v for v in votes.values())
    assert rows["gpt4-pair", "human"].items == both
    assert rows["human", "human"].items == sum(len(v.get("human", [])) >= 2 for v in votes.values())


def test_within_source_kappa_is_fleiss_kappa_when_votes_per_item_are_equal() -> None:
    rng = np.random.default_rng(7)
    items, labels = [], []
    for i in range(100):
        truth = rng.integers(0, 3)
        for _ in range(4):
            items.append(f"q{i}")
            labels.append(f"c{truth if rng.random() < 0.6 else rng.integers(0, 3)}")
    (row,) = agreement_table(items, ["human"] * len(items), labels)
    assert row.kappa == pytest.approx(fleiss_kappa(label_table(items, labels)))
    assert row.pairs == 100 * 6 and row.items == 100


def test_agreement_table_on_arena_humans_and_gpt4(shared_data: Path) -> None:
    """The shipped Arena battles, each judged by a person and by GPT-4 (same orientation).
    Measured: 26,919 battles; agreement 55.5% with ties, 83.3% over the 14,397 battles
    without a tie; kappa 0.329."""

    def load(name: str) -> dict[int, str]:
        with gzip.open(shared_data / "arena" / name, "rt") as handle:
            return {row["num"]: row["winner"] for row in map(json.loads, handle)}

    human, judge = load("human.jsonl.gz"), load("gpt-4-0125-preview.jsonl.gz")
    nums = sorted(human.keys() & judge.keys())
    items = [*nums, *nums]
    sources = ["human"] * len(nums) + ["gpt-4"] * len(nums)
    labels = [human[n] for n in nums] + [judge[n] for n in nums]
    (row,) = agreement_table(items, sources, labels)
    h = [human[n] for n in nums]
    g = [judge[n] for n in nums]
    assert (row.source_a, row.source_b, row.items, row.pairs) == ("gpt-4", "human", 26919, 26919)
    assert row.agreement == pytest.approx(percent_agreement(g, h))
    assert row.agreement_without_ties == pytest.approx(percent_agreement(g, h, without_ties=True))
    merged_h = ["tie" if x in TIES else x for x in h]
    merged_g = ["tie" if x in TIES else x for x in g]
    assert row.kappa == pytest.approx(cohen_kappa_score(merged_g, merged_h))
    plain = sum(x not in TIES and y not in TIES for x, y in zip(g, h, strict=True))
    assert row.pairs_without_ties == plain
    assert row.agreement == pytest.approx(0.5547, abs=5e-5)
    assert row.agreement_without_ties == pytest.approx(0.8327, abs=5e-5)


def test_agreement_table_degenerate_cases() -> None:
    with pytest.raises(StatsError, match="no labels"):
        agreement_table([], [], [])
    with pytest.raises(StatsError, match="parallel"):
        agreement_table(["q1"], ["a", "b"], ["x"])
    # Nothing shared, nothing repeated: no rows.
    assert agreement_table(["q1", "q2"], ["a", "b"], ["x", "y"]) == []
    # Only ties, and only one category: defined agreement, undefined rest.
    (row,) = agreement_table(["q1", "q1"], ["a", "b"], ["tie", "tie (bothbad)"])
    assert (row.agreement, row.pairs_without_ties, row.agreement_without_ties) == (1.0, 0, None)
    assert row.kappa is None
    assert row.to_json()["agreement_without_ties"] is None
