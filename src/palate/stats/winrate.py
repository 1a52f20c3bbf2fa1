"""AlpacaEval's win rate against a fixed baseline, and the row type of ``stats winrate``.

Reproduces ``alpaca_eval.metrics.winrate.get_winrate`` (tatsu-lab/alpaca_eval,
``src/alpaca_eval/metrics/winrate.py`` with ``metrics/helpers.py``) and the ``avg_length``
column of ``alpaca_eval.main.evaluate``. A preference p lies in [1, 2]: 1 means the baseline
won, 2 the model, 1.5 a draw, and values in between are the judge's probability-weighted
verdict (1 + P(model better)). NaN means "not judged" and is left out of every figure but
``avg_length``. For each model, over its n judged comparisons:

- ``win_rate`` = 100 · mean(p − 1); ``standard_error`` = 100 · std(p − 1, ddof=1) / √n
  (pandas' ``sem``, as AlpacaEval calls it);
- ``n_wins`` = #{p − 1 > 0.5}, ``n_wins_base`` = #{p − 1 < 0.5}, ``n_draws`` = #{p = 1.5},
  ``n_total`` = n;
- ``discrete_win_rate`` = 100 · (#{p > 1.5} + ½ · #{p = 1.5}) / n: AlpacaEval's
  ``ZeroOneScoringRule`` rounds each preference to 1 or 2 after setting exact 1.5s aside as
  draws;
- ``avg_length`` = int(mean length of the model's outputs), truncated as AlpacaEval's
  ``int(outputs.str.len().mean())`` is, in Python characters (code points). AlpacaEval measures
  every output the model produced, judged or not: the published figures for models with
  missing annotations count those outputs, as empty ones, so pass them as unjudged rows.

A standard error needs two judgements: a model with fewer is a ``StatsError``, not a NaN.

``length_controlled_winrate`` and ``lc_standard_error`` come from
:mod:`palate.stats.length_controlled`, whose ``win_rate_table`` builds the whole table.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from palate.errors import StatsError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DRAW = 1.5


@dataclass(frozen=True)
class ModelWinRate:
    """One leaderboard row; field names are the ``stats winrate --json`` keys, rates in percent."""

    model: str
    win_rate: float
    standard_error: float
    n_wins: int
    n_wins_base: int
    n_draws: int
    n_total: int
    discrete_win_rate: float
    avg_length: int
    length_controlled_winrate: float | None = None
    lc_standard_error: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The row as DESIGN's JSON object; the LC keys only when they were computed."""
        out = asdict(self)
        for key in ("length_controlled_winrate", "lc_standard_error"):
            if out[key] is None:
                del out[key]
        return out


@dataclass(frozen=True)
class Comparisons:
    """Validated comparison columns, one entry per (model output, baseline output) pair.

    ``model_code[i]`` indexes ``model_names`` (sorted); ``instruction_code[i]`` indexes
    ``instruction_names`` in order of first appearance, which is the benchmark's own order when
    the rows come from AlpacaEval annotation files.
    """

    model_names: list[str]
    model_code: IntArray
    instruction_names: list[str]
    instruction_code: IntArray
    preferences: FloatArray
    model_lengths: IntArray
    baseline_lengths: IntArray

    @property
    def judged(self) -> npt.NDArray[np.bool_]:
        return ~np.isnan(self.preferences)


def _encode_first_seen(values: npt.NDArray[Any]) -> tuple[list[str], IntArray]:
    """Integer codes for ``values`` (as strings), numbered in order of first appearance.

    A dict, not ``np.unique``: sorting fixed-width copies of long prompts costs far more.
    """
    index: dict[str, int] = {}
    codes = np.fromiter(
        (index.setdefault(str(v), len(index)) for v in values), dtype=np.int64, count=len(values)
    )
    return list(index), codes


def check_comparisons(
    models: npt.ArrayLike,
    instructions: npt.ArrayLike,
    preferences: npt.ArrayLike,
    model_lengths: npt.ArrayLike,
    baseline_lengths: npt.ArrayLike,
) -> Comparisons:
    """Validate and encode the columns; every problem the user can cause is a ``StatsError``."""
    model_arr = np.asarray(models, dtype=object)
    instr_arr = np.asarray(instructions, dtype=object)
    try:
        pref = np.asarray(preferences, dtype=np.float64)
        len_m = np.asarray(model_lengths, dtype=np.float64)
        len_b = np.asarray(baseline_lengths, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise StatsError(f"preferences and lengths must be numbers: {exc}") from None
    n = len(model_arr)
    arrays = (model_arr, instr_arr, pref, len_m, len_b)
    if any(a.ndim != 1 for a in arrays) or any(len(a) != n for a in arrays):
        raise StatsError("models, instructions, preferences and lengths must be 1-d, equal length")
    if n == 0:
        raise StatsError("no comparisons to compute a win rate from")
    judged = ~np.isnan(pref)
    if not judged.any():
        raise StatsError("no comparison has a preference (all are NaN)")
    bad = judged & ((pref < 1.0) | (pref > 2.0))
    if bad.any():
        raise StatsError(
            f"preference {pref[bad][0]!r} is outside [1, 2] (1 = baseline won, 2 = model won, "
            "1.5 = draw; AlpacaEval's legacy draw code 0 must be given as 1.5)"
        )
    for name, lengths in (("model", len_m), ("baseline", len_b)):
        if not np.all(np.isfinite(lengths)) or np.any(lengths < 0) or np.any(lengths % 1):
            raise StatsError(f"{name} lengths must be non-negative integers")
    seen_models, seen_code = _encode_first_seen(model_arr)
    order = sorted(range(len(seen_models)), key=seen_models.__getitem__)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    instruction_names, instruction_code = _encode_first_seen(instr_arr)
    return Comparisons(
        model_names=[seen_models[i] for i in order],
        model_code=rank[seen_code],
        instruction_names=instruction_names,
        instruction_code=instruction_code,
        preferences=pref,
        model_lengths=len_m.astype(np.int64),
        baseline_lengths=len_b.astype(np.int64),
    )


def win_rates(c: Comparisons) -> list[ModelWinRate]:
    """AlpacaEval's ``get_winrate`` for every model at once, in ``c.model_names`` order.

    Vectorised over models with ``bincount`` so that millions of judgements take milliseconds.
    Raises ``StatsError`` for a model with fewer than two judgements (its standard error is
    undefined; pandas would report NaN).
    """
    m = len(c.model_names)
    judged = c.judged
    code = c.model_code[judged]
    y = c.preferences[judged] - 1.0
    n = np.bincount(code, minlength=m)
    short = np.flatnonzero(n < 2)
    if len(short):
        name = c.model_names[short[0]]
        raise StatsError(
            f"model {name!r} has {n[short[0]]} judged comparison(s); a win rate's standard "
            "error needs at least 2"
        )
    mean = np.bincount(code, y, m) / n
    # Two passes (deviations from the mean) keep the variance accurate when p ≈ 1 everywhere.
    var = np.bincount(code, (y - mean[code]) ** 2, m) / (n - 1)
    draws = np.bincount(code, c.preferences[judged] == DRAW, m).astype(np.int64)
    wins = np.bincount(code, y > 0.5, m).astype(np.int64)
    losses = np.bincount(code, y < 0.5, m).astype(np.int64)
    discrete = (wins + 0.5 * draws) / n
    n_rows = np.bincount(c.model_code, minlength=m)
    # Float sums of integer lengths are exact below 2**53 characters; then floor division.
    total_length = np.bincount(c.model_code, c.model_lengths, m).astype(np.int64)
    avg_length = total_length // n_rows
    return [
        ModelWinRate(
            model=c.model_names[i],
            win_rate=float(100 * mean[i]),
            standard_error=float(100 * np.sqrt(var[i] / n[i])),
            n_wins=int(wins[i]),
            n_wins_base=int(losses[i]),
            n_draws=int(draws[i]),
            n_total=int(n[i]),
            discrete_win_rate=float(100 * discrete[i]),
            avg_length=int(avg_length[i]),
        )
        for i in range(m)
    ]
