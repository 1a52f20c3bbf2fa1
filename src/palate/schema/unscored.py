"""The explicit 'no judgement' value.

A judge that refused, timed out or wrote something unparsable produced no judgement. Storing
that as a tie (or dropping it) would bias every statistic downstream, so it is kept as its own
value with the reason and the raw output, and statistics skip it deliberately.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Unscored(BaseModel):
    """Why a judgement has no outcome."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str = Field(min_length=1, description="e.g. 'parse failure', 'refusal', 'timeout'.")
    raw_output: str | None = Field(default=None, description="What the judge said, verbatim.")
