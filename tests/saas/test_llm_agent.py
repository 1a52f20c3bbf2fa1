"""The language-model agent, driven by scripted OpenAI-compatible loopback servers: it follows
the root-cause baseline to the same digest (also through faults and a kill), survives a model
that talks nonsense, rewrites its own harness, and is recorded in the ledger."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from palate.errors import InputError, PalateError
from palate.io.yamlfile import load_model
from palate.judges.client import estimate_tokens
from palate.saas.events import read_log
from palate.saas.harness import Harness
from palate.saas.llm_agent import (
    STEPS_FILE,
    AgentConfig,
    LlmRunOptions,
    load_agent_config,
    run_llm_episode,
    store_cache,
)
from palate.saas.replay import replay
from palate.saas.report import write_report
from palate.saas.run import EVENTS_FILE, RunOptions, run_episode
from palate.saas.scripted_models import FollowAgent, Nonsense, conversation_key, tool_call_message
from palate.store import Store
from palate.store.judge_cache import JudgeCallCache
from palate.testing.loopback import LoopbackServer, Script
from tests.helpers import run_cli, run_json

SEED, PRESET, DAYS = 5, "quick", 3
OPTIONS = LlmRunOptions(SEED, PRESET, DAYS)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "agent.yaml"


def config(server: LoopbackServer, **fields: Any) -> AgentConfig:
    return AgentConfig(base_url=server.base_url, model="scripted", **fields)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("root-cause")
    return run_episode(RunOptions("root-cause", SEED, PRESET, DAYS), out)


def test_a_model_following_root_cause_reaches_its_digest(
    baseline: dict[str, Any], tmp_path: Path
) -> None:
    with LoopbackServer(Script(tool_model=FollowAgent("root-cause"))) as server:
        summary = run_llm_episode(config(server), OPTIONS, tmp_path)
        bodies = server.stats.requests
    assert summary["digest"] == baseline["digest"]
    assert summary["net_worth_cents"] == baseline["net_worth_cents"]
    assert summary["model_calls"] == bodies > DAYS
    assert summary["tool_errors"] == 0 and summary["derailment"]["flags"] == []
    assert replay(tmp_path / EVENTS_FILE).digest == baseline["digest"]


class Killed(Exception):
    """Stands for SIGKILL: raised right after the Nth completed call is stored."""


class KillAfter:
    """A cache that stores like the real one, then kills the run after ``calls`` puts."""

    def __init__(self, cache: JudgeCallCache, calls: int) -> None:
        self.cache, self.left = cache, calls

    def get(self, key: str) -> dict[str, Any] | None:
        return self.cache.get(key)

    async def put(self, key: str, value: dict[str, Any]) -> None:
        await self.cache.put(key, value)
        self.left -= 1
        if self.left == 0:
            raise Killed


def test_faults_and_a_kill_resume_to_the_same_digest_without_repeating_a_call(
    baseline: dict[str, Any], tmp_path: Path
) -> None:
    store = Store(f"sqlite:///{tmp_path}/p.db")
    faults = Script(
        tool_model=FollowAgent("root-cause"),
        fault_rate=0.5,
        faults=("429", "500", "drop"),
        retry_after="0",
        seed=3,
    )
    out = tmp_path / "out"
    with LoopbackServer(faults) as server:
        agent = config(server, backoff_base_s=0.01)
        with pytest.raises(Killed):  # mid day 1: after day 0's 8 calls and 3 of day 1's
            run_llm_episode(agent, OPTIONS, out, cache=KillAfter(store_cache(store, agent), 11))
        assert (out / "snapshot").is_dir() and not (out / EVENTS_FILE).exists()
        resumed = run_llm_episode(agent, OPTIONS, out, cache=store_cache(store, agent))
        stats = server.stats
    assert resumed["digest"] == baseline["digest"]
    assert {"429", "500", "drop"} <= set(stats.by_status)  # the faults did happen
    assert max(stats.answered.values()) == 1  # no request was answered twice
    assert resumed["cache_hits"] == 3  # the day-1 calls made before the kill
    # every request of the episode was answered once: before the snapshot, between it and
    # the kill (now cache hits), after the resume
    assert sum(stats.answered.values()) == resumed["model_calls"] + resumed["cache_hits"]
    assert not (out / "snapshot").exists()


def test_nonsense_completes_with_counted_errors_and_flagged_derailment(tmp_path: Path) -> None:
    with LoopbackServer(Script(tool_model=Nonsense())) as server:
        agent = config(server, derailment={"repeat_calls": 3, "idle_days": 2})
        summary = run_llm_episode(agent, OPTIONS, tmp_path)
    assert summary["days"] == DAYS
    # per day: prose, bad JSON, an unknown tool; all counted, none crashed the episode
    assert summary["no_tool_call"] == DAYS
    assert summary["tool_errors"] == 3 * DAYS
    flags = summary["derailment"]
    assert flags["looping"] == DAYS and flags["stalled"] == 1
    steps = [json.loads(line) for line in (tmp_path / STEPS_FILE).read_text().splitlines()]
    assert [s["tool"] for s in steps[:3]] == ["", "set_price", "launch_rocket"]
    assert not any(s["ok"] for s in steps[:3]) and steps[2]["tool_errors"] == 3
    looping = [s for s in steps if s["derailment"]["looping"]]
    assert looping and all(s["tool"] == "read_billing" for s in looping)
    assert any(f["kind"] == "stalled" for s in steps for f in s["derailment"]["flagged"])
    errors = [e.data for e in read_log(tmp_path / EVENTS_FILE) if e.kind == "action"]
    assert any("not valid JSON" in e.get("error", "") for e in errors)
    assert any("unknown tool 'launch_rocket'" in e.get("error", "") for e in errors)
    html = write_report(tmp_path).read_text()
    assert "Derailment flags" in html and "read_billing called 3 times in a row" in html


def test_a_model_that_keeps_failing_ends_each_day_and_the_episode_completes(
    tmp_path: Path,
) -> None:
    always = Script(tool_model=FollowAgent("root-cause"), fault_rate=1.0, faults=("500",))
    with LoopbackServer(always) as server:
        summary = run_llm_episode(config(server, max_retries=0), OPTIONS, tmp_path)
    assert summary["days"] == DAYS and summary["model_errors"] == DAYS
    assert summary["model_calls"] == DAYS and summary["tool_errors"] == 0
    actions = [e.data["tool"] for e in read_log(tmp_path / EVENTS_FILE) if e.kind == "action"]
    assert actions == ["end_day"] * DAYS


def test_a_snapshot_of_another_episode_is_refused(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/p.db")
    with LoopbackServer(Script(tool_model=FollowAgent("root-cause"))) as server:
        agent = config(server)
        with pytest.raises(Killed):
            run_llm_episode(agent, OPTIONS, tmp_path, cache=KillAfter(store_cache(store, agent), 9))
        with pytest.raises(PalateError, match="another seed, preset or length"):
            run_llm_episode(agent, LlmRunOptions(SEED, PRESET, DAYS + 1), tmp_path)
        with pytest.raises(PalateError, match="another agent's episode"):
            run_llm_episode(config(server, max_tokens=7), OPTIONS, tmp_path)


class HarnessEditor:
    """Reads its harness, hides most tools and adds to its prompt, tries a bad edit, then
    ends each day with a read and a note, recording every request it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def reply(self, body: dict[str, Any]) -> dict[str, Any]:
        self.bodies.append(body)
        index = len(self.bodies)
        new = Harness(
            system_prompt="Prices first.", tools_in_view=["end_day", "write_note"], notes_shown=2
        )
        script = [
            ("read_harness", {}),
            ("edit_harness", {"content": new.to_yaml()}),
            ("edit_harness", {"content": "notes_shown: many"}),
        ]
        if index <= len(script):
            tool, arguments = script[index - 1]
        elif index % 3 == 1:
            tool, arguments = "end_day", {}
        else:
            tool, arguments = "write_note", {"text": f"note {index} " + "x" * 200}
        return tool_call_message(index, tool, json.dumps(arguments))


def test_the_agent_rewrites_its_harness_through_tools(tmp_path: Path) -> None:
    model = HarnessEditor()
    with LoopbackServer(Script(tool_model=model)) as server:
        agent = config(server, context_tokens=256)
        summary = run_llm_episode(agent, OPTIONS, tmp_path)
    before, after = model.bodies[1], model.bodies[3]
    assert len(before["tools"]) > 10
    assert [t["function"]["name"] for t in after["tools"]] == [
        "edit_harness", "end_day", "read_harness", "write_note",
    ]  # fmt: skip
    assert "Prices first." in after["messages"][0]["content"]
    assert "Prices first." not in before["messages"][0]["content"]
    # its own reading of the harness came back as a tool result
    assert "summarisation" in json.loads(before["messages"][-1]["content"])["result"]
    # two versions: the config's and the good edit; the bad edit was a counted tool error
    assert summary["harness_versions"] == [agent.harness.hash, summary["harness_versions"][1]]
    assert summary["tool_errors"] == 1
    written = load_model(tmp_path / "harness.yaml", Harness)
    assert (
        written.system_prompt == "Prices first." and written.hash == summary["harness_versions"][1]
    )
    edits = [
        e.data
        for e in read_log(tmp_path / EVENTS_FILE)
        if e.kind == "action" and e.data["tool"] == "edit_harness"
    ]
    assert [e["ok"] for e in edits] == [True, False]
    assert Harness.model_validate(yaml.safe_load(edits[0]["args"]["content"])) == written
    # the context: notes laid out latest first, two of them; old turns as a daily digest
    last = model.bodies[-1]
    system = last["messages"][0]["content"]
    notes = [line for line in system.splitlines() if line.startswith("- note ")]
    assert len(notes) == 2 and notes[0] > notes[1]
    assert "Earlier turns, one line a day:\nday 0: read_harness ok, edit_harness ok" in system
    turns = last["messages"][3:]
    assert (
        estimate_tokens(turns)
        <= 256
        < estimate_tokens([m for b in model.bodies for m in b["messages"][3:]])
    )


def test_the_same_opening_line_keys_one_conversation() -> None:
    body = {"messages": [{"role": "system", "content": "a"}, {"role": "user", "content": "b"}]}
    other = {"messages": [{"role": "system", "content": "c"}, {"role": "user", "content": "b"}]}
    assert conversation_key(body) == conversation_key(other)


def test_agent_yaml_is_validated_with_file_line_and_field(tmp_path: Path) -> None:
    example = load_agent_config(EXAMPLE)
    assert example.harness.summarisation == "daily-digest"
    bad = tmp_path / "agent.yaml"
    bad.write_text("base_url: http://x/v1\nmodel: m\nharness:\n  notes_layout: sideways\n")
    with pytest.raises(InputError) as caught:
        load_agent_config(bad)
    assert caught.value.line == 4 and caught.value.field == "harness.notes_layout"
    bad.write_text("base_url: http://x/v1\nmodle: m\n")
    with pytest.raises(InputError, match=r"agent.yaml, line 1, field 'model'"):
        load_agent_config(bad)


def test_cli_runs_an_llm_agent_and_the_ledger_carries_its_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], baseline: dict[str, Any]
) -> None:
    db = f"sqlite:///{tmp_path}/p.db"
    with LoopbackServer(Script(tool_model=FollowAgent("root-cause"))) as server:
        path = tmp_path / "agent.yaml"
        path.write_text(yaml.safe_dump({"base_url": server.base_url, "model": "scripted"}))
        summary = run_json(
            capsys, "saas", "run", "--agent", "llm", "--agent-config", str(path),
            "--seed", str(SEED), "--preset", PRESET, "--days", str(DAYS),
            "--out", str(tmp_path / "run"), "--db", db,
        )  # fmt: skip
    assert summary["digest"] == baseline["digest"]
    entry = json.dumps(run_json(capsys, "ledger", "show", "--db", db))
    config_hash = load_agent_config(path).hash
    assert summary["agent_config_hash"] == config_hash
    for carried in (config_hash, summary["digest"], *summary["harness_versions"]):
        assert carried in entry
    assert "saas-agent-config" in entry


@pytest.mark.parametrize(
    "args", [["--agent", "llm"], ["--agent", "idle", "--agent-config", str(EXAMPLE)]]
)
def test_llm_and_agent_config_go_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, _, err = run_cli(
        capsys, "saas", "run", "--seed", "1", "--out", str(tmp_path / "x"), *args,
        "--db", f"sqlite:///{tmp_path}/p.db",
    )  # fmt: skip
    assert code == 1 and "go together" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
