"""The canonical records refuse inconsistent outcomes and hash by content."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from palate.schema import Comparison, Prompt, Rating, Response, Source, Unscored, content_hash

JUDGE = Source(kind="judge", name="gpt-4o")
PAIR = [Response(model="a", text="x"), Response(model="b", text="y")]


def pair(**outcome: object) -> Comparison:
    return Comparison(prompt=Prompt(text="p"), responses=PAIR, judge=JUDGE, **outcome)  # type: ignore[arg-type]


def test_outcomes_and_score_for_first() -> None:
    assert pair(winner=0).score_for_first() == 1.0
    assert pair(winner=1).score_for_first() == 0.0
    assert pair(tie=True).score_for_first() == 0.5
    assert pair(strength=1.25, winner=0).score_for_first() == pytest.approx(0.75)
    assert pair(ranking=[1, 0]).score_for_first() == 0.0
    assert pair(unscored=Unscored(reason="refusal", raw_output="I can't")).score_for_first() is None


@pytest.mark.parametrize(
    "outcome",
    [
        {},  # no outcome at all
        {"winner": 2},  # out of range
        {"winner": 0, "tie": True},
        {"strength": 1.8, "winner": 0},  # strength says the second response won
        {"strength": 2.5, "winner": 1},  # outside [1, 2]
        {"ranking": [0, 0]},
        {"both_bad": True},  # both_bad without tie
        {"winner": 0, "unscored": Unscored(reason="x")},
    ],
)
def test_inconsistent_outcomes_are_refused(outcome: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        pair(**outcome)


def test_unscored_is_not_a_tie() -> None:
    record = pair(unscored=Unscored(reason="parse failure"))
    assert not record.tie and record.winner is None and record.score_for_first() is None


def test_rating_needs_exactly_one_value() -> None:
    rater = Source(kind="human", name="w1")
    assert Rating(item="q1", label="yes", rater=rater).label == "yes"
    with pytest.raises(ValidationError):
        Rating(item="q1", rater=rater)
    with pytest.raises(ValidationError):
        Rating(item="q1", label="yes", score=3.0, rater=rater)


def test_content_hash_depends_on_content_only() -> None:
    assert content_hash(pair(winner=0)) == content_hash(pair(winner=0))
    assert content_hash(pair(winner=0)) != content_hash(pair(winner=1))
    assert content_hash(pair(winner=0, metadata={"a": 1, "b": 2})) == content_hash(
        pair(winner=0, metadata={"b": 2, "a": 1})
    )


def test_source_parse() -> None:
    assert Source.parse("judge:gpt-4", "human") == Source(kind="judge", name="gpt-4")
    assert Source.parse("alice", "human") == Source(kind="human", name="alice")
    assert Source.parse("org:team", "human") == Source(kind="human", name="org:team")
