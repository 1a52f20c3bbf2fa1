"""Constitutions: the principles a model critiques and revises its own responses by.

Each principle pairs a critique request ("identify ways the response is harmful") with a
revision request ("rewrite it without them"), as in Constitutional AI (Bai et al. 2022). The
file's content hash is its version, recorded with every revision made under it. An example
ships in ``palate/safety/constitutions`` and is named without a path (``example``).
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from palate.errors import InputError
from palate.io.yamlfile import load_model
from palate.schema.hashing import canonical_bytes


class Principle(BaseModel):
    """One principle: how to find a response's fault, and how to fix it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="Stable name."
    )
    critique_request: str = Field(
        min_length=1, description="Asked after the response: what is wrong with it."
    )
    revision_request: str = Field(
        min_length=1, description="Asked after the critique: rewrite the response."
    )


class Constitution(BaseModel):
    """A named set of principles."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="The constitution's name.")
    description: str | None = Field(default=None, description="What it stands for.")
    principles: list[Principle] = Field(min_length=1, description="The principles.")

    @model_validator(mode="after")
    def _distinct_names(self) -> Constitution:
        names = [p.name for p in self.principles]
        if len(set(names)) != len(names):
            twice = next(n for n in names if names.count(n) > 1)
            raise ValueError(f"principle {twice!r} appears twice")
        return self

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON: the constitution's content version."""
        return hashlib.sha256(canonical_bytes(self.model_dump(mode="json"))).hexdigest()


def load_constitution(source: str | Path) -> Constitution:
    """A constitution from a YAML file, or a shipped one by name; errors name file, line,
    field."""
    path = Path(source)
    if path.is_file():
        return load_model(path, Constitution)
    shipped = resources.files("palate.safety") / "constitutions" / f"{source}.yaml"
    if isinstance(source, str) and "/" not in source and shipped.is_file():
        with resources.as_file(shipped) as file:
            return load_model(file, Constitution)
    raise InputError("file not found (and no shipped constitution of that name)", file=str(path))
