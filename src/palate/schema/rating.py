"""A rating: one rater's label or score for one item.

Covers crowd labels (question, worker, answer) and pointwise rubric scores alike; truth
inference and agreement statistics read these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from palate.schema.call import CallInfo
from palate.schema.comparison import Prompt, Response
from palate.schema.source import Source
from palate.schema.unscored import Unscored


class Rating(BaseModel):
    """A categorical label or a numeric score given to an item by one rater."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["rating"] = "rating"
    item: str = Field(min_length=1, description="The item rated (question id).")
    prompt: Prompt | None = Field(default=None, description="The prompt, when there is one.")
    response: Response | None = Field(default=None, description="The response rated, if any.")
    label: str | None = Field(default=None, description="Categorical answer, e.g. 'before'.")
    score: float | None = Field(default=None, description="Numeric score on the rubric scale.")
    unscored: Unscored | None = Field(default=None, description="Set when no usable rating.")
    rater: Source = Field(description="Who rated.")
    rubric: str | None = Field(default=None, description="Rubric version id used.")
    dimension: str | None = Field(default=None, description="Rubric dimension rated.")
    rationale: str | None = Field(default=None, description="The rater's stated reasons.")
    call: CallInfo | None = Field(
        default=None, description="Latency, tokens, cost and raw output of the judge call."
    )
    error_tags: list[str] = Field(default_factory=list, description="Error taxonomy tags.")
    timestamp: datetime | None = Field(default=None, description="When it was rated.")
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Source fields with no canonical home, kept verbatim."
    )

    @model_validator(mode="after")
    def _one_value(self) -> Rating:
        given = (self.label is not None) + (self.score is not None) + (self.unscored is not None)
        if given != 1:
            raise ValueError("a rating has exactly one of label, score or unscored")
        return self
