"""The conventions every pairwise judge, the swap and the importers share, written once.

A pair is shown in one of two orders, picked by the low bit of its seed; a verdict keeps data
order whatever the order shown. A preference for ``responses[0]`` becomes a winner or a tie the
same way everywhere: ``advantage`` is how much ``responses[0]`` is preferred (a probability
minus one half, a score margin, ``1.5 - strength``), positive wins, within ``tie_within`` of
zero ties. AlpacaEval's strength runs from 1 (``responses[0]`` fully preferred) to 2
(``responses[1]``), 1.5 a draw.
"""

from __future__ import annotations

from typing import Any

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
