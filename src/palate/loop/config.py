"""The loop file: one declarative iteration, validated completely before anything runs.

Relative paths are read against the file's folder, so a loop file and its models, prompts,
judges and rubric can move together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from palate.io.yamlfile import load_model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Strict):
    """A local checkpoint and the name its responses are attributed to."""

    model: Path = Field(description="Checkpoint directory (transformers).")
    name: str = Field(min_length=1, description="Response.model of its generations.")


class GenerationSpec(_Strict):
    n: int = Field(default=1, ge=1, description="Responses per prompt.")
    temperature: float = Field(default=1.0, ge=0, description="0 for greedy decoding.")
    top_p: float = Field(default=1.0, gt=0, le=1, description="Nucleus sampling mass.")
    max_new_tokens: int = Field(default=64, ge=1, description="Generation limit in tokens.")
    seed: int = Field(default=0, description="Seed of every generation run of the loop.")
    batch_size: int = Field(default=16, ge=1, description="Prompts per batch.")
    device: str = Field(default="auto", description="auto, cpu, cuda, cuda:1, ...")


class RoutingSpec(_Strict):
    """The trust-or-escalate cascade: trust a verdict when its confidence clears a threshold
    certified on earlier human labels; send everything else to people."""

    calibration_judge: str | None = Field(
        default=None, description="Dataset of earlier judge verdicts to calibrate on."
    )
    calibration_human: str | None = Field(
        default=None, description="Dataset of human labels of the same items."
    )
    threshold: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="A fixed confidence threshold instead of calibrating (None with no "
        "calibration data: every item goes to people).",
    )
    alpha: float = Field(default=0.15, gt=0, lt=1, description="Tolerated disagreement rate.")
    delta: float = Field(default=0.1, gt=0, lt=1, description="Risk of a wrong certificate.")
    audit_share: float = Field(
        default=0.1, ge=0, le=1, description="Share of trusted items also sent to people."
    )

    @model_validator(mode="after")
    def _both_or_neither(self) -> RoutingSpec:
        if (self.calibration_judge is None) != (self.calibration_human is None):
            raise ValueError("give both calibration_judge and calibration_human, or neither")
        return self


class SimulatedRaters(_Strict):
    """Raters with a hidden taste, for tests and dry runs: each prefers the response its
    taste picks with probability ``accuracy``."""

    raters: int = Field(default=3, ge=1, description="Raters per escalated item.")
    accuracy: float = Field(default=0.9, ge=0, le=1, description="P(a rater follows the taste).")
    taste: Literal["longer", "shorter"] = Field(default="longer", description="Hidden taste.")
    seed: int = Field(default=0, description="Seeds every rater's draws.")


class StudioLabels(_Strict):
    """Escalations become a studio project (created by the route stage); the labels stage
    reads the raters' answers back once every assignment is answered or skipped."""

    admin: str = Field(min_length=1, description="The studio admin the project is created by.")
    raters: list[str] | None = Field(
        default=None, description="Rater names (default: every rater of the studio)."
    )
    overlap: int = Field(default=2, ge=1, le=50, description="Raters per escalated item.")
    seed: int = Field(default=0, ge=0, description="Seed of assignment and presentation order.")


class LabelsSpec(_Strict):
    """Where the human labels of escalated items come from: exactly one source."""

    file: Path | None = Field(
        default=None, description="A file of human comparisons (any importable format)."
    )
    simulated: SimulatedRaters | None = Field(default=None, description="Simulated raters.")
    studio: StudioLabels | None = Field(
        default=None, description="Raters in the studio, through a project of the escalations."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> LabelsSpec:
        if sum(s is not None for s in (self.file, self.simulated, self.studio)) != 1:
            raise ValueError("give exactly one of file, simulated or studio")
        return self


class TrainSpec(_Strict):
    """DPO on the loop's truth dataset (palate.train)."""

    beta: float = Field(default=0.1, gt=0, description="DPO temperature.")
    learning_rate: float = Field(default=5e-5, gt=0, description="Peak learning rate.")
    max_steps: int = Field(default=-1, description="Optimiser steps (-1: one epoch).")
    epochs: float = Field(default=1.0, gt=0, description="Passes over the pairs.")
    batch_size: int = Field(default=8, ge=1, description="Pairs per step.")
    max_length: int = Field(default=512, ge=8, description="Token limit per sequence.")
    seed: int = Field(default=0, description="Training seed.")


class EvaluateSpec(_Strict):
    alpha: float = Field(default=0.05, gt=0, lt=1, description="Interval level is 1 - alpha.")
    n_bootstrap: int = Field(default=1000, ge=100, description="Bootstrap resamples.")
    length_controlled: bool = Field(
        default=False, description="Also fit AlpacaEval's length-controlled win rate."
    )
    seed: int = Field(default=0, description="Bootstrap seed.")


class LoopConfig(_Strict):
    """One iteration: generate, judge, route, label, infer truth, train, generate, evaluate,
    gate."""

    name: str = Field(
        min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="The loop's id."
    )
    prompts: str = Field(description="Training prompts: a file or a dataset name.")
    eval_prompts: str | None = Field(
        default=None, description="Held-out prompts for the evaluation (default: prompts)."
    )
    candidate: ModelSpec = Field(description="The policy this iteration trains.")
    baseline: ModelSpec = Field(description="What the candidate is compared against.")
    generation: GenerationSpec = Field(default_factory=GenerationSpec)
    judges: list[Path] = Field(
        min_length=1, description="Judge configs; two or more are combined as a panel."
    )
    rubric: Path = Field(description="Rubric YAML the judges apply.")
    swap: bool = Field(default=True, description="Judge both presentation orders.")
    concurrency: int = Field(default=16, ge=1, description="Judgements in flight.")
    routing: RoutingSpec = Field(default_factory=RoutingSpec)
    labels: LabelsSpec = Field(description="Human labels of the escalated items.")
    train: TrainSpec = Field(default_factory=TrainSpec)
    evaluate: EvaluateSpec = Field(default_factory=EvaluateSpec)
    gate: Path = Field(description="Release gate policy YAML (palate.evals.gate).")
    work_dir: Path = Field(default=Path("loop-out"), description="Checkpoints and reports.")


def _resolve(path: Path, base: Path) -> Path:
    return path if path.is_absolute() else (base / path).resolve()


def _resolve_source(source: str, base: Path) -> str:
    """A prompts source: a file relative to the loop file when one exists, else a dataset."""
    candidate = base / source
    return str(candidate.resolve()) if candidate.is_file() else source


def load_loop(path: Path) -> LoopConfig:
    """Read a loop file; errors name file, line and field; paths become absolute."""
    config = load_model(path, LoopConfig)
    base = path.resolve().parent
    labels = config.labels
    if labels.file is not None:
        labels = labels.model_copy(update={"file": _resolve(labels.file, base)})
    return config.model_copy(
        update={
            "prompts": _resolve_source(config.prompts, base),
            "eval_prompts": None
            if config.eval_prompts is None
            else _resolve_source(config.eval_prompts, base),
            "candidate": config.candidate.model_copy(
                update={"model": _resolve(config.candidate.model, base)}
            ),
            "baseline": config.baseline.model_copy(
                update={"model": _resolve(config.baseline.model, base)}
            ),
            "judges": [_resolve(j, base) for j in config.judges],
            "rubric": _resolve(config.rubric, base),
            "labels": labels,
            "gate": _resolve(config.gate, base),
            "work_dir": _resolve(config.work_dir, base),
        }
    )
