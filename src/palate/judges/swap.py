"""Position swap: judge a pair in both orders and keep only what survives the swap.

LLM judges favour a position (Zheng et al. 2023, MT-Bench: GPT-4 is consistent on about 65%
of swapped pairs). Judging both orders and recording whether the verdicts agree makes that bias
visible per item; an inconsistent pair becomes a tie (MT-Bench's rule) or unscored, by a policy
stated up front. The seed of each pair comes from a hash of (item, pair, judge, replicate), so
it does not depend on which items are in a run or in which order they are judged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any, Literal

from palate.judges.base import PairTask, PairwiseJudge
from palate.schema import CallInfo, Comparison, Unscored
from palate.schema.hashing import canonical_bytes
from palate.schema.outcome import first_order, outcome, strength_outcome

SwapPolicy = Literal["tie", "unscored"]


def swap_seed(item: str, pair: Sequence[str | None], judge: str, replicate: int) -> int:
    """A 63-bit seed from SHA-256 of the canonical JSON of (item, pair, judge, replicate)."""
    digest = hashlib.sha256(canonical_bytes([item, list(pair), judge, replicate])).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _sum(values: Sequence[float | int | None]) -> Any:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _combined_call(a: CallInfo | None, b: CallInfo | None) -> CallInfo | None:
    calls = [c for c in (a, b) if c is not None]
    if not calls:
        return None
    prefs = [c.preference for c in calls if c.preference is not None]
    return CallInfo(
        latency_s=_sum([c.latency_s for c in calls]),
        prompt_tokens=_sum([c.prompt_tokens for c in calls]),
        completion_tokens=_sum([c.completion_tokens for c in calls]),
        cost_usd=_sum([c.cost_usd for c in calls]),
        preference=sum(prefs) / len(prefs) if len(prefs) == len(calls) else None,
        attempts=_sum([c.attempts for c in calls]),
    )


async def judge_with_swap(
    judge: PairwiseJudge, task: PairTask, policy: SwapPolicy = "tie"
) -> Comparison:
    """Judge ``task`` in both orders (the seed's order first) and combine, in data order.

    Both scored and agreeing: that outcome (for graded strengths, the mean preference, so the
    position bias cancels). Disagreeing: a tie or unscored, by ``policy``. Either order
    unscored: unscored, with both reasons. ``metadata["swap"]`` keeps each order's outcome,
    raw output and cache key, and whether they agreed.
    """
    first = first_order(task.seed)
    orders = (first, (first[1], first[0]))
    a, b = await asyncio.gather(
        *(judge.judge_pair(dataclasses.replace(task, order=order)) for order in orders)
    )
    outcomes = [a.score_for_first(), b.score_for_first()]
    info: dict[str, Any] = {
        "orders": [list(o) for o in orders],
        "outcomes": outcomes,
        "raw_outputs": [c.call.raw_output if c.call else None for c in (a, b)],
        "cache_keys": [c.call.cache_key if c.call else None for c in (a, b)],
        "policy": policy,
    }
    common: dict[str, Any] = {
        "prompt": task.prompt,
        "responses": list(task.responses),
        "judge": judge.source,
        "rubric": a.rubric,
        "dimension": a.dimension,
        "presentation_order": list(first),
        "presentation_seed": task.seed,
        "call": _combined_call(a.call, b.call),
    }
    if a.unscored is not None or b.unscored is not None:
        reasons = [
            f"order {order}: {c.unscored.reason}"
            for order, c in zip(orders, (a, b), strict=True)
            if c.unscored is not None
        ]
        raw = next(c.unscored.raw_output for c in (a, b) if c.unscored is not None)
        info["consistent"] = None
        return Comparison(
            unscored=Unscored(reason="; ".join(reasons), raw_output=raw),
            metadata={**a.metadata, "swap": info},
            **common,
        )
    sa, sb = outcomes
    assert sa is not None and sb is not None
    consistent = (sa > 0.5) == (sb > 0.5) and (sa < 0.5) == (sb < 0.5)
    info["consistent"] = consistent
    metadata = {**a.metadata, "swap": info}
    rationale = "\n\n".join(
        f"[order {list(order)}] {c.rationale}"
        for order, c in zip(orders, (a, b), strict=True)
        if c.rationale
    )
    common["rationale"] = rationale or None
    if not consistent:
        if policy == "unscored":
            reason = f"position-inconsistent: outcomes {sa:g} and {sb:g} for responses[0]"
            return Comparison(unscored=Unscored(reason=reason), metadata=metadata, **common)
        return Comparison(tie=True, metadata=metadata, **common)
    if a.strength is not None and b.strength is not None:
        strength = (a.strength + b.strength) / 2.0
        return Comparison(metadata=metadata, **strength_outcome(strength), **common)
    return Comparison(metadata=metadata, **outcome(sa - 0.5), **common)
