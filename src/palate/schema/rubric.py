"""What a rubric says: dimensions with anchored scales, trade-offs, exemplars and error tags.

A rubric is identified by the hash of its content, so the same rubric written with other key
order, whitespace or comments has the same version, and any change of content a new one.
Validation is strict (unknown keys, unanchored levels, non-numeric weights are errors) because
a typo in a rubric silently changes every judgement made with it. Validators that check one
part against another put the offending location in the error's ``loc`` context, so a loader
can point at the exact line.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import rfc8785
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

Loc = tuple[str | int, ...]


def _rubric_error(message: str, loc: Loc = (), **context: Any) -> PydanticCustomError:
    """A validation error whose ``ctx["loc"]`` says where below the validated object it is."""
    return PydanticCustomError("rubric", message, {"loc": loc, **context})


class Level(BaseModel):
    """One point of a dimension's scale, with the anchor text that says what earns it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: int = Field(strict=True, description="The score this level gives, e.g. 1 to 5.")
    label: str = Field(min_length=1, description="A short name, e.g. 'vivid'.")
    anchor: str = Field(
        min_length=1, description="What a response at this level looks like, concretely."
    )

    @model_validator(mode="before")
    @classmethod
    def _anchored(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise _rubric_error(
                "each scale level needs an anchor: write {value, label, anchor}, got {got}",
                got=repr(data),
            )
        return data


class Dimension(BaseModel):
    """One aspect of quality, judged on its own anchored scale."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="Identifier used in scores, e.g. 'imagery'.")
    definition: str = Field(min_length=1, description="What this dimension measures, and why.")
    weight: float = Field(
        default=1.0, ge=0, description="Relative importance when dimensions are combined."
    )
    scale: list[Level] = Field(
        min_length=2, description="The anchored levels, at least two, with distinct values."
    )

    @field_validator("weight", mode="before")
    @classmethod
    def _numeric_weight(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _rubric_error("weights must be numbers, got {got}", got=repr(value))
        if not math.isfinite(value):
            raise _rubric_error("weights must be finite, got {got}", got=repr(value))
        return value

    @field_validator("scale")
    @classmethod
    def _distinct_levels(cls, scale: list[Level]) -> list[Level]:
        seen: set[int] = set()
        for i, level in enumerate(scale):
            if level.value in seen:
                raise _rubric_error(
                    "scale value {value} appears twice", (i, "value"), value=level.value
                )
            seen.add(level.value)
        return scale

    @property
    def values(self) -> list[int]:
        return [level.value for level in self.scale]


class Tradeoff(BaseModel):
    """How to weigh two dimensions against each other when they pull apart."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dimensions: list[str] = Field(min_length=2, description="The dimensions in tension, by name.")
    guidance: str = Field(min_length=1, description="Which way to lean, and when.")


class Exemplar(BaseModel):
    """A worked example: a response, what it should score, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str | None = Field(default=None, description="The prompt it answers, if any.")
    text: str = Field(min_length=1, description="The response itself.")
    explanation: str = Field(min_length=1, description="Why it scores as it does.")
    scores: dict[str, int] = Field(
        default_factory=dict, description="Expected level per dimension name."
    )
    error_tags: list[str] = Field(
        default_factory=list, description="Error taxonomy tags the response shows."
    )


class ErrorTag(BaseModel):
    """A named, recurring failure, so judgements say what went wrong and not only how much."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="Tag identifier, e.g. 'cliche'.")
    description: str = Field(min_length=1, description="How to recognise it.")


class Rubric(BaseModel):
    """The complete statement of taste that judges and raters apply."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="Human name, e.g. 'moon-poems'.")
    purpose: str = Field(min_length=1, description="What the rubric is for and who it serves.")
    dimensions: list[Dimension] = Field(min_length=1, description="The aspects judged.")
    tradeoffs: list[Tradeoff] = Field(
        default_factory=list, description="How to resolve tension between dimensions."
    )
    exemplars: list[Exemplar] = Field(
        default_factory=list, description="Good responses with their expected scores."
    )
    anti_exemplars: list[Exemplar] = Field(
        default_factory=list, description="Bad responses, with what is wrong with them."
    )
    error_taxonomy: list[ErrorTag] = Field(
        default_factory=list, description="The failure tags judgements may use."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Rubric:
        dims: dict[str, Dimension] = {}
        for i, dim in enumerate(self.dimensions):
            if dim.name in dims:
                raise _rubric_error(
                    "duplicate dimension '{name}'", ("dimensions", i, "name"), name=dim.name
                )
            dims[dim.name] = dim
        tags: set[str] = set()
        for i, tag in enumerate(self.error_taxonomy):
            if tag.name in tags:
                raise _rubric_error(
                    "duplicate error tag '{name}'", ("error_taxonomy", i, "name"), name=tag.name
                )
            tags.add(tag.name)
        for i, tradeoff in enumerate(self.tradeoffs):
            for j, name in enumerate(tradeoff.dimensions):
                if name not in dims:
                    raise _rubric_error(
                        "unknown dimension '{name}'", ("tradeoffs", i, "dimensions", j), name=name
                    )
        for field in ("exemplars", "anti_exemplars"):
            for i, example in enumerate(getattr(self, field)):
                self._check_example(field, i, example, dims, tags)
        return self

    @staticmethod
    def _check_example(
        field: str, i: int, example: Exemplar, dims: dict[str, Dimension], tags: set[str]
    ) -> None:
        for name, score in example.scores.items():
            if name not in dims:
                raise _rubric_error(
                    "unknown dimension '{name}'", (field, i, "scores", name), name=name
                )
            if score not in dims[name].values:
                raise _rubric_error(
                    "{score} is not on the scale of '{name}' ({values})",
                    (field, i, "scores", name),
                    score=score,
                    name=name,
                    values=", ".join(map(str, dims[name].values)),
                )
        for j, tag in enumerate(example.error_tags):
            if tag not in tags:
                raise _rubric_error(
                    "unknown error tag '{tag}' (not in error_taxonomy)",
                    (field, i, "error_tags", j),
                    tag=tag,
                )

    def dimension(self, name: str) -> Dimension:
        """The dimension called ``name``; KeyError names the ones that exist."""
        for dim in self.dimensions:
            if dim.name == name:
                return dim
        known = ", ".join(d.name for d in self.dimensions)
        raise KeyError(f"no dimension '{name}' in rubric '{self.name}' (has: {known})")


def rubric_data(rubric: Rubric) -> dict[str, Any]:
    """The rubric as JSON data, without fields left at their default, so adding an optional
    field to the schema later does not change the version of existing rubrics."""
    return rubric.model_dump(mode="json", exclude_defaults=True)


def rubric_canonical_bytes(rubric: Rubric) -> bytes:
    """RFC 8785 (JCS) canonical JSON: the bytes a version hashes and the store keeps."""
    return rfc8785.dumps(rubric_data(rubric))


def rubric_version(rubric: Rubric) -> str:
    """The rubric's version: SHA-256 hex of its RFC 8785 canonical JSON."""
    return hashlib.sha256(rubric_canonical_bytes(rubric)).hexdigest()
