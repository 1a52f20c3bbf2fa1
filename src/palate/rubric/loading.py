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

from palate.errors import InputError
from palate.io.yamlfile import load_yaml
from palate.schema.rubric import Rubric


def field_path(loc: Sequence[Any]) -> str:
    """``("dimensions", 2, "weight")`` as a reader writes it: ``dimensions[2].weight``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _message(kind: str, default: str, loc: Sequence[Any]) -> str:
    """Pydantic's wording, except where a rubric author needs the field named."""
    if kind == "extra_forbidden":
        return f"unknown field '{loc[-1]}'"
    if kind == "missing":
        return f"missing required field '{loc[-1]}'"
    return default


def load_rubric(path: Path) -> Rubric:
    """Validate a rubric file; the first problem raises InputError with file, line and field."""
    path = Path(path)
    data, locate = load_yaml(path)
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        context = error.get("ctx") or {}
        loc = (*error["loc"], *context.get("loc", ()))
        raise InputError(
            _message(error["type"], error["msg"], loc),
            file=str(path),
            line=locate(loc),
            field=field_path(loc) or None,
        ) from None
