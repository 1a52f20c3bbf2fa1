"""``palate saas run|replay|report`` as a user runs them (in this process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli, run_json

KEYS = {
    "agent", "seed", "days", "net_worth_cents", "revenue_cents", "customers_start",
    "customers_end", "churned", "uptime", "breaches", "incidents", "tickets", "digest",
}  # fmt: skip


def test_run_replay_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    db = f"sqlite:///{tmp_path}/p.db"
    summary = run_json(
        capsys, "saas", "run", "--agent", "greedy-pricer", "--seed", "2", "--preset", "quick",
        "--days", "2", "--out", str(out), "--db", db,
    )  # fmt: skip
    assert set(summary) == KEYS
    assert summary["days"] == 2 and summary["agent"] == "greedy-pricer"

    replayed = run_json(capsys, "saas", "replay", str(out / "events.jsonl"))
    assert replayed == {
        "digest": summary["digest"],
        "net_worth_cents": summary["net_worth_cents"],
    }
    ledger = run_json(capsys, "ledger", "show", "--db", db)
    assert summary["digest"] in json.dumps(ledger)

    code, _, err = run_cli(capsys, "saas", "report", str(out))
    assert code == 0, err
    html = (out / "report.html").read_text()
    assert "data:image/png;base64" in html and "set_price" in html


@pytest.mark.parametrize(
    "args",
    [
        ["--agent", "nobody"],
        ["--agent", "idle", "--preset", "huge"],
        ["--agent", "idle", "--days", "0"],
    ],
)
def test_bad_run_arguments_exit_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, _, err = run_cli(
        capsys, "saas", "run", "--seed", "1", "--out", str(tmp_path / "x"), *args,
        "--db", f"sqlite:///{tmp_path}/p.db",
    )  # fmt: skip
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "x" / "events.jsonl").exists()


def test_missing_and_corrupt_logs_exit_1_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "saas", "replay", str(tmp_path / "missing.jsonl"))
    assert code == 1 and "no such event log" in err
    corrupt = tmp_path / "events.jsonl"
    corrupt.write_text('{"i": 0, "day": 0}\n')
    code, _, err = run_cli(capsys, "saas", "replay", str(corrupt))
    assert code == 1 and "line 1" in err and len(err.strip().splitlines()) == 1
