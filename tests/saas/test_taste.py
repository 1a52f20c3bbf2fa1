"""Judged taste: deployed diffs and ticket replies read from the log, judged by a rubric judge
on loopback, stored as ratings linked to the episode with their ledger record, cached, and
compared with the incidents and cancellations that followed."""

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
