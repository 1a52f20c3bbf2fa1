"""Finding the rubric a caller means: an object, a file, a shipped example or a stored version.

A rubric read from a file is stored on the way (as a content-hash version), so the judgements
made with it can always be traced back to the exact text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from palate.rubric.examples import ExampleName, example_rubric_path
from palate.rubric.loading import load_rubric
from palate.schema import Rubric
from palate.store import Store
from palate.store.rubrics import load_rubric_version, save_rubric

_VERSION = re.compile(r"[0-9a-fA-F]{4,64}")


def resolve_rubric(store: Store, ref: Rubric | str | Path | None) -> Rubric | None:
    """``ref`` as a rubric: a Rubric (stored), a YAML file (stored), the name of a shipped
    example (``moon-poems``), or a stored version or unique prefix; None stays None."""
    if ref is None:
        return None
    if isinstance(ref, Rubric):
        save_rubric(store, ref)
        return ref
    path = Path(ref)
    if isinstance(ref, str) and ref in get_args(ExampleName) and not path.exists():
        path = example_rubric_path(ref)  # type: ignore[arg-type]
    if path.exists() or not _VERSION.fullmatch(str(ref)):
        rubric = load_rubric(path)
        save_rubric(store, rubric, path.read_text(encoding="utf-8"))
        return rubric
    return load_rubric_version(store, str(ref))
