"""Bradley-Terry fit and bootstrap speed, against evalica and choix in the same run.

    python benchmarks/bench_bradley_terry.py [--quick]

Data: N comparisons among M models with log-strengths θ ~ N(0, 1), random pairs, outcomes from
Davidson's model with ν = 0.5 (about 20% ties). Every fit counts ties as half wins:
palate aggregates and runs Newton; evalica gets the raw rows (tie weight 0.5, its defaults);
choix gets the win matrix built with one ``bincount`` (timed with it) and runs
``ilsr_pairwise_dense`` with its defaults. Each time is the best of ``--repeat`` runs; scores are
compared on the Arena scale after centring. The bootstrap time is reported as a multiple of one
palate fit (target ≤ 50×), for the default Poisson counts per cell and for the classical
multinomial resample, next to the time numpy needs just to draw those counts.

OpenBLAS threads only slow down the 100 × 100 solves involved, badly so on a busy machine, so
this script runs with ``OPENBLAS_NUM_THREADS=1`` unless that is already set; it applies to all
three libraries.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time
from collections.abc import Callable
from typing import Any

import choix
import evalica
import numpy as np

from palate.stats.bradley_terry import (
    ELO_SCALE,
    bootstrap_scores,
    fit_bradley_terry,
    pair_counts,
)


def generate(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Comparisons from Davidson's model, so that ties occur at a realistic rate."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=m)
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    half = (theta[a] - theta[b]) / 2
    p_win = np.exp(half)
    p_tie = np.full(n, 0.5)
    p_loss = np.exp(-half)
    u = rng.random(n) * (p_win + p_tie + p_loss)
    y = np.where(u < p_win, 1.0, np.where(u < p_win + p_tie, 0.5, 0.0))
    return a, b, y, theta


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def centred(x: np.ndarray) -> np.ndarray:
    return ELO_SCALE * (x - x.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k comparisons, 200 resamples")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per fit (best kept)")
    args = parser.parse_args()
    n, m, n_boot = (100_000, 100, 200) if args.quick else (1_000_000, 100, 1000)

    a, b, y, _ = generate(n, m, seed=0)
    winners = [
        evalica.Winner.X if v == 1 else evalica.Winner.Y if v == 0 else evalica.Winner.Draw
        for v in y.tolist()
    ]
    print(
        f"{n:,} comparisons among {m} models, {np.mean(y == 0.5):.0%} ties, "
        f"{os.cpu_count()} CPUs, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}"
    )

    t_palate, theta = best_of(args.repeat, lambda: fit_bradley_terry(a, b, y, m))

    def run_evalica() -> np.ndarray:
        result = evalica.bradley_terry(a, b, winners, tie_weight=0.5)
        return np.log(result.scores.reindex(range(m)).to_numpy())

    def run_choix() -> np.ndarray:
        wins = np.bincount(a * m + b, weights=y, minlength=m * m)
        wins += np.bincount(b * m + a, weights=1 - y, minlength=m * m)
        return choix.ilsr_pairwise_dense(wins.astype(np.float64).reshape(m, m))

    t_evalica, theta_evalica = best_of(args.repeat, run_evalica)
    t_choix, theta_choix = best_of(args.repeat, run_choix)
    diff_e = np.abs(centred(theta) - centred(theta_evalica)).max()
    diff_c = np.abs(centred(theta) - centred(theta_choix)).max()
    print(
        f"bt_fit: palate {t_palate:.3f} s, evalica {t_evalica:.3f} s "
        f"(ratio {t_palate / t_evalica:.2f}), choix {t_choix:.3f} s "
        f"(ratio {t_palate / t_choix:.2f})"
    )
    print(
        f"bt_fit: max |score difference| on the Arena scale: evalica {diff_e:.2e}, "
        f"choix {diff_c:.2e} (their default tolerances)"
    )

    t_boot, boot = best_of(
        args.repeat, lambda: bootstrap_scores(a, b, y, m, n_bootstrap=n_boot, rng=0)
    )
    t_multi, multi = best_of(
        args.repeat,
        lambda: bootstrap_scores(a, b, y, m, n_bootstrap=n_boot, rng=0, resampling="multinomial"),
    )
    cells = pair_counts(a, b, y, m).counts.ravel()
    cells = cells[cells > 0]
    rng = np.random.default_rng(0)
    t_draw, _ = best_of(args.repeat, lambda: rng.multinomial(n, cells / n, size=n_boot))
    t_poisson, _ = best_of(args.repeat, lambda: rng.poisson(cells, size=(n_boot, cells.size)))
    sd, sd_multi = ELO_SCALE * boot.std(axis=0), ELO_SCALE * multi.std(axis=0)
    worst = np.max(np.abs(sd / sd_multi - 1))
    print(
        f"bootstrap: {n_boot} Poisson resamples in {t_boot:.2f} s = {t_boot / t_palate:.1f}× one "
        f"fit (target ≤ 50×); multinomial resamples {t_multi:.2f} s = {t_multi / t_palate:.1f}×"
    )
    print(
        f"bootstrap: median score sd Poisson {np.median(sd):.2f}, multinomial "
        f"{np.median(sd_multi):.2f} (max relative difference {worst:.1%})"
    )
    print(
        f"bootstrap: numpy alone needs, on one thread, {t_draw:.2f} s to draw the {n_boot} × "
        f"{cells.size:,} multinomial counts (= {t_draw / t_palate:.1f}× one fit) and "
        f"{t_poisson:.2f} s for Poisson counts (= {t_poisson / t_palate:.1f}×)"
    )


if __name__ == "__main__":
    main()
