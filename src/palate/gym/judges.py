"""Cheap judges for the gym: checkbox judges, a position-biased judge, and a reward model fitted
on a few expert labels. The judges implement ``palate.judges.base.PairwiseJudge`` and read the
poems' text, as a real judge would; the reward model judges through palate's own
``palate.judges.reward_model.RewardModelJudge`` (``RewardModelJudge.of``), as any reward model
does.

The reward model is a Bradley-Terry model that is linear in poem features (which lines occur,
length, moon count, rhymes, repeats), fitted by L2-penalised logistic regression. The shared
``palate.judges.reward_model.EmbeddingRewardModel`` embeds text with MiniLM; here every poem is
a bag of known lines, so exact line counts carry all the information an embedding would, and
the fit takes milliseconds instead of an encoder pass per round.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from palate.gym.domain import FEATURES, MAX_LINES, N_LINES, Poem, feature_matrix, parse
from palate.judges.base import PairTask
from palate.schema import Comparison, Source, Unscored

FloatArray = npt.NDArray[np.float64]
Score = Callable[[Poem], float]


def _outcome(
    task: PairTask, judge: Source, first: float, second: float, **meta: float
) -> Comparison:
    """A Comparison in data order from two scores in presentation order (equal: a tie)."""
    tie = first == second
    shown_winner = 0 if first > second else 1
    return Comparison(
        prompt=task.prompt,
        responses=list(task.responses),
        winner=None if tie else task.order[shown_winner],
        tie=tie,
        judge=judge,
        rubric=task.rubric,
        presentation_order=list(task.order),
        presentation_seed=task.seed,
        metadata=dict(meta),
    )


def _unscored(task: PairTask, judge: Source, reason: str) -> Comparison:
    return Comparison(
        prompt=task.prompt,
        responses=list(task.responses),
        unscored=Unscored(reason=reason),
        judge=judge,
        presentation_order=list(task.order),
        presentation_seed=task.seed,
    )


def _shown_poems(task: PairTask) -> tuple[Poem, Poem]:
    first, second = task.shown
    return parse(first.text or ""), parse(second.text or "")


@dataclass
class CheckboxJudge:
    """Prefers the poem that ticks more of one box (equal counts: a tie)."""

    source: Source
    score: Score

    async def judge_pair(self, task: PairTask) -> Comparison:
        try:
            first, second = _shown_poems(task)
        except ValueError as exc:
            return _unscored(task, self.source, str(exc))
        return _outcome(task, self.source, self.score(first), self.score(second))


def _count(feature: str) -> Score:
    """A score that counts one of ``palate.gym.domain.FEATURES``."""
    index = FEATURES.index(feature)
    return lambda poem: float(feature_matrix([poem])[0, index])


def checkbox_judges() -> list[CheckboxJudge]:
    """The four checkboxes a cheap rubric-free judge ticks: mentions the moon, rhymes, length,
    keyword count."""
    moons = _count("moons")

    def judge(name: str, score: Score) -> CheckboxJudge:
        return CheckboxJudge(Source(kind="judge", name=f"checkbox-{name}", version="1"), score)

    return [
        judge("mentions-moon", lambda poem: float(moons(poem) > 0)),
        judge("rhymes", _count("rhymes")),
        judge("length", _count("lines")),
        judge("keywords", moons),
    ]


def checkbox_score(poems: Sequence[Poem]) -> FloatArray:
    """The checkbox judges' scalar proxy per poem: ticks summed (mentions + rhymes + lines +
    moon keywords)."""
    f = feature_matrix(poems)
    return np.asarray((f[:, 1] > 0) + f[:, 2] + f[:, 0] + f[:, 1], dtype=float)


@dataclass
class PositionBiasedJudge:
    """Picks the first poem shown with probability ``bias``; otherwise the one with more fresh
    images. The kind of judge position swaps and truth inference exist to catch."""

    source: Source
    bias: float = 0.75

    async def judge_pair(self, task: PairTask) -> Comparison:
        try:
            first, second = _shown_poems(task)
        except ValueError as exc:
            return _unscored(task, self.source, str(exc))
        digest = hashlib.sha256(f"{task.item}|{task.seed}|{task.replicate}".encode()).digest()
        if int.from_bytes(digest[:4], "big") / 2**32 < self.bias:
            return _outcome(task, self.source, 1.0, 0.0)
        fresh = feature_matrix([first, second])[:, 4]
        return _outcome(task, self.source, float(fresh[0]), float(fresh[1]))


def reward_features(poems: Sequence[Poem]) -> FloatArray:
    """The reward model's inputs: counts of each line, one-hot length (so it can learn that a
    preferred length lies in the middle), then moons, rhymes, repeats and turn."""
    f = feature_matrix(poems)
    counts = np.zeros((len(poems), N_LINES))
    for row, poem in enumerate(poems):
        np.add.at(counts[row], list(poem), 1.0)
    length = np.zeros((len(poems), MAX_LINES))
    length[np.arange(len(poems)), f[:, 0].astype(int) - 1] = 1.0
    return np.hstack([counts, length, f[:, [1, 2, 7, 6]]])


@dataclass(frozen=True)
class RewardModel:
    """Bradley-Terry reward r(poem) = w · φ(poem), P(a beats b) = σ(r(a) − r(b))."""

    weights: FloatArray
    n_labels: int

    @classmethod
    def fit(
        cls,
        winners: Sequence[Poem],
        losers: Sequence[Poem],
        *,
        sample_weight: FloatArray | None = None,
        l2: float = 1.0,
    ) -> RewardModel:
        """L2-penalised maximum likelihood; convex, so deterministic whatever the start."""
        diff = reward_features(winners) - reward_features(losers)
        w8 = np.ones(len(diff)) if sample_weight is None else np.asarray(sample_weight, float)

        def objective(w: FloatArray) -> tuple[float, FloatArray]:
            z = diff @ w
            loss = -(w8 * log_expit(z)).sum() + 0.5 * l2 * w @ w
            grad = -(diff.T @ (w8 * expit(-z))) + l2 * w
            return float(loss), grad

        result = minimize(objective, np.zeros(diff.shape[1]), jac=True, method="L-BFGS-B")
        return cls(np.asarray(result.x), len(diff))

    def reward(self, poems: Sequence[Poem]) -> FloatArray:
        return np.asarray(reward_features(poems) @ self.weights)

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> FloatArray:
        """The reward of each response's poem: what makes this model a
        ``palate.judges.reward_model.Scorer`` (every prompt is the moon prompt)."""
        return self.reward([parse(text) for text in responses])

    def preference(self, first: Sequence[Poem], second: Sequence[Poem]) -> FloatArray:
        """P(first beats second) per pair."""
        return np.asarray(expit(self.reward(first) - self.reward(second)))
