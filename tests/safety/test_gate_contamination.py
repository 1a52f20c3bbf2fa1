"""A gate that requires no contamination: fail, pass or inconclusive from the recorded check."""

from __future__ import annotations

import pytest

from palate.evals.evaluation import EvalResult, EvalSpec
from palate.evals.gate import Criterion, GatePolicy, decide
from palate.evals.interval import Estimate


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
