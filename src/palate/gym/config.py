"""The gym's settings: one object, with the demo's full size and its ``--quick`` size."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from palate.gym.experts import PopulationConfig
from palate.gym.policy import PolicyConfig


class GymConfig(BaseModel):
    """Everything a run of the taste gym depends on; the same config gives the same summary."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(default=0, description="Seed of every random choice in the run.")
    rounds: int = Field(default=8, ge=1, description="Generate-judge-train rounds per arm.")
    pairs_per_round: int = Field(default=128, ge=4, description="Poem pairs judged per round.")
    eval_pairs: int = Field(
        default=400, ge=8, description="Pairs (new policy vs start) per evaluation against gold."
    )
    warmup_pairs: int = Field(
        default=40, ge=4, description="Pairs experts label before round 1 to fit the reward model."
    )
    routed_pairs: int = Field(
        default=24, ge=0, description="Anchored arm: pairs per round routed to experts."
    )
    experts_per_pair: int = Field(
        default=3, ge=1, description="Experts who label each routed pair (truth inference)."
    )
    audit_pairs: int = Field(
        default=24,
        ge=2,
        description="Both arms: evaluation pairs per round one expert labels, for the alarms.",
    )
    algorithm: Literal["grpo", "dpo"] = Field(
        default="grpo",
        description="grpo: on-policy updates on the arm's reward (checkbox score, or the reward "
        "model fitted on expert truth); dpo: offline updates on the round's judged pairs.",
    )
    beta: float = Field(default=0.15, ge=0, description="Weight of the KL anchor to the start.")
    learning_rate: float = Field(default=5e-3, gt=0, description="Adam learning rate.")
    grpo_steps: int = Field(default=5, ge=1, description="GRPO: sample-and-update steps per round.")
    grpo_batch: int = Field(default=256, ge=2, description="GRPO: poems sampled per step.")
    group_size: int = Field(default=16, ge=2, description="GRPO: poems per advantage group.")
    epochs: int = Field(default=2, ge=1, description="Gradient passes over each batch.")
    batch_size: int = Field(default=64, ge=1, description="DPO: pairs per step.")
    alpha: float = Field(
        default=0.05, gt=0, lt=1, description="Intervals' and alarms' error level."
    )
    population: PopulationConfig = Field(
        default_factory=PopulationConfig, description="The simulated experts."
    )
    policy: PolicyConfig = Field(default_factory=PolicyConfig, description="The policy's size.")

    @classmethod
    def quick(cls, seed: int = 0) -> GymConfig:
        """The same loop, smaller: what ``palate demo --quick`` and the tests run."""
        return cls(
            seed=seed,
            rounds=5,
            pairs_per_round=96,
            eval_pairs=200,
            warmup_pairs=32,
            routed_pairs=16,
            audit_pairs=16,
            grpo_steps=4,
        )
