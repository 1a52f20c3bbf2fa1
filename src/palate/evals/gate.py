"""Release gates: a policy written down before the evaluation, and the verdict it gives.

A criterion passes only when its whole interval clears the threshold and fails only when the
whole interval misses it; an interval that straddles the threshold is *inconclusive*, never a
pass. A non-inferiority criterion is the same test against ``threshold − margin``. A required
human audit that is missing makes the verdict inconclusive: the judges alone may not ship.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from palate.evals.evaluation import EvalResult
from palate.io.yamlfile import load_model

Verdict = Literal["pass", "fail", "inconclusive"]

METRICS = ("win_rate", "discrete_win_rate", "length_controlled_winrate")
"""What an evaluation reports, besides 'dimension:NAME': a gate on any other name could
never be decided."""


class Criterion(BaseModel):
    """One metric that must clear a threshold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = Field(
        description="'win_rate', 'discrete_win_rate', 'length_controlled_winrate' (percent) "
        "or 'dimension:NAME' (mean rubric score).",
    )
    at_least: float = Field(
        allow_inf_nan=False, description="The interval must lie above this value to pass."
    )
    margin: float = Field(
        default=0.0,
        ge=0,
        allow_inf_nan=False,
        description="Non-inferiority margin: the test is against at_least − margin.",
    )

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, metric: str) -> str:
        if metric not in METRICS and not (
            metric.startswith("dimension:") and metric != "dimension:"
        ):
            raise ValueError(
                f"unknown metric {metric!r}; an evaluation reports {', '.join(METRICS)} "
                "and dimension:NAME"
            )
        return metric


class HumanAudit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_labels: int = Field(ge=1, description="Human judgements the evaluation must include.")


class GatePolicy(BaseModel):
    """A release policy, registered in the ledger before the evaluation it judges."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="The gate's name, e.g. 'release-2026-12'.")
    description: str | None = Field(default=None, description="Why this gate exists.")
    alpha: float = Field(default=0.05, gt=0, lt=1, description="Interval level is 1 − alpha.")
    criteria: list[Criterion] = Field(min_length=1, description="All must pass.")
    human_audit: HumanAudit | None = Field(
        default=None, description="Human labels required before a pass."
    )
    no_contamination: bool = Field(
        default=False,
        description="Fail when the training run that produced the checkpoint found evaluation "
        "prompts in its data; inconclusive when no such check is recorded.",
    )


def load_policy(path: Path) -> GatePolicy:
    """Read a policy YAML file; errors name file, line and field."""
    return load_model(path, GatePolicy)


@dataclass(frozen=True)
class GateDecision:
    verdict: Verdict
    reasons: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "reasons": self.reasons}


def decide(
    policy: GatePolicy, result: EvalResult, contamination: int | None = None
) -> GateDecision:
    """The verdict of ``policy`` on ``result``: fail beats inconclusive beats pass.
    ``contamination``: evaluation prompts the checkpoint's training runs found in their data
    (None: no check recorded)."""
    reasons: list[str] = []
    verdicts: list[Verdict] = []
    if abs(result.spec.alpha - policy.alpha) > 1e-12:
        verdicts.append("inconclusive")
        reasons.append(
            f"evaluation used alpha={result.spec.alpha}, the policy asks for {policy.alpha}"
        )
    for criterion in policy.criteria:
        estimate = result.metric(criterion.metric)
        bar = criterion.at_least - criterion.margin
        if estimate is None:
            verdicts.append("inconclusive")
            reasons.append(f"{criterion.metric}: not measured by this evaluation")
            continue
        interval = f"{estimate.value:.2f} [{estimate.ci_low:.2f}, {estimate.ci_high:.2f}]"
        if estimate.ci_low >= bar:
            verdicts.append("pass")
            reasons.append(f"{criterion.metric} {interval} clears {bar:g}")
        elif estimate.ci_high < bar:
            verdicts.append("fail")
            reasons.append(f"{criterion.metric} {interval} is below {bar:g}")
        else:
            verdicts.append("inconclusive")
            reasons.append(f"{criterion.metric} {interval} straddles {bar:g}")
    if policy.human_audit is not None:
        have = result.counts.get("human_labels", 0)
        if have < policy.human_audit.min_labels:
            verdicts.append("inconclusive")
            reasons.append(
                f"human audit: {have} human labels, the policy requires "
                f"{policy.human_audit.min_labels}"
            )
    if policy.no_contamination:
        if contamination is None:
            verdicts.append("inconclusive")
            reasons.append("no contamination check is recorded for the checkpoint's training")
        elif contamination:
            verdicts.append("fail")
            reasons.append(f"contamination: {contamination} evaluation prompts in training data")
        else:
            verdicts.append("pass")
            reasons.append("contamination: no evaluation prompt found in the training data")
    verdict: Verdict = (
        "fail" if "fail" in verdicts else "inconclusive" if "inconclusive" in verdicts else "pass"
    )
    return GateDecision(verdict, reasons)
