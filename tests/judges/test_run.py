"""Judge runs end to end: faults, kill and resume, the API key, the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from palate.judges.loading import load as load_judge
from palate.judges.run import run
from palate.schema import Comparison
from palate.store import Store
from palate.store.judge_cache_tables import judge_calls
from palate.testing.loopback import LoopbackServer, Script
from tests.helpers import run_cli, run_json
from tests.judges.fixtures import distinct_pairs, load, openai_config, write_config

ROOT = Path(__file__).resolve().parents[2]


def _outcomes(store: Store, dataset: str) -> dict[tuple[str, str, str], object]:
    out: dict[tuple[str, str, str], object] = {}
    for c in store.iter_records(dataset):
        assert isinstance(c, Comparison) and c.prompt is not None
        key = (c.prompt.key, str(c.responses[0].model), str(c.responses[1].model))
        assert key not in out, f"duplicate judgement {key}"
        value = c.unscored.reason if c.unscored else (c.winner, c.tie, c.strength)
        out[key] = value
    return out


@pytest.mark.parametrize("style", ["json", "letter"])
def test_five_percent_faults_leave_nothing_missing_or_duplicated(
    store_url: str, style: str
) -> None:
    store = Store(store_url)
    load(store, "pairs", 15)
    script = Script(verdict="longer", fault_rate=0.05, seed=4)
    with LoopbackServer(script) as server:
        config = openai_config(server.base_url, style=style, backoff_base_s=0.01)
        result = run(store, "pairs", load_judge(config), swap=True)
        faults = server.stats.by_status
    requested = distinct_pairs(15)
    assert result.requested == requested
    assert result.scored + result.unscored == requested
    assert sum(faults[k] for k in ("429", "500", "drop", "malformed", "truncated")) > 0
    outcomes = _outcomes(store, result.out)
    assert len(outcomes) == requested == store.count(result.out)
    reasons = [v for v in outcomes.values() if isinstance(v, str)]
    assert len(reasons) == result.unscored > 0  # malformed/truncated answers are kept unscored
    assert all(("truncated" in r) or ("unparsable" in r) for r in reasons)
    # the scripted judge prefers the longer answer, the later model, in both orders
    scored = [v for v in outcomes.values() if not isinstance(v, str)]
    assert all(v[0] == 1 for v in scored)  # type: ignore[index]


def _cached(db: Path) -> int:
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(judge_calls)).scalar_one())
    except Exception:  # the table is not there yet
        return 0
    finally:
        engine.dispose()


def test_killed_run_resumes_without_repeating_calls(tmp_path: Path) -> None:
    n_items = 10
    secret = "sk-test-4f1d2c9e-never-store-me"
    env = {**os.environ, "PALATE_TEST_JUDGE_KEY": secret, "PYTHONPATH": str(ROOT / "src")}
    killed_db, clean_db = tmp_path / "killed.db", tmp_path / "clean.db"
    for db in (killed_db, clean_db):
        load(Store(f"sqlite:///{db}"), "pairs", n_items)
    with LoopbackServer(Script(verdict="seeded", latency_s=0.1, seed=5)) as server:
        config = openai_config(server.base_url, api_key_env="PALATE_TEST_JUDGE_KEY")
        config_path = write_config(tmp_path / "judge.yaml", config)

        def palate(db: Path) -> list[str]:
            return [sys.executable, "-m", "palate", "judge", "run", "--dataset", "pairs",
                    "--judge", str(config_path), "--swap", "--concurrency", "4",
                    "--db", f"sqlite:///{db}", "--json"]  # fmt: skip

        os.environ["PALATE_TEST_JUDGE_KEY"] = secret  # the uninterrupted run, in-process
        try:
            clean_store = Store(f"sqlite:///{clean_db}")
            judge = load_judge(config.model_copy(update={"concurrency": 4}))
            clean = run(clean_store, "pairs", judge, swap=True).to_json()
        finally:
            del os.environ["PALATE_TEST_JUDGE_KEY"]
        calls_clean = server.stats.requests
        assert clean["calls"] == calls_clean == 2 * distinct_pairs(n_items)

        proc = subprocess.Popen(palate(killed_db), env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.monotonic() + 60
        while _cached(killed_db) < calls_clean // 3:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        at_kill = _cached(killed_db)
        assert at_kill < calls_clean
        resumed = json.loads(subprocess.run(palate(killed_db), env=env, capture_output=True,
                                            text=True, check=True).stdout)  # fmt: skip
        authorization = server.stats.authorization
    assert resumed["cache_hits"] == at_kill
    assert resumed["calls"] == calls_clean - at_kill  # completed calls are not made again
    assert resumed["requested"] == clean["requested"]
    assert _outcomes(Store(f"sqlite:///{killed_db}"), "pairs.scripted") == _outcomes(
        Store(f"sqlite:///{clean_db}"), "pairs.scripted"
    )
    # the key went to the server and nowhere into the database
    assert set(authorization) == {f"Bearer {secret}"}
    for path in tmp_path.glob("killed.db*"):
        assert secret.encode() not in path.read_bytes()
    engine = create_engine(f"sqlite:///{killed_db}")
    with engine.connect() as conn:
        tables = [
            r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
        ]
        for table in tables:
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                assert secret not in repr(row)
    engine.dispose()


def test_cli_run_json_shape_and_config_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'p.db'}"
    load(Store(db), "pairs", 3)
    with LoopbackServer(Script(verdict="longer")) as server:
        config = write_config(tmp_path / "j.yaml", openai_config(server.base_url))
        doc = run_json(capsys, "judge", "run", "--dataset", "pairs", "--judge", str(config),
                       "--out", "judged", "--db", db)  # fmt: skip
    assert {k: doc[k] for k in ("dataset", "judge", "requested", "scored", "unscored")} == {
        "dataset": "pairs", "judge": "scripted", "requested": 9, "scored": 9, "unscored": 0,
    }  # fmt: skip
    assert doc["calls"] == 9 and doc["cache_hits"] == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nkind: openai\nmodel: m\nconcurrency: -2\n")
    code, _, err = run_cli(capsys, "judge", "run", "--dataset", "pairs", "--judge", str(bad),
                           "--db", db)  # fmt: skip
    assert code == 1 and "bad.yaml, line 4, field 'concurrency'" in " ".join(err.split())
    bad.write_text("name: x\nkind: gpt\n")
    code, _, err = run_cli(capsys, "judge", "run", "--dataset", "pairs", "--judge", str(bad),
                           "--db", db)  # fmt: skip
    assert code == 1 and "line 2, field 'kind'" in " ".join(err.split())


def test_missing_api_key_variable_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PALATE_UNSET_KEY", raising=False)
    db = f"sqlite:///{tmp_path / 'p.db'}"
    load(Store(db), "pairs", 1)
    config = write_config(
        tmp_path / "j.yaml", openai_config("http://127.0.0.1:9/v1", api_key_env="PALATE_UNSET_KEY")
    )
    code, _, err = run_cli(capsys, "judge", "run", "--dataset", "pairs", "--judge", str(config),
                           "--db", db)  # fmt: skip
    assert code == 1 and "PALATE_UNSET_KEY is not set" in " ".join(err.split())


@pytest.mark.skipif(
    not os.environ.get("PALATE_JUDGE_BASE_URL"), reason="set PALATE_JUDGE_BASE_URL to run"
)
def test_real_endpoint(tmp_path: Path) -> None:
    """Opt-in: the same run against a real endpoint (PALATE_JUDGE_MODEL, PALATE_JUDGE_KEY_ENV)."""
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    load(store, "pairs", 2)
    config = openai_config(
        os.environ["PALATE_JUDGE_BASE_URL"],
        model=os.environ.get("PALATE_JUDGE_MODEL", "gpt-4o-mini"),
        api_key_env=os.environ.get("PALATE_JUDGE_KEY_ENV") or None,
        concurrency=2,
    )
    result = run(store, "pairs", load_judge(config), swap=True)
    assert result.scored + result.unscored == result.requested == distinct_pairs(2)
    assert Counter(
        c.judge.name for c in store.iter_records(result.out) if isinstance(c, Comparison)
    ) == {"scripted": 6}
