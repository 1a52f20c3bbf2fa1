"""Escalations become a studio project, and the loop reads the raters' answers back from it:
the run stops at the labels stage ("waiting") until every assignment is closed, then
``--resume`` finishes the iteration without repeating a finished stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from palate.ledger import Ledger
from palate.loop import LoopRunner, load_loop
from palate.loop.routing import item_key
from palate.loop.run import STAGES, LoopResult
from palate.schema import Comparison
from palate.store import Store
from palate.store.studio import StudioStore
from palate.studio.judging import SkipIn, SubmissionIn
from palate.studio.service import Service
from palate.testing.loopback import LoopbackServer
from tests.helpers import run_json
from tests.loop.conftest import write_loop

RATERS = ("ana", "ben")


def _studio_loop(folder: Path, models: tuple[Path, Path], base_url: str) -> Path:
    loop = write_loop(folder, models, base_url, name="studio-it")
    text = loop.read_text()
    text = text.replace(
        "labels: {simulated: {raters: 3, accuracy: 0.8, taste: longer, seed: 0}}",
        "labels: {studio: {admin: boss, overlap: 2, seed: 3}}",
    )
    loop.write_text(text.replace("audit_share: 0.2", "audit_share: 1.0"))
    return loop


def route_judged(result: LoopResult) -> str:
    return str(next(s.outputs["dataset"] for s in result.stages if s.stage == "judge"))


def test_escalations_become_a_studio_project_whose_answers_the_loop_reads_back(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    tiny_models: tuple[Path, Path],
    judge_server: LoopbackServer,
) -> None:
    url = f"sqlite:///{tmp_path / 'studio.db'}"
    loop = _studio_loop(tmp_path / "loop", tiny_models, judge_server.base_url)
    with Store(url) as store:
        studio = StudioStore(store)
        studio.add_user("boss", "admin", "not-a-login")
        raters = [studio.add_user(name, "rater", "not-a-login") for name in RATERS]
        waiting = LoopRunner(load_loop(loop), store).run()
        assert waiting.verdict == "waiting" and "0 of" in waiting.reasons[0]
        assert [s.stage for s in waiting.stages] == list(STAGES[: STAGES.index("route") + 1])
        route = waiting.stages[-1].outputs
        queue = set(route["queue"])
        assert queue, "nothing was escalated"
        project = route["studio_project"]
        [row] = [p for p in studio.projects() if p.id == project["id"]]
        assert row.name == project["name"] and row.overlap == 2
        # the project holds exactly the escalated items, each assigned to both raters
        escalated = [r for r in store.iter_records(project["dataset"]) if isinstance(r, Comparison)]
        judged = [r for r in store.iter_records(route_judged(waiting)) if isinstance(r, Comparison)]
        shown = {item_key(r) for r in judged if all(x.text for x in r.responses)}
        assert {item_key(r) for r in escalated} == queue & shown
        assert sum(p.assigned for p in studio.progress(row.id)) == 2 * len(escalated)

        # the raters answer: ana always prefers what she sees first, ben skips one task
        service = Service(studio)
        answered = 0
        for user in raters:
            skipped = False
            while (assignment := studio.next_assignment(user.id, row.id)) is not None:
                if user.name == "ben" and not skipped:
                    service.skip(user, assignment, SkipIn(reason="unsure", note="not my field"))
                    skipped = True
                    continue
                service.submit(user, assignment, SubmissionIn(choice="A"))
                answered += 1

    resumed = run_json(capsys, "loop", "run", str(loop), "--resume", "--db", url)
    ran = {s["stage"]: s["ran"] for s in resumed["stages"]}
    assert [s for s in STAGES if not ran[s]][:4] == list(STAGES[:4])  # nothing repeated
    assert ran["labels"] and ran["gate"]
    assert resumed["verdict"] in ("pass", "fail", "inconclusive")
    stages = {s["stage"]: s["outputs"] for s in resumed["stages"]}
    assert stages["labels"]["labels"] == answered
    assert stages["truth"]["from_people"] > 0
    with Store(url) as store:
        human = [r for r in store.iter_records(stages["labels"]["dataset"])]
        assert {r.judge.name for r in human if isinstance(r, Comparison)} == set(RATERS)
        assert {item_key(r) for r in human if isinstance(r, Comparison)} <= queue
        activities = [e.record["activity"] for e in Ledger(store).entries()]
        assert "studio-export" in activities
    verified = run_json(capsys, "ledger", "verify", "--db", url)
    assert verified["ok"] is True, json.dumps(verified)
