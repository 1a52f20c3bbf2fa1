"""A real kill: ``palate saas run --agent llm`` as its own process, SIGKILLed mid-episode while
a model call is in flight, leaves no process behind (its contained product service dies with
it) and, rerun, ends with the root-cause baseline's digest without any call answered twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import yaml

from palate.saas.run import RunOptions, run_episode
from palate.saas.scripted_models import FollowAgent
from palate.testing.loopback import LoopbackServer, Script

ROOT = Path(__file__).resolve().parents[2]
SEED, PRESET, DAYS = 5, "quick", 3
DAY_0_CALLS = 8
"""Calls the root-cause agent makes on day 0 of this episode (snapshot taken after them)."""


def wait_until_gone(processes: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    """The processes still running (zombies count as gone) after up to ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        alive = []
        for process in processes:
            try:
                if process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def test_sigkill_mid_episode_leaves_nothing_running_and_resumes(tmp_path: Path) -> None:
    baseline = run_episode(RunOptions("root-cause", SEED, PRESET, DAYS), tmp_path / "baseline")
    # TMPDIR: what the killed run leaves in its temporary directories stays in tmp_path
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TMPDIR": str(tmp_path / "tmp")}
    faults = Script(
        tool_model=FollowAgent("root-cause"),
        latency_s=0.2,  # a call in flight long enough to be killed in
        fault_rate=0.5,
        faults=("429", "500", "drop"),
        retry_after="0",
        seed=3,
    )
    with LoopbackServer(faults) as server:
        agent = tmp_path / "agent.yaml"
        config = {"base_url": server.base_url, "model": "scripted", "backoff_base_s": 0.01}
        agent.write_text(yaml.safe_dump(config))
        command = [
            sys.executable, "-m", "palate", "saas", "run", "--agent", "llm",
            "--agent-config", str(agent), "--seed", str(SEED), "--preset", PRESET,
            "--days", str(DAYS), "--out", str(tmp_path / "run"),
            "--db", f"sqlite:///{tmp_path}/p.db", "--json",
        ]  # fmt: skip
        run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        descendants: list[psutil.Process] = []
        try:
            # Kill while the 12th distinct request waits for its answer: day 0's 8 calls are in
            # the snapshot, day 1's first 3 in the store's cache, the 12th in neither.
            deadline = time.monotonic() + 120
            while len(server.stats.by_body) < DAY_0_CALLS + 4:
                assert run.poll() is None, run.communicate()[1].decode()[-2000:]
                assert time.monotonic() < deadline
                time.sleep(0.01)
            descendants = psutil.Process(run.pid).children(recursive=True)
            run.send_signal(signal.SIGKILL)
            run.communicate()
            # the product service was running, and died with its parent
            assert descendants
            assert wait_until_gone(descendants, 10) == []
        finally:
            for process in wait_until_gone(descendants, 0):  # only on failure: ours to end
                process.kill()
        assert (tmp_path / "run" / "snapshot").is_dir()
        assert not (tmp_path / "run" / "events.jsonl").exists()
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        stats = server.stats
    summary = json.loads(rerun.stdout)
    assert summary["digest"] == baseline["digest"]
    assert {"429", "500", "drop"} <= set(stats.by_status)  # the faults did happen
    assert stats.by_status["gone"] >= 1  # the call in flight at the kill was never answered
    assert max(stats.answered.values()) == 1  # and no request was answered twice
    assert summary["cache_hits"] == 3  # day 1's calls before the kill
    # every request was answered once: before the kill (day 0's, restored with the snapshot,
    # and day 1's first 3, now cache hits) or after the rerun
    assert sum(stats.answered.values()) == summary["model_calls"] + summary["cache_hits"]
