"""Judged taste: deployed diffs and ticket replies read from the log, judged by a rubric judge
on loopback, stored as ratings linked to the episode with their ledger record, cached,
compared with the incidents and cancellations that followed, and low scores escalated to
raters in the studio."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

from palate.judges.config import OpenAIJudgeConfig
from palate.ledger import Ledger
from palate.saas.agents import Symptom
from palate.saas.env import SaasEnv
from palate.saas.events import read_log
from palate.saas.rollouts import run_rollout
from palate.saas.run import EVENTS_FILE, RunOptions, finish, run_episode, write_results
from palate.saas.taste import (
    TASTE_FILE,
    Judged,
    TasteResult,
    dataset_name,
    deployed_changes,
    judge_directory,
    spearman,
    ticket_replies,
)
from palate.schema import Rating
from palate.store import Store
from palate.store.studio import StudioStore
from palate.studio.accounts import add_user
from palate.studio.judging import SubmissionIn
from palate.studio.projects import export_project
from palate.studio.service import Service
from palate.testing.loopback import LoopbackServer, Script
from tests.helpers import run_cli, run_json

CAREFUL = (
    "Thank you for the clear report. We found the cause of this problem in our code and "
    "deployed a fix today; please try again and tell us if it still happens. We will check "
    "back with you tomorrow either way."
)


class Replier(Symptom):
    """The symptom baseline that also answers every ticket it reads: carefully to even
    tickets, with one word to odd ones (the loopback judge scores longer replies higher)."""

    name = "replier"

    def __init__(self) -> None:
        super().__init__()
        self.answered: set[int] = set()
        self.seen: dict[int, str] = {}

    def patches_for(self, observation: dict[str, Any]) -> list[dict[str, Any]]:
        replies = []
        for ticket in observation.get("result", {}).get("tickets", []):
            self.seen[int(ticket["id"])] = str(ticket["text"])
            if ticket["id"] not in self.answered:
                self.answered.add(ticket["id"])
                text = CAREFUL if ticket["id"] % 2 == 0 else "ok"
                replies.append(
                    {"tool": "reply_ticket", "arguments": {"ticket_id": ticket["id"], "text": text}}
                )
        return replies + super().patches_for(observation)


def replier_episode(out: Path, seed: int = 0, days: int = 5) -> tuple[dict[str, Any], Replier]:
    player = Replier()
    env = SaasEnv("quick", days, root=out.parent)
    try:
        observation, _ = env.reset(seed=seed)
        assert env.episode is not None
        finish(env, env.episode, player, json.loads(observation), None, out)
        return write_results(env.episode, player.name, out), player
    finally:
        env.close()


def judge_config(path: Path, base_url: str) -> Path:
    config = OpenAIJudgeConfig.model_validate(
        {"name": "taste", "kind": "openai", "model": "loopback", "base_url": base_url,
         "api_key_env": None, "concurrency": 8, "timeout_s": 10, "max_retries": 2}
    )  # fmt: skip
    path.write_text(json.dumps(config.model_dump(mode="json")))
    return path


def test_the_log_gives_each_deployed_change_and_reply(tmp_path: Path) -> None:
    _, player = replier_episode(tmp_path / "ep")
    events = read_log(tmp_path / "ep" / EVENTS_FILE)
    # The replier patches and deploys on the same day: one change a day with patches.
    patches: dict[int, list[str]] = {}
    for e in events:
        if e.kind == "action" and e.data["tool"] == "apply_patch":
            patches.setdefault(e.day, []).append(e.data["args"]["diff"])
    changes = deployed_changes(events)
    assert [(c.day, c.text) for c in changes] == [(d, "\n".join(p)) for d, p in patches.items()]
    assert len(changes) >= 2 and all("it started" in c.prompt for c in changes)
    replies = ticket_replies(events)
    assert len(replies) == len(player.answered) >= 4
    for reply in replies:
        ticket_id = int(reply.key.split("-")[1].removeprefix("t"))
        assert player.seen[ticket_id] in reply.prompt  # the text the agent was shown
        assert reply.text == (CAREFUL if ticket_id % 2 == 0 else "ok")

    run_episode(RunOptions("breaker", 0, "quick", days=1), tmp_path / "b", root=tmp_path)
    (broken,) = deployed_changes(read_log(tmp_path / "b" / EVENTS_FILE))
    assert "FAILED TO START" in broken.prompt and "half-finished refactor" in broken.text
    assert "teamnotes/__init__.py" in broken.text


def test_judged_ratings_are_stored_linked_and_cached(tmp_path: Path, store_url: str) -> None:
    out = tmp_path / "ep"
    summary, _ = replier_episode(out)
    digest = summary["digest"]
    store = Store(store_url)
    with LoopbackServer(Script()) as server:
        config = judge_config(tmp_path / "judge.json", server.base_url)
        result = judge_directory(store, out, config, window=2)
        calls = server.stats.requests
        again = judge_directory(store, out, config, window=2)
        assert server.stats.requests == calls  # every call came from the cache
    events = read_log(out / EVENTS_FILE)
    n_items = len(deployed_changes(events)) + len(ticket_replies(events))
    assert calls == n_items and len(result.judged) == n_items
    name = dataset_name("replier", 0, digest)
    assert result.datasets == [name] and again.to_json() == result.to_json()
    ratings = [r for r in store.iter_records(name) if isinstance(r, Rating)]
    assert len(ratings) == 4 * n_items  # every rubric dimension of every item, once
    assert {r.metadata["episode"] for r in ratings} == {digest}
    assert {r.dimension for r in ratings if r.metadata["kind"] == "reply"} == {
        "resolution", "honesty", "tone", "concision"
    }  # fmt: skip
    # The loopback judge scores by length: careful replies above one-word ones.
    replies = {j.key: j.score for j in result.judged if j.kind == "reply"}
    careful = [s for k, s in replies.items() if int(k.split("-")[1][1:]) % 2 == 0]
    curt = [s for k, s in replies.items() if int(k.split("-")[1][1:]) % 2 == 1]
    assert careful and curt and min(careful) > max(curt)  # type: ignore[type-var]
    # What followed: incidents in the window, counted from the day summaries.
    days = {e.day: e.data["incidents"] for e in events if e.kind == "day"}
    for j in result.judged:
        assert j.incidents_after == days.get(j.day, 0) + days.get(j.day + 1, 0)
    entries = [e.record for e in Ledger(store).entries() if e.record["activity"] == "saas.taste"]
    assert len(entries) == 2  # the attempt is recorded even when nothing was new
    assert any(u.get("hash") == digest for u in entries[0]["used"])
    assert json.loads((out / TASTE_FILE).read_text())["judge"] == "taste"
    store.close()


def test_spearman_matches_scipy_and_says_when_it_is_undefined() -> None:
    scores = [0.9, 0.8, 0.75, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    incidents = [0, 0, 1, 0, 1, 2, 1, 3, 2, 4]
    c = spearman(scores, incidents)
    assert c is not None
    assert c.rho == pytest.approx(stats.spearmanr(scores, incidents).statistic)
    assert c.ci_low <= c.rho <= c.ci_high < 0  # better-judged work preceded fewer incidents
    assert spearman(scores, [1] * 10) is None and spearman([0.5, 0.6], [1, 2]) is None
    judged = [Judged(0, "d", "deploy", f"k{i}", i, s, n, None)
              for i, (s, n) in enumerate(zip(scores, incidents, strict=True))]  # fmt: skip
    result = TasteResult("j", 3, [], judged)
    groups = {g["judged"]: g for g in result.good_vs_poor() if g["kind"] == "deploy"}
    assert groups["good"]["n"] == 5 and groups["good"]["mean_trouble_after"] == 0.4
    assert groups["poor"]["mean_trouble_after"] == 2.4


def test_cli_taste_on_a_rollout_adds_the_report_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, db = tmp_path / "roll", f"sqlite:///{tmp_path}/p.db"
    run_rollout(RunOptions("root-cause", 0, "quick", days=3), [0, 1], out)
    with LoopbackServer(Script()) as server:
        config = judge_config(tmp_path / "judge.yaml", server.base_url)
        data = run_json(capsys, "saas", "taste", str(out), "--judge", str(config), "--db", db)
    assert len(data["datasets"]) == 2 and data["unscored"] == 0
    assert {j["kind"] for j in data["judged"]} == {"deploy"}  # root-cause never replies
    assert {j["seed"] for j in data["judged"]} == {0, 1}
    html = (out / "report.html").read_text()
    assert "Judged taste against what the money said" in html and "deploy-v2" in html


def test_cli_taste_without_logs_exits_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = judge_config(tmp_path / "judge.yaml", "http://127.0.0.1:9")
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(
        capsys, "saas", "taste", str(tmp_path / "empty"), "--judge", str(config),
        "--db", f"sqlite:///{tmp_path}/p.db",
    )  # fmt: skip
    assert code == 1 and len(err.strip().splitlines()) == 1 and "seed-*" in err
    assert not (tmp_path / "empty" / TASTE_FILE).exists()


def test_low_scores_go_to_the_studio_and_answers_lead_back_to_the_episode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, db = tmp_path / "ep", f"sqlite:///{tmp_path}/p.db"
    summary, _ = replier_episode(out)
    digest = summary["digest"]
    store = Store(db)
    studio = StudioStore(store)
    admin = add_user(studio, "admin", "admin", "correct horse battery")
    for name in ("ann", "bob", "cat"):
        studio.add_user(name, "rater", admin.password_hash)
    events = read_log(out / EVENTS_FILE)
    text = {w.key: (w.prompt, w.text) for w in deployed_changes(events) + ticket_replies(events)}
    with LoopbackServer(Script()) as server:
        config = str(judge_config(tmp_path / "judge.yaml", server.base_url))
        taste = ["saas", "taste", str(out), "--judge", config, "--db", db]
        plain = run_json(capsys, *taste)
        assert plain["studio_projects"] == [] and studio.projects() == []
        # A threshold between the one-word replies and the careful ones (cached calls).
        replies = sorted(j["score"] for j in plain["judged"] if j["kind"] == "reply")
        below = round((replies[0] + replies[-1]) / 2, 3)
        escalate = [*taste, "--escalate-below", str(below), "--studio-admin", "admin",
                    "--raters", "ann,bob", "--overlap", "1"]  # fmt: skip
        data = run_json(capsys, *escalate)
        again = run_json(capsys, *escalate)  # a rerun finds the projects it made
        assert server.stats.requests == len(text)  # judged once; the reruns hit the cache
    assert again == data
    wanted = {j["key"]: j["kind"] for j in data["judged"] if j["score"] < below}
    assert {j["key"] for j in data["judged"] if j["project"]} == set(wanted)
    assert "reply" in wanted.values() and all(
        int(k.split("-")[1][1:]) % 2 == 1 for k, kind in wanted.items() if kind == "reply"
    )  # only the one-word replies
    projects = {p.name: p for p in studio.projects()}
    episode = dataset_name("replier", 0, digest)
    expected = sorted(f"{episode}.{kind}.below-{below:g}" for kind in set(wanted.values()))
    assert sorted(projects) == data["studio_projects"] == expected
    service = Service(studio)
    shown: list[tuple[str, str]] = []
    for name in ("ann", "bob", "cat"):
        user = studio.user_by_name(name)
        assert user is not None
        for project in projects.values():
            while (aid := studio.next_assignment(user.id, project.id)) is not None:
                assert name != "cat"  # only the raters asked for
                view = service.view(user, aid)
                assert view.kind == "rubric" and view.rubric == project.rubric
                (response,) = view.responses
                shown.append((view.prompt, response.text))
                top = max(view.dimensions[next(iter(view.dimensions))])
                scores = {dim: {"A": top} for dim in view.dimensions}
                service.submit(user, aid, SubmissionIn(scores=scores))
    # Exactly the escalated items, each once, showing the diff or reply the agent wrote.
    assert sorted(shown) == sorted(text[k] for k in wanted)
    for project in projects.values():
        export_project(studio, project.id, "answers", "test")
    answers = [r for r in store.iter_records("answers") if isinstance(r, Rating)]
    assert {r.rater.kind for r in answers} == {"human"}
    assert {r.item for r in answers} == {f"{digest[:12]}:{k}" for k in wanted}
    assert {r.metadata["project"] for r in answers} == set(projects)
    # The project's dataset is the episode's, whose ledger record names the project and digest.
    assert {p.dataset for p in projects.values()} == {episode}
    record = [e.record for e in Ledger(store).entries() if e.record["activity"] == "saas.taste"][-1]
    assert record["attributes"]["studio_projects"] == sorted(projects)
    assert any(u["kind"] == "saas-episode" and u["hash"] == digest for u in record["used"])
    # A judge that cannot score sends everything, diffs under their own rubric.
    with LoopbackServer(Script(fault_rate=1.0, faults=("malformed",))) as server:
        failing = judge_config(tmp_path / "failing.yaml", server.base_url)
        config_data = json.loads(failing.read_text()) | {"model": "failing"}  # not cached
        failing.write_text(json.dumps(config_data))
        config = str(failing)
        failed = run_json(capsys, "saas", "taste", str(out), "--judge", config, "--db", db,
                          "--escalate-below", "0", "--studio-admin", "admin")  # fmt: skip
    assert failed["unscored"] == len(text) and len(failed["studio_projects"]) == 2
    rubrics = {p.name.split(".")[-2]: p.rubric for p in studio.projects() if ".below-0" in p.name}
    assert rubrics["deploy"] != rubrics["reply"]
    (deploys,) = [p for p in studio.projects() if p.name.endswith(".deploy.below-0")]
    diffs = []
    for name in ("ann", "bob", "cat"):  # every rater by default, one each
        user = studio.user_by_name(name)
        assert user is not None
        while (aid := studio.next_assignment(user.id, deploys.id)) is not None:
            diffs.append(service.view(user, aid).responses[0].text)
            studio.skip(aid, "other", "")
    assert sorted(diffs) == sorted(t for k, (_, t) in text.items() if k.startswith("deploy"))
    store.close()


def test_cli_escalation_without_a_studio_admin_fails_before_judging(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, db = tmp_path / "ep", f"sqlite:///{tmp_path}/p.db"
    run_episode(RunOptions("root-cause", 0, "quick", days=2), out, root=tmp_path)
    config = judge_config(tmp_path / "judge.yaml", "http://127.0.0.1:9")  # never called
    taste = ["saas", "taste", str(out), "--judge", str(config), "--db", db]
    for extra, message in (
        (["--escalate-below", "0.5"], "--escalate-below and --studio-admin go together"),
        (["--escalate-below", "0.5", "--studio-admin", "nobody"], "no studio admin"),
    ):
        code, _, err = run_cli(capsys, *taste, *extra)
        assert code == 1 and len(err.strip().splitlines()) == 1 and message in err
    assert not (out / TASTE_FILE).exists()
