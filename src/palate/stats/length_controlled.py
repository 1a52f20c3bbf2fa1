"""AlpacaEval's length-controlled win rate, and ``win_rate_table`` for ``stats winrate``.

Reproduces ``get_length_controlled_winrate`` with ``GLM_INFO["length_controlled_v1"]``
(tatsu-lab/alpaca_eval, ``src/alpaca_eval/metrics/glm_winrate.py``, and
``notebooks/length_controlled.ipynb``, which produced the published leaderboard; Dubois,
Galambosi, Liang and Hashimoto 2024, "Length-Controlled AlpacaEval: A Simple Way to Debias
Automatic Evaluators", arXiv:2404.04475). For each model m separately, with y = preference − 1
in [0, 1] used as a soft label, a logistic GLM without intercept is fitted to its judgements:

    logit P(m beats the baseline on x) = φ_m · tanh(Δ / sd(Δ)) + ψ_m · γ_x + θ_m

where Δ = len(baseline output) − len(model output) in characters, sd is the sample standard
deviation of the model's Δ over its judged rows (not centred, so equal lengths give 0), and γ_x
is the difficulty of instruction x. The length-controlled win rate is the prediction at equal
lengths, 100 · mean σ(θ_m + ψ_m γ_x) over the model's rows (judged or not, as AlpacaEval
predicts for every annotation row), and ``lc_standard_error`` is 100 × the standard error of
the mean of those predictions (pandas' ``sem``). A model named as the baseline scores 50 by
construction, with standard error 0.

Regularisation (``regularize_to_baseline_lambda`` = 0.2). AlpacaEval adds to every model's fit
the judgements of the baseline's own verbose and concise variants against the baseline, weight
0.2 / 2 per row and without the model term θ, so that no model explains more by length than
the baseline's own variants do. Those rows are used whenever the data hold them (models whose
name contains the baseline's and "verbose" or "concise": AlpacaEval's ``fn_is_gamed_baseline``).
Otherwise synthetic variants stand in: for every instruction, the baseline against a version of
itself one standard deviation longer and one shorter (tanh(±1)), labelled with the
probabilities that the dataset's shared slopes give (one pooled fit of all models: a θ per
model, common φ and ψ), at the same total weight, 0.2 × the model's number of judgements.

Instruction difficulty. AlpacaEval downloads a γ computed once, in early 2024, from its
leaderboard models by a joint fit (``notebooks/instruction_difficulty.ipynb``: a θ_m and φ_m
per model, one γ_x per instruction shared by all, ψ fixed at 1). Pass that table as
``instruction_difficulty`` to use it. Without it the same joint fit runs on the models in the
data, with a Gaussian prior γ_x ~ N(0, 5²) where AlpacaEval used an L1 penalty chosen by
cross-validation: with a dozen models, some instructions are lost by every model and need a
prior to stay finite. The prior's scale was chosen on the shipped leaderboard (2-30 tried;
4-6 all give a mean error below 0.41 points). γ from fewer models is noisier, so figures move
with the set of models evaluated together: for random subsets of the 13 shipped models, the
mean error was 0.68 points with 10 models, 2.1 with 7 and 2.5 with 5.

Pinned tables. Because γ (and, without gamed-baseline rows, the slopes labelling the
synthetic variants) come from the models evaluated together, importing another model moves
every figure. ``pin_difficulty_table`` fits both once and ``difficulty_table=`` reuses them
(``palate.stats.difficulty_table``; ``stats winrate --save-difficulty-table`` and
``--difficulty-table``), so a model's LC then depends on its own rows and the table alone.
AlpacaEval's own ``instruction_difficulty.csv`` can be read the same way if you have it: it is
not in the ``alpaca_eval`` wheel (0.6.6 ships only leaderboards and code; the table is
downloaded from its Hugging Face dataset), so palate cannot ship it.

Exactness. AlpacaEval's figures are reproduced exactly only given two files that AlpacaEval
downloads from its Hugging Face dataset and that palate neither ships nor fetches:
``instruction_difficulty.csv`` (γ) and ``df_gamed.csv`` (the judgements of the baseline's
verbose and concise variants, the regularisation rows). With neither, on the 13 shipped
AlpacaEval 2.0 models, LC is within 0.36 points of the published figure on average, 1.07 at
most (the two concise variants, too low). lc_standard_error does not match: it is the spread
of the predictions, ψ_m times that of γ across instructions, which depends on γ itself (for
NullModel, the one shipped model with a published value, 0.42 against 0.14). Smaller
differences: AlpacaEval picks each model's L1
penalty by 5-fold cross-validation, where we fit by maximum likelihood (its chosen penalties
are weak: on the shipped models they move LC by about 0.1 point at most); and both its library
and its leaderboard notebook look γ up by an annotation's row number in the model's file
(``reset_index()``), not by its instruction, which shifts γ past any missing annotation.
``difficulty_by_row_number=True`` does the same (the published figures for alpaca-7b_verbose
and phi-2, with 3 and 2 missing annotations, depend on it: 5.33 against 6.82 without, 6.84 with
it); the default aligns by instruction.

Degenerate data: a model whose judged preferences are all 2 (or all 1) makes θ diverge; its
length-controlled win rate is the limit, 100 (or 0), with standard error 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import expit

from palate.errors import StatsError
from palate.stats.difficulty_table import DifficultyTable
from palate.stats.winrate import (
    Comparisons,
    FloatArray,
    IntArray,
    ModelWinRate,
    check_comparisons,
    win_rates,
)

REGULARIZE_TO_BASELINE_LAMBDA = 0.2
DIFFICULTY_PRIOR_SD = 5.0
# Standardised length difference of the synthetic longer and shorter baseline variants.
SYNTHETIC_LENGTH_GAP = 1.0
# A tiny ridge on the per-model terms keeps Newton's systems non-singular (e.g. a model whose
# outputs always have the baseline's length leaves φ free); it moves figures by < 1e-6.
_EPS = 1e-8
_TOL = 1e-9
_MAX_ITER = 100
_MAX_HALVINGS = 50
# Instructions per block when accumulating the joint fit's Schur complement (memory bound).
_BLOCK_FLOATS = 1 << 22


@dataclass(frozen=True)
class LengthControlledWinRate:
    """One model's length-controlled win rate (percent) and its GLM weights.

    The weights are AlpacaEval's saved columns: ``length_weight`` is φ
    (``np.tanh(std_delta_len)``), ``difficulty_weight`` ψ (``instruction_difficulty``),
    ``model_weight`` θ (``not_gamed_baseline.astype(float)``); θ is ±inf when it diverges.
    """

    model: str
    win_rate: float
    standard_error: float
    length_weight: float
    difficulty_weight: float
    model_weight: float


def length_terms(c: Comparisons) -> FloatArray:
    """tanh(Δ / sd(Δ)) for every row, sd over the model's judged rows (AlpacaEval's feature).

    When a model's Δ never varies, sd = 0 and the limit sign(Δ) is used.
    """
    m = len(c.model_names)
    judged = c.judged
    delta = (c.baseline_lengths - c.model_lengths).astype(np.float64)
    code = c.model_code[judged]
    n = np.bincount(code, minlength=m).astype(np.float64)
    mean = np.bincount(code, delta[judged], m) / np.maximum(n, 1)
    var = np.bincount(code, (delta[judged] - mean[code]) ** 2, m) / np.maximum(n - 1, 1)
    sd = np.sqrt(var)[c.model_code]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 0, np.tanh(delta / np.where(sd > 0, sd, 1.0)), np.sign(delta))


def row_number_codes(c: Comparisons) -> IntArray:
    """For each row, the instruction numbered as the row is among its model's rows (input
    order, judged or not): how AlpacaEval looks up γ (``df.reset_index()["index"]``)."""
    code = c.model_code
    order = np.argsort(code, kind="stable")
    counts = np.bincount(code, minlength=len(c.model_names))
    starts = np.cumsum(counts) - counts
    number = np.empty(len(code), dtype=np.int64)
    number[order] = np.arange(len(code)) - np.repeat(starts, counts)
    if (number[c.judged] >= len(c.instruction_names)).any():
        raise StatsError(
            "a model has more rows than there are instructions; look γ up by instruction"
        )
    return number


def _separated(c: Comparisons) -> FloatArray:
    """Per model: +1 if every judged preference is 2, −1 if every one is 1, else 0."""
    m = len(c.model_names)
    judged = c.judged
    code = c.model_code[judged]
    y = c.preferences[judged] - 1.0
    n = np.bincount(code, minlength=m)
    wins = np.bincount(code, y == 1.0, m)
    losses = np.bincount(code, y == 0.0, m)
    return np.where((n > 0) & (wins == n), 1.0, np.where((n > 0) & (losses == n), -1.0, 0.0))


def _mean_logit(code: IntArray, y: FloatArray, n: int) -> FloatArray:
    """logit of each group's mean label: Newton's starting intercepts (fewer iterations)."""
    mean = np.bincount(code, y, n) / np.maximum(np.bincount(code, minlength=n), 1)
    mean = np.clip(mean, 1e-3, 1 - 1e-3)
    return np.asarray(np.log(mean / (1 - mean)))


def fit_instruction_difficulty(
    c: Comparisons, *, prior_sd: float = DIFFICULTY_PRIOR_SD
) -> FloatArray:
    """γ for each of ``c.instruction_names`` from AlpacaEval's joint GLM over all models.

    logit y = θ_m + φ_m · tanh(Δ/sd) + γ_x, fitted to every judged row with γ_x ~ N(0,
    prior_sd²) by Newton's method; the γ block of the Hessian is diagonal, so each step solves
    only the Schur complement in the 2 × (number of models) per-model terms.
    """
    n_x = len(c.instruction_names)
    rows = c.judged & (_separated(c)[c.model_code] == 0)
    if not rows.any():
        return np.zeros(n_x)
    models, m_code = np.unique(c.model_code[rows], return_inverse=True)
    n_m = len(models)
    t = length_terms(c)[rows]
    x = c.instruction_code[rows]
    y = c.preferences[rows] - 1.0
    kappa = 1.0 / prior_sd**2
    # Rows sorted by instruction, so that blocks of instructions are contiguous slices.
    by_x = np.argsort(x, kind="stable")
    x_sorted, m_sorted, t_sorted = x[by_x], m_code[by_x], t[by_x]
    block = max(1, _BLOCK_FLOATS // (2 * n_m))
    starts = np.arange(0, n_x, block)
    edges = np.searchsorted(x_sorted, np.append(starts, n_x))

    def gradient(w: FloatArray, gamma: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Gradients in (θ_m, φ_m interleaved) and γ, and the rows' p(1 − p)."""
        p = expit(w[0::2][m_code] + w[1::2][m_code] * t + gamma[x])
        r = p - y
        g_m = np.empty(2 * n_m)
        g_m[0::2] = np.bincount(m_code, r, n_m)
        g_m[1::2] = np.bincount(m_code, r * t, n_m)
        return g_m + _EPS * w, np.bincount(x, r, n_x) + kappa * gamma, p * (1 - p)

    w, gamma = np.zeros(2 * n_m), np.zeros(n_x)
    w[0::2] = _mean_logit(m_code, y, n_m)
    g_m, g_x, v = gradient(w, gamma)
    for _ in range(_MAX_ITER):
        d = np.bincount(x, v, n_x) + kappa
        # Schur complement S = A − B D⁻¹ Bᵀ in the per-model terms, B accumulated by blocks.
        s = np.zeros((2 * n_m, 2 * n_m))
        i = np.arange(n_m)
        s[2 * i, 2 * i] = np.bincount(m_code, v, n_m) + _EPS
        s[2 * i, 2 * i + 1] = s[2 * i + 1, 2 * i] = np.bincount(m_code, v * t, n_m)
        s[2 * i + 1, 2 * i + 1] = np.bincount(m_code, v * t * t, n_m) + _EPS
        v_sorted = v[by_x]
        for lo_x, lo, hi in zip(starts.tolist(), edges[:-1], edges[1:], strict=True):
            width = min(block, n_x - lo_x)
            key = m_sorted[lo:hi] * width + (x_sorted[lo:hi] - lo_x)
            b = np.empty((2 * n_m, width))
            b[0::2] = np.bincount(key, v_sorted[lo:hi], n_m * width).reshape(n_m, width)
            vt = v_sorted[lo:hi] * t_sorted[lo:hi]
            b[1::2] = np.bincount(key, vt, n_m * width).reshape(n_m, width)
            s -= (b / d[lo_x : lo_x + width]) @ b.T
        # B D⁻¹ g_x and Bᵀ δ_m need no B: they are sums over rows.
        gx_d = (g_x / d)[x]
        rhs = -g_m
        rhs[0::2] += np.bincount(m_code, v * gx_d, n_m)
        rhs[1::2] += np.bincount(m_code, v * t * gx_d, n_m)
        step_m = np.linalg.solve(s, rhs)
        step_x = (
            -(g_x + np.bincount(x, v * (step_m[0::2][m_code] + step_m[1::2][m_code] * t), n_x)) / d
        )
        alpha = 1.0
        for _ in range(_MAX_HALVINGS):
            g_m, g_x, v = gradient(w + alpha * step_m, gamma + alpha * step_x)
            if g_m @ step_m + g_x @ step_x <= 0:
                break
            alpha /= 2
        w += alpha * step_m
        gamma += alpha * step_x
        if alpha * max(np.abs(step_m).max(), np.abs(step_x).max()) < _TOL:
            return gamma
    raise StatsError("the instruction-difficulty fit did not converge")


def _pooled_slopes(
    c: Comparisons, fit_rows: npt.NDArray[np.bool_], t: FloatArray, g: FloatArray
) -> tuple[float, float]:
    """Shared (φ, ψ) of logit y = θ_m + φ t + ψ g over ``fit_rows``: the dataset's slopes."""
    models, m_code = np.unique(c.model_code[fit_rows], return_inverse=True)
    n_m = len(models)
    y = c.preferences[fit_rows] - 1.0
    tg = np.stack([t[fit_rows], g[fit_rows]], axis=1)

    def gradient(th: FloatArray, sh: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        p = expit(th[m_code] + tg @ sh)
        r = p - y
        return np.bincount(m_code, r, n_m) + _EPS * th, r @ tg + _EPS * sh, p * (1 - p)

    theta, shared = _mean_logit(m_code, y, n_m), np.zeros(2)
    g_th, g_sh, v = gradient(theta, shared)
    for _ in range(_MAX_ITER):
        a = np.bincount(m_code, v, n_m) + _EPS
        b = np.stack([np.bincount(m_code, v * tg[:, k], n_m) for k in range(2)], axis=1)
        schur = (tg * v[:, None]).T @ tg + _EPS * np.eye(2) - (b / a[:, None]).T @ b
        d_sh = np.linalg.solve(schur, -(g_sh - b.T @ (g_th / a)))
        d_th = -(g_th + b @ d_sh) / a
        alpha = 1.0
        for _ in range(_MAX_HALVINGS):
            g_th, g_sh, v = gradient(theta + alpha * d_th, shared + alpha * d_sh)
            if g_th @ d_th + g_sh @ d_sh <= 0:
                break
            alpha /= 2
        theta += alpha * d_th
        shared += alpha * d_sh
        if alpha * max(np.abs(d_th).max(), np.abs(d_sh).max()) < _TOL:
            return float(shared[0]), float(shared[1])
    raise StatsError("the pooled length-slope fit did not converge")


def _fit_models(
    m_code: IntArray,
    features: FloatArray,
    y: FloatArray,
    reg_features: FloatArray,
    reg_y: FloatArray,
    reg_weight: FloatArray,
    reg_scale: FloatArray,
) -> FloatArray:
    """(φ, ψ, θ) for every model at once: batched Newton on AlpacaEval's per-model objective.

    Model k's objective is the loss of its rows (features t, γ, 1) plus ``reg_scale[k]`` times
    the weighted loss of the regularisation rows (features t, γ; no model term), labelled
    ``reg_y`` (one column per model when the labels differ between models).
    """
    n_m = len(reg_scale)
    reg_targets = reg_y if reg_y.ndim == 2 else reg_y[:, None]
    pairs = [(a, b) for a in range(3) for b in range(a, 3)]

    def derivatives(beta: FloatArray) -> tuple[FloatArray, FloatArray]:
        p = expit(np.einsum("ij,ij->i", features, beta[m_code]))
        r, v = p - y, p * (1 - p)
        grad = np.empty((n_m, 3))
        hess = np.empty((n_m, 3, 3))
        for a in range(3):
            grad[:, a] = np.bincount(m_code, r * features[:, a], n_m)
        for a, b in pairs:
            hess[:, a, b] = hess[:, b, a] = np.bincount(
                m_code, v * features[:, a] * features[:, b], n_m
            )
        pr = expit(reg_features @ beta[:, :2].T)
        rr = (pr - reg_targets) * reg_weight[:, None]
        vr = pr * (1 - pr) * reg_weight[:, None]
        grad[:, :2] += reg_scale[:, None] * (reg_features.T @ rr).T
        for a, b in [(0, 0), (0, 1), (1, 1)]:
            extra = reg_scale * ((reg_features[:, a] * reg_features[:, b]) @ vr)
            hess[:, a, b] += extra
            if a != b:
                hess[:, b, a] += extra
        return grad + _EPS * beta, hess + _EPS * np.eye(3)

    beta = np.zeros((n_m, 3))
    beta[:, 2] = _mean_logit(m_code, y, n_m)
    grad, hess = derivatives(beta)
    for _ in range(_MAX_ITER):
        step = -np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        alpha = np.ones(n_m)
        # Each model's objective is convex along its step: it fell if its slope at the end of
        # the step is not positive; halve the steps of the models where it is.
        for _ in range(_MAX_HALVINGS):
            grad, hess = derivatives(beta + alpha[:, None] * step)
            overshot = (grad * step).sum(axis=1) > 0
            if not overshot.any():
                break
            alpha[overshot] /= 2
        beta += alpha[:, None] * step
        if (alpha[:, None] * np.abs(step)).max() < _TOL:
            return beta
    raise StatsError("the length-controlled GLM did not converge")


def gamed_baselines(model_names: list[str], baseline: str) -> list[str]:
    """The baseline's length-gamed variants, by AlpacaEval's rule (``fn_is_gamed_baseline``)."""
    return [
        m
        for m in model_names
        if m != baseline and baseline in m and ("verbose" in m or "concise" in m)
    ]


def pin_difficulty_table(c: Comparisons, *, baseline: str, source: str = "") -> DifficultyTable:
    """γ and the pooled slopes (φ, ψ) fitted on the models in ``c``, as a table to pin:
    passed back as ``difficulty_table``, later figures no longer depend on which models share
    the dataset (see ``palate.stats.difficulty_table``)."""
    gamma = fit_instruction_difficulty(c)
    to_fit = np.array([m != baseline for m in c.model_names]) & (_separated(c) == 0)
    rows = c.judged & to_fit[c.model_code]
    g_x = gamma[c.instruction_code]
    phi, psi = _pooled_slopes(c, rows, length_terms(c), g_x) if rows.any() else (0.0, 0.0)
    table = dict(zip(c.instruction_names, gamma.tolist(), strict=True))
    return DifficultyTable(table, phi, psi, source or f"fitted on {len(c.model_names)} models")


def length_controlled_win_rates(
    c: Comparisons,
    *,
    baseline: str,
    instruction_difficulty: Mapping[str, float] | None = None,
    difficulty_by_row_number: bool = False,
    regularize_to_baseline_lambda: float = REGULARIZE_TO_BASELINE_LAMBDA,
    difficulty_table: DifficultyTable | None = None,
) -> dict[str, LengthControlledWinRate]:
    """AlpacaEval's length-controlled win rate of every model in ``c`` (see the module doc).

    ``instruction_difficulty`` maps each instruction to AlpacaEval's γ (e.g. its
    ``instruction_difficulty.csv``, keyed by instruction); without it γ is fitted on ``c``.
    ``difficulty_table`` pins γ and, where the table has them, the slopes that label the
    synthetic baseline variants (else each model's own); then each model's figure depends on
    its own rows and the table only (unless the data hold the baseline's gamed variants, which
    AlpacaEval shares between all models).
    """
    if difficulty_table is not None:
        if instruction_difficulty is not None:
            raise StatsError("give instruction_difficulty or difficulty_table, not both")
        instruction_difficulty = difficulty_table.gamma
    names = c.model_names
    n_m, n_x = len(names), len(c.instruction_names)
    judged = c.judged
    n_judged = np.bincount(c.model_code[judged], minlength=n_m)
    if (n_judged < 2).any():
        name = names[int(np.argmax(n_judged < 2))]
        raise StatsError(f"model {name!r} needs at least 2 judged comparisons for an LC win rate")
    if instruction_difficulty is None:
        gamma = fit_instruction_difficulty(c)
    else:
        missing = [x for x in c.instruction_names if x not in instruction_difficulty]
        if missing:
            raise StatsError(f"no instruction difficulty for instruction {missing[0]!r}")
        gamma = np.array([float(instruction_difficulty[x]) for x in c.instruction_names])
        if not np.all(np.isfinite(gamma)):
            raise StatsError("instruction difficulties must be finite numbers")
    t = length_terms(c)
    x_fit = row_number_codes(c) if difficulty_by_row_number else c.instruction_code
    g_fit = np.zeros(len(judged))
    g_fit[judged] = gamma[x_fit[judged]]
    separated = _separated(c)
    is_baseline = np.array([m == baseline for m in names])
    to_fit = ~is_baseline & (separated == 0)
    gamed = np.isin(names, gamed_baselines(names, baseline))

    if gamed.any():
        reg_rows = judged & gamed[c.model_code]
        reg_features = np.stack([t[reg_rows], g_fit[reg_rows]], axis=1)
        reg_y = c.preferences[reg_rows] - 1.0
        reg_weight = np.full(len(reg_y), regularize_to_baseline_lambda / gamed.sum())
        reg_scale = np.ones(n_m)
    else:
        pooled_rows = judged & to_fit[c.model_code]
        g_x = gamma[c.instruction_code]
        gap = np.tanh(SYNTHETIC_LENGTH_GAP)
        reg_features = np.concatenate(
            [np.stack([np.full(n_x, s * gap), gamma], axis=1) for s in (1.0, -1.0)]
        )
        if difficulty_table is None or difficulty_table.slopes is not None:
            if difficulty_table is not None and difficulty_table.slopes is not None:
                slopes = difficulty_table.slopes
            elif pooled_rows.any():
                slopes = _pooled_slopes(c, pooled_rows, t, g_x)
            else:
                slopes = (0.0, 0.0)
            reg_y = expit(reg_features @ np.array(slopes))
        else:  # a table without slopes: each model's own, so that nothing else enters
            own = np.zeros((n_m, 2))
            for k in np.flatnonzero(to_fit):
                own[k] = _pooled_slopes(c, judged & (c.model_code == k), t, g_x)
            reg_y = expit(reg_features @ own.T)
        reg_weight = np.full(2 * n_x, regularize_to_baseline_lambda / (2 * n_x))
        reg_scale = n_judged.astype(np.float64)

    weights = np.zeros((n_m, 3))
    fit_idx = np.flatnonzero(to_fit)
    if len(fit_idx):
        rows = judged & to_fit[c.model_code]
        local = np.full(n_m, -1)
        local[fit_idx] = np.arange(len(fit_idx))
        features = np.stack([t[rows], g_fit[rows], np.ones(rows.sum())], axis=1)
        weights[fit_idx] = _fit_models(
            local[c.model_code[rows]],
            features,
            c.preferences[rows] - 1.0,
            reg_features,
            reg_y[:, fit_idx] if reg_y.ndim == 2 else reg_y,
            reg_weight,
            reg_scale[fit_idx],
        )
    # Predictions at equal length over all the model's rows, with γ by instruction.
    pred = expit(weights[c.model_code, 2] + weights[c.model_code, 1] * gamma[c.instruction_code])
    pred = np.where(is_baseline[c.model_code], 0.5, pred)
    pred = np.where(separated[c.model_code] != 0, (separated[c.model_code] + 1) / 2, pred)
    n_rows = np.bincount(c.model_code, minlength=n_m)
    mean = np.bincount(c.model_code, pred, n_m) / n_rows
    var = np.bincount(c.model_code, (pred - mean[c.model_code]) ** 2, n_m) / (n_rows - 1)
    theta = weights[:, 2].copy()
    theta[separated != 0] = separated[separated != 0] * np.inf
    return {
        name: LengthControlledWinRate(
            model=name,
            win_rate=float(100 * mean[i]),
            standard_error=float(100 * np.sqrt(var[i] / n_rows[i])),
            length_weight=float(weights[i, 0]),
            difficulty_weight=float(weights[i, 1]),
            model_weight=float(theta[i]),
        )
        for i, name in enumerate(names)
    }


def win_rate_table(
    models: npt.ArrayLike,
    instructions: npt.ArrayLike,
    preferences: npt.ArrayLike,
    model_lengths: npt.ArrayLike,
    baseline_lengths: npt.ArrayLike,
    *,
    baseline: str,
    length_controlled: bool = False,
    instruction_difficulty: Mapping[str, float] | None = None,
    difficulty_by_row_number: bool = False,
    difficulty_table: DifficultyTable | None = None,
) -> list[ModelWinRate]:
    """The ``stats winrate`` leaderboard: one row per model, sorted as AlpacaEval sorts.

    ``models[i]`` is the non-baseline side of comparison i, ``instructions[i]`` its prompt id,
    ``preferences[i]`` in [1, 2] (NaN: not judged), ``model_lengths[i]`` and
    ``baseline_lengths[i]`` the two outputs' lengths in characters (``len(str)``). Pass the
    model's unjudged outputs too (NaN preference): AlpacaEval's ``avg_length`` counts them.
    Rows are sorted by ``length_controlled_winrate`` when computed, else by ``win_rate``,
    descending (AlpacaEval 2.0's and 1.0's ``sort_by``), ties by model name.
    """
    c = check_comparisons(models, instructions, preferences, model_lengths, baseline_lengths)
    rows = win_rates(c)
    if length_controlled:
        lc = length_controlled_win_rates(
            c,
            baseline=baseline,
            instruction_difficulty=instruction_difficulty,
            difficulty_by_row_number=difficulty_by_row_number,
            difficulty_table=difficulty_table,
        )
        rows = [
            ModelWinRate(
                **{
                    **r.to_json(),
                    "length_controlled_winrate": lc[r.model].win_rate,
                    "lc_standard_error": lc[r.model].standard_error,
                }
            )
            for r in rows
        ]
    key = "length_controlled_winrate" if length_controlled else "win_rate"
    return sorted(rows, key=lambda r: (-getattr(r, key), r.model))
