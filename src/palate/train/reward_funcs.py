"""Any judge as a TRL GRPO reward function.

GRPOTrainer calls each reward function as ``f(prompts=..., completions=..., completion_ids=...,
**dataset_columns, trainer_state=...)`` and reads one float per completion, or None where the
function does not apply (TRL then leaves that function out for that sample). Prompts and
completions are strings, or lists of chat messages for conversational data. A pointwise judge
scores each completion (a rubric's dimensions combined by the rubric's weights, each first
scaled to [0, 1] by its own scale); a pairwise-only judge (a panel) plays the completions of one
prompt against each other and the reward is each completion's win rate in its group.
Unscored judgements become ``unscored`` (None by default), never a silent zero.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from palate.errors import PalateError
from palate.judges.base import PairTask, PairwiseJudge, PointTask, PointwiseJudge
from palate.rubric import rubric_version
from palate.schema import Message, Prompt, Rating, Response, Rubric
from palate.schema.outcome import first_order

T = TypeVar("T")
RewardFunc = Callable[..., list[float | None]]
AsyncRewardFunc = Callable[..., Coroutine[Any, Any, list[float | None]]]


def _as_prompt(value: Any) -> Prompt:
    if isinstance(value, str):
        return Prompt(text=value)
    if isinstance(value, Sequence):
        return Prompt(messages=[_message(m) for m in value])
    raise PalateError(f"a prompt must be a string or a list of messages, not {type(value)}")


def _message(value: Any) -> Message:
    if isinstance(value, Mapping) and "content" in value:
        return Message(role=str(value.get("role", "user")), content=str(value["content"]))
    raise PalateError(f"a chat message needs 'role' and 'content', got {value!r}")


def _as_response(value: Any) -> Response:
    if isinstance(value, str):
        return Response(text=value)
    if isinstance(value, Sequence):
        messages = [_message(m) for m in value]
        return Response(text="\n\n".join(m.content for m in messages), messages=messages)
    raise PalateError(f"a completion must be a string or a list of messages, not {type(value)}")


def _combine(ratings: Sequence[Rating], rubric: Rubric | None) -> float | None:
    """One reward from per-dimension ratings: None if any is unscored; with a rubric, the
    weighted mean of scores scaled to [0, 1] by each dimension's scale."""
    if not ratings or any(r.score is None for r in ratings):
        return None
    if rubric is None:
        return sum(float(r.score or 0.0) for r in ratings) / len(ratings)
    dims = {d.name: d for d in rubric.dimensions}
    total = weight = 0.0
    for rating in ratings:
        dim = dims.get(rating.dimension or "")
        if dim is None:
            return None
        values = [level.value for level in dim.scale]
        low, high = min(values), max(values)
        scaled = (float(rating.score or 0.0) - low) / (high - low) if high > low else 0.0
        total += dim.weight * scaled
        weight += dim.weight
    return total / weight if weight > 0 else None


async def _pointwise(
    judge: PointwiseJudge,
    prompts: Sequence[Prompt],
    responses: Sequence[Response],
    rubric: Rubric | None,
    dimensions: tuple[str, ...],
) -> list[float | None]:
    version = rubric_version(rubric) if rubric is not None else None
    tasks = [
        PointTask(prompt=p, response=r, dimensions=dimensions, rubric=version)
        for p, r in zip(prompts, responses, strict=True)
    ]
    results = await asyncio.gather(*(judge.judge_point(t) for t in tasks))
    return [_combine(ratings, rubric) for ratings in results]


async def _round_robin(
    judge: PairwiseJudge,
    prompts: Sequence[Prompt],
    responses: Sequence[Response],
    rubric: Rubric | None,
    dimension: str | None,
) -> list[float | None]:
    version = rubric_version(rubric) if rubric is not None else None
    groups: dict[str, list[int]] = {}
    for i, prompt in enumerate(prompts):
        groups.setdefault(prompt.key, []).append(i)
    pairs = [
        (i, j, n)
        for members in groups.values()
        for n, (i, j) in enumerate(itertools.combinations(members, 2))
    ]
    tasks = [
        PairTask(
            prompt=prompts[i],
            responses=(responses[i], responses[j]),
            order=first_order(n),  # alternate so position bias cancels
            seed=n,
            rubric=version,
            dimension=dimension,
        )
        for i, j, n in pairs
    ]
    verdicts = await asyncio.gather(*(judge.judge_pair(t) for t in tasks))
    points = [0.0] * len(responses)
    games = [0] * len(responses)
    for (i, j, _), verdict in zip(pairs, verdicts, strict=True):
        first = verdict.score_for_first()
        if first is None:
            continue
        points[i] += first
        points[j] += 1.0 - first
        games[i] += 1
        games[j] += 1
    return [p / g if g else None for p, g in zip(points, games, strict=True)]


def as_async_reward_func(
    judge: PointwiseJudge | PairwiseJudge,
    *,
    rubric: Rubric | None = None,
    dimension: str | None = None,
    unscored: float | None = None,
) -> AsyncRewardFunc:
    """An async GRPO reward function (TRL awaits these concurrently with other rewards)."""
    pointwise = isinstance(judge, PointwiseJudge)
    if not pointwise and not isinstance(judge, PairwiseJudge):
        raise PalateError(f"{type(judge).__name__} is neither a pointwise nor a pairwise judge")
    dims: tuple[str, ...] = (dimension,) if dimension else ()
    if rubric is not None and dimension is None:
        dims = tuple(d.name for d in rubric.dimensions)

    async def reward(
        prompts: Sequence[Any], completions: Sequence[Any], **_: Any
    ) -> list[float | None]:
        if len(prompts) != len(completions):
            raise PalateError(f"{len(prompts)} prompts but {len(completions)} completions")
        ps = [_as_prompt(p) for p in prompts]
        rs = [_as_response(c) for c in completions]
        if isinstance(judge, PointwiseJudge):
            scores = await _pointwise(judge, ps, rs, rubric, dims)
        else:
            scores = await _round_robin(judge, ps, rs, rubric, dimension)
        return [unscored if s is None else s for s in scores]

    reward.__name__ = _name(judge, dimension)
    return reward


def _name(judge: PointwiseJudge | PairwiseJudge, dimension: str | None) -> str:
    base = "".join(c if c.isalnum() else "_" for c in judge.source.name)
    return f"{base}_{dimension}" if dimension else base


class _LoopThread:
    """One event loop in a daemon thread: judges that hold async clients keep one loop for
    their whole life, and a sync caller inside another running loop does not deadlock."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result()


def as_reward_func(
    judge: PointwiseJudge | PairwiseJudge,
    *,
    rubric: Rubric | None = None,
    dimension: str | None = None,
    unscored: float | None = None,
) -> RewardFunc:
    """A synchronous GRPO reward function over ``judge`` (see the module docstring)."""
    inner = as_async_reward_func(judge, rubric=rubric, dimension=dimension, unscored=unscored)
    runner = _LoopThread()

    def reward(
        prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        return runner.run(inner(prompts, completions, **kwargs))

    reward.__name__ = inner.__name__
    return reward
