"""A gate that requires no contamination (fail, pass or inconclusive from the recorded check),
or that excludes the flagged evaluation prompts and decides on the rest."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from palate.evals.evaluation import EvalResult, EvalSpec
from palate.evals.gate import Criterion, GatePolicy, decide
from palate.evals.interval import Estimate
from palate.ledger import EntityRef, Ledger
from palate.safety.contamination import check_training_data
from palate.store import Store
from tests.helpers import run_json

BASELINE = "gpt4_1106_preview"
CKPT = "ab" * 32


@pytest.mark.parametrize(
    ("contamination", "verdict"), [(None, "inconclusive"), (0, "pass"), (3, "fail")]
)
def test_no_contamination_criterion(contamination: int | None, verdict: str) -> None:
    result = EvalResult(
        spec=EvalSpec(dataset="d", candidate="c", baseline="b"),
        metrics={"win_rate": Estimate(60.0, 55.0, 65.0, 100, 0.05)},
        counts={},
        outputs_hash="x",
    )
    policy = GatePolicy(
        name="g", criteria=[Criterion(metric="win_rate", at_least=50)], no_contamination=True
    )
    decision = decide(policy, result, contamination)
    assert decision.verdict == verdict
    assert (
        decide(policy.model_copy(update={"no_contamination": False}), result, 3).verdict == "pass"
    )


def test_exclude_flagged_drops_contaminated_prompts_and_says_how_many(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    path = shared_data / "alpacaeval/annotations/claude-2.1.json.gz"
    with gzip.open(path, "rt") as f:
        rows = json.load(f)
    candidate = str(rows[0]["generator_2"])
    run_json(capsys, "import", str(path), "--dataset", "alpaca", "--db", url)
    train = tmp_path / "tr.jsonl"
    with train.open("w") as fh:
        for i, row in enumerate(rows[:20]):
            fh.write(json.dumps({"kind": "comparison", "prompt": {"text": row["instruction"]},
                     "responses": [{"text": "a"}, {"text": f"b{i}"}], "winner": 0,
                     "judge": {"kind": "human", "name": "r"}}) + "\n")  # fmt: skip
    run_json(capsys, "import", str(train), "--format", "jsonl", "--db", url)
    policy = tmp_path / "x.yaml"
    policy.write_text("name: x\nexclude_flagged: true\ncriteria:\n"
                      "  - {metric: win_rate, at_least: 0}\n")  # fmt: skip
    run_json(capsys, "gate", "register", str(policy), "--db", url)
    run = run_json(capsys, "eval", "run", "--candidate", candidate, "--baseline", BASELINE,
                   "--set", "alpaca", "--candidate-hash", CKPT, "--n-bootstrap", "200",
                   "--no-length-controlled", "--db", url)  # fmt: skip
    gate = run_json(capsys, "gate", "check", "--policy", "x", "--eval", run["run"], "--db", url)
    assert gate["verdict"] == "inconclusive"  # no check recorded: flagged prompts unknown

    with Store(url) as store:
        ledger = Ledger(store)
        contamination = check_training_data(store, "tr")
        ledger.append(
            "train-sft",
            agent="palate train",
            used=[ledger.dataset_rows("tr")],
            generated=[EntityRef(kind="checkpoint", id="out", hash=CKPT)],
            attributes={"run": "r1", "seed": 1, "training_rows": 20,
                        "contamination": contamination},
        )  # fmt: skip
    flagged = {f["eval_item"] for f in contamination["by_eval_set"]["alpaca"]["flagged"]}
    assert len(flagged) >= 20
    gate = run_json(capsys, "gate", "check", "--policy", "x", "--eval", run["run"], "--db", url)
    assert gate["verdict"] == "pass", gate["reasons"]
    left = run["counts"]["prompts"] - len(flagged)
    assert f"contamination: {len(flagged)} flagged evaluation prompts excluded from the " \
        f"evaluation; {left} prompts left" in gate["reasons"]  # fmt: skip
    with Store(url) as store:
        record = list(Ledger(store).entries())[-1].record
    recomputed = record["attributes"]["without_flagged"]
    assert recomputed["counts"]["prompts"] == left
    assert recomputed["metrics"]["win_rate"]["n"] < run["metrics"]["win_rate"]["n"]
    assert len(recomputed["spec"]["exclude_items"]) == len(flagged)
