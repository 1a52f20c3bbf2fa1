"""A scripted reward for the GRPO test: the share of completion words that are "moon"."""

from __future__ import annotations

from typing import Any


def moon_share(completions: list[str], **_: Any) -> list[float]:
    rewards = []
    for completion in completions:
        words = completion.split()
        rewards.append(words.count("moon") / len(words) if words else 0.0)
    return rewards
