"""YAML configuration files with line numbers for every error.

PyYAML's composed node tree keeps each value's position; walking it beside the loaded data
maps a pydantic error location (``("dimensions", 2, "weight")``) back to ``file:line``, which
is what a user needs to fix a rubric, judge config or gate policy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from palate.errors import InputError
from palate.io.validation import input_error

Locator = Callable[[Sequence[Any]], int | None]
Model = TypeVar("Model", bound=BaseModel)


def _locator(root: yaml.Node | None) -> Locator:
    def locate(loc: Sequence[Any]) -> int | None:
        node = root
        line = None if node is None else node.start_mark.line + 1
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                match = next((kv for kv in node.value if kv[0].value == part), None)
                if match is None:
                    break
                key, node = match
                line = key.start_mark.line + 1
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    break
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line

    return locate


def load_yaml(path: Path) -> tuple[Any, Locator]:
    """The document and a function from a field location to its line."""
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from None
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"invalid YAML: {problem}", file=str(path), line=line) from None
    if data is None:
        raise InputError("the file is empty", file=str(path), line=1)
    return data, _locator(root)


def load_model(path: Path, model: type[Model]) -> Model:
    """Validate a YAML file into ``model``; the first error names file, line and field."""
    data, locate = load_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc, file=str(path), locate=locate) from None
