"""Position swap on the loopback server's scripted judges (consistent, position-biased)."""

from __future__ import annotations

import asyncio

from palate.judges.base import PairTask
from palate.judges.openai_judge import OpenAIJudge
from palate.judges.swap import SwapPolicy, judge_with_swap, swap_seed
from palate.schema import Comparison, Prompt, Response
from palate.schema.outcome import first_order
from palate.testing.loopback import LoopbackServer, Script, Verdict
from tests.judges.fixtures import openai_config

TASK = PairTask(
    prompt=Prompt(id="q1", text="Name a colour."),
    responses=(Response(model="a", text="Red."), Response(model="b", text="Blue, like the sky.")),
    seed=swap_seed("q1", ("a", "b"), "scripted", 0),
)


def _judge(verdict: Verdict, policy: SwapPolicy, style: str = "json") -> Comparison:
    async def main(url: str) -> Comparison:
        judge = OpenAIJudge(openai_config(url, style=style))
        try:
            return await judge_with_swap(judge, TASK, policy)
        finally:
            await judge.aclose()

    with LoopbackServer(Script(verdict=verdict)) as server:
        return asyncio.run(main(server.base_url))


def test_seed_depends_on_item_pair_judge_and_replicate_only() -> None:
    seed = swap_seed("q1", ("a", "b"), "j", 0)
    assert seed == swap_seed("q1", ("a", "b"), "j", 0) and 0 <= seed < 2**63
    others = {swap_seed("q2", ("a", "b"), "j", 0), swap_seed("q1", ("b", "a"), "j", 0),
              swap_seed("q1", ("a", "b"), "k", 0), swap_seed("q1", ("a", "b"), "j", 1)}  # fmt: skip
    assert seed not in others and len(others) == 4
    orders = {first_order(swap_seed(f"q{i}", ("a", "b"), "j", 0)) for i in range(50)}
    assert orders == {(0, 1), (1, 0)}


def test_consistent_judge_keeps_its_verdict() -> None:
    result = _judge("longer", "unscored")
    assert result.winner == 1 and result.metadata["swap"]["consistent"] is True
    assert result.metadata["swap"]["outcomes"] == [0.0, 0.0]
    assert sorted(map(tuple, result.metadata["swap"]["orders"])) == [(0, 1), (1, 0)]
    assert result.call is not None and result.call.attempts == 2


def test_position_biased_judge_is_caught_by_policy() -> None:
    tie = _judge("first", "tie")
    assert tie.tie and tie.metadata["swap"]["consistent"] is False
    unscored = _judge("first", "unscored")
    assert unscored.unscored is not None and "position-inconsistent" in unscored.unscored.reason


def test_letter_preferences_average_over_orders() -> None:
    # P(first shown) = 0.9 for the longer: 0.1 for responses[0] in both orders
    result = _judge("longer", "tie", style="letter")
    assert result.strength is not None and abs(result.strength - 1.9) < 1e-9
    assert result.call is not None and abs((result.call.preference or 0) - 0.1) < 1e-9
