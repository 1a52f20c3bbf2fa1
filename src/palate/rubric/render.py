"""Turning a rubric into judge prompts (chat messages) and rater instructions (HTML).

Templates live in ``templates/`` so prompt wording can be read and reviewed as text. Prompts
are plain text (no escaping: the judge must see the response exactly); rater instructions are
HTML and autoescaped, since rubric text and exemplars are user content. Each prompt states the
output contract the judges parse (see API.md): pairwise JSON ``{"rationale", "verdict"}``,
pairwise letter ``A``/``B``, pointwise ``{"scores", "rationale", "error_tags"}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from palate.errors import PalateError
from palate.schema.rubric import Dimension, Level, Rubric

PairStyle = Literal["json", "letter"]
Messages = list[dict[str, str]]

TEMPLATES = Path(__file__).parent / "templates"

# Used when no rubric is given: one overall dimension, so every prompt has the same shape.
GENERIC_RUBRIC = Rubric(
    name="overall-quality",
    purpose="Judge the overall quality of a response to the prompt.",
    dimensions=[
        Dimension(
            name="overall",
            definition="How well the response serves the person who wrote the prompt: "
            "correct, helpful, clear and no longer than it needs to be.",
            scale=[
                Level(value=1, label="poor", anchor="Wrong, unhelpful or off-topic."),
                Level(value=2, label="weak", anchor="Partly useful, with real errors or gaps."),
                Level(value=3, label="adequate", anchor="Correct and on-topic, but unremarkable."),
                Level(value=4, label="good", anchor="Correct, helpful and clear; minor flaws."),
                Level(value=5, label="excellent", anchor="Fully correct, helpful, clear, concise."),
            ],
        )
    ],
)


def _subset_of(value: Iterable[str], names: Iterable[str]) -> bool:
    return set(value) <= set(names)


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # shipped templates: no stat() of the file on every render
    )
    env.tests["subset_of"] = _subset_of
    return env


def _render(name: str, **context: Any) -> str:
    return _environment().get_template(name).render(**context).strip() + "\n"


def _select(rubric: Rubric, names: Sequence[str] | None) -> list[Dimension]:
    if names is None:
        return list(rubric.dimensions)
    if not names:
        raise PalateError("choose at least one dimension to judge")
    try:
        return [rubric.dimension(name) for name in names]
    except KeyError as exc:
        raise PalateError(str(exc.args[0])) from None


def _chat(system: str, user: str) -> Messages:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def render_pairwise(
    rubric: Rubric | None,
    prompt: str,
    first: str,
    second: str,
    *,
    dimension: str | None = None,
    style: PairStyle = "json",
) -> Messages:
    """Messages asking which of two responses is better (A = ``first``, shown first).

    ``style="json"`` asks for ``{"rationale", "verdict": "A"|"B"|"tie"}``; ``"letter"`` asks
    for one token, ``A`` or ``B``, whose top logprobs give a graded preference.
    """
    if style not in ("json", "letter"):
        raise PalateError(f"unknown pairwise style '{style}' (use json or letter)")
    rubric = rubric or GENERIC_RUBRIC
    system = _pairwise_system(rubric, dimension, style)
    user = _render("pairwise_user.j2", prompt=prompt, first=first, second=second, style=style)
    return _chat(system, user)


_SYSTEM_PROMPTS: dict[tuple[int, str | None, str], tuple[Rubric, str]] = {}


def _pairwise_system(rubric: Rubric, dimension: str | None, style: PairStyle) -> str:
    """The pairwise system prompt, rendered once per rubric object, dimension and style: a
    judge run asks for the same one thousands of times a second. Keyed by identity (rubrics
    hold lists, so they do not hash), the entry keeps its rubric alive, so the id stays its."""
    key = (id(rubric), dimension, style)
    hit = _SYSTEM_PROMPTS.get(key)
    if hit is not None and hit[0] is rubric:
        return hit[1]
    dims = _select(rubric, None if dimension is None else [dimension])
    context = {"rubric": rubric, "dimensions": dims, "single": dimension is not None}
    system = _render("pairwise_system.j2", style=style, **context)
    if len(_SYSTEM_PROMPTS) >= 64:
        _SYSTEM_PROMPTS.clear()
    _SYSTEM_PROMPTS[key] = (rubric, system)
    return system


def render_pointwise(
    rubric: Rubric | None,
    prompt: str,
    response: str,
    *,
    dimensions: Sequence[str] | None = None,
) -> Messages:
    """Messages asking for ``{"scores": {dimension: level}, "rationale", "error_tags"}``."""
    rubric = rubric or GENERIC_RUBRIC
    dims = _select(rubric, dimensions)
    system = _render("pointwise_system.j2", rubric=rubric, dimensions=dims)
    user = _render("pointwise_user.j2", prompt=prompt, response=response)
    return _chat(system, user)


def render_rater_instructions(rubric: Rubric) -> str:
    """The rubric as an HTML fragment for human raters (all rubric text escaped)."""
    return _render("rater_instructions.html", rubric=rubric)
