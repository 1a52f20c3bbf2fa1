"""AlpacaEval win rates and length-controlled win rates against the published leaderboard.

Reference figures: ``alpacaeval/leaderboard.csv``, AlpacaEval 2.0's published rows for the 13
shipped models (annotator ``weighted_alpaca_eval_gpt4_turbo``, baseline
``gpt4_1106_preview``), computed by ``alpaca_eval.metrics.get_winrate`` (win_rate,
standard_error, n_*, discrete_win_rate), ``alpaca_eval.main.evaluate`` (avg_length) and the
length-controlled GLM (length_controlled_winrate). The annotations are read straight from the
shared ``annotations/*.json.gz`` files.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import expit

from palate.errors import PalateError, StatsError
from palate.stats.difficulty_table import load_difficulty_table
from palate.stats.length_controlled import (
    fit_instruction_difficulty,
    gamed_baselines,
    length_controlled_win_rates,
    length_terms,
    pin_difficulty_table,
    win_rate_table,
)
from palate.stats.winrate import ModelWinRate, check_comparisons

BASELINE = "gpt4_1106_preview"
# Published LC figures need AlpacaEval's precomputed instruction difficulty and the baseline's
# gamed variants, which are not shipped; palate's estimate from these 13 models is checked to
# this mean absolute error (percentage points). The largest single gap is ≈1.07 points.
LC_MAE = 0.5
LC_MAX = 1.2


class Columns(NamedTuple):
    models: np.ndarray
    instructions: np.ndarray
    preferences: np.ndarray
    model_lengths: np.ndarray
    baseline_lengths: np.ndarray


@pytest.fixture(scope="module")
def leaderboard(shared_data: Path) -> dict[str, dict[str, str]]:
    with open(shared_data / "alpacaeval" / "leaderboard.csv", newline="") as f:
        return {row["model"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def annotated(shared_data: Path) -> Columns:
    """Every annotation row, files in name order, rows in file order (the benchmark's order).

    Output lengths are Python ``len`` (code points), as AlpacaEval's ``str.len()``; a missing
    preference would be NaN (the shipped files have none).
    """
    cols: list[list[object]] = [[], [], [], [], []]
    for path in sorted((shared_data / "alpacaeval" / "annotations").glob("*.json.gz")):
        model = path.name.removesuffix(".json.gz")
        with gzip.open(path, "rt") as f:
            for row in json.load(f):
                pref = row.get("preference")
                cols[0].append(model)
                cols[1].append(row["instruction"])
                cols[2].append(np.nan if pref is None else float(pref))
                cols[3].append(len(row["output_2"]))
                cols[4].append(len(row["output_1"]))
    return Columns(*(np.array(c) for c in cols))


@pytest.fixture(scope="module")
def with_unjudged(annotated: Columns) -> Columns:
    """The annotations plus, for each model, the instructions its file lacks, as unjudged rows
    with an empty output: the 1-3 outputs AlpacaEval never judged. The published avg_length is
    the mean over all 805 outputs with these counted as length 0, e.g. alpaca-7b_verbose:
    floor(433,177 / 805) = 537, where its 802 annotated outputs average 539.9."""
    a = annotated
    baseline_length = dict(zip(a.instructions, a.baseline_lengths, strict=True))
    every = list(dict.fromkeys(a.instructions))
    extra: list[tuple[str, str]] = []
    for model in dict.fromkeys(a.models):
        have = set(a.instructions[a.models == model])
        extra += [(model, x) for x in every if x not in have]
    assert len(extra) == 6  # alpaca-7b_concise 1, alpaca-7b_verbose 3, phi-2 2
    return Columns(
        np.append(a.models, [m for m, _ in extra]),
        np.append(a.instructions, [x for _, x in extra]),
        np.append(a.preferences, np.full(len(extra), np.nan)),
        np.append(a.model_lengths, np.zeros(len(extra), dtype=int)),
        np.append(a.baseline_lengths, [baseline_length[x] for _, x in extra]),
    )


def _lc(row: ModelWinRate) -> float:
    assert row.length_controlled_winrate is not None
    return row.length_controlled_winrate


@pytest.fixture(scope="module")
def lc_table(with_unjudged: Columns) -> dict[str, ModelWinRate]:
    """The LC leaderboard as AlpacaEval computed it: γ looked up by annotation row number."""
    rows = win_rate_table(
        *with_unjudged, baseline=BASELINE, length_controlled=True, difficulty_by_row_number=True
    )
    return {r.model: r for r in rows}


def test_plain_figures_match_the_leaderboard(
    with_unjudged: Columns, leaderboard: dict[str, dict[str, str]]
) -> None:
    rows = {r.model: r for r in win_rate_table(*with_unjudged, baseline=BASELINE)}
    assert set(rows) == set(leaderboard)
    for model, pub in leaderboard.items():
        r = rows[model]
        for key in ("win_rate", "standard_error", "discrete_win_rate"):
            assert getattr(r, key) == pytest.approx(float(pub[key]), abs=1e-6), (model, key)
        for key in ("n_wins", "n_wins_base", "n_draws", "n_total", "avg_length"):
            assert getattr(r, key) == int(pub[key]), (model, key)
        assert r.length_controlled_winrate is None and r.lc_standard_error is None


def test_unjudged_rows_only_change_avg_length(annotated: Columns, with_unjudged: Columns) -> None:
    judged_only = {r.model: r for r in win_rate_table(*annotated, baseline=BASELINE)}
    with_rows = {r.model: r for r in win_rate_table(*with_unjudged, baseline=BASELINE)}
    r0, r1 = judged_only["alpaca-7b_verbose"], with_rows["alpaca-7b_verbose"]
    assert (r0.avg_length, r1.avg_length) == (539, 537)
    assert r0.to_json() | {"avg_length": 537} == r1.to_json()


def test_table_is_sorted_like_alpacaeval(with_unjudged: Columns, lc_table: dict) -> None:
    plain = win_rate_table(*with_unjudged, baseline=BASELINE)
    assert [r.win_rate for r in plain] == sorted((r.win_rate for r in plain), reverse=True)
    lc = win_rate_table(
        *with_unjudged, baseline=BASELINE, length_controlled=True, difficulty_by_row_number=True
    )
    assert [r.model for r in lc] == sorted(lc_table, key=lambda m: -_lc(lc_table[m]))


def test_length_controlled_reproduces_the_leaderboard(
    lc_table: dict[str, ModelWinRate], leaderboard: dict[str, dict[str, str]]
) -> None:
    errors = {}
    for model, pub in leaderboard.items():
        errors[model] = _lc(lc_table[model]) - float(pub["length_controlled_winrate"])
    table = "\n".join(f"{m:28s} {e:+.3f}" for m, e in errors.items())
    abs_err = np.abs(list(errors.values()))
    print(
        f"\nLC error by model (points):\n{table}\nMAE {abs_err.mean():.3f} max {abs_err.max():.3f}"
    )
    assert abs_err.mean() <= LC_MAE, table
    assert abs_err.max() <= LC_MAX, table
    # Ranking: the LC leaderboard's order up to the near-ties (phi-2 vs alpaca-7b_concise 0.07).
    published = sorted(
        leaderboard, key=lambda m: -float(leaderboard[m]["length_controlled_winrate"])
    )
    ours = sorted(
        leaderboard, key=lambda m: -errors[m] - float(leaderboard[m]["length_controlled_winrate"])
    )
    assert ours[:7] == published[:7]


def test_lc_standard_error_is_the_sem_of_the_predictions(
    with_unjudged: Columns, lc_table: dict[str, ModelWinRate]
) -> None:
    c = check_comparisons(*with_unjudged)
    lc = length_controlled_win_rates(c, baseline=BASELINE, difficulty_by_row_number=True)
    gamma = fit_instruction_difficulty(c)
    for model in ("claude-2.1", "phi-2"):
        w = lc[model]
        rows = np.array(c.model_names)[c.model_code] == model
        pred = expit(w.model_weight + w.difficulty_weight * gamma[c.instruction_code[rows]])
        assert rows.sum() == 805
        assert w.win_rate == pytest.approx(100 * pred.mean(), abs=1e-9)
        assert w.standard_error == pytest.approx(100 * pred.std(ddof=1) / np.sqrt(805), abs=1e-9)
        assert lc_table[model].lc_standard_error == pytest.approx(w.standard_error, abs=1e-9)


def test_row_number_lookup_only_matters_for_models_with_missing_annotations(
    with_unjudged: Columns, lc_table: dict[str, ModelWinRate], leaderboard: dict
) -> None:
    by_instruction = {
        r.model: _lc(r)
        for r in win_rate_table(*with_unjudged, baseline=BASELINE, length_controlled=True)
    }
    incomplete = {"alpaca-7b_concise", "alpaca-7b_verbose", "phi-2"}
    for model, row in lc_table.items():
        if model not in incomplete:
            assert by_instruction[model] == pytest.approx(_lc(row), abs=1e-9)
    # AlpacaEval's published figure for alpaca-7b_verbose (3 missing rows) needs its lookup.
    pub = float(leaderboard["alpaca-7b_verbose"]["length_controlled_winrate"])
    assert abs(by_instruction["alpaca-7b_verbose"] - pub) > 1.0
    assert abs(_lc(lc_table["alpaca-7b_verbose"]) - pub) < 0.2


def _direct_fit(
    t: np.ndarray, g: np.ndarray, y: np.ndarray, reg: np.ndarray, reg_y: np.ndarray, w: float
) -> np.ndarray:
    """AlpacaEval's per-model objective minimised by scipy's L-BFGS: an independent solver."""

    def loss(b: np.ndarray) -> tuple[float, np.ndarray]:
        z = b[0] * t + b[1] * g + b[2]
        zr = reg @ b[:2]
        f = np.logaddexp(0, z) - y * z
        fr = np.logaddexp(0, zr) - reg_y * zr
        r, rr = expit(z) - y, w * (expit(zr) - reg_y)
        grad = np.array([r @ t + rr @ reg[:, 0], r @ g + rr @ reg[:, 1], r.sum()])
        return float(f.sum() + w * fr.sum()), grad

    res = minimize(loss, np.zeros(3), jac=True, method="L-BFGS-B", options={"gtol": 1e-10})
    return np.asarray(res.x)


def test_glm_with_gamed_baselines_matches_a_direct_fit(annotated: Columns) -> None:
    """With the baseline's own verbose/concise variants in the data, their rows regularise every
    fit (weight 0.2 / 2 each, no model term), as in AlpacaEval. Two shipped models stand in for
    those variants; a given γ makes the per-model fit checkable against scipy."""
    a = annotated
    rename = {"gpt-3.5-turbo-1106_verbose": f"{BASELINE}_verbose"}
    rename["gpt-3.5-turbo-1106_concise"] = f"{BASELINE}_concise"
    models = np.array([rename.get(m, m) for m in a.models])
    c = check_comparisons(models, *a[1:])
    assert gamed_baselines(c.model_names, BASELINE) == sorted(rename.values())
    rng = np.random.default_rng(0)
    gamma = rng.normal(0, 1.5, len(c.instruction_names))
    difficulty = dict(zip(c.instruction_names, gamma, strict=True))
    lc = length_controlled_win_rates(c, baseline=BASELINE, instruction_difficulty=difficulty)
    t = length_terms(c)
    g = gamma[c.instruction_code]
    y = c.preferences - 1
    names = np.array(c.model_names)[c.model_code]
    gamed = np.isin(names, list(rename.values()))
    reg = np.stack([t[gamed], g[gamed]], axis=1)
    for model in ("claude-2.1", "gpt4_gamed", f"{BASELINE}_verbose"):
        rows = names == model
        b = _direct_fit(t[rows], g[rows], y[rows], reg, y[gamed], 0.1)
        w = lc[model]
        got = np.array([w.length_weight, w.difficulty_weight, w.model_weight])
        np.testing.assert_allclose(got, b, atol=2e-4)
        assert w.win_rate == pytest.approx(100 * expit(b[2] + b[1] * g[rows]).mean(), abs=1e-3)


def test_supplied_difficulty_is_used_as_given(with_unjudged: Columns) -> None:
    c = check_comparisons(*with_unjudged)
    gamma = fit_instruction_difficulty(c)
    supplied = dict(zip(c.instruction_names, gamma, strict=True))
    fitted = length_controlled_win_rates(c, baseline=BASELINE)
    given = length_controlled_win_rates(c, baseline=BASELINE, instruction_difficulty=supplied)
    for model, r in fitted.items():
        assert given[model].win_rate == pytest.approx(r.win_rate, abs=1e-9)
    # Only how γ ranks and spaces instructions matters: the scale is absorbed by ψ (and the
    # synthetic regulariser's slopes), the origin nearly so by θ; shuffling it does not.
    rescaled = {x: 2 * v + 1 for x, v in supplied.items()}
    same = length_controlled_win_rates(c, baseline=BASELINE, instruction_difficulty=rescaled)
    assert same["claude-2.1"].win_rate == pytest.approx(fitted["claude-2.1"].win_rate, abs=0.01)
    shuffled = dict(
        zip(c.instruction_names, np.random.default_rng(0).permutation(gamma), strict=True)
    )
    moved = length_controlled_win_rates(c, baseline=BASELINE, instruction_difficulty=shuffled)
    assert abs(moved["claude-2.1"].win_rate - fitted["claude-2.1"].win_rate) > 2
    with pytest.raises(StatsError, match="no instruction difficulty"):
        length_controlled_win_rates(
            c, baseline=BASELINE, instruction_difficulty=dict(list(supplied.items())[1:])
        )


# --- degenerate input ------------------------------------------------------------------------


def _table(prefs: list[float], model: str = "m", lc: bool = True) -> list[ModelWinRate]:
    n = len(prefs)
    return win_rate_table(
        [model] * n,
        [f"x{i}" for i in range(n)],
        prefs,
        np.arange(n) * 10 + 100,
        np.full(n, 300),
        baseline=BASELINE,
        length_controlled=lc,
    )


def test_empty_and_unjudged_input_are_errors() -> None:
    with pytest.raises(StatsError, match="no comparisons"):
        win_rate_table([], [], [], [], [], baseline=BASELINE)
    with pytest.raises(StatsError, match="all are NaN"):
        _table([np.nan, np.nan], lc=False)


def test_bad_input_is_an_error() -> None:
    with pytest.raises(StatsError, match="outside"):
        _table([1.0, 0.0])
    with pytest.raises(StatsError, match="equal length"):
        win_rate_table(["m"], ["x", "y"], [1.0], [1], [1], baseline=BASELINE)
    with pytest.raises(StatsError, match="non-negative integers"):
        win_rate_table(["m", "m"], ["x", "y"], [1.0, 2.0], [1, -1], [1, 1], baseline=BASELINE)
    with pytest.raises(StatsError, match="at least 2"):
        _table([2.0, np.nan])


def test_row_number_lookup_needs_one_row_per_instruction() -> None:
    models, instr = ["m"] * 4, ["x", "y", "x", "y"]
    args = (models, instr, [1.2, 1.8, 1.4, 1.9], [10, 20, 30, 40], [25, 25, 25, 25])
    rows = win_rate_table(*args, baseline=BASELINE, length_controlled=True)
    assert rows[0].n_total == 4
    with pytest.raises(StatsError, match="more rows than there are instructions"):
        win_rate_table(
            *args, baseline=BASELINE, length_controlled=True, difficulty_by_row_number=True
        )


def test_a_model_that_never_lost() -> None:
    (r,) = _table([2.0] * 5)
    assert (r.win_rate, r.standard_error, r.discrete_win_rate) == (100.0, 0.0, 100.0)
    assert (r.n_wins, r.n_wins_base, r.n_draws, r.n_total) == (5, 0, 0, 5)
    # The GLM's θ diverges; the figure is its limit.
    assert (r.length_controlled_winrate, r.lc_standard_error) == (100.0, 0.0)


def test_a_model_that_never_won_next_to_others() -> None:
    n = 40
    rng = np.random.default_rng(1)
    prefs = np.concatenate([np.ones(n), 1 + rng.random(n)])
    rows = win_rate_table(
        ["loser"] * n + ["other"] * n,
        [f"x{i}" for i in range(n)] * 2,
        prefs,
        rng.integers(50, 500, 2 * n),
        np.full(2 * n, 300),
        baseline=BASELINE,
        length_controlled=True,
    )
    loser = next(r for r in rows if r.model == "loser")
    other = next(r for r in rows if r.model == "other")
    assert (loser.win_rate, loser.length_controlled_winrate, loser.lc_standard_error) == (0, 0, 0)
    assert other.length_controlled_winrate is not None
    assert 0 < other.length_controlled_winrate < 100
    assert [r.model for r in rows] == ["other", "loser"]


def test_all_draws() -> None:
    (r,) = _table([1.5] * 6)
    assert (r.win_rate, r.standard_error, r.discrete_win_rate) == (50.0, 0.0, 50.0)
    assert (r.n_wins, r.n_wins_base, r.n_draws, r.n_total) == (0, 0, 6, 6)
    assert r.length_controlled_winrate == pytest.approx(50.0, abs=1e-9)
    assert r.lc_standard_error == pytest.approx(0.0, abs=1e-9)


def test_the_baseline_against_itself_scores_fifty() -> None:
    (r,) = _table([1.5, 1.2, 1.9, 1.5], model=BASELINE)
    assert (r.length_controlled_winrate, r.lc_standard_error) == (50.0, 0.0)
    assert r.win_rate == pytest.approx(52.5)


def test_discrete_win_rate_rounds_around_a_draw() -> None:
    (r,) = _table([1.0, 1.49, 1.5, 1.51, 2.0, np.nan], lc=False)
    assert (r.n_wins, r.n_wins_base, r.n_draws, r.n_total) == (2, 2, 1, 5)
    assert r.discrete_win_rate == pytest.approx(100 * (2 + 0.5) / 5)
    assert r.win_rate == pytest.approx(100 * np.mean([0, 0.49, 0.5, 0.51, 1.0]))
    assert r.avg_length == (100 + 110 + 120 + 130 + 140 + 150) // 6


def test_to_json_has_the_design_keys() -> None:
    keys = ["model", "win_rate", "standard_error", "n_wins", "n_wins_base", "n_draws"]
    keys += ["n_total", "discrete_win_rate", "avg_length"]
    (plain,) = _table([1.2, 1.8, 1.5], lc=False)
    assert list(plain.to_json()) == keys
    (lc,) = _table([1.2, 1.8, 1.5])
    out = lc.to_json()
    assert list(out) == [*keys, "length_controlled_winrate", "lc_standard_error"]
    assert all(np.isfinite(v) for k, v in out.items() if k != "model")
    json.dumps(out)


# --- pinned instruction-difficulty tables ------------------------------------------------------


def _subset(a: Columns, models: list[str]) -> Columns:
    keep = np.isin(a.models, models)
    return Columns(*(column[keep] for column in a))


def _lcs(a: Columns, **options: object) -> dict[str, float]:
    rows = win_rate_table(*a, baseline=BASELINE, length_controlled=True, **options)  # type: ignore[arg-type]
    return {r.model: _lc(r) for r in rows}


def _lc_of(a: Columns, model: str, **options: object) -> float:
    return _lcs(a, **options)[model]


def test_a_pinned_table_keeps_lc_fixed_when_models_are_added(
    annotated: Columns, tmp_path: Path
) -> None:
    """The figure of phi-2 evaluated with 4 others, then with all 12 others: without a table it
    moves (γ and the slopes are refitted), with a pinned table it does not, whether the table
    carries the slopes (palate's JSON) or only γ (AlpacaEval's CSV form)."""
    few = ["phi-2", "alpaca-7b", "vicuna-7b", "claude-2.1", "gpt-3.5-turbo-1106"]
    small, full = _subset(annotated, few), annotated
    assert _lc_of(small, "phi-2") != pytest.approx(_lc_of(full, "phi-2"), abs=0.05)

    pinned = pin_difficulty_table(check_comparisons(*small), baseline=BASELINE, source="five")
    assert pinned.slopes is not None
    json_path = tmp_path / "difficulty.json"
    pinned.save(json_path)
    loaded = load_difficulty_table(json_path)
    assert loaded == pinned
    # Pinning what the data would have fitted anyway changes nothing on that data.
    assert _lc_of(small, "phi-2", difficulty_table=loaded) == pytest.approx(
        _lc_of(small, "phi-2"), abs=1e-8
    )
    csv_path = tmp_path / "instruction_difficulty.csv"
    with open(csv_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["", "instruction", "instruction_difficulty"])  # AlpacaEval's columns
        writer.writerows((k, x, g) for k, (x, g) in enumerate(pinned.gamma.items()))
    gamma_only = load_difficulty_table(csv_path)
    assert gamma_only.slopes is None and gamma_only.gamma == pytest.approx(pinned.gamma)

    # A table fitted on other models entirely: the pinned figure is still the same everywhere.
    others = pin_difficulty_table(
        check_comparisons(*_subset(annotated, ["NullModel", "falcon-7b-instruct"])),
        baseline=BASELINE,
    )
    for table in (loaded, gamma_only, others):
        alone, together = (_lcs(a, difficulty_table=table) for a in (small, full))
        for model in few:
            assert alone[model] == pytest.approx(together[model], abs=1e-7), (table.source, model)


def test_bad_difficulty_tables_are_errors(annotated: Columns, tmp_path: Path) -> None:
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("instruction,instruction_difficulty\nhello,1.5\nworld,lots\n")
    with pytest.raises(PalateError, match=r"bad.csv:3: instruction_difficulty"):
        load_difficulty_table(bad_csv)
    no_column = tmp_path / "cols.csv"
    no_column.write_text("instruction,gamma\nhello,1\n")
    with pytest.raises(PalateError, match="missing column 'instruction_difficulty'"):
        load_difficulty_table(no_column)
    broken = tmp_path / "broken.json"
    broken.write_text('{"instruction_difficulty": {"a": 1,}}')
    with pytest.raises(PalateError, match=r"broken\.json:1"):
        load_difficulty_table(broken)
    with pytest.raises(PalateError, match="no such difficulty table"):
        load_difficulty_table(tmp_path / "absent.json")
    short = tmp_path / "short.csv"
    short.write_text("instruction,instruction_difficulty\nnot a benchmark prompt,0.5\n")
    with pytest.raises(StatsError, match="no instruction difficulty for instruction"):
        _lc_of(
            _subset(annotated, ["phi-2"]), "phi-2", difficulty_table=load_difficulty_table(short)
        )
