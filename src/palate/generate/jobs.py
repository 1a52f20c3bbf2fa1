"""What a generator is asked to do: one (prompt, sample index) job at a time, in batches.

Both backends take a batch of jobs and return one ``Generation`` per job, in order. The run
(``palate.generate.run``) cuts the jobs into fixed batches and stores each batch in one
transaction, so a killed run redoes at most the batch it was in, with the same seed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from palate.schema import Generation, Prompt
from palate.schema.generation import Sampling
from palate.schema.hashing import canonical_bytes


@dataclass(frozen=True)
class Job:
    prompt: Prompt
    sample: int


@dataclass(frozen=True)
class SamplingSettings:
    """Decoding settings of a run."""

    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 128
    seed: int = 0

    def recorded(self, batch_size: int | None = None) -> Sampling:
        """The settings as stored with each generation."""
        return Sampling(
            temperature=self.temperature,
            top_p=self.top_p,
            max_new_tokens=self.max_new_tokens,
            seed=self.seed,
            batch_size=batch_size,
        )


def derived_seed(*parts: object) -> int:
    """A 31-bit seed from SHA-256 of the parts (stable across processes and platforms)."""
    digest = hashlib.sha256(canonical_bytes([str(p) for p in parts])).digest()
    return int.from_bytes(digest[:4], "big") >> 1


class Generator(Protocol):
    """A model that writes responses: a local checkpoint or an HTTP endpoint."""

    name: str
    backend: str
    checkpoint_hash: str | None
    batch_size: int

    def generate(
        self, jobs: Sequence[Job], settings: SamplingSettings, batch: int
    ) -> list[Generation]:
        """One Generation per job, in order; ``batch`` is the batch's index in the run."""
        ...

    def close(self) -> None: ...
