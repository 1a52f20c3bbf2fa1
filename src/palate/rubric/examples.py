"""The rubrics shipped with palate: worked examples to copy, and the demo's taste."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

EXAMPLES = Path(__file__).parent / "examples"

ExampleName = Literal["moon-poems", "helpful-answers", "code-review", "support-reply"]


def example_rubric_path(name: ExampleName) -> Path:
    """Where the shipped rubric ``name`` lives (a YAML file inside the package)."""
    path = EXAMPLES / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(f"no example rubric '{name}'")
    return path
