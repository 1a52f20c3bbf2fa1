"""`palate loop run` end to end: tiny models, the loopback judge, simulated raters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from palate.judges.loopback import LoopbackServer
from palate.ledger import Ledger
from palate.loop import LoopRunner, load_loop
from palate.loop.run import STAGES
from palate.store import Store
from palate.store.judge_cache_tables import judge_calls
from tests.helpers import run_cli, run_json
from tests.loop.conftest import write_loop


def _cached_calls(url: str) -> int:
    with Store(url) as store, store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(judge_calls)).scalar_one())


class Killed(Exception):
    """Stands for the process dying in the middle of a stage."""


def test_loop_completes_resumes_and_reruns_after_a_rubric_change(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    store_url: str,
    tiny_models: tuple[Path, Path],
    judge_server: LoopbackServer,
) -> None:
    loop = write_loop(tmp_path / "loop", tiny_models, judge_server.base_url)
    config = load_loop(loop)

    def kill_in_judging(stage: str, done: int, total: int) -> None:
        if stage == "judge" and done == 4:
            raise Killed

    with Store(store_url) as store, pytest.raises(Killed):
        LoopRunner(config, store, progress=kill_in_judging).run()
    assert 0 < judge_server.stats.requests < 20  # judging had begun and not finished

    doc = run_json(capsys, "loop", "run", str(loop), "--resume", "--db", store_url)
    ran = {s["stage"]: s["ran"] for s in doc["stages"]}
    assert list(ran) == list(STAGES)
    assert not ran["generate-candidate"] and not ran["generate-baseline"]  # before the kill
    assert all(ran[s] for s in STAGES[2:] if s != "generate-eval-baseline")
    # Every call completed is cached once; a repeated call would be a request with no new row.
    assert judge_server.stats.requests == _cached_calls(store_url)
    assert doc["verdict"] in ("pass", "fail", "inconclusive") and doc["reasons"]
    assert Path(doc["summary"]).read_text().count("<tr>") == len(STAGES) + 1

    verify = run_json(capsys, "ledger", "verify", "--db", store_url)
    assert verify["ok"] is True
    with Store(store_url) as store:
        recorded = [
            e.record["attributes"]["stage"]
            for e in Ledger(store).entries()
            if e.record["activity"] == "loop-stage"
        ]
    assert set(recorded) == set(STAGES) - {"labels"} or set(recorded) == set(STAGES)

    # A second run without --resume refuses; with it, nothing runs and nothing is called.
    code, _, err = run_cli(capsys, "loop", "run", str(loop), "--db", store_url)
    assert code == 1 and "--resume" in err
    calls = judge_server.stats.requests
    again = run_json(capsys, "loop", "run", str(loop), "--resume", "--db", store_url)
    assert not any(s["ran"] for s in again["stages"])
    assert (again["verdict"], again["reasons"]) == (doc["verdict"], doc["reasons"])
    assert judge_server.stats.requests == calls

    # A rubric change invalidates judging onward, not generation.
    rubric = tmp_path / "loop" / "rubric.yaml"
    rubric.write_text(rubric.read_text().replace("Judge short poems", "Judge brief poems"))
    changed = run_json(capsys, "loop", "run", str(loop), "--resume", "--db", store_url)
    ran = {s["stage"]: s["ran"] for s in changed["stages"]}
    assert not ran["generate-candidate"] and not ran["generate-baseline"]
    assert not ran["generate-eval-baseline"]
    assert ran["judge"] and ran["route"] and ran["truth"] and ran["judge-eval"] and ran["gate"]
    assert judge_server.stats.requests > calls


def _outcome(url: str, loop: Path) -> dict[str, Any]:
    with Store(url) as store:
        result = LoopRunner(load_loop(loop), store, resume=True).run().to_json()
    stages = {s["stage"]: s["outputs"] for s in result["stages"]}
    return {
        "verdict": result["verdict"],
        "metrics": stages["evaluate"]["metrics"],
        "checkpoint": stages["train"]["checkpoint_hash"],
    }


def test_a_killed_and_resumed_loop_ends_as_an_uninterrupted_one(
    tmp_path: Path, tiny_models: tuple[Path, Path], judge_server: LoopbackServer
) -> None:
    clean = write_loop(tmp_path / "clean", tiny_models, judge_server.base_url)
    killed = write_loop(tmp_path / "killed", tiny_models, judge_server.base_url)
    url_clean = f"sqlite:///{tmp_path / 'clean.db'}"
    url_killed = f"sqlite:///{tmp_path / 'killed.db'}"

    def kill(stage: str, done: int, total: int) -> None:
        if stage == "judge-eval" and done == 2:
            raise Killed

    with Store(url_killed) as store, pytest.raises(Killed):
        LoopRunner(load_loop(killed), store, progress=kill).run()
    assert _outcome(url_killed, killed) == _outcome(url_clean, clean)
