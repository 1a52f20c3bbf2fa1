"""The conventions every pairwise judge, the swap and the importers share, written once.

A pair is shown in one of two orders, picked by the low bit of its seed; a verdict keeps data
order whatever the order shown. A preference for ``responses[0]`` becomes a winner or a tie the
same way everywhere: ``advantage`` is how much ``responses[0]`` is preferred (a probability
minus one half, a score margin, ``1.5 - strength``), positive wins, within ``tie_within`` of
zero ties. AlpacaEval's strength runs from 1 (``responses[0]`` fully preferred) to 2
(``responses[1]``), 1.5 a draw. ``preference`` reads a judgement back as a preference between
two of its responses: the one reading that ``export --format trl`` and training pairs share.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from typing import Any, Protocol

DRAW_STRENGTH = 1.5


def first_order(seed: int) -> tuple[int, int]:
    """The presentation order a seed picks (its low bit), for a single-order judgement."""
    return (0, 1) if seed % 2 == 0 else (1, 0)


def winner_of(advantage: float, tie_within: float = 0.0) -> int | None:
    """0 or 1, the index of the preferred response; None for a tie."""
    if abs(advantage) <= tie_within:
        return None
    return 0 if advantage > 0 else 1


def outcome(advantage: float, tie_within: float = 0.0) -> dict[str, Any]:
    """A Comparison's outcome fields: ``{"winner": i}`` or ``{"tie": True}``."""
    winner = winner_of(advantage, tie_within)
    return {"tie": True} if winner is None else {"winner": winner}


def strength_outcome(strength: float) -> dict[str, Any]:
    """The outcome fields of an AlpacaEval strength, the strength included."""
    return {"strength": strength, **outcome(DRAW_STRENGTH - strength)}


def graded_strength(winner: int | None, grade: float, top_grade: float) -> float:
    """The AlpacaEval strength of a graded verdict ("B is much better": grade 3 of 3).

    The top grade reaches 1.0 (``responses[0]``) or 2.0 (``responses[1]``); a tie is the draw.
    """
    if winner is None:
        return DRAW_STRENGTH
    step = 0.5 * grade / top_grade
    return DRAW_STRENGTH - step if winner == 0 else DRAW_STRENGTH + step


class Judged(Protocol):
    """The outcome fields of a comparison: a ``Comparison`` or a lighter decoding of one."""

    @property
    def responses(self) -> Sized: ...
    @property
    def winner(self) -> int | None: ...
    @property
    def tie(self) -> bool: ...
    @property
    def strength(self) -> float | None: ...
    @property
    def ranking(self) -> Sequence[int] | None: ...
    @property
    def unscored(self) -> object | None: ...


def preference(c: Judged) -> tuple[int, int, float] | str:
    """``(i, j, p)``: responses ``i`` and ``j`` and the probability in [0, 1] that ``i`` is
    preferred (0.5 a tie); or the reason the judgement gives no pair.

    A strength keeps its continuous value; a ranking gives its best and worst."""
    if c.unscored is not None:
        return "unscored"
    if c.strength is not None:
        return 0, 1, 2.0 - c.strength
    if c.tie:
        return (0, 1, 0.5) if len(c.responses) == 2 else "tie"
    if c.ranking is not None:
        return c.ranking[0], c.ranking[-1], 1.0
    if len(c.responses) != 2:
        return "winner among 3+ responses"
    assert c.winner is not None
    return 0, 1, 1.0 - c.winner


def chosen_rejected(c: Judged) -> tuple[int, int] | str:
    """(chosen, rejected) indices of one judgement, or the reason it has none (a tie too)."""
    found = preference(c)
    if isinstance(found, str):
        return found
    i, j, p = found
    if p == 0.5:
        return "tie"
    return (i, j) if p > 0.5 else (j, i)
