"""Rollouts: 8 seeds serially, in local processes and on a local Ray give the same digests;
pass^k and the net-worth interval; the CLI writes episodes, report and ledger record."""

from __future__ import annotations

import itertools
import json
from math import comb
from pathlib import Path

import pytest
from scipy import stats

from palate.errors import InputError
from palate.saas.replay import replay
from palate.saas.rollouts import (
    on_ray,
    parse_seeds,
    pass_hat_k,
    pass_k_table,
    processes,
    run_rollout,
)
from palate.saas.run import EVENTS_FILE, RunOptions
from tests.helpers import run_cli, run_json

SEEDS = list(range(8))


def test_serial_processes_and_ray_give_the_same_digests(tmp_path: Path) -> None:
    base = RunOptions("symptom", 0, "quick", days=2)
    serial = run_rollout(base, SEEDS, tmp_path / "serial")
    local = run_rollout(base, SEEDS, tmp_path / "processes", processes(2), "processes")
    on_cluster = run_rollout(base, SEEDS, tmp_path / "ray", on_ray("local", 2), "ray")
    digests = [s["digest"] for s in serial.summaries]
    assert len(set(digests)) == len(SEEDS)  # the seeds really differ
    assert [s["digest"] for s in local.summaries] == digests
    assert [s["digest"] for s in on_cluster.summaries] == digests
    assert on_cluster.seeds == SEEDS and on_cluster.mode == "ray"
    # Each episode has its own directory, and its log replays to its digest.
    for seed in (0, 7):
        log = tmp_path / "ray" / f"seed-{seed}" / EVENTS_FILE
        assert replay(log).digest == digests[seed]
        assert log.read_bytes() == (tmp_path / "serial" / f"seed-{seed}" / EVENTS_FILE).read_bytes()


def test_pass_hat_k_is_unbiased_and_its_interval_covers() -> None:
    # E[C(c,k)/C(n,k)] over c ~ Binomial(n, p) is p^k exactly.
    n, p = 8, 0.7
    for k in (1, 3, 8):
        expected = sum(stats.binom.pmf(c, n, p) * pass_hat_k(c, n, k) for c in range(n + 1))
        assert expected == pytest.approx(p**k)
    table = pass_k_table([True] * 6 + [False] * 2)
    assert [t.k for t in table] == list(range(1, 9))
    assert table[0].estimate == 0.75 and table[1].estimate == comb(6, 2) / comb(8, 2)
    assert table[-1].estimate == 0.0  # 8 of 8 can never all pass with 2 failures seen
    ci = stats.binomtest(6, 8).proportion_ci(method="exact")
    assert table[0].ci_low == pytest.approx(ci.low) and table[0].ci_high == pytest.approx(ci.high)
    # The interval is p^k's: it holds the plug-in (6/8)^k and narrows towards 0 with k.
    assert all(t.ci_low <= 0.75**t.k <= t.ci_high for t in table)
    assert all(a.ci_high > b.ci_high for a, b in itertools.pairwise(table))
    every = pass_k_table([True] * 8)
    assert every[0].ci_high == 1.0 and every[0].ci_low < 1.0  # no collapse to a point


def test_parse_seeds() -> None:
    assert parse_seeds("0-3,7, 2") == [0, 1, 2, 3, 7]
    for bad in ("3-1", "x", "1-", "0-100000"):
        with pytest.raises(InputError):
            parse_seeds(bad)


def test_cli_rollout_report_and_ledger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, db = tmp_path / "roll", f"sqlite:///{tmp_path}/p.db"
    result = run_json(
        capsys, "saas", "rollout", "--agent", "breaker", "--seeds", "0-2", "--preset", "quick",
        "--days", "2", "--workers", "2", "--out", str(out), "--db", db,
    )  # fmt: skip
    assert result["mode"] == "processes" and result["seeds"] == [0, 1, 2]
    # The breaker takes the service down on day 0 and never recovers: every seed fails.
    assert result["passed"] == 0 and result["pass_k"][0]["estimate"] == 0.0
    assert all(not e["up_at_end"] for e in result["episodes"])
    net = result["net_worth_dollars"]
    assert net["ci_low"] <= net["value"] <= net["ci_high"] < 10_000  # lost money
    (out / "report.html").unlink()
    code, _, err = run_cli(capsys, "saas", "report", str(out))  # a rollout's report again
    assert code == 0, err
    html = (out / "report.html").read_text()
    assert "data:image/png;base64" in html and "pass^k" in html
    assert result["episodes"][2]["digest"] in html
    ledger = json.dumps(run_json(capsys, "ledger", "show", "--db", db))
    assert "saas.rollout" in ledger
    assert all(e["digest"] in ledger for e in result["episodes"])


@pytest.mark.parametrize(
    "args",
    [["--agent", "nobody"], ["--agent", "idle", "--seeds", "5-1"],
     ["--agent", "idle", "--preset", "huge"], ["--agent", "idle", "--out", "/dev/null"]],
)  # fmt: skip
def test_bad_rollout_arguments_exit_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    seeds = [] if "--seeds" in args else ["--seeds", "0-1"]
    out = [] if "--out" in args else ["--out", str(tmp_path / "x")]
    argv = [*seeds, *out, *args]
    code, _, err = run_cli(
        capsys, "saas", "rollout", *argv,
        "--db", f"sqlite:///{tmp_path}/p.db",
    )  # fmt: skip
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "x").exists()
