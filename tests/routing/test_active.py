"""Active labelling (Zrnic & Candès 2024) on data with known truth: nominal coverage, and
narrower intervals than uniform sampling at the same budget, over 500 seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from palate.errors import PalateError
from palate.routing.active import (
    active_mean,
    draw_labels,
    sampling_probabilities,
    uniform_probabilities,
)

SEEDS, N, BUDGET, ALPHA = 500, 2000, 200, 0.1


def _simulate(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A calibrated judge: f ~ Beta(0.5, 0.5) (often sure), y ~ Bernoulli(f); E[y] = 0.5."""
    f = rng.beta(0.5, 0.5, size=(SEEDS, N))
    y = (rng.uniform(size=f.shape) < f).astype(float)
    return f, y


def test_coverage_and_narrower_than_uniform_at_equal_budget(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rng = np.random.default_rng(0)
    f, y = _simulate(rng)
    pi_active = np.stack([sampling_probabilities(row * (1 - row), BUDGET) for row in f])
    pi_uniform = uniform_probabilities(N, BUDGET)
    np.testing.assert_allclose(pi_active.sum(axis=1), BUDGET)  # same expected labels
    results = {}
    for name, pi in (("active", pi_active), ("uniform", np.broadcast_to(pi_uniform, f.shape))):
        labelled = draw_labels(pi, rng)
        est = active_mean(f, np.where(labelled, y, np.nan), pi, alpha=ALPHA)
        covered = (np.asarray(est.ci_low) <= 0.5) & (np.asarray(est.ci_high) >= 0.5)
        results[name] = (covered.mean(), np.mean(np.asarray(est.ci_high) - est.ci_low))
        assert abs(np.mean(est.n_labelled) - BUDGET) < 3  # spent the budget on average
    slack = 3 * math.sqrt(ALPHA * (1 - ALPHA) / SEEDS)
    for coverage, _width in results.values():
        assert coverage >= 1 - ALPHA - slack
    with capsys.disabled():
        print(
            f"\nactive labelling, budget {BUDGET}/{N}: "
            + ", ".join(f"{k} coverage {c:.3f} mean width {w:.4f}" for k, (c, w) in results.items())
        )
    # sqrt sampling moves labels to unsure items; the judge's own spread bounds the gain.
    assert results["active"][1] < 0.95 * results["uniform"][1]


def test_money_budget_follows_sqrt_uncertainty_over_cost() -> None:
    u = np.array([0.25, 0.25, 0.01, 0.01] * 50)
    cost = np.array([1.0, 4.0, 1.0, 4.0] * 50)
    pi = sampling_probabilities(u, 40.0, cost=cost, uniform_share=0.0)
    assert float(cost @ pi) == pytest.approx(40.0)
    assert pi[0] / pi[1] == pytest.approx(2.0)  # sqrt(4): cost enters under the root
    assert pi[0] / pi[2] == pytest.approx(5.0)  # sqrt(0.25 / 0.01)
    capped = sampling_probabilities(u, 190.0)
    assert capped.max() == 1.0 and capped.sum() == pytest.approx(190.0)


def test_budget_beyond_the_items_is_refused() -> None:
    with pytest.raises(PalateError, match="budget"):
        sampling_probabilities(np.full(10, 0.2), 11)
