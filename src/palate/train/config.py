"""Training run configuration: one YAML file per run, validated completely before training.

A mistake in a config (an unknown field, a model path that does not exist, a bad value) must
stop the run before any weights load, with an error naming the file, the line and the field.
Relative paths are read against the config file's directory, so a config and its model can
move together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from palate.errors import InputError
from palate.io.validation import dotted, input_error
from palate.io.yamlfile import Locator, load_yaml

Method = Literal["sft", "reward", "dpo", "grpo"]


class PairPolicy(BaseModel):
    """How judged comparisons in the store become (chosen, rejected) pairs.

    All judgements of the same two responses to the same prompt are pooled first: their
    outcomes (1 win, 0 loss, AlpacaEval strengths as 2 - strength) are averaged, weighted by
    rubric dimension if asked. Ties, weak preferences and low-agreement pairs are left out
    and counted in the build report, never silently.
    """

    model_config = ConfigDict(extra="forbid")

    dimension: str | None = Field(
        default=None, description="Use only judgements of this rubric dimension."
    )
    dimension_weights: dict[str, float] | None = Field(
        default=None,
        description="Combine dimensions with these weights (judgements of other dimensions "
        "are ignored). Exclusive with `dimension`.",
    )
    judged_by: list[str] | None = Field(
        default=None,
        description="Keep only judgements by these source names (e.g. gold human raters).",
    )
    min_margin: float = Field(
        default=0.0,
        ge=0.0,
        lt=0.5,
        description="Drop pairs whose pooled preference is within this distance of 0.5 "
        "(exact ties, preference 0.5, are always dropped).",
    )
    min_agreement: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Drop pairs where fewer than this share of the pooled judgements "
        "(by weight) agree with the pooled direction.",
    )
    with_margin: bool = Field(
        default=False,
        description="Add a `margin` column, 2 * |preference - 0.5| in [0, 1], which TRL's "
        "RewardTrainer uses as a margin in its loss.",
    )
    format: Literal["plain", "conversational"] = Field(
        default="plain",
        description="TRL dataset format: plain text, or lists of {role, content} messages.",
    )

    @model_validator(mode="after")
    def _one_dimension_rule(self) -> PairPolicy:
        if self.dimension is not None and self.dimension_weights is not None:
            raise ValueError("give either dimension or dimension_weights, not both")
        if self.dimension_weights is not None and not any(
            w > 0 for w in self.dimension_weights.values()
        ):
            raise ValueError("dimension_weights needs at least one positive weight")
        return self


class Optimisation(BaseModel):
    """The optimisation settings every method shares (mapped onto TRL's config)."""

    model_config = ConfigDict(extra="forbid")

    learning_rate: float = Field(default=5e-6, gt=0, description="Peak learning rate.")
    epochs: float = Field(default=1.0, gt=0, description="Passes over the training data.")
    max_steps: int = Field(
        default=-1, description="Stop after this many optimiser steps (-1: run all epochs)."
    )
    batch_size: int = Field(default=8, ge=1, description="Examples per device per step.")
    gradient_accumulation_steps: int = Field(
        default=1, ge=1, description="Steps whose gradients are summed before an update."
    )
    max_length: int | None = Field(
        default=1024, ge=1, description="Truncate tokenised sequences to this many tokens."
    )
    logging_steps: int = Field(default=10, ge=1, description="Log metrics every N steps.")
    bf16: bool = Field(default=False, description="Train in bfloat16 (GPUs that support it).")
    trl_args: dict[str, Any] = Field(
        default_factory=dict,
        description="Further keyword arguments for TRL's config class of this method, "
        "checked by TRL before training starts.",
    )


class RunBase(BaseModel):
    """What every run names: where its data comes from, where it writes, its seed."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(min_length=1, description="Store dataset to train on.")
    db: str | None = Field(
        default=None, description="Store URL (the command's --db takes precedence)."
    )
    output_dir: Path = Field(description="Directory for the checkpoint and run.json.")
    seed: int = Field(default=0, description="Seed for data order, initialisation, sampling.")
    pairs: PairPolicy = Field(
        default_factory=PairPolicy, description="How comparisons become preference pairs."
    )
    train: Optimisation = Field(default_factory=Optimisation, description="Optimisation settings.")


class PolicyRun(RunBase):
    """A run that trains a causal language model found at a local path."""

    model: Path = Field(description="Local directory of the model to start from (no hub).")


class SFTRunConfig(PolicyRun):
    """Supervised fine-tuning on the chosen responses of the preference pairs."""

    method: Literal["sft"] = Field(default="sft", description="Training method.")


class DPORunConfig(PolicyRun):
    """Direct preference optimisation on preference pairs (TRL's DPOTrainer)."""

    method: Literal["dpo"] = Field(default="dpo", description="Training method.")
    beta: float = Field(default=0.1, gt=0, description="DPO temperature (KL strength).")


class RewardSpec(BaseModel):
    """Where GRPO's reward comes from: exactly one of a function, a judge or a reward model."""

    model_config = ConfigDict(extra="forbid")

    function: str | None = Field(
        default=None,
        description="A TRL reward function as `package.module:name` or `path/to/file.py:name`.",
    )
    judge: Path | None = Field(
        default=None, description="A judge config YAML (any palate judge kind)."
    )
    reward_model: Path | None = Field(
        default=None, description="A directory saved by palate's embedding reward model."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> RewardSpec:
        given = [n for n in ("function", "judge", "reward_model") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of function, judge, reward_model"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class GRPORunConfig(PolicyRun):
    """Online RL with group-relative advantages (TRL's GRPOTrainer) on the dataset's prompts."""

    method: Literal["grpo"] = Field(default="grpo", description="Training method.")
    reward: RewardSpec = Field(description="The reward the policy is trained to raise.")
    num_generations: int = Field(
        default=8, ge=2, description="Completions sampled per prompt (the group size)."
    )
    max_completion_length: int = Field(
        default=64, ge=1, description="Longest completion sampled, in tokens."
    )
    temperature: float = Field(default=1.0, gt=0, description="Sampling temperature.")
    beta: float = Field(default=0.0, ge=0, description="KL penalty against the start policy.")


class RewardRunConfig(RunBase):
    """A reward model trained on preference pairs."""

    method: Literal["reward"] = Field(default="reward", description="Training method.")
    kind: Literal["embedding", "sequence-classification"] = Field(
        description="embedding: MiniLM embeddings + Bradley-Terry head (fast, CPU); "
        "sequence-classification: TRL's RewardTrainer on `model`."
    )
    model: Path | None = Field(
        default=None,
        description="Local model directory (required for sequence-classification).",
    )
    holdout: float = Field(
        default=0.2,
        ge=0.0,
        lt=1.0,
        description="Share of pairs held out to report pairwise accuracy with an interval.",
    )
    l2: float = Field(default=0.1, ge=0, description="L2 penalty of the embedding head.")
    response_tokens: int = Field(
        default=128, ge=8, description="embedding: response tokens encoded (the rest is cut)."
    )
    prompt_tokens: int = Field(
        default=64, ge=8, description="embedding: prompt tokens encoded (its end is kept)."
    )

    @model_validator(mode="after")
    def _model_for_classifier(self) -> RewardRunConfig:
        if self.kind == "sequence-classification" and self.model is None:
            raise ValueError("kind sequence-classification needs a model path")
        return self


CONFIG_CLASSES: dict[str, type[RunBase]] = {
    "sft": SFTRunConfig,
    "dpo": DPORunConfig,
    "grpo": GRPORunConfig,
    "reward": RewardRunConfig,
}


def read_config(path: Path) -> tuple[dict[str, Any], Locator]:
    """A YAML mapping and the line of each field, or an InputError naming the line."""
    data, locate = load_yaml(path)
    if not isinstance(data, dict):
        raise InputError("expected a mapping of settings", file=str(path), line=1)
    return data, locate


def _resolve(path: Path, base: Path) -> Path:
    return path if path.is_absolute() else (base / path).resolve()


def _check_path(field: tuple[str, ...], path: Path, file: Path, locate: Locator) -> None:
    if not path.exists():
        raise InputError(
            f"{path} does not exist",
            file=str(file),
            line=locate(field),
            field=".".join(field),
        )


def _message(error: ErrorDetails, loc: tuple[Any, ...]) -> str:
    return "unknown field" if error["type"] == "extra_forbidden" else error["msg"]


def load_config(path: Path, method: Method) -> RunBase:
    """Read and check a run config for ``method``; every mistake is an InputError."""
    data, locate = read_config(path)
    given = data.get("method", method)
    if given != method:
        raise InputError(
            f"this config is for method {given!r}, not {method!r}",
            file=str(path),
            line=locate(("method",)),
            field="method",
        )
    try:
        config = CONFIG_CLASSES[method].model_validate(data)
    except ValidationError as exc:
        raise input_error(exc, file=str(path), locate=locate, message=_message) from exc
    base = path.resolve().parent
    updates: dict[str, Any] = {"output_dir": _resolve(config.output_dir, base)}
    model = getattr(config, "model", None)
    if model is not None:
        updates["model"] = _resolve(model, base)
        _check_path(("model",), updates["model"], path, locate)
    if isinstance(config, GRPORunConfig):
        reward = config.reward
        for name in ("judge", "reward_model"):
            value = getattr(reward, name)
            if value is not None:
                resolved = _resolve(value, base)
                _check_path(("reward", name), resolved, path, locate)
                reward = reward.model_copy(update={name: resolved})
        updates["reward"] = reward
    return config.model_copy(update=updates)


def load_pair_policy(path: Path) -> PairPolicy:
    """The ``pairs:`` section of a run config, or a file holding just those settings, so an
    export can write exactly the pairs a training run would use."""
    data, locate = read_config(path)
    prefix: tuple[str, ...] = ("pairs",) if "pairs" in data else ()
    section = data["pairs"] if prefix else data
    try:
        return PairPolicy.model_validate(section)
    except ValidationError as exc:
        raise input_error(
            exc,
            file=str(path),
            locate=lambda loc: locate(prefix + loc),
            message=_message,
            field=lambda loc: dotted(prefix + loc),
        ) from exc


def field_line(path: Path, field: str) -> int | None:
    """The line of a top-level field in a config file, for errors found after loading."""
    data, locate = read_config(path)
    return locate((field,)) if field in data else None
