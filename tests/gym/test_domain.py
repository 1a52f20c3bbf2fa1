"""The moon-poem domain and the simulated experts."""

from __future__ import annotations

import numpy as np
import pytest

from palate.gym.domain import LINES, parse, render
from palate.gym.experts import Population, PopulationConfig
from palate.gym.loop import expert_truth
from palate.judges.base import PairTask
from palate.schema import Prompt, Response


def test_render_parse_round_trip_and_errors() -> None:
    poem = (10, 20, 35, 0)
    assert parse(render(poem)) == poem
    assert render(poem).startswith("I love the moon")
    with pytest.raises(ValueError, match="line 2 is not in the moon-poem vocabulary"):
        parse(LINES[0].text + "\nthe sun is hot")


def test_gold_is_a_preference_and_prefers_fresh_over_cliche() -> None:
    population = Population.draw(PopulationConfig(), np.random.default_rng(0), 0)
    fresh = (21, 25, 35)  # two fresh images and a turn
    cliche = (0, 1, 2, 3, 11, 11, 11, 11)  # stock moon lines and keyword stuffing
    p = population.gold_preference([fresh, cliche], [cliche, fresh])
    assert p[0] > 0.9 and p[0] + p[1] == pytest.approx(1.0)


def test_truth_inference_finds_the_careless_raters() -> None:
    """Many experts label the same pairs; Dawid-Skene should rank the careless ones lowest."""
    population = Population.draw(
        PopulationConfig(n_experts=12, n_careless=3), np.random.default_rng(5), 5
    )
    rng = np.random.default_rng(6)
    answers = []
    for i in range(60):
        a, b = (tuple(rng.integers(0, len(LINES), size=k)) for k in rng.integers(1, 7, size=2))
        task = PairTask(
            prompt=Prompt(id=f"item-{i}", text="moon"),
            responses=(Response(text=render(a)), Response(text=render(b))),
            order=(1, 0) if i % 2 else (0, 1),
            seed=i,
        )
        answers += [population.answer(e, task) for e in range(12)]
    _, accuracy = expert_truth(answers)
    worst = sorted(accuracy, key=lambda name: accuracy[name])[:3]
    assert {population.names.index(w) for w in worst} == set(np.flatnonzero(population.careless))
