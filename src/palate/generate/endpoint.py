"""Generation from any OpenAI-compatible chat-completions endpoint, through the judges' client.

The client's retries, backoff and rate limits apply unchanged. Each call sends a seed derived
from (run seed, prompt, sample), for endpoints that honour one. A call that fails after its
retries is stored with its error and no text, never dropped; a rerun of the batch retries it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from palate.errors import PalateError
from palate.generate.jobs import Job, SamplingSettings, derived_seed
from palate.io.yamlfile import load_model
from palate.judges.client import ChatClient, ChatResult
from palate.schema import Generation, Response
from palate.schema.text import generation_input


class EndpointConfig(BaseModel):
    """An OpenAI-compatible server that writes responses (YAML, like a judge config)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="How responses are attributed (Response.model).")
    model: str = Field(min_length=1, description="Model name sent in each request.")
    base_url: str = Field(pattern=r"^https?://", description="API root, e.g. http://host/v1.")
    api_key_env: str | None = Field(
        default=None, description="Environment variable holding the API key (never stored)."
    )
    concurrency: int = Field(default=16, ge=1, le=4096, description="Requests in flight at most.")
    timeout_s: float = Field(default=60.0, gt=0, description="Per-request timeout in seconds.")
    max_retries: int = Field(default=6, ge=0, le=50, description="Retries per request.")


def load_endpoint(path: Path) -> EndpointConfig:
    return load_model(path, EndpointConfig)


class EndpointGenerator:
    """Responses from an endpoint; ``calls`` counts HTTP requests made."""

    backend = "openai"
    checkpoint_hash: str | None = None

    def __init__(self, config: EndpointConfig) -> None:
        self.config = config
        self.name = config.name
        self.batch_size = config.concurrency * 4
        self.calls = 0
        self.api_key: str | None = None
        if config.api_key_env is not None:
            self.api_key = os.environ.get(config.api_key_env)
            if not self.api_key:
                raise PalateError(f"environment variable {config.api_key_env} is not set")

    async def _batch(self, jobs: Sequence[Job], settings: SamplingSettings) -> list[ChatResult]:
        async with ChatClient(
            self.config.base_url,
            self.config.model,
            api_key=self.api_key,
            concurrency=self.config.concurrency,
            timeout_s=self.config.timeout_s,
            max_retries=self.config.max_retries,
            seed=settings.seed,
        ) as client:
            results = await asyncio.gather(
                *(
                    client.chat(
                        [m.model_dump() for m in job.prompt.messages]
                        if job.prompt.messages
                        else [{"role": "user", "content": generation_input(job.prompt)}],
                        max_tokens=settings.max_new_tokens,
                        temperature=settings.temperature,
                        seed=derived_seed(settings.seed, job.prompt.key, job.sample),
                    )
                    for job in jobs
                )
            )
            self.calls += client.calls
        return list(results)

    def generate(
        self, jobs: Sequence[Job], settings: SamplingSettings, batch: int
    ) -> list[Generation]:
        results = asyncio.run(self._batch(jobs, settings))
        sampling = settings.recorded()
        return [
            Generation(
                prompt=job.prompt,
                response=Response(model=self.name, text=result.text),
                sample=job.sample,
                backend=self.backend,
                sampling=sampling,
                finish_reason=result.finish_reason,
                completion_tokens=result.completion_tokens,
                error=result.error,
            )
            for job, result in zip(jobs, results, strict=True)
        ]

    def close(self) -> None:
        pass
