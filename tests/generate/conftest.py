"""A tiny causal LM on disk (built here, no hub) and a prompts file."""

from __future__ import annotations

from pathlib import Path

import pytest

from palate.testing.tiny import build_tiny_model

PROMPTS = ["the night sky", "a cold sea", "over the tree", "the quiet wind", "a silver star"]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture
def prompts_file(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("\n".join(PROMPTS) + "\n", encoding="utf-8")
    return path
