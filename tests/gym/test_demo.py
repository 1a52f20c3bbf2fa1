"""``palate demo --quick`` end to end: the claims hold, the report is written, the ledger
verifies, the same seed gives the same summary, and the claims hold for other seeds too."""

from __future__ import annotations

from pathlib import Path

import pytest

from palate.gym import GymConfig, run_demo
from palate.ledger import Ledger
from palate.store import Store
from tests.helpers import run_cli, run_json


def test_demo_quick_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    summary = run_json(capsys, "demo", "--quick", "--out", str(out))
    assert summary["checks"] == {name: True for name in summary["checks"]}, summary["checks"]
    anchored, checkbox = summary["arms"]["anchored"], summary["arms"]["checkbox"]
    assert anchored["final_gold_win_rate"]["ci_low"] > 0.5
    assert checkbox["final_gold_win_rate"]["ci_high"] < anchored["final_gold_win_rate"]["ci_low"]
    assert checkbox["alarm_fired"] and not anchored["alarm_fired"]
    # humans were spent where palate routes them, and only audits on the checkbox arm
    assert anchored["human_labels"] > checkbox["human_labels"] > 0
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3
    assert (out / "goodhart.png").stat().st_size > 10_000
    verified = run_json(capsys, "ledger", "verify", "--db", f"sqlite:///{out / 'demo.db'}")
    assert verified["ok"] and verified["records"] == summary["ledger"]["records_added"]

    # the same seed writes the same bytes (a fresh store each time)
    first = (out / "summary.json").read_bytes()
    code, text, err = run_cli(capsys, "demo", "--quick", "--out", str(out))
    assert code == 0, err
    assert "alarm fires on checkbox" in text
    assert (out / "summary.json").read_bytes() == first


@pytest.mark.parametrize("seed", [1, 2])
def test_claims_hold_for_other_seeds(tmp_path: Path, seed: int) -> None:
    result = run_demo(GymConfig.quick(seed), Store(f"sqlite:///{tmp_path / 'gym.db'}"), tmp_path)
    assert result.summary["checks"] == {k: True for k in result.summary["checks"]}, seed


def test_dpo_variant_runs_and_records_every_round(tmp_path: Path) -> None:
    """The offline (DPO) variant trains on the judged pairs; tiny sizes, no claims checked."""
    config = GymConfig(
        algorithm="dpo",
        rounds=2,
        pairs_per_round=32,
        eval_pairs=32,
        warmup_pairs=16,
        routed_pairs=8,
        audit_pairs=8,
    )
    store = Store(f"sqlite:///{tmp_path / 'gym.db'}")
    result = run_demo(config, store, tmp_path)
    for arm in ("checkbox", "anchored"):
        rounds = result.summary["arms"][arm]["rounds"]
        assert [r["round"] for r in rounds] == [1, 2]
        assert all(r["train_pairs"] > 0 for r in rounds)
    start = result.summary["arms"]["anchored"]["final_checkpoint"]
    assert start != result.summary["arms"]["checkbox"]["final_checkpoint"]
    # warm-up, start, and one record per arm per round; the stored judgements each come with
    # the record that accounts for them (gym.store), each round's poems with palate
    # generate's record (generate), naming the policy checkpoint they came from
    entries = list(Ledger(store).entries())
    activities = [e.record["activity"] for e in entries]
    rounds_and_setup = [a for a in activities if a not in ("gym.store", "generate")]
    assert len(rounds_and_setup) == 2 + 2 * 2 and "gym.store" in activities
    generated = [e.record for e in entries if e.record["activity"] == "generate"]
    assert len(generated) == 2 * 2
    checkpoints = {
        ref["hash"] for record in generated for ref in record["used"] if ref["kind"] == "checkpoint"
    }
    assert len(checkpoints) == 3  # the start (round 1 of both arms), then each arm's own
    poems = store.count("gym-s0-anchored-poems-r2")
    assert poems == 2 * config.pairs_per_round
    assert result.summary["ledger"] == {"ok": True, "records_added": len(activities)}
