"""Simulated experts: hidden, heterogeneous tastes, noise, rater biases and a few careless raters.

Each expert scores a poem on the five dimensions of the ``moon-poems`` rubric (imagery,
originality, sound, emotional turn, concision) and weighs them by private weights drawn around
the rubric's weights, so experts genuinely disagree. Answering a pair, an expert compares the
weighted scores through a logistic with their own temperature, leans toward whichever poem is
shown first (position bias), calls near-equal pairs a tie (leniency), and a few careless raters
answer at random. The hidden gold is the population's mean preference, free of the biases.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field
from scipy.special import expit

from palate.gym.domain import Poem, feature_matrix, parse
from palate.judges.base import PairTask
from palate.schema import Comparison, Source

FloatArray = npt.NDArray[np.float64]

DIMENSIONS = ("imagery", "originality", "sound", "emotional_turn", "concision")
# The moon-poems rubric's weights: the population's taste is centred on what the rubric says.
RUBRIC_WEIGHTS = np.array([1.5, 1.5, 1.0, 1.0, 0.75])
IDEAL_LINES = 4


def dimension_scores(poems: Sequence[Poem]) -> FloatArray:
    """Per poem, a score on each of ``DIMENSIONS`` (higher is better), from its features.

    Imagery counts fresh images (three at most); originality loses for every stock line, for
    naming the moon more than once, and for repeated lines; sound rewards deliberate sound and
    a single rhyme but not a jingle; the turn must come after an image; concision loses for
    every line past four, for a one-line poem, and for repeats.
    """
    f = feature_matrix(poems)
    lines, moons, rhymes, stock, fresh, sound, turn, repeats = f.T
    imagery = np.minimum(fresh, 3.0)
    originality = -stock - 0.5 * np.maximum(moons - 1, 0) - repeats
    music = np.minimum(sound, 2.0) + 0.3 * np.minimum(rhymes, 1) - 0.5 * np.maximum(rhymes - 2, 0)
    concision = -np.maximum(lines - IDEAL_LINES, 0) - (lines < 2) - repeats
    return np.stack([imagery, originality, music, turn, concision], axis=1)


class PopulationConfig(BaseModel):
    """How the simulated expert population is drawn."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_experts: int = Field(default=24, ge=3, description="Experts in the population.")
    n_careless: int = Field(default=3, ge=0, description="Of them, raters who answer at random.")
    taste_spread: float = Field(
        default=0.6,
        ge=0,
        description="Log-normal spread of each expert's dimension weights around the rubric's.",
    )
    temperature: tuple[float, float] = Field(
        default=(0.6, 1.4), description="Range of experts' logistic temperatures (noise)."
    )
    position_bias: float = Field(
        default=0.35, ge=0, description="Spread (sd, logit scale) of experts' first-shown lean."
    )
    leniency: tuple[float, float] = Field(
        default=(0.0, 0.4),
        description="Range of the utility gap below which an expert calls a tie.",
    )


@dataclass(frozen=True)
class Population:
    """The experts' hidden parameters (index e is expert ``names[e]``)."""

    names: list[str]
    weights: FloatArray  # experts × dimensions
    temperature: FloatArray
    position_bias: FloatArray
    leniency: FloatArray
    careless: npt.NDArray[np.bool_]
    seed: int

    @classmethod
    def draw(cls, config: PopulationConfig, rng: np.random.Generator, seed: int) -> Population:
        n = config.n_experts
        noise = rng.normal(0.0, config.taste_spread, size=(n, len(DIMENSIONS)))
        careless = np.zeros(n, dtype=bool)
        careless[rng.choice(n, size=min(config.n_careless, n - 2), replace=False)] = True
        return cls(
            names=[f"expert-{e:02d}" for e in range(n)],
            weights=RUBRIC_WEIGHTS * np.exp(noise),
            temperature=rng.uniform(*config.temperature, size=n),
            position_bias=rng.normal(0.0, config.position_bias, size=n),
            leniency=rng.uniform(*config.leniency, size=n),
            careless=careless,
            seed=seed,
        )

    @property
    def careful(self) -> npt.NDArray[np.intp]:
        return np.flatnonzero(~self.careless)

    def utilities(self, poems: Sequence[Poem]) -> FloatArray:
        """Poems × experts: each expert's private score of each poem."""
        return dimension_scores(poems) @ self.weights.T

    def gold_preference(self, first: Sequence[Poem], second: Sequence[Poem]) -> FloatArray:
        """The hidden gold: per pair, the careful population's mean probability of preferring
        ``first`` — what the experts want on average, without position bias or careless raters."""
        gap = self.utilities(first) - self.utilities(second)
        keep = self.careful
        return np.asarray(expit(gap[:, keep] / self.temperature[keep]).mean(axis=1))

    def gold_utility(self, poems: Sequence[Poem]) -> FloatArray:
        """The careful population's mean utility of each poem (for plots and samples)."""
        return np.asarray(self.utilities(poems)[:, self.careful].mean(axis=1))

    def answer(self, expert: int, task: PairTask) -> Comparison:
        """Expert ``expert``'s verdict on a pair, as a human-sourced Comparison in data order."""
        shown = [parse(r.text or "") for r in task.shown]
        rng = np.random.default_rng(
            [self.seed, expert, task.replicate, _stable(task.item), task.seed & 0xFFFFFFFF]
        )
        if self.careless[expert]:
            first_wins = bool(rng.random() < 0.5)
            tie = False
        else:
            u = self.utilities(shown)[:, expert]
            gap = float(u[0] - u[1])
            tie = abs(gap) < self.leniency[expert] and rng.random() < 0.5
            p_first = expit(gap / self.temperature[expert] + self.position_bias[expert])
            first_wins = bool(rng.random() < p_first)
        winner = None if tie else task.order[0] if first_wins else task.order[1]
        return Comparison(
            prompt=task.prompt,
            responses=list(task.responses),
            winner=winner,
            tie=tie,
            judge=Source(kind="human", name=self.names[expert]),
            rubric=task.rubric,
            presentation_order=list(task.order),
            presentation_seed=task.seed,
        )


def _stable(text: str) -> int:
    """A process-independent 32-bit hash (Python's ``hash`` is salted per process)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
