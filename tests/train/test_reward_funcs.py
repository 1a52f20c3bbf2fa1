"""Judges as TRL GRPO reward functions: TRL's calling convention (plain and conversational),
rubric-weighted pointwise rewards, round-robin rewards from a pairwise judge, unscored kept
apart from zero."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from palate.judges.base import PairTask, PointTask
from palate.rubric import example_rubric_path, load_rubric, rubric_version
from palate.schema import Comparison, Rating, Source, Unscored
from palate.train.reward_funcs import as_async_reward_func, as_reward_func


class WordCounter:
    """Pointwise: each dimension's score is the number of words (capped at 5); refuses 'skip'."""

    source = Source(kind="judge", name="word-counter")

    def __init__(self) -> None:
        self.tasks: list[PointTask] = []

    async def judge_point(self, task: PointTask) -> list[Rating]:
        self.tasks.append(task)
        text = task.response.text or ""
        base = {"item": task.item, "response": task.response, "rater": self.source}
        dims = task.dimensions or (None,)
        if "skip" in text:
            return [Rating(dimension=d, unscored=Unscored(reason="refusal"), **base) for d in dims]
        words = min(5, len(text.split()))
        return [
            Rating(dimension=d, score=float(words if d != "concision" else 6 - words), **base)
            for d in dims
        ]


class LongerWins:
    """Pairwise only: the longer text wins, equal length is a tie."""

    source = Source(kind="judge", name="longer wins/v2")

    async def judge_pair(self, task: PairTask) -> Comparison:
        a, b = (len(r.text or "") for r in task.responses)
        outcome = {"tie": True} if a == b else {"winner": 0 if a > b else 1}
        return Comparison(
            prompt=task.prompt, responses=list(task.responses), judge=self.source, **outcome
        )


def test_trl_signature_plain_and_conversational() -> None:
    judge = WordCounter()
    reward = as_reward_func(judge, dimension="imagery")
    # TRL names a reward by __name__ and awaits it when inspect says it is a coroutine
    # function (trl.trainer.utils.get_callable_name / is_async_callable; not imported here:
    # importing trl loads torch and transformers, tens of seconds on a busy CI machine)
    assert reward.__name__ == "word_counter_imagery"
    assert not inspect.iscoroutinefunction(reward)
    # TRL passes completion_ids, dataset columns and the trainer state as keywords
    plain = reward(
        prompts=["p1", "p2"],
        completions=["one two three", "one"],
        completion_ids=[[1, 2, 3], [1]],
        trainer_state=None,
        answer=["x", "y"],
    )
    assert plain == [3.0, 1.0]
    conversational = reward(
        prompts=[[{"role": "user", "content": "p1"}]],
        completions=[[{"role": "assistant", "content": "a b"}]],
    )
    assert conversational == [2.0]
    assert judge.tasks[-1].prompt.messages is not None
    assert judge.tasks[-1].dimensions == ("imagery",)


def test_unscored_is_none_or_the_stated_value() -> None:
    judge = WordCounter()
    assert as_reward_func(judge)(["p", "p"], ["fine words", "skip this"]) == [2.0, None]
    stated = as_reward_func(judge, unscored=-1.0)
    assert stated(["p", "p"], ["fine words", "skip this"]) == [2.0, -1.0]


def test_rubric_weights_combine_scaled_dimensions() -> None:
    rubric = load_rubric(example_rubric_path("moon-poems"))
    judge = WordCounter()
    reward = as_reward_func(judge, rubric=rubric)
    (value,) = reward(["p"], ["a b c"])  # every dimension 3 except concision 6 - 3 = 3
    assert value == pytest.approx(0.5)  # (3 - 1) / (5 - 1) on every 1..5 scale
    (long,) = reward(["p"], ["a b c d e f g"])  # 5 on all, concision 1
    weights = {d.name: d.weight for d in rubric.dimensions}
    expected = (sum(weights.values()) - weights["concision"]) / sum(weights.values())
    assert long == pytest.approx(expected)
    assert judge.tasks[-1].rubric == rubric_version(rubric)
    assert set(judge.tasks[-1].dimensions) == set(weights)


def test_pairwise_judge_gives_group_win_rates() -> None:
    reward = as_async_reward_func(LongerWins())
    assert inspect.iscoroutinefunction(reward) and reward.__name__ == "longer_wins_v2"
    prompts = ["p", "p", "p", "q", "q", "r"]
    completions = ["aaa", "a", "aa", "bb", "bb", "c"]
    rewards = asyncio.run(reward(prompts, completions))
    # group p: aaa beats both, aa beats a; group q ties; r has no opponent
    assert rewards == [1.0, 0.0, 0.5, 0.5, 0.5, None]


def test_sync_wrapper_works_inside_a_running_loop() -> None:
    reward = as_reward_func(WordCounter())

    async def caller() -> list[float | None]:
        return reward(["p"], ["x y"])

    assert asyncio.run(caller()) == [2.0]
