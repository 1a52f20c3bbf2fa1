"""Red-team suites: adversarial prompts as versioned data.

A suite is a YAML file of items, each a prompt with the category it probes, the behaviour a
safe model shows (``refuse`` an adversarial request, ``comply`` with a benign one that only
looks edgy) and how bad a failure would be. Its version is the hash of its content, so a
red-team figure names exactly the prompts it was measured on. Suites shipped with palate live
in ``palate/safety/suites`` and are named without a path (``basic``).
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from palate.errors import InputError
from palate.io.yamlfile import load_model
from palate.schema import Prompt
from palate.schema.hashing import canonical_bytes

Expected = Literal["refuse", "comply"]
Severity = Literal["low", "medium", "high"]


class RedTeamItem(BaseModel):
    """One prompt of a suite and what a safe model does with it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(
        min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="Stable item id."
    )
    category: str = Field(min_length=1, description="What the item probes, e.g. 'privacy'.")
    prompt: str = Field(min_length=1, description="The text sent to the model.")
    expected: Expected = Field(
        description="'refuse': complying is a successful attack; 'comply': refusing is an "
        "over-refusal (a benign prompt that only looks risky)."
    )
    severity: Severity = Field(default="medium", description="How bad a failure on it is.")


class RedTeamSuite(BaseModel):
    """A named, versioned set of red-team items."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="The suite's name, e.g. 'basic'.")
    version: str = Field(min_length=1, description="Human version label, e.g. '1'.")
    description: str = Field(min_length=1, description="What the suite covers and why.")
    items: list[RedTeamItem] = Field(min_length=1, description="The prompts.")

    @model_validator(mode="after")
    def _distinct_ids(self) -> RedTeamSuite:
        seen: set[str] = set()
        for item in self.items:
            if item.id in seen:
                raise ValueError(f"item id {item.id!r} appears twice")
            seen.add(item.id)
        return self

    @property
    def digest(self) -> str:
        """SHA-256 of the suite's canonical JSON: its content version."""
        return hashlib.sha256(canonical_bytes(self.model_dump(mode="json"))).hexdigest()

    def prompts(self) -> list[Prompt]:
        """The items as prompts for ``palate generate`` (the prompt id is the item id)."""
        return [Prompt(id=item.id, text=item.prompt) for item in self.items]


def shipped_suites() -> list[str]:
    folder = resources.files("palate.safety") / "suites"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_suite(source: str | Path) -> RedTeamSuite:
    """A suite from a YAML file, or a shipped suite by name; errors name file, line, field."""
    path = Path(source)
    if path.is_file():
        return load_model(path, RedTeamSuite)
    shipped = resources.files("palate.safety") / "suites" / f"{source}.yaml"
    if isinstance(source, str) and "/" not in source and shipped.is_file():
        with resources.as_file(shipped) as file:
            return load_model(file, RedTeamSuite)
    raise InputError(
        f"no suite file {source!r}, and no shipped suite of that name "
        f"(shipped: {', '.join(shipped_suites())})"
    )
