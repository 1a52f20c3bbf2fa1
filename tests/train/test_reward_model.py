"""`palate train reward` (embedding + Bradley-Terry head) on real HH-RLHF pairs: trained on
80%, it must beat a length-only baseline on the other 20%, with its interval reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_json


@pytest.mark.slow
def test_embedding_reward_model_beats_length(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'hh.db'}"
    source = shared_data / "hh-rlhf" / "harmless-base-test.jsonl.gz"
    imported = run_json(
        capsys, "import", str(source), "--format", "trl", "--dataset", "hh", "--db", db
    )
    assert imported["records"] > 2000
    config = tmp_path / "rm.yaml"
    config.write_text(
        f"kind: embedding\ndataset: hh\noutput_dir: {tmp_path / 'rm'}\nseed: 0\nholdout: 0.2\n"
        # Short inputs keep MiniLM's encoding of ~7,000 texts to about a minute on 2 cores.
        "response_tokens: 48\nprompt_tokens: 32\n"
    )
    out = run_json(capsys, "train", "reward", "--config", str(config), "--db", db)
    metrics = out["metrics"]
    assert metrics["heldout_pairs"] == round(
        0.2 * (metrics["heldout_pairs"] + metrics["train_pairs"])
    )
    assert metrics["heldout_ci_low"] < metrics["heldout_accuracy"] < metrics["heldout_ci_high"]
    assert metrics["heldout_accuracy"] > metrics["heldout_length_baseline_accuracy"]
    record = json.loads((tmp_path / "rm" / "run.json").read_text())
    assert record["checkpoint_hash"] == out["checkpoint_hash"]
    print(  # the figures, for the log
        f"held-out accuracy {metrics['heldout_accuracy']:.3f} "
        f"[{metrics['heldout_ci_low']:.3f}, {metrics['heldout_ci_high']:.3f}] vs length "
        f"{metrics['heldout_length_baseline_accuracy']:.3f}"
    )
