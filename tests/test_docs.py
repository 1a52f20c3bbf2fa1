"""The documentation works as written: the guides' and the README's code runs, and the site
builds strictly.

Each guide's ``bash`` and ``python`` blocks run in order in one fresh folder (its store on
SQLite, ``data`` linked to the shipped data), as a reader would run them; other fences
(yaml, text, sh) are shown, not run. The README's ``bash`` blocks run the same way in a folder
laid out like a checkout: ``../shared/data`` beside it, ``src`` and ``examples`` in it, and the
``.venv`` that ``make demo`` creates. A block that serves until stopped (``palate serve``) is
started, must answer on its port, and must exit cleanly on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import palate
from palate.ledger import Ledger
from palate.loop.run import STAGES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
GUIDES = ["index.md", "guides/evaluate-a-model.md", "guides/run-a-rater-project.md",
          "guides/serve-the-studio.md", "guides/audit-a-release.md", "guides/ship-safely.md",
          "guides/run-a-business-with-an-agent.md"]  # fmt: skip


def code_blocks(markdown: str) -> list[tuple[str, str]]:
    """(language, code) of each fenced block that runs: bash or python."""
    return [(lang, code) for lang, code in FENCE.findall(markdown) if lang in ("bash", "python")]


def _environment(folder: Path) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT / "src"),
        "PALATE_DB_URL": f"sqlite:///{folder / 'palate.db'}",
        "PALATE_KEY_DIR": str(folder / "keys"),
    }


@pytest.mark.slow  # a dozen palate processes per guide, each paying the start-up (issue 22)
@pytest.mark.parametrize("guide", GUIDES)
def test_guide_runs_as_written(guide: str, tmp_path: Path, shared_data: Path) -> None:
    (tmp_path / "data").symlink_to(shared_data)
    blocks = code_blocks((DOCS / guide).read_text(encoding="utf-8"))
    assert blocks, f"{guide} has no code to run"
    env = _environment(tmp_path)
    for number, (language, code) in enumerate(blocks, 1):
        command = ["bash", "-euo", "pipefail", "-c", code] if language == "bash" else [
            sys.executable, "-c", code]  # fmt: skip
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)  # fmt: skip
        assert done.returncode == 0, f"{guide} block {number} ({language}):\n{done.stderr}"


def test_every_guide_is_tested() -> None:
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    shown_only = {"reference.md", "training-on-gpus.md"}  # API pages; GPU commands need GPUs
    assert pages - shown_only == set(GUIDES)


def test_site_builds_strictly(tmp_path: Path) -> None:
    """mkdocs with the API reference from docstrings; a broken link or reference fails."""
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "win_rates" in (tmp_path / "reference" / "index.html").read_text(encoding="utf-8")


README_RUN = {
    1: "the demo",
    2: "a short tour",
    3: "statistics that hold up with weaker judges",
    4: "rubrics, judges, routing (against the loopback judge)",
    5: "train DPO and a reward model on tiny settings, gate, evaluate, card, verify the ledger",
    7: "generate, judge, and the loop on tiny checkpoints (loopback server), resumed, on Ray",
    8: "governance evidence: licences, contamination, revocation",
    9: "red-team suites and critique-revision (against the loopback server)",
}
README_SERVE = {6: 8000}  # blocks that serve until stopped, and the port they answer on
README_PENDING = {  # blocks not yet runnable as written, each with what it lacks
    0: "make demo / make test: CI's own set-up and suite (make test runs this test)",
}


def _readme_blocks() -> list[str]:
    return [code for lang, code in code_blocks((ROOT / "README.md").read_text("utf-8"))
            if lang == "bash"]  # fmt: skip


def test_every_readme_block_is_run_or_accounted_for() -> None:
    accounted = [README_RUN.keys(), README_SERVE.keys(), README_PENDING.keys()]
    assert set(range(len(_readme_blocks()))) == set().union(*accounted)
    assert sum(map(len, accounted)) == len(set().union(*accounted))  # each in one place


def _run_block(code: str, folder: Path, env: dict[str, str], what: str) -> str:
    """Run one block to its end; its stdout."""
    # its own session: if it hangs, it goes with any server it started
    block = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", code], cwd=folder, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = block.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(block.pid, signal.SIGKILL)  # not yet reaped, so the group is still ours
        block.communicate()
        raise
    assert block.returncode == 0, f"README block {what}:\n{stderr}"
    return stdout


def _loop_stages(store: palate.Store) -> dict[str, Any]:
    """What each loop stage recorded that must not depend on where it ran: its fingerprint, the
    content of the generations it stored (judgements carry each call's latency, so they and the
    truth built on them differ run to run), the checkpoint it named and the gate's verdict."""
    stages = {}
    for entry in Ledger(store).entries():
        if entry.record["activity"] == "loop-stage":
            attributes, outputs = entry.record["attributes"], entry.record["attributes"]["outputs"]
            generated = attributes["stage"].startswith("generate")
            rows = [g["hash"] for g in entry.record["generated"] if g["kind"] == "dataset-rows"]
            stages[attributes["stage"]] = (
                attributes["fingerprint"], rows if generated else None,
                outputs.get("checkpoint_hash"), outputs.get("verdict"),
            )  # fmt: skip
    return stages


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _serve_block(code: str, folder: Path, env: dict[str, str], port: int) -> None:
    """Start a block that serves until stopped, wait until it answers, stop it as a user would
    (Ctrl-C) and check that it shut down cleanly."""
    assert not _answers(port), f"something already answers on port {port}"
    block = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", code], cwd=folder, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not _answers(port):
            assert block.poll() is None, f"README serve block exited: {block.communicate()[1]}"
            assert time.monotonic() < deadline, "README serve block never answered /health"
            time.sleep(0.5)
        os.killpg(block.pid, signal.SIGINT)
        _, stderr = block.communicate(timeout=60)
    finally:
        if block.returncode is None:
            os.killpg(block.pid, signal.SIGKILL)
            block.communicate()
    assert block.returncode == 0, f"README serve block did not stop cleanly:\n{stderr}"


@pytest.mark.slow  # 27k battles, the demo, statistics, judges, tiny trainings: 6.6 min at load 5
def test_readme_runs_as_written(tmp_path: Path, shared_data: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "data").symlink_to(shared_data)
    checkout = tmp_path / "palate"
    (checkout / ".venv" / "bin").mkdir(parents=True)
    (checkout / "src").symlink_to(ROOT / "src")
    # a copy: the example configs name paths relative to themselves (ckpt-a, ../loop-out)
    shutil.copytree(ROOT / "examples", checkout / "examples")
    bin_dir = Path(sys.executable).parent
    (checkout / ".venv" / "bin" / "activate").write_text(f'export PATH="{bin_dir}:$PATH"\n')
    env = _environment(checkout)
    blocks = _readme_blocks()
    out = {}
    for number in sorted(README_RUN.keys() | README_SERVE.keys()):
        if number in README_SERVE:
            _serve_block(blocks[number], checkout, env, README_SERVE[number])
        else:
            out[number] = _run_block(
                blocks[number], checkout, env, f"{number} ({README_RUN[number]})"
            )
    assert (checkout / "demo-out" / "report.html").is_file()
    assert (checkout / "alpaca-7b.trl.jsonl").stat().st_size > 0
    assert (checkout / "judge.yaml").is_file()
    assert (checkout / "ckpt-a" / "config.json").is_file()
    assert (checkout / "evalset.jsonl").is_file()
    assert (checkout / "redteam.json").is_file()
    # training, evaluation, release
    trained = json.loads((checkout / "ckpt-b" / "run.json").read_text("utf-8"))
    assert (checkout / "ckpt-b" / "checkpoint" / "config.json").is_file() and trained[
        "checkpoint_hash"
    ]
    assert json.loads((checkout / "rm-hh" / "run.json").read_text("utf-8"))["checkpoint_hash"]
    assert (checkout / "eval.html").stat().st_size > 0
    gate = [json.loads(line) for line in out[5].splitlines() if line.startswith('{"verdict"')]
    assert len(gate) == 1 and gate[0]["policy"] == "release"
    assert gate[0]["verdict"] in ("pass", "fail", "inconclusive") and gate[0]["reasons"]
    card = (checkout / "ckpt-b" / "checkpoint" / "README.md").read_text("utf-8")
    assert json.loads((checkout / "eval.json").read_text("utf-8"))["run"] in card
    # the loop: its summary, every stage in the ledger, and a Ray run with the same outcome
    assert (checkout / "loop-out" / "moon-1-summary.html").is_file()
    with palate.Store(env["PALATE_DB_URL"]) as store:
        assert palate.ledger.verify(store).ok
        local = _loop_stages(store)
    with palate.Store(f"sqlite:///{checkout / 'ray.db'}") as store:
        assert _loop_stages(store) == local
    assert len(local) == len(STAGES)
