"""Length-controlled win-rate fit speed, against scikit-learn doing the same fits in the same run.

    python benchmarks/bench_winrate.py [--quick]

Data: M models × X instructions, every model judged on every instruction against one baseline
(1,000,000 judgements; --quick: 100 × 1,000). Instruction difficulty γ_x ~ N(0, 1.5²); model
terms θ_m ~ N(−1.5, 1.5²), length slopes φ_m ~ N(−1.8, 0.3²), difficulty slopes ψ_m ~ N(1, 0.2²);
baseline outputs ~1,800 characters, each model's outputs a model-specific factor of that; soft
preferences 1 + σ(θ_m + φ_m tanh(Δ/sd) + ψ_m γ_x + N(0, 1)), as AlpacaEval's weighted judge
gives.

Both sides compute AlpacaEval's length-controlled win rate as palate defines it without
precomputed difficulties: the joint difficulty fit (a θ_m and φ_m per model, γ_x with prior
N(0, 5²)), the pooled slopes, then every model's regularised GLM. palate runs Newton's method on
bincount-aggregated gradients; the baseline is scikit-learn's ``LogisticRegression`` (lbfgs) on
the same designs, soft labels entered as AlpacaEval's ``fit_LogisticRegressionCV`` does (each
row twice, labels 1 and 0, weighted p and 1 − p), with fixed L2 penalties instead of AlpacaEval's
5-fold search over 10 L1 strengths (which would multiply its time by about 50). The two answers
are compared, to show they are the same computation up to those penalties.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy import sparse
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from palate.stats.length_controlled import (
    DIFFICULTY_PRIOR_SD,
    REGULARIZE_TO_BASELINE_LAMBDA,
    SYNTHETIC_LENGTH_GAP,
    length_controlled_win_rates,
    length_terms,
)
from palate.stats.winrate import Comparisons, check_comparisons

# sklearn penalises every coefficient alike: the joint fit's θ_m, φ_m get γ's N(0, 5²) prior
# too (scaling their columns up to escape it makes lbfgs 100× slower), and the per-model fits a
# weak N(0, 100²) where palate has none. The agreement line shows what that changes.
WEAK_C = 1e4


def generate(n_models: int, n_instr: int, seed: int) -> Comparisons:
    rng = np.random.default_rng(seed)
    gamma = rng.normal(0, 1.5, n_instr)
    theta = rng.normal(-1.5, 1.5, n_models)
    phi = rng.normal(-1.8, 0.3, n_models)
    psi = rng.normal(1.0, 0.2, n_models)
    m = np.repeat(np.arange(n_models), n_instr)
    x = np.tile(np.arange(n_instr), n_models)
    base_len = np.exp(rng.normal(7.5, 0.5, n_instr)).astype(np.int64)
    verbosity = rng.normal(-0.4, 0.4, n_models)
    model_len = (base_len[x] * np.exp(verbosity[m] + rng.normal(0, 0.5, len(m)))).astype(np.int64)
    delta = (base_len[x] - model_len).astype(np.float64)
    sd = np.array([delta[m == k].std(ddof=1) for k in range(n_models)])
    z = theta[m] + phi[m] * np.tanh(delta / sd[m]) + psi[m] * gamma[x]
    prefs = 1 + expit(z + rng.normal(0, 1, len(m)))
    names = np.array([f"model-{k:03d}" for k in range(n_models)])
    instructions = np.array([f"instruction-{i:05d}" for i in range(n_instr)])
    return check_comparisons(names[m], instructions[x], prefs, model_len, base_len[x])


def soft_fit(
    x: sparse.csr_matrix | np.ndarray, y: np.ndarray, w: np.ndarray, c: float
) -> np.ndarray:
    """AlpacaEval's soft-label trick: rows twice, labels 1/0, sample weights w·y and w·(1 − y)."""
    stack = sparse.vstack if sparse.issparse(x) else np.vstack
    labels = np.r_[np.ones(len(y)), np.zeros(len(y))]
    model = LogisticRegression(C=c, fit_intercept=False, solver="lbfgs", max_iter=10_000, tol=1e-8)
    model.fit(stack([x, x]), labels, sample_weight=np.r_[w * y, w * (1 - y)])
    return np.asarray(model.coef_[0])


def sklearn_lc(c: Comparisons, baseline: str) -> dict[str, float]:
    """The same three fits as palate's ``length_controlled_win_rates``, with scikit-learn."""
    n_m, n_x = len(c.model_names), len(c.instruction_names)
    t = length_terms(c)
    y = c.preferences - 1.0
    rows = np.arange(len(y))
    joint = sparse.hstack(
        [
            sparse.csr_matrix((np.ones(len(y)), (rows, c.model_code)), (len(y), n_m)),
            sparse.csr_matrix((t, (rows, c.model_code)), (len(y), n_m)),
            sparse.csr_matrix((np.ones(len(y)), (rows, c.instruction_code)), (len(y), n_x)),
        ]
    ).tocsr()
    gamma = soft_fit(joint, y, np.ones(len(y)), DIFFICULTY_PRIOR_SD**2)[2 * n_m :]
    g = gamma[c.instruction_code]
    pooled = sparse.hstack(
        [
            sparse.csr_matrix((np.ones(len(y)), (rows, c.model_code)), (len(y), n_m)),
            sparse.csr_matrix(np.stack([t, g], axis=1)),
        ]
    ).tocsr()
    phi0, psi0 = soft_fit(pooled, y, np.ones(len(y)), WEAK_C)[n_m:]
    gap = np.tanh(SYNTHETIC_LENGTH_GAP)
    reg = np.concatenate([np.stack([np.full(n_x, sg * gap), gamma], 1) for sg in (1.0, -1.0)])
    reg_y = expit(reg @ np.array([phi0, psi0]))
    out = {}
    for k, name in enumerate(c.model_names):
        mine = c.model_code == k
        n = int(mine.sum())
        design = np.vstack(
            [np.stack([t[mine], g[mine], np.ones(n)], 1), np.c_[reg, np.zeros(2 * n_x)]]
        )
        weight = np.r_[np.ones(n), np.full(2 * n_x, REGULARIZE_TO_BASELINE_LAMBDA * n / (2 * n_x))]
        b = soft_fit(design, np.r_[y[mine], reg_y], weight, WEAK_C)
        out[name] = 100 * float(expit(b[2] + b[1] * g[mine]).mean())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 models × 1,000 instructions")
    parser.add_argument("--repeat", type=int, default=3, help="timed palate runs (best kept)")
    args = parser.parse_args()
    n_models, n_instr = (100, 1_000) if args.quick else (100, 10_000)
    c = generate(n_models, n_instr, seed=0)
    print(f"data: {n_models} models × {n_instr} instructions = {len(c.preferences):,} judgements")

    ours_s = np.inf
    for _ in range(args.repeat):
        start = time.perf_counter()
        ours = length_controlled_win_rates(c, baseline="baseline")
        ours_s = min(ours_s, time.perf_counter() - start)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = sklearn_lc(c, baseline="baseline")
    base_s = time.perf_counter() - start
    gap = max(abs(ours[m].win_rate - theirs[m]) for m in theirs)
    print(f"agreement: largest LC difference {gap:.4f} points over {n_models} models")
    print(
        f"lc_fit: palate {ours_s:.2f} s, baseline(sklearn LogisticRegression) {base_s:.2f} s, "
        f"ratio {ours_s / base_s:.2f}"
    )


if __name__ == "__main__":
    main()
