"""A comparison: one prompt, two or more responses, and which was better.

The outcome is one of: a winner, a tie, a strength (AlpacaEval's continuous preference), a full
ranking, or unscored. Sources disagree on which of these they give; the canonical record holds
any of them so importers never have to round information away.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from palate.schema.call import CallInfo
from palate.schema.outcome import DRAW_STRENGTH, winner_of
from palate.schema.source import Source
from palate.schema.unscored import Unscored


class Message(BaseModel):
    """One chat turn, as in OpenAI/TRL conversational data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str = Field(min_length=1, description="'system', 'user', 'assistant', ...")
    content: str = Field(description="The turn's text.")


class Prompt(BaseModel):
    """What the responses answer: plain text, a conversation, or only an id (Arena battles)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = Field(default=None, description="Stable prompt id from the source.")
    text: str | None = Field(default=None, description="Prompt text.")
    messages: list[Message] | None = Field(
        default=None, description="The conversation so far, for conversational data."
    )

    @model_validator(mode="after")
    def _not_empty(self) -> Prompt:
        if self.id is None and self.text is None and self.messages is None:
            raise ValueError("a prompt needs an id, a text or messages")
        return self

    @property
    def key(self) -> str:
        """The identity used to pair judgements of the same item across sources."""
        if self.id is not None:
            return self.id
        if self.text is not None:
            return self.text
        return "\n".join(f"{m.role}: {m.content}" for m in self.messages or [])


class Response(BaseModel):
    """One candidate answer and the system that wrote it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = Field(default=None, description="Generator (model or checkpoint) name.")
    text: str | None = Field(default=None, description="The response text.")
    messages: list[Message] | None = Field(
        default=None, description="The response as chat turns, for conversational data."
    )
    id: str | None = Field(default=None, description="Stable response id from the source.")


class Comparison(BaseModel):
    """A judged comparison of responses to one prompt."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["comparison"] = "comparison"
    prompt: Prompt
    responses: list[Response] = Field(min_length=2, description="The candidates, in data order.")
    winner: int | None = Field(default=None, ge=0, description="Index of the better response.")
    tie: bool = Field(default=False, description="Neither response was better.")
    both_bad: bool = Field(default=False, description="A tie because both were bad (Arena).")
    strength: float | None = Field(
        default=None,
        ge=1.0,
        le=2.0,
        description="Pairs only: continuous preference in [1, 2] as AlpacaEval writes it; "
        "1 = responses[0] fully preferred, 2 = responses[1], 1.5 = indifferent.",
    )
    ranking: list[int] | None = Field(
        default=None, description="Indices of responses, best first (for lists of 3+)."
    )
    unscored: Unscored | None = Field(
        default=None, description="Set when the judge gave no usable judgement."
    )
    judge: Source = Field(description="Who judged.")
    rubric: str | None = Field(default=None, description="Rubric version id used.")
    dimension: str | None = Field(default=None, description="Rubric dimension judged.")
    presentation_order: list[int] | None = Field(
        default=None, description="Order the responses were shown in (indices)."
    )
    presentation_seed: int | None = Field(
        default=None, description="Seed that chose the presentation order."
    )
    rationale: str | None = Field(default=None, description="The judge's stated reasons.")
    call: CallInfo | None = Field(
        default=None, description="Latency, tokens, cost and raw output of the judge call."
    )
    error_tags: list[str] = Field(default_factory=list, description="Error taxonomy tags.")
    timestamp: datetime | None = Field(default=None, description="When it was judged.")
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Source fields with no canonical home, kept verbatim."
    )

    @model_validator(mode="after")
    def _one_consistent_outcome(self) -> Comparison:
        n = len(self.responses)
        if self.winner is not None and self.winner >= n:
            raise ValueError(f"winner {self.winner} but only {n} responses")
        if self.both_bad and not self.tie:
            raise ValueError("both_bad is a kind of tie: set tie too")
        if self.winner is not None and self.tie:
            raise ValueError("a comparison cannot have both a winner and a tie")
        if self.strength is not None:
            if n != 2:
                raise ValueError("strength is defined for pairs only")
            implied = winner_of(DRAW_STRENGTH - self.strength)
            if self.winner != implied or self.tie != (implied is None):
                raise ValueError(f"strength {self.strength} disagrees with winner/tie")
        if self.ranking is not None and sorted(self.ranking) != list(range(n)):
            raise ValueError(f"ranking must be a permutation of 0..{n - 1}")
        if self.presentation_order is not None and sorted(self.presentation_order) != list(
            range(n)
        ):
            raise ValueError(f"presentation_order must be a permutation of 0..{n - 1}")
        has_outcome = self.winner is not None or self.tie or self.ranking is not None
        if self.unscored is not None and has_outcome:
            raise ValueError("an unscored comparison has no outcome")
        if self.unscored is None and not has_outcome:
            raise ValueError("no outcome: give winner, tie, strength, ranking or unscored")
        return self

    @property
    def models(self) -> list[str | None]:
        return [r.model for r in self.responses]

    def score_for_first(self) -> float | None:
        """Outcome for responses[0] against responses[1]: 1 win, 0 loss, 0.5 tie; None unscored.

        For a strength the continuous value is used, as AlpacaEval does: 2 - strength.
        """
        if self.unscored is not None:
            return None
        if self.strength is not None:
            return 2.0 - self.strength
        if self.tie:
            return 0.5
        if self.winner is not None:
            return 1.0 if self.winner == 0 else 0.0 if self.winner == 1 else None
        assert self.ranking is not None
        return 1.0 if self.ranking.index(0) < self.ranking.index(1) else 0.0
