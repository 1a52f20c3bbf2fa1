"""A loop on tiny models built here and the loopback judge: files for one iteration."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from palate.testing.loopback import LoopbackServer, Script
from palate.testing.tiny import build_tiny_model

ROOT = Path(__file__).resolve().parents[2]
PROMPTS = ["the night sky", "a cold sea", "over the tree", "the quiet wind", "a silver star"]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("models")
    return build_tiny_model(base / "candidate", seed=0), build_tiny_model(base / "baseline", seed=1)


@pytest.fixture
def judge_server() -> object:
    with LoopbackServer(Script(verdict="longer")) as server:
        yield server


def write_loop(folder: Path, models: tuple[Path, Path], base_url: str, name: str = "it1") -> Path:
    """A loop file and everything it names, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prompts.txt").write_text("\n".join(PROMPTS) + "\n", encoding="utf-8")
    shutil.copy(ROOT / "src/palate/rubric/examples/moon-poems.yaml", folder / "rubric.yaml")
    (folder / "judge.yaml").write_text(
        f"name: j1\nkind: openai\nmodel: m\nbase_url: {base_url}\napi_key_env: null\n"
        "concurrency: 4\n",
        encoding="utf-8",
    )
    (folder / "gate.yaml").write_text(
        "name: loop-gate\ncriteria:\n  - {metric: win_rate, at_least: 50}\n", encoding="utf-8"
    )
    loop = folder / "loop.yaml"
    loop.write_text(
        f"""
name: {name}
prompts: prompts.txt
candidate: {{model: {models[0]}, name: policy}}
baseline: {{model: {models[1]}, name: reference}}
generation: {{n: 2, temperature: 1.0, max_new_tokens: 8, seed: 0, batch_size: 10, device: cpu}}
judges: [judge.yaml]
rubric: rubric.yaml
swap: true
concurrency: 1
routing: {{threshold: 0.5, audit_share: 0.2}}
labels: {{simulated: {{raters: 3, accuracy: 0.8, taste: longer, seed: 0}}}}
train: {{max_steps: 2, batch_size: 4, max_length: 32, learning_rate: 0.001}}
evaluate: {{n_bootstrap: 200}}
gate: gate.yaml
work_dir: out
""",
        encoding="utf-8",
    )
    return loop
