"""A generation: one response a model wrote to one prompt, before anyone judged it.

Generations are the raw material of the loop (generate, then judge pairs of them). They are not
comparisons (no outcome yet) nor ratings (no label), so they are their own record kind, stored
in the same ``records`` table as ``kind = 'generation'``: content-hashed like every record, so
a resumed run adds nothing twice, and named in the ledger by the same dataset-rows Merkle root.
Everything that decides the text is kept with it (model, checkpoint hash, sampling, seed), so a
response can be reproduced, and the seed makes the record's identity differ per sample.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from palate.schema.comparison import Prompt, Response


class Sampling(BaseModel):
    """The decoding settings a response was sampled with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = Field(ge=0, description="0 means greedy decoding.")
    top_p: float = Field(default=1.0, gt=0, le=1, description="Nucleus sampling mass.")
    max_new_tokens: int = Field(ge=1, description="Generation limit in tokens.")
    seed: int = Field(
        description="The run's seed; each batch (local) or call (endpoint) derives its own."
    )
    batch_size: int | None = Field(
        default=None,
        description="Local models: prompts per batch (the random stream, and so the sampled "
        "text, depends on it); None for endpoints.",
    )


class Generation(BaseModel):
    """One sampled response with everything needed to reproduce and attribute it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["generation"] = "generation"
    prompt: Prompt
    response: Response = Field(description="The text, and the model name that wrote it.")
    sample: int = Field(ge=0, description="Index of this sample among the prompt's n.")
    checkpoint_hash: str | None = Field(
        default=None, description="Content hash of the local checkpoint (None for endpoints)."
    )
    backend: str = Field(description="'transformers', 'vllm' or 'openai' (an HTTP endpoint).")
    sampling: Sampling
    finish_reason: str | None = Field(default=None, description="'stop', 'length', ...")
    completion_tokens: int | None = Field(default=None, description="Tokens generated.")
    error: str | None = Field(
        default=None, description="Why an endpoint gave no text (kept, never dropped)."
    )
