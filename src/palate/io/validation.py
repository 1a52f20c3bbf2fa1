"""One adapter from a pydantic ``ValidationError`` to the one-line ``InputError`` users see.

Every reader of user input (import rows, rubric, judge, gate, loop and train configs, prompt
files) reports the first problem the same way: pydantic's message, the field it concerns and,
where the input has lines, the line. Callers only say what differs: how to find the line
(a YAML locator or a fixed row number), a location that pydantic nests (a union's tag, a
wrapper model), wording a reader needs, and how the field is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from palate.errors import InputError

Loc = tuple[Any, ...]


def dotted(loc: Sequence[Any]) -> str:
    """``("train", "max_steps")`` as ``train.max_steps``."""
    return ".".join(str(part) for part in loc)


def input_error(
    exc: ValidationError,
    *,
    file: str | None = None,
    line: int | None = None,
    locate: Callable[[Loc], int | None] | None = None,
    location: Callable[[ErrorDetails], Loc] | None = None,
    message: Callable[[ErrorDetails, Loc], str] | None = None,
    field: Callable[[Loc], str] = dotted,
    default_field: str | None = None,
) -> InputError:
    """The first error of ``exc`` as an InputError naming file, line and field.

    ``locate`` maps the field's location to its line (``line`` is used otherwise);
    ``location`` and ``message`` replace pydantic's location and wording.
    """
    error = exc.errors()[0]
    loc = tuple(error["loc"]) if location is None else location(error)
    text = error["msg"] if message is None else message(error, loc)
    where = locate(loc) if locate is not None else line
    return InputError(text, file=file, line=where, field=field(loc) or default_field)
