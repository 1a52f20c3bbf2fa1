"""What the reward must mean, over 20 seeds of the default preset (100 episodes, two at a
time): paired bootstrap intervals of the net-worth differences exclude 0 for
root-cause > symptom > idle > breaker, greedy-pricer is ahead of idle after a week and behind
at the end, idle suffers breaches and root-cause none after its fixes land (day 0)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy import stats

from palate.saas.compare import paired_bootstrap, run_grid

SEEDS = list(range(20))
AGENTS = ["idle", "symptom", "root-cause", "breaker", "greedy-pricer"]
WEEK = 6  # the day index that closes the first week


def test_paired_bootstrap_agrees_with_scipy() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(3.0, 2.0, 25)
    b = a - rng.normal(1.0, 1.5, 25)
    ours = paired_bootstrap(list(a), list(b), resamples=20_000)
    theirs = stats.bootstrap(
        (a - b,), np.mean, n_resamples=20_000, method="percentile", random_state=2
    ).confidence_interval
    assert ours.mean == pytest.approx(float(np.mean(a - b)))
    assert ours.low == pytest.approx(theirs.low, abs=0.08)
    assert ours.high == pytest.approx(theirs.high, abs=0.08)
    assert ours.excludes_zero


@pytest.mark.slow
def test_the_reward_ranks_the_baselines() -> None:
    grid = run_grid(AGENTS, SEEDS, "default", workers=min(2, os.cpu_count() or 1))
    end = {a: [o.net_worth_cents for o in grid[a]] for a in AGENTS}
    week = {a: [o.net_worth_by_day[WEEK] for o in grid[a]] for a in AGENTS}
    for better, worse in [("root-cause", "symptom"), ("symptom", "idle"), ("idle", "breaker")]:
        interval = paired_bootstrap(end[better], end[worse])
        assert interval.low > 0, (better, worse, interval)
    assert paired_bootstrap(week["greedy-pricer"], week["idle"]).low > 0
    assert paired_bootstrap(end["idle"], end["greedy-pricer"]).low > 0
    assert sum(len(o.breach_days) for o in grid["idle"]) >= len(SEEDS)
    assert all(not o.breach_days for o in grid["root-cause"])
