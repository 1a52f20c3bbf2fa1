"""Rollouts of the LLM agent: driven by a scripted model that follows the root-cause baseline,
8 seeds in local processes and on a local Ray give the serial run's digests; the CLI caches
the calls of parallel workers in one SQLite store, so a rerun asks the model nothing; the
report and the ledger carry the model's figures and config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from palate.errors import PalateError
from palate.saas.llm_agent import AgentConfig
from palate.saas.rollouts import Rollout, on_ray, processes, run_rollout, serial
from palate.saas.run import RunOptions
from palate.saas.scripted_models import FollowAgent
from palate.testing.loopback import LoopbackServer, Script
from tests.helpers import run_json

SEEDS = list(range(8))
PRESET, DAYS = "quick", 1


def llm_rollout(runner: Any, mode: str, out: Path) -> tuple[Rollout, int]:
    """The rollout against a fresh scripted model, and how many requests that model got."""
    with LoopbackServer(Script(tool_model=FollowAgent("root-cause"))) as server:
        config = AgentConfig(base_url=server.base_url, model="scripted")
        base = RunOptions("llm", 0, PRESET, DAYS, agent_config=config)
        rollout = run_rollout(base, SEEDS, out, runner, mode)
        return rollout, server.stats.requests


@pytest.fixture(scope="module")
def serial_digests(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    out = tmp_path_factory.mktemp("llm-serial")
    rollout, requests = llm_rollout(serial, "serial", out)
    digests = [s["digest"] for s in rollout.summaries]
    assert len(set(digests)) == len(SEEDS)  # the seeds really differ
    assert requests == sum(s["model_calls"] for s in rollout.summaries) > len(SEEDS)
    return digests


def test_llm_rollout_in_processes_gives_the_serial_digests(
    serial_digests: list[str], tmp_path: Path
) -> None:
    rollout, requests = llm_rollout(processes(2), "processes", tmp_path)
    assert [s["digest"] for s in rollout.summaries] == serial_digests
    model = rollout.model_use()
    assert model is not None and model["model_calls"] == requests
    assert model["tool_errors"] == 0 and model["derailed_episodes"] == 0


def test_llm_rollout_on_ray_gives_the_serial_digests(
    serial_digests: list[str], tmp_path: Path
) -> None:
    rollout, _ = llm_rollout(on_ray("local", 2), "ray", tmp_path)
    assert [s["digest"] for s in rollout.summaries] == serial_digests
    assert rollout.mode == "ray"


def test_an_llm_rollout_needs_its_config_and_a_config_needs_llm(tmp_path: Path) -> None:
    config = AgentConfig(base_url="http://127.0.0.1:9/v1", model="m")
    for base in (RunOptions("llm", 0, PRESET), RunOptions("idle", 0, PRESET, agent_config=config)):
        with pytest.raises(PalateError, match="go together"):
            run_rollout(base, [0], tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_cli_llm_rollout_caches_parallel_calls_in_one_sqlite_store(
    serial_digests: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path}/p.db"
    with LoopbackServer(Script(tool_model=FollowAgent("root-cause"))) as server:
        path = tmp_path / "agent.yaml"
        path.write_text(yaml.safe_dump({"base_url": server.base_url, "model": "scripted"}))

        def rollout(out: str) -> tuple[dict[str, Any], int]:
            before = server.stats.requests
            result = run_json(
                capsys, "saas", "rollout", "--agent", "llm", "--agent-config", str(path),
                "--seeds", "0-7", "--preset", PRESET, "--days", str(DAYS), "--workers", "4",
                "--out", str(tmp_path / out), "--db", db, "--json",
            )  # fmt: skip
            return result, server.stats.requests - before

        first, asked = rollout("first")
        # four processes wrote their calls into one SQLite file; the rerun takes every call
        # from it and asks the model nothing
        again, asked_again = rollout("again")
    assert [e["digest"] for e in first["episodes"]] == serial_digests
    assert [e["digest"] for e in again["episodes"]] == serial_digests
    assert first["model_use"]["model_calls"] == asked > 0
    assert asked_again == 0 and again["model_use"]["model_calls"] == 0
    assert again["model_use"]["cache_hits"] == asked
    assert first["mode"] == "processes" and len(first["pass_k"]) == len(SEEDS)
    assert first["net_worth_dollars"]["ci_low"] <= first["net_worth_dollars"]["value"]
    html = (tmp_path / "first" / "report.html").read_text()
    assert "The language model" in html and "pass^k" in html
    ledger = json.dumps(run_json(capsys, "ledger", "show", "--db", db))
    assert "saas.rollout" in ledger and "saas-agent-config" in ledger
    assert first["model_use"]["agent_config_hash"] in ledger
