"""The documentation works as written: the guides' code runs, and the site builds strictly.

Each guide's ``bash`` and ``python`` blocks run in order in one fresh folder (its store on
SQLite, ``data`` linked to the shipped data), as a reader would run them; other fences
(yaml, text, sh) are shown, not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
GUIDES = ["index.md", "guides/evaluate-a-model.md", "guides/run-a-rater-project.md",
          "guides/audit-a-release.md", "guides/ship-safely.md",
          "guides/run-a-business-with-an-agent.md"]  # fmt: skip


def code_blocks(markdown: str) -> list[tuple[str, str]]:
    """(language, code) of each fenced block that runs: bash or python."""
    return [(lang, code) for lang, code in FENCE.findall(markdown) if lang in ("bash", "python")]


def _environment(folder: Path) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT / "src"),
        "PALATE_DB_URL": f"sqlite:///{folder / 'palate.db'}",
        "PALATE_KEY_DIR": str(folder / "keys"),
    }


@pytest.mark.slow  # a dozen palate processes per guide, each paying the start-up (issue 22)
@pytest.mark.parametrize("guide", GUIDES)
def test_guide_runs_as_written(guide: str, tmp_path: Path, shared_data: Path) -> None:
    (tmp_path / "data").symlink_to(shared_data)
    blocks = code_blocks((DOCS / guide).read_text(encoding="utf-8"))
    assert blocks, f"{guide} has no code to run"
    env = _environment(tmp_path)
    for number, (language, code) in enumerate(blocks, 1):
        command = ["bash", "-euo", "pipefail", "-c", code] if language == "bash" else [
            sys.executable, "-c", code]  # fmt: skip
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)  # fmt: skip
        assert done.returncode == 0, f"{guide} block {number} ({language}):\n{done.stderr}"


def test_every_guide_is_tested() -> None:
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    shown_only = {"reference.md", "training-on-gpus.md"}  # API pages; GPU commands need GPUs
    assert pages - shown_only == set(GUIDES)


def test_site_builds_strictly(tmp_path: Path) -> None:
    """mkdocs with the API reference from docstrings; a broken link or reference fails."""
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "win_rates" in (tmp_path / "reference" / "index.html").read_text(encoding="utf-8")
