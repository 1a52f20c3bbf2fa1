"""Evaluations, gates and model cards on the shared AlpacaEval annotations."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from sqlalchemy import text

from palate.evals import clustered_mean
from tests.helpers import run_cli, run_json

BASELINE = "gpt4_1106_preview"
FILES = ["claude-2.1", "gpt-3.5-turbo-1106", "alpaca-7b"]


def _generator(path: Path) -> str:
    with gzip.open(path, "rt") as f:
        return str(json.load(f)[0]["generator_2"])


@pytest.fixture()
def evals_db(
    tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, dict[str, str]]:
    monkeypatch.setenv("PALATE_KEY_DIR", str(tmp_path / "keys"))
    from palate.io import import_file
    from palate.store import Store

    url = f"sqlite:///{tmp_path / 'palate.db'}"
    store = Store(url)
    names = {}
    for name in FILES:
        path = shared_data / "alpacaeval/annotations" / f"{name}.json.gz"
        import_file(store, path, dataset="alpaca")
        names[name] = _generator(path)
    store.close()
    return url, names


def _policy(tmp_path: Path, name: str, at_least: float, **extra: object) -> Path:
    path = tmp_path / f"{name}-{at_least}.yaml"
    doc = {"name": name, "criteria": [{"metric": "win_rate", "at_least": at_least}], **extra}
    path.write_text(yaml.safe_dump(doc))
    return path


def _eval(capsys: pytest.CaptureFixture[str], url: str, model: str) -> dict[str, object]:
    return run_json(  # type: ignore[no-any-return]
        capsys, "eval", "run", "--candidate", model, "--baseline", BASELINE, "--set", "alpaca",
        "--candidate-hash", "ab" * 32, "--n-bootstrap", "500", "--db", url,
    )  # fmt: skip


def test_eval_win_rate_equals_stats_winrate_with_a_paired_interval(
    evals_db: tuple[str, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, names = evals_db
    stats = run_json(
        capsys, "stats", "winrate", "--dataset", "alpaca", "--baseline", BASELINE,
        "--length-controlled", "--db", url,
    )  # fmt: skip
    expected = {row["model"]: row for row in stats["models"]}
    for model in names.values():
        doc = _eval(capsys, url, model)
        metrics = doc["metrics"]
        assert isinstance(metrics, dict)
        win = metrics["win_rate"]
        assert win["value"] == pytest.approx(expected[model]["win_rate"], abs=1e-9)
        lc = metrics["length_controlled_winrate"]
        assert lc["value"] == pytest.approx(expected[model]["length_controlled_winrate"])
        assert win["ci_low"] < win["value"] < win["ci_high"]
        # One judgement per prompt: the bootstrap interval is close to the normal one.
        half = (win["ci_high"] - win["ci_low"]) / 2
        assert half == pytest.approx(1.96 * expected[model]["standard_error"], rel=0.15)


def test_gate_passes_fails_and_is_inconclusive_by_the_interval(
    evals_db: tuple[str, dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, names = evals_db
    probe = _eval(capsys, url, names["claude-2.1"])["metrics"]
    assert isinstance(probe, dict)
    win = probe["win_rate"]
    thresholds = {
        "easy": win["ci_low"] - 5,
        "hard": win["ci_high"] + 5,
        "straddle": win["value"],
    }
    for name, at_least in thresholds.items():
        run_json(capsys, "gate", "register", str(_policy(tmp_path, name, at_least)), "--db", url)
    run = _eval(capsys, url, names["claude-2.1"])["run"]
    verdicts = {
        name: run_json(capsys, "gate", "check", "--policy", name, "--eval", str(run), "--db", url)
        for name in thresholds
    }
    assert verdicts["easy"]["verdict"] == "pass"
    assert verdicts["hard"]["verdict"] == "fail"
    assert verdicts["straddle"]["verdict"] == "inconclusive"
    assert {v["checkpoint_hash"] for v in verdicts.values()} == {"ab" * 32}
    # A required human audit the AlpacaEval judgements cannot supply: never a pass.
    audit = _policy(tmp_path, "audited", thresholds["easy"], human_audit={"min_labels": 10})
    run_json(capsys, "gate", "register", str(audit), "--db", url)
    run = _eval(capsys, url, names["claude-2.1"])["run"]
    checked = run_json(capsys, "gate", "check", "--policy", "audited", "--eval", str(run),
                       "--db", url)  # fmt: skip
    assert checked["verdict"] == "inconclusive"


def test_gate_refuses_a_policy_registered_or_changed_after_the_evaluation_started(
    evals_db: tuple[str, dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, names = evals_db
    model = names["alpaca-7b"]
    run = _eval(capsys, url, model)["run"]
    run_json(capsys, "gate", "register", str(_policy(tmp_path, "late", 1.0)), "--db", url)
    code, _, err = run_cli(capsys, "gate", "check", "--policy", "late", "--eval", str(run),
                           "--db", url)  # fmt: skip
    assert code == 1 and "after evaluation" in err and "Traceback" not in err

    run_json(capsys, "gate", "register", str(_policy(tmp_path, "moved", 1.0)), "--db", url)
    run = _eval(capsys, url, model)["run"]
    run_json(capsys, "gate", "register", str(_policy(tmp_path, "moved", 0.5)), "--db", url)
    code, _, err = run_cli(capsys, "gate", "check", "--policy", "moved", "--eval", str(run),
                           "--db", url)  # fmt: skip
    assert code == 1 and "changed after" in err


def test_gate_refuses_when_the_recorded_policy_was_edited(
    evals_db: tuple[str, dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, names = evals_db
    run_json(capsys, "gate", "register", str(_policy(tmp_path, "strict", 99.0)), "--db", url)
    run = _eval(capsys, url, names["alpaca-7b"])["run"]
    from palate.store import Store

    store = Store(url)
    with store.engine.begin() as conn:
        table = "ledger_entries"
        rows = conn.execute(text(f"SELECT idx, records FROM {table}")).all()
        idx, body = next((i, bytes(b)) for i, b in rows if b'"at_least":99' in bytes(b))
        edited = body.replace(b'"at_least":99', b'"at_least":1')
        conn.execute(
            text(f"UPDATE {table} SET records = :b WHERE idx = :i"), {"b": edited, "i": idx}
        )
    store.close()
    code, _, err = run_cli(capsys, "gate", "check", "--policy", "strict", "--eval", str(run),
                           "--db", url)  # fmt: skip
    assert code == 1 and "does not verify" in err


def test_model_card_yaml_parses_and_every_figure_traces_to_a_ledger_record(
    evals_db: tuple[str, dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from huggingface_hub import ModelCard

    url, names = evals_db
    run = str(_eval(capsys, url, names["claude-2.1"])["run"])
    out = tmp_path / "README.md"
    code, _, err = run_cli(capsys, "card", "--model", "claude-2.1", "--eval", run, str(out),
                           "--license", "apache-2.0", "--db", url)  # fmt: skip
    assert code == 0, err
    assert "import of " in out.read_text()  # provenance names the imports behind the data
    card = ModelCard(out.read_text())
    results = card.data.eval_results
    assert results and {r.metric_type for r in results} >= {"win_rate", "discrete_win_rate"}
    from palate.ledger import Ledger
    from palate.store import Store

    entries = {e.id: e for e in Ledger(Store(url)).entries()}
    table_rows = [line for line in out.read_text().splitlines() if line.startswith("| alpaca ")]
    assert len(table_rows) == len(results)
    for row in table_rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        record = cells[5].split("`")[1]
        metric = cells[1].split(" vs ")[0]
        recorded = entries[record].record["attributes"]["result"]["metrics"][metric]["value"]
        assert float(cells[2]) == pytest.approx(recorded, abs=0.005)
    hub = {r.metric_type: r.metric_value for r in results}
    assert hub["win_rate"] == pytest.approx(
        entries[record].record["attributes"]["result"]["metrics"]["win_rate"]["value"], abs=1e-4
    )


def test_regression_difference_is_the_paired_difference_of_win_rates(
    evals_db: tuple[str, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, names = evals_db
    before, after = names["alpaca-7b"], names["claude-2.1"]
    doc = run_json(
        capsys, "eval", "compare", "--before", before, "--after", after, "--baseline", BASELINE,
        "--set", "alpaca", "--db", url,
    )  # fmt: skip
    stats = run_json(capsys, "stats", "winrate", "--dataset", "alpaca", "--baseline", BASELINE,
                     "--db", url)  # fmt: skip
    rates = {r["model"]: r for r in stats["models"]}
    # Both were judged on the same 805 prompts, once each: the paired mean difference is
    # the difference of the two win rates.
    assert rates[after]["n_total"] == rates[before]["n_total"] == 805
    expected = rates[after]["win_rate"] - rates[before]["win_rate"]
    assert doc["difference"]["value"] == pytest.approx(expected, abs=1e-9)
    assert doc["difference"]["ci_low"] > 0 and doc["wilcoxon_p"] < 1e-6
    assert doc["improved"] + doc["regressed"] + doc["unchanged"] == 805


def test_clustered_bootstrap_covers_at_the_nominal_rate() -> None:
    # Prompts with random effects: rows of one prompt are correlated, so a row bootstrap would
    # under-cover; the clustered interval should cover about 95%.
    rng = np.random.default_rng(7)
    hits = 0
    trials = 300
    for seed in range(trials):
        effects = rng.normal(0, 1, 40)
        clusters = np.repeat(np.arange(40), 5)
        values = effects[clusters] + rng.normal(0, 0.5, 200)
        e = clustered_mean(values, clusters, n_bootstrap=400, seed=seed)
        hits += e.ci_low <= 0.0 <= e.ci_high
    assert 0.90 <= hits / trials <= 0.98


def test_eval_on_a_dataset_without_the_baseline_names_the_judged_datasets(
    evals_db: tuple[str, dict[str, str]], capsys: pytest.CaptureFixture[str], shared_data: Path
) -> None:
    """`judge run` writes verdicts to DATASET.JUDGE: an eval on DATASET says where they are."""
    from palate.io import import_file
    from palate.store import Store

    url, _ = evals_db
    with Store(url) as store:
        path = shared_data / "alpacaeval/annotations/alpaca-7b.json.gz"
        import_file(store, path, dataset="alpaca.scripted")
    code, _, err = run_cli(
        capsys, "eval", "run", "--candidate", "ckpt-b", "--baseline", "ckpt-a", "--set", "alpaca",
        "--db", url,
    )  # fmt: skip
    assert code == 1 and "Traceback" not in err
    assert "no comparisons against baseline 'ckpt-a' in dataset 'alpaca'" in err
    assert "judged comparisons are in alpaca.scripted" in err
