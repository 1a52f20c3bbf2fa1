"""What changed between two rubric versions, in terms a rubric author recognises.

Lists are matched by identity rather than position (dimensions by name, levels by value,
error tags by name, exemplars by text, trade-offs by their dimensions), so reordering or
inserting a dimension reads as one change and not as every later dimension changing.
A unified diff of the two rubrics as YAML comes along for the details.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from palate.schema.rubric import Rubric, rubric_data, rubric_version

ChangeKind = Literal["added", "removed", "changed", "reordered"]

_KEYS: dict[str, Callable[[Any], str]] = {
    "dimensions": lambda d: d.name,
    "scale": lambda level: str(level.value),
    "tradeoffs": lambda t: " vs ".join(t.dimensions),
    "exemplars": lambda e: _short(e.text),
    "anti_exemplars": lambda e: _short(e.text),
    "error_taxonomy": lambda tag: tag.name,
}


def _short(text: str, width: int = 40) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


@dataclass(frozen=True)
class RubricChange:
    """One difference: where it is, what kind, and the values on each side."""

    kind: ChangeKind = field(metadata={"help": "added, removed, changed or reordered"})
    path: str = field(metadata={"help": "e.g. 'dimensions[imagery].scale[3].anchor'"})
    before: Any = field(default=None, metadata={"help": "the old value (JSON data)"})
    after: Any = field(default=None, metadata={"help": "the new value (JSON data)"})

    def describe(self) -> str:
        if self.kind == "added":
            return f"+ {self.path}"
        if self.kind == "removed":
            return f"- {self.path}"
        if self.kind == "reordered":
            return f"~ {self.path} reordered: {self.before} -> {self.after}"
        return f"~ {self.path}: {_brief(self.before)} -> {_brief(self.after)}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "before": self.before, "after": self.after}


def _brief(value: Any) -> str:
    text = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True)
    return repr(_short(text.strip(), 60))


@dataclass(frozen=True)
class RubricDiff:
    """The changes from rubric ``a`` to rubric ``b``, and a unified diff of their YAML."""

    a_version: str = field(metadata={"help": "version of the old rubric"})
    b_version: str = field(metadata={"help": "version of the new rubric"})
    changes: list[RubricChange] = field(metadata={"help": "structured changes, in rubric order"})
    text: str = field(metadata={"help": "unified diff of the two rubrics as YAML"})

    @property
    def same(self) -> bool:
        return self.a_version == self.b_version

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": self.a_version,
            "b": self.b_version,
            "same": self.same,
            "changes": [c.as_dict() for c in self.changes],
            "text_diff": self.text,
        }


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def _diff_models(path: str, a: BaseModel, b: BaseModel, out: list[RubricChange]) -> None:
    for name in type(a).model_fields:
        before, after = getattr(a, name), getattr(b, name)
        if before == after:
            continue
        where = f"{path}.{name}" if path else name
        if name in _KEYS:
            _diff_lists(where, before, after, _KEYS[name], out)
        else:
            out.append(RubricChange("changed", where, _dump(before), _dump(after)))


def _diff_lists(
    path: str,
    a: Sequence[BaseModel],
    b: Sequence[BaseModel],
    key: Callable[[Any], str],
    out: list[RubricChange],
) -> None:
    old = {key(item): item for item in a}
    new = {key(item): item for item in b}
    for k, item in old.items():
        if k not in new:
            out.append(RubricChange("removed", f"{path}[{k}]", before=_dump(item)))
    for k, item in new.items():
        if k not in old:
            out.append(RubricChange("added", f"{path}[{k}]", after=_dump(item)))
        elif old[k] != item:
            _diff_models(f"{path}[{k}]", old[k], item, out)
    common_old = [k for k in old if k in new]
    common_new = [k for k in new if k in old]
    if common_old != common_new:
        out.append(RubricChange("reordered", path, common_old, common_new))


def _yaml(rubric: Rubric) -> list[str]:
    text = yaml.safe_dump(rubric_data(rubric), sort_keys=False, allow_unicode=True, width=100)
    return text.splitlines(keepends=True)


def diff_rubrics(a: Rubric, b: Rubric, *, a_label: str = "a", b_label: str = "b") -> RubricDiff:
    """Structured and textual differences from ``a`` to ``b``."""
    changes: list[RubricChange] = []
    _diff_models("", a, b, changes)
    text = "".join(difflib.unified_diff(_yaml(a), _yaml(b), fromfile=a_label, tofile=b_label))
    return RubricDiff(rubric_version(a), rubric_version(b), changes, text)
