"""Reward functions for TRL's GRPO, and the hook that watches them for reward hacking.

A policy optimised against a proxy reward (a judge, a reward model) learns the proxy's
blind spots; the first sign is usually in the proxy rewards themselves (rising while their
spread collapses, or tracking completion length). Every reward function palate hands to TRL
therefore passes each batch of proxy rewards to hooks: ``RewardTrace`` keeps the figures the
run records, and routing's alarms can subscribe the same way.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from palate.errors import InputError
from palate.train.config import RewardSpec

RewardFunc = Callable[..., Any]  # TRL's reward_funcs: (prompts, completions, **kw) -> rewards


@dataclass(frozen=True)
class RewardBatch:
    """The proxy rewards of one generation batch, as TRL computed them."""

    step: int
    prompts: Sequence[Any]
    completions: Sequence[Any]
    rewards: Sequence[float | None]


RewardHook = Callable[[RewardBatch], None]


def _text(completion: Any) -> str:
    if isinstance(completion, str):
        return completion
    return "".join(str(m.get("content", "")) for m in completion)


@dataclass
class RewardTrace:
    """A hook that keeps per-batch reward statistics, for run.json and for alarms.

    ``length_correlation`` is Pearson's r between reward and completion length over the
    last batches: a proxy that pays for length is the best-known hack of judges.
    """

    window: int = 8
    means: list[float] = field(default_factory=list)
    stds: list[float] = field(default_factory=list)
    _recent: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    def __call__(self, batch: RewardBatch) -> None:
        rewards = np.array([np.nan if r is None else r for r in batch.rewards], dtype=float)
        lengths = np.array([len(_text(c)) for c in batch.completions], dtype=float)
        keep = ~np.isnan(rewards)
        if not keep.any():
            return
        self.means.append(float(rewards[keep].mean()))
        self.stds.append(float(rewards[keep].std()))
        self._recent = [*self._recent, (rewards[keep], lengths[keep])][-self.window :]

    @property
    def length_correlation(self) -> float | None:
        if not self._recent:
            return None
        rewards = np.concatenate([r for r, _ in self._recent])
        lengths = np.concatenate([n for _, n in self._recent])
        if rewards.std() == 0 or lengths.std() == 0:
            return None
        return float(np.corrcoef(rewards, lengths)[0, 1])

    def summary(self) -> dict[str, float | None]:
        return {
            "reward_first_batch": self.means[0] if self.means else None,
            "reward_last_batch": self.means[-1] if self.means else None,
            "reward_std_last_batch": self.stds[-1] if self.stds else None,
            "reward_length_correlation": self.length_correlation,
        }


def _step(kwargs: dict[str, Any]) -> int:
    state = kwargs.get("trainer_state")
    return int(getattr(state, "global_step", 0))


def guarded(func: RewardFunc, hooks: Sequence[RewardHook]) -> RewardFunc:
    """``func`` with every batch of its rewards passed to ``hooks`` (sync or async alike)."""
    name = getattr(func, "__name__", type(func).__name__)

    def notify(kwargs: dict[str, Any], rewards: Sequence[float | None]) -> None:
        batch = RewardBatch(_step(kwargs), kwargs["prompts"], kwargs["completions"], rewards)
        for hook in hooks:
            hook(batch)

    is_async = inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - an async callable instance
    )
    if is_async:
        async_func: Callable[..., Awaitable[Sequence[float | None]]] = func

        async def async_reward(**kwargs: Any) -> Sequence[float | None]:
            rewards = await async_func(**kwargs)
            notify(kwargs, rewards)
            return rewards

        async_reward.__name__ = name
        return async_reward

    def reward(**kwargs: Any) -> Sequence[float | None]:
        rewards = func(**kwargs)
        notify(kwargs, rewards)
        return rewards

    reward.__name__ = name
    return reward


def import_function(spec: str) -> RewardFunc:
    """``package.module:name`` or ``path/to/file.py:name`` (the path as written)."""
    target, sep, name = spec.rpartition(":")
    if not sep or not target or not name:
        raise InputError(f"expected MODULE:NAME or FILE.py:NAME, got {spec!r}", field="reward")
    try:
        if target.endswith(".py"):
            path = Path(target)
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            if module_spec is None or module_spec.loader is None or not path.is_file():
                raise InputError(f"no Python file {path}", field="reward.function")
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
    except ImportError as exc:
        raise InputError(f"cannot import {target}: {exc}", field="reward.function") from exc
    func = getattr(module, name, None)
    if not callable(func):
        raise InputError(f"{target} has no function {name!r}", field="reward.function")
    return func


def _reward_model_func(path: Path) -> RewardFunc:
    from palate.judges.reward_model import EmbeddingRewardModel

    model = EmbeddingRewardModel.load(path)

    def reward_model(prompts: Sequence[Any], completions: Sequence[Any], **_: Any) -> list[float]:
        scores = model.score([_text(p) for p in prompts], [_text(c) for c in completions])
        return [float(s) for s in scores]

    return reward_model


def _judge_func(path: Path) -> RewardFunc:
    from palate.judges.loading import load
    from palate.train.reward_funcs import as_reward_func

    return as_reward_func(load(path))


def load_reward(spec: RewardSpec, base: Path | None = None) -> RewardFunc:
    """The reward a GRPO config names (a function, a judge config or a saved reward model)."""
    if spec.function is not None:
        target = spec.function
        head, sep, name = target.rpartition(":")
        if head.endswith(".py") and base is not None and not Path(head).is_absolute():
            target = f"{base / head}{sep}{name}"
        return import_function(target)
    if spec.reward_model is not None:
        return _reward_model_func(spec.reward_model)
    assert spec.judge is not None
    return _judge_func(spec.judge)
