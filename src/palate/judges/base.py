"""The Judge protocol: what every judge promises, whatever it runs on.

An LLM over HTTP, a local transformers model, a reward model and a code verifier all answer
the same two questions (which of two responses is better; how good is one response on each
rubric dimension) and all keep the same promise: a judgement is never lost and never invented.
A judge that cannot judge returns an *unscored* record with the reason; it does not raise.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, runtime_checkable

from palate.schema import Comparison, Prompt, Rating, Response, Source


@dataclass(frozen=True)
class PairTask:
    """One pairwise judgement to make.

    ``responses`` are in data order; ``order`` is the order the judge is shown them in, so
    ``order == (1, 0)`` is the swapped presentation. The returned Comparison keeps data order.
    """

    prompt: Prompt
    responses: tuple[Response, Response]
    order: tuple[int, int] = (0, 1)
    seed: int = 0
    replicate: int = 0
    rubric: str | None = None  # rubric version id the judge's prompt was rendered from
    dimension: str | None = None

    @property
    def item(self) -> str:
        return self.prompt.key

    @property
    def shown(self) -> tuple[Response, Response]:
        """The responses in presentation order."""
        return self.responses[self.order[0]], self.responses[self.order[1]]

    def comparison_fields(self, judge: Source) -> dict[str, Any]:
        """What every judge's Comparison for this task says, before its verdict."""
        return {
            "prompt": self.prompt,
            "responses": list(self.responses),
            "judge": judge,
            "rubric": self.rubric,
            "dimension": self.dimension,
            "presentation_order": list(self.order),
            "presentation_seed": self.seed,
        }


@dataclass(frozen=True)
class PointTask:
    """One response to score on some rubric dimensions (all of the rubric's when empty)."""

    prompt: Prompt
    response: Response
    dimensions: tuple[str, ...] = field(default_factory=tuple)
    seed: int = 0
    replicate: int = 0
    rubric: str | None = None

    @property
    def item(self) -> str:
        return self.prompt.key


@runtime_checkable
class PairwiseJudge(Protocol):
    """Judges which of two responses is better."""

    source: Source

    async def judge_pair(self, task: PairTask) -> Comparison:
        """The verdict in data order, or an unscored Comparison saying why there is none."""
        ...


@runtime_checkable
class PointwiseJudge(Protocol):
    """Scores one response on rubric dimensions."""

    source: Source

    async def judge_point(self, task: PointTask) -> list[Rating]:
        """One Rating per dimension (unscored with a reason where it could not score)."""
        ...


class JudgeResources:
    """What every judge ``palate.judges.load`` builds shares: counters of the calls it made
    and of the answers that came from the cache, and a ``close`` for whatever it holds open
    (HTTP connections), also as ``async with``. Judges that hold nothing inherit no-ops."""

    cache_hits: int = 0
    """Calls answered from the cache instead of the judge."""

    @property
    def calls(self) -> int:
        """Requests made to the judge (HTTP requests, retries included; 0 for local judges)."""
        return 0

    async def aclose(self) -> None:
        """Release what the judge holds open."""

    def close(self) -> None:
        """``aclose`` outside an event loop."""
        asyncio.run(self.aclose())

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
