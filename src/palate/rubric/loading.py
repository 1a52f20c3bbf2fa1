"""Reading rubric files (YAML or JSON) with errors that point at file, line and field.

The shared YAML helper gives each field's line; rubric validators that compare one part with
another report their exact location in the error context, which is joined to pydantic's
``loc`` here so a duplicate dimension points at the second ``name:`` and not at the file top.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from palate.io.validation import input_error
from palate.io.yamlfile import load_yaml
from palate.schema.rubric import Rubric


def field_path(loc: Sequence[Any]) -> str:
    """``("dimensions", 2, "weight")`` as a reader writes it: ``dimensions[2].weight``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _location(error: ErrorDetails) -> tuple[Any, ...]:
    """Pydantic's location, made exact by the one a cross-field validator reports."""
    context = error.get("ctx") or {}
    return (*error["loc"], *context.get("loc", ()))


def _message(error: ErrorDetails, loc: Sequence[Any]) -> str:
    """Pydantic's wording, except where a rubric author needs the field named."""
    if error["type"] == "extra_forbidden":
        return f"unknown field '{loc[-1]}'"
    if error["type"] == "missing":
        return f"missing required field '{loc[-1]}'"
    return error["msg"]


def load_rubric(path: Path) -> Rubric:
    """Validate a rubric file; the first problem raises InputError with file, line and field."""
    path = Path(path)
    data, locate = load_yaml(path)
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        raise input_error(
            exc,
            file=str(path),
            locate=locate,
            location=_location,
            message=_message,
            field=field_path,
        ) from None
