"""``palate saas run|replay|report`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

KEYS = set(
    [
        "agent",
        "seed",
        "days",
        "net_worth_cents",
        "revenue_cents",
        "customers_start",
        "customers_end",
        "churned",
        "uptime",
        "breaches",
        "incidents",
        "tickets",
        "digest",
    ]
)


def palate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "palate", *args], capture_output=True, text=True, cwd=cwd,
        timeout=300,
    )  # fmt: skip


def test_run_replay_report(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = palate(
        "saas", "run", "--agent", "greedy-pricer", "--seed", "2", "--preset", "quick",
        "--days", "2", "--out", str(out), "--json", "--db", f"sqlite:///{tmp_path}/p.db",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert set(summary) == KEYS
    assert summary["days"] == 2 and summary["agent"] == "greedy-pricer"

    replayed = palate("saas", "replay", str(out / "events.jsonl"), "--json", cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout) == {
        "digest": summary["digest"],
        "net_worth_cents": summary["net_worth_cents"],
    }
    ledger = palate("ledger", "show", "--json", "--db", f"sqlite:///{tmp_path}/p.db", cwd=tmp_path)
    assert summary["digest"] in ledger.stdout

    reported = palate("saas", "report", str(out), cwd=tmp_path)
    assert reported.returncode == 0, reported.stderr
    html = (out / "report.html").read_text()
    assert "data:image/png;base64" in html and "set_price" in html


def test_bad_arguments_and_corrupt_logs_exit_1_with_one_line(tmp_path: Path) -> None:
    for args in (
        ["saas", "run", "--agent", "nobody", "--seed", "1", "--out", str(tmp_path / "x")],
        ["saas", "run", "--agent", "idle", "--seed", "1", "--preset", "huge",
         "--out", str(tmp_path / "x")],
        ["saas", "run", "--agent", "idle", "--seed", "1", "--days", "0",
         "--out", str(tmp_path / "x")],
        ["saas", "replay", str(tmp_path / "missing.jsonl")],
    ):  # fmt: skip
        done = palate(*args, cwd=tmp_path)
        assert done.returncode == 1, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    corrupt = tmp_path / "events.jsonl"
    corrupt.write_text('{"i": 0, "day": 0}\n')
    done = palate("saas", "replay", str(corrupt), cwd=tmp_path)
    assert done.returncode == 1 and "line 1" in done.stderr
