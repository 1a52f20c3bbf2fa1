"""Agents compared over many seeds: every agent meets the same market on a seed, so the
differences are paired, and a paired bootstrap gives their intervals."""

from __future__ import annotations

import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from palate.saas.events import read_log
from palate.saas.run import EVENTS_FILE, RunOptions, run_episode


@dataclass(frozen=True)
class Outcome:
    agent: str
    seed: int
    net_worth_cents: int
    net_worth_by_day: tuple[int, ...]
    breach_days: tuple[int, ...]
    digest: str


def one_episode(agent: str, seed: int, preset: str) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="palate-saas-compare-") as tmp:
        summary = run_episode(RunOptions(agent, seed, preset), Path(tmp) / "out", root=Path(tmp))
        days = [e.data for e in read_log(Path(tmp) / "out" / EVENTS_FILE) if e.kind == "day"]
    return Outcome(
        agent,
        seed,
        summary["net_worth_cents"],
        tuple(d["net_worth_cents"] for d in days),
        tuple(d["day"] for d in days if d["breaches"]),
        summary["digest"],
    )


def run_grid(
    agents: list[str], seeds: list[int], preset: str, workers: int = 2
) -> dict[str, list[Outcome]]:
    """Every agent on every seed, ``workers`` episodes at a time; outcomes in seed order."""
    jobs = [(agent, seed) for seed in seeds for agent in agents]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(one_episode, agent, seed, preset) for agent, seed in jobs]
        outcomes = [f.result() for f in futures]
    return {a: [o for o in outcomes if o.agent == a] for a in agents}


@dataclass(frozen=True)
class PairedInterval:
    mean: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def paired_bootstrap(
    a: list[float], b: list[float], alpha: float = 0.05, resamples: int = 4000, seed: int = 0
) -> PairedInterval:
    """Percentile bootstrap interval of mean(a - b), resampling the pairs (seeds)."""
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(diffs), size=(resamples, len(diffs)))
    means = diffs[picks].mean(axis=1)
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return PairedInterval(float(diffs.mean()), float(low), float(high))
