"""What a judge call cost and said, kept beside its verdict.

Latency, tokens and cost make a judge's price visible; the raw output and the logprob-based
preference keep the evidence a verdict was read from, so a parser bug can be found later.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CallInfo(BaseModel):
    """One model call behind a judgement (summed over the calls when a verdict needed several)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_s: float | None = Field(default=None, ge=0, description="Wall time of the call(s).")
    prompt_tokens: int | None = Field(default=None, ge=0, description="Input tokens billed.")
    completion_tokens: int | None = Field(default=None, ge=0, description="Output tokens billed.")
    cost_usd: float | None = Field(default=None, ge=0, description="Price of the call(s).")
    raw_output: str | None = Field(default=None, description="The model's text, verbatim.")
    preference: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="P(responses[0] preferred) read from token logprobs, as AlpacaEval's "
        "weighted annotators do; None when the endpoint gave no logprobs.",
    )
    cache_key: str | None = Field(default=None, description="Content hash the call is cached by.")
    attempts: int | None = Field(default=None, ge=1, description="HTTP attempts incl. retries.")
