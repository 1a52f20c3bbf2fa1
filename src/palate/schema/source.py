"""Who judged: a human rater or an AI judge, with the version that makes results attributable."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SourceKind = Literal["human", "judge"]


class Source(BaseModel):
    """The rater or judge behind a judgement.

    ``kind`` separates people from machines because every statistic that mixes them (agreement,
    prediction-powered inference, routing) must know which is which.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SourceKind = Field(description="'human' for a person, 'judge' for an AI judge.")
    name: str = Field(min_length=1, description="Rater id or judge name, e.g. 'w17', 'gpt-4o'.")
    version: str | None = Field(
        default=None, description="Judge config hash or model revision, when known."
    )

    @classmethod
    def parse(cls, spec: str, default_kind: SourceKind) -> Source:
        """Read ``[human:|judge:]NAME`` as the command line writes it."""
        kind, sep, name = spec.partition(":")
        if sep and kind in ("human", "judge"):
            return cls(kind=kind, name=name)
        return cls(kind=default_kind, name=spec)
