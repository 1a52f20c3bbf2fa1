"""The gym's DPO and GRPO losses equal TRL's on identical batches.

TRL computes both losses inside its trainers' ``_compute_loss``; we call those methods with a
minimal stand-in for the trainer (the attributes the method reads, an identity accelerator) and
a stand-in model that returns the gym policy's own per-token log-probabilities, so TRL's
arithmetic runs on exactly the tensors our losses see. Values and gradients must match.
"""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from trl.trainer.dpo_trainer import DPOTrainer
from trl.trainer.grpo_trainer import GRPOTrainer
from trl.trainer.utils import nanstd

from palate.gym.losses import dpo_loss, group_advantages, grpo_loss
from palate.gym.policy import Policy, PolicyConfig, amateur_corpus


def _identity_accelerator() -> SimpleNamespace:
    same = lambda x, **_: x  # noqa: E731
    return SimpleNamespace(
        device=torch.device("cpu"), gather=same, gather_for_metrics=same, reduce=same
    )


def _metrics() -> defaultdict[str, defaultdict[str, list[float]]]:
    return defaultdict(lambda: defaultdict(list))


def _pad(a: torch.Tensor, width: int) -> torch.Tensor:
    return torch.nn.functional.pad(a, (0, width - a.shape[1]))


@pytest.fixture
def policy() -> Policy:
    torch.manual_seed(3)
    return Policy(PolicyConfig(embedding=8, hidden=16))


def test_dpo_loss_equals_trl(policy: Policy) -> None:
    rng = np.random.default_rng(0)
    chosen, rejected = amateur_corpus(6, rng), amateur_corpus(6, rng)
    with torch.no_grad():
        torch.manual_seed(4)
        reference = Policy(PolicyConfig(embedding=8, hidden=16))
        ref_c = reference.sequence_logps(chosen)[0].sum(1)
        ref_r = reference.sequence_logps(rejected)[0].sum(1)
    beta = 0.3

    def ours() -> torch.Tensor:
        c = policy.sequence_logps(chosen)[0].sum(1)
        r = policy.sequence_logps(rejected)[0].sum(1)
        return dpo_loss(c, r, ref_c, ref_r, beta=beta)

    def trl() -> torch.Tensor:
        c, c_mask = policy.sequence_logps(chosen)
        r, r_mask = policy.sequence_logps(rejected)
        width = max(c.shape[1], r.shape[1])
        log_probs = torch.cat([_pad(c, width), _pad(r, width)])  # zero where masked, as TRL's
        mask = torch.cat([_pad(c_mask, width), _pad(r_mask, width)])
        completion_mask = torch.cat([torch.zeros(len(mask), 1), mask], dim=1).long()
        outputs = SimpleNamespace(
            log_probs=log_probs,
            entropy=torch.zeros_like(log_probs),
            mean_logits=torch.zeros_like(log_probs),
            is_top1=torch.zeros_like(log_probs, dtype=torch.bool),
        )
        trainer = SimpleNamespace(
            model=SimpleNamespace(training=True),
            accelerator=_identity_accelerator(),
            aux_loss_enabled=False,
            ld_alpha=None,
            precompute_ref_logps=True,
            f_divergence_type="reverse_kl",
            loss_types=["sigmoid"],
            loss_weights=[1.0],
            beta=beta,
            label_smoothing=0.0,
            use_weighting=False,
            _metrics=_metrics(),
            _total_train_tokens=0,
            _tp_size=1,
        )
        inputs = {
            "input_ids": torch.zeros_like(completion_mask),
            "attention_mask": torch.ones_like(completion_mask),
            "completion_mask": completion_mask,
            "ref_chosen_logps": ref_c,
            "ref_rejected_logps": ref_r,
        }
        loss: torch.Tensor = DPOTrainer._compute_loss(
            trainer,  # type: ignore[arg-type]
            lambda **_: outputs,
            inputs,
            return_outputs=False,
        )
        return loss

    mine, theirs = ours(), trl()
    torch.testing.assert_close(mine, theirs)
    grads_mine = torch.autograd.grad(mine, list(policy.parameters()))
    grads_theirs = torch.autograd.grad(trl(), list(policy.parameters()))
    for a, b in zip(grads_mine, grads_theirs, strict=True):
        torch.testing.assert_close(a, b)
    assert float(mine.detach()) > 0  # a real, non-degenerate batch


def test_group_advantages_equal_trl_formula() -> None:
    """TRL: (r − group mean) / (nanstd(group) + 1e-4), nanstd being TRL's own."""
    rewards = torch.tensor(np.random.default_rng(1).normal(size=12), dtype=torch.float32)
    grouped = rewards.view(-1, 4)
    expected = (rewards - grouped.mean(1).repeat_interleave(4)) / (
        nanstd(grouped, dim=1).repeat_interleave(4) + 1e-4
    )
    torch.testing.assert_close(group_advantages(rewards, 4), expected)


@pytest.mark.parametrize("beta", [0.0, 0.15])
def test_grpo_loss_equals_trl(policy: Policy, beta: float) -> None:
    poems = amateur_corpus(8, np.random.default_rng(2))
    with torch.no_grad():
        old, mask = policy.sequence_logps(poems)
        old = old + 0.05 * torch.randn(old.shape, generator=torch.Generator().manual_seed(0))
        ref = old - 0.1
    advantages = group_advantages(torch.arange(8, dtype=torch.float32) % 3, 4)

    logps = policy.sequence_logps(poems)[0]
    mine = grpo_loss(logps, old, ref, advantages, mask, beta=beta)

    def per_token_logps(*_: Any, **__: Any) -> tuple[torch.Tensor, torch.Tensor, None]:
        return logps, torch.zeros_like(logps), None

    trainer = SimpleNamespace(
        _get_per_token_logps_and_entropies=per_token_logps,
        top_entropy_quantile=1.0,
        off_policy_mask_threshold=None,
        importance_sampling_level="token",
        beta=beta,
        loss_type="grpo",
        epsilon_low=0.2,
        epsilon_high=0.2,
        args=SimpleNamespace(use_bias_correction_kl=False, delta=None),
        use_vllm=False,
        model=SimpleNamespace(training=True),
        current_gradient_accumulation_steps=1,
        _entropy_bonus_enabled=False,
        aux_loss_enabled=False,
        accelerator=_identity_accelerator(),
        _metrics=_metrics(),
    )
    inputs = {
        "prompt_ids": torch.zeros((8, 1), dtype=torch.long),
        "prompt_mask": torch.ones((8, 1), dtype=torch.long),
        "completion_ids": torch.zeros_like(mask, dtype=torch.long),
        "completion_mask": mask,
        "advantages": advantages,
        "old_per_token_logps": old,
        "ref_per_token_logps": ref,
    }
    theirs = GRPOTrainer._compute_loss(trainer, None, inputs)  # type: ignore[arg-type]
    torch.testing.assert_close(mine, theirs)
    assert float(mine.detach()) != 0.0
