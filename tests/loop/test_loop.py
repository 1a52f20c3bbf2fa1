"""`palate loop run` end to end: tiny models built here, the loopback judge, simulated raters.

Each loop run trains and generates on a real (tiny) causal LM, so the tests share runs: one
on PostgreSQL, three on SQLite (uninterrupted, killed and resumed, rubric changed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from palate.ledger import Ledger
from palate.loop import LoopRunner, load_loop
from palate.loop.run import STAGES
from palate.store import Store
from palate.store.judge_cache_tables import judge_calls
from palate.testing.loopback import LoopbackServer
from tests.helpers import run_cli, run_json
from tests.loop.conftest import write_loop


class Killed(Exception):
    """Stands for the process dying in the middle of a stage."""


def _kill_in(stage_to_kill: str, after: int) -> Any:
    def progress(stage: str, done: int, total: int) -> None:
        if stage == stage_to_kill and done == after:
            raise Killed

    return progress


def _cached_calls(url: str) -> int:
    with Store(url) as store, store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(judge_calls)).scalar_one())


def _stages_in_ledger(url: str) -> set[str]:
    with Store(url) as store:
        return {
            e.record["attributes"]["stage"]
            for e in Ledger(store).entries()
            if e.record["activity"] == "loop-stage"
        }


def test_loop_on_postgresql_completes_in_the_ledger_and_resumes(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    postgres_url: str,
    tiny_models: tuple[Path, Path],
    judge_server: LoopbackServer,
) -> None:
    loop = write_loop(tmp_path / "loop", tiny_models, judge_server.base_url)
    doc = run_json(capsys, "loop", "run", str(loop), "--db", postgres_url)
    assert [s["stage"] for s in doc["stages"]] == list(STAGES)
    assert all(s["ran"] for s in doc["stages"])
    assert doc["verdict"] in ("pass", "fail", "inconclusive") and doc["reasons"]
    assert Path(doc["summary"]).read_text().count("<tr>") == len(STAGES) + 1
    assert _stages_in_ledger(postgres_url) == set(STAGES)
    assert run_json(capsys, "ledger", "verify", "--db", postgres_url)["ok"] is True

    code, _, err = run_cli(capsys, "loop", "run", str(loop), "--db", postgres_url)
    assert code == 1 and "--resume" in err and "Traceback" not in err
    calls = judge_server.stats.requests
    again = run_json(capsys, "loop", "run", str(loop), "--resume", "--db", postgres_url)
    assert not any(s["ran"] for s in again["stages"])
    assert (again["verdict"], again["reasons"]) == (doc["verdict"], doc["reasons"])
    assert judge_server.stats.requests == calls


def _outcome(result: dict[str, Any]) -> dict[str, Any]:
    stages = {s["stage"]: s["outputs"] for s in result["stages"]}
    return {
        "verdict": result["verdict"],
        "reasons": result["reasons"],
        "metrics": stages["evaluate"]["metrics"],
        "checkpoint": stages["train"]["checkpoint_hash"],
        "truth": stages["truth"]["items"],
    }


def test_killed_in_judging_resumes_to_the_same_verdict_and_rubric_change_reruns_judging(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    tiny_models: tuple[Path, Path],
    judge_server: LoopbackServer,
) -> None:
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    killed_url = f"sqlite:///{tmp_path / 'killed.db'}"
    clean_loop = write_loop(tmp_path / "clean", tiny_models, judge_server.base_url)
    killed_loop = write_loop(tmp_path / "killed", tiny_models, judge_server.base_url)

    with Store(clean_url) as store:
        clean = LoopRunner(load_loop(clean_loop), store).run().to_json()
    clean_calls = judge_server.stats.requests

    with Store(killed_url) as store, pytest.raises(Killed):
        LoopRunner(load_loop(killed_loop), store, progress=_kill_in("judge", 4)).run()
    assert 0 < judge_server.stats.requests - clean_calls < clean_calls // 2  # mid-judging
    resumed = run_json(capsys, "loop", "run", str(killed_loop), "--resume", "--db", killed_url)
    ran = {s["stage"]: s["ran"] for s in resumed["stages"]}
    assert not ran["generate-candidate"] and not ran["generate-baseline"]  # done before the kill
    assert ran["judge"] and ran["gate"]
    # Every completed call is cached once: a repeated call would be a request with no new row,
    # and the killed-and-resumed run asked exactly as many as the uninterrupted one.
    assert judge_server.stats.requests - clean_calls == _cached_calls(killed_url) == clean_calls
    assert _outcome(resumed) == _outcome(clean)
    assert _stages_in_ledger(killed_url) == set(STAGES)
    assert run_json(capsys, "ledger", "verify", "--db", killed_url)["ok"] is True

    # A rubric change invalidates judging onward, not generation.
    rubric = tmp_path / "clean" / "rubric.yaml"
    rubric.write_text(rubric.read_text().replace("Judge short poems", "Judge brief poems"))
    before = judge_server.stats.requests
    changed = run_json(capsys, "loop", "run", str(clean_loop), "--resume", "--db", clean_url)
    ran = {s["stage"]: s["ran"] for s in changed["stages"]}
    assert [s for s in STAGES if not ran[s]] == [
        "generate-candidate",
        "generate-baseline",
        "generate-eval-baseline",
    ] or [s for s in STAGES if not ran[s]] == [
        "generate-candidate",
        "generate-baseline",
        "generate-trained",  # training reproduced the same checkpoint: same fingerprint
        "generate-eval-baseline",
    ]
    assert judge_server.stats.requests > before
    assert _stages_in_ledger(clean_url) == set(STAGES)
    assert run_json(capsys, "ledger", "verify", "--db", clean_url)["ok"] is True
