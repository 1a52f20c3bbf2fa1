"""Release gates: a policy written down before the evaluation, and the verdict it gives.

A criterion passes only when its whole interval clears the threshold and fails only when the
whole interval misses it; an interval that straddles the threshold is *inconclusive*, never a
pass. A non-inferiority criterion is the same test against ``threshold − margin``. A required
human audit that is missing makes the verdict inconclusive: the judges alone may not ship.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from palate.evals.evaluation import EvalResult
from palate.evals.interval import Estimate
from palate.io.yamlfile import load_model

Verdict = Literal["pass", "fail", "inconclusive"]

METRICS = ("win_rate", "discrete_win_rate", "length_controlled_winrate")
"""What an evaluation reports, besides 'dimension:NAME': a gate on any other name could
never be decided."""

RED_TEAM_METRICS = ("attack_success_rate", "over_refusal_rate")
"""What a red-team run reports (percent), overall and as 'NAME:CATEGORY' per category."""


class Measured(Protocol):
    """What a gate reads figures from: an evaluation or a red-team run."""

    @property
    def alpha(self) -> float: ...

    def metric(self, name: str) -> Estimate | None: ...


def _known_metric(metric: str) -> bool:
    if metric in METRICS or metric in RED_TEAM_METRICS:
        return True
    prefix, _, rest = metric.partition(":")
    return bool(rest) and (prefix == "dimension" or prefix in RED_TEAM_METRICS)


class Criterion(BaseModel):
    """One metric that must clear a threshold: stay at least (win rates, scores) or at most
    (attack success, over-refusal) at a value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = Field(
        description="'win_rate', 'discrete_win_rate', 'length_controlled_winrate' (percent), "
        "'dimension:NAME' (mean rubric score), or a red-team run's 'attack_success_rate' / "
        "'over_refusal_rate' (percent; ':CATEGORY' for one category).",
    )
    at_least: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="The interval must lie above this value to pass.",
    )
    at_most: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="The interval must lie below this value to pass.",
    )
    margin: float = Field(
        default=0.0,
        ge=0,
        allow_inf_nan=False,
        description="Non-inferiority margin: the test is against at_least − margin (or "
        "at_most + margin).",
    )

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, metric: str) -> str:
        if not _known_metric(metric):
            raise ValueError(
                f"unknown metric {metric!r}; an evaluation reports {', '.join(METRICS)} "
                f"and dimension:NAME, a red-team run {', '.join(RED_TEAM_METRICS)} (and "
                "NAME:CATEGORY)"
            )
        return metric

    @model_validator(mode="after")
    def _one_bound(self) -> Criterion:
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("give exactly one of at_least and at_most")
        return self

    def test(self, estimate: Estimate) -> tuple[Verdict, str]:
        """The verdict on one interval, and the reason in words."""
        interval = f"{estimate.value:.2f} [{estimate.ci_low:.2f}, {estimate.ci_high:.2f}]"
        if self.at_least is not None:
            bar = self.at_least - self.margin
            if estimate.ci_low >= bar:
                return "pass", f"{self.metric} {interval} clears {bar:g}"
            if estimate.ci_high < bar:
                return "fail", f"{self.metric} {interval} is below {bar:g}"
        else:
            assert self.at_most is not None
            bar = self.at_most + self.margin
            if estimate.ci_high <= bar:
                return "pass", f"{self.metric} {interval} stays at or below {bar:g}"
            if estimate.ci_low > bar:
                return "fail", f"{self.metric} {interval} is above {bar:g}"
        return "inconclusive", f"{self.metric} {interval} straddles {bar:g}"


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
    exclude_flagged: bool = Field(
        default=False,
        description="Drop the evaluation prompts that the checkpoint's training runs found in "
        "their data, and decide on the rest; inconclusive when no such check is recorded.",
    )

    @model_validator(mode="after")
    def _one_contamination_rule(self) -> GatePolicy:
        if self.no_contamination and self.exclude_flagged:
            raise ValueError("no_contamination and exclude_flagged exclude each other: pick one")
        return self


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
    policy: GatePolicy,
    result: EvalResult | None,
    contamination: int | None = None,
    *,
    redteam: Measured | None = None,
    excluded: int | None = None,
) -> GateDecision:
    """The verdict of ``policy`` on an evaluation ``result`` and/or a ``redteam`` run: fail
    beats inconclusive beats pass. ``contamination``: evaluation prompts the checkpoint's
    training runs found in their data (None: no check recorded); ``excluded``: how many of
    them were dropped from ``result`` (None: no check recorded), for ``exclude_flagged``."""
    reasons: list[str] = []
    verdicts: list[Verdict] = []
    measured: list[Measured] = [m for m in (result, redteam) if m is not None]
    for source in measured:
        if abs(source.alpha - policy.alpha) > 1e-12:
            verdicts.append("inconclusive")
            what = "evaluation" if source is result else "red-team run"
            reasons.append(f"{what} used alpha={source.alpha}, the policy asks for {policy.alpha}")
    for criterion in policy.criteria:
        estimate = next((e for m in measured if (e := m.metric(criterion.metric))), None)
        if estimate is None:
            verdicts.append("inconclusive")
            reasons.append(f"{criterion.metric}: not measured by this evaluation or red-team run")
            continue
        outcome, reason = criterion.test(estimate)
        verdicts.append(outcome)
        reasons.append(reason)
    if policy.human_audit is not None:
        have = 0 if result is None else result.counts.get("human_labels", 0)
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
    if policy.exclude_flagged:
        if excluded is None:
            verdicts.append("inconclusive")
            reasons.append("no contamination check is recorded: flagged prompts are unknown")
        else:
            left = "" if result is None else f"; {result.counts.get('prompts', 0)} prompts left"
            reasons.append(
                f"contamination: {excluded} flagged evaluation prompts excluded from the "
                f"evaluation{left}"
            )
    verdict: Verdict = (
        "fail" if "fail" in verdicts else "inconclusive" if "inconclusive" in verdicts else "pass"
    )
    return GateDecision(verdict, reasons)
