"""DPO and GRPO losses for the gym's policy, written out because TRL's trainers need a
Hugging Face model and tokenizer and the gym's policy is a from-scratch GRU over lines.

Each function is the same arithmetic as TRL's trainer on the same tensors (``DPOTrainer`` with
``loss_type="sigmoid"``; ``GRPOTrainer`` with ``loss_type="grpo"``, ``scale_rewards="group"``,
token-level importance sampling), and ``tests/gym/test_losses.py`` checks them against TRL's own
code on identical batches.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def dpo_loss(
    chosen_logps: torch.Tensor,
    rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    *,
    beta: float,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Direct Preference Optimisation (Rafailov et al. 2023), sigmoid loss, batch mean:
    −log σ(β[(log π(c) − log π_ref(c)) − (log π(r) − log π_ref(r))]).

    ``weights`` (optional, per pair) weigh each pair's term, e.g. by how sure its label is;
    the mean is then a weighted mean.
    """
    delta = (chosen_logps - ref_chosen_logps) - (rejected_logps - ref_rejected_logps)
    per_pair = -F.logsigmoid(beta * delta)
    if weights is None:
        return per_pair.mean()
    return (per_pair * weights).sum() / weights.sum().clamp(min=1e-12)


def group_advantages(rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    """GRPO's advantages: each reward minus its group's mean, over the group's standard
    deviation (unbiased, as ``trl.trainer.utils.nanstd``) plus 1e-4. Groups are consecutive."""
    grouped = rewards.view(-1, group_size)
    mean = grouped.mean(dim=1).repeat_interleave(group_size)
    std = grouped.std(dim=1, unbiased=True).repeat_interleave(group_size)
    return (rewards - mean) / (std + 1e-4)


def grpo_loss(
    per_token_logps: torch.Tensor,
    old_per_token_logps: torch.Tensor,
    ref_per_token_logps: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    beta: float,
    epsilon_low: float = 0.2,
    epsilon_high: float = 0.2,
) -> torch.Tensor:
    """Group Relative Policy Optimisation (Shao et al. 2024) per-token clipped surrogate plus
    β times the k3 KL estimate to the reference; each sequence's tokens averaged, then the batch."""
    coef_1 = torch.exp(per_token_logps - old_per_token_logps)
    coef_2 = torch.clamp(coef_1, 1 - epsilon_low, 1 + epsilon_high)
    adv = advantages.unsqueeze(1)
    per_token = -torch.min(coef_1 * adv, coef_2 * adv)
    if beta != 0.0:
        log_ratio = ref_per_token_logps - per_token_logps
        per_token = per_token + beta * (torch.exp(log_ratio) - log_ratio - 1)
    return ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()
