"""The shared outcome conventions: graded verdicts as AlpacaEval strengths."""

from __future__ import annotations

import pytest

from palate.schema.outcome import DRAW_STRENGTH, graded_strength, winner_of


@pytest.mark.parametrize(("winner", "grade", "expected"), [
    (0, 3, 1.0), (1, 3, 2.0), (0, 1, 1.5 - 1 / 6), (1, 2, 1.5 + 2 / 6), (None, 3, DRAW_STRENGTH),
])  # fmt: skip
def test_graded_strength_spans_alpacaeval_scale(
    winner: int | None, grade: int, expected: float
) -> None:
    strength = graded_strength(winner, grade, top_grade=3)
    assert strength == pytest.approx(expected)
    # read back the way every judge reads a strength, it names the same winner
    assert winner_of(DRAW_STRENGTH - strength) == winner
