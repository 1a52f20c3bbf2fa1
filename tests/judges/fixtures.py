"""Shared pieces of the judge tests: a small dataset of pairs and judge configs on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from palate.judges.config import OpenAIJudgeConfig
from palate.schema import Comparison, Prompt, Response, Source
from palate.store import Store

MODELS = ("alpha", "beta", "gamma")


def pairs(n_items: int) -> list[Comparison]:
    """Human comparisons of three models on ``n_items`` prompts; each model answers at its own
    length, and every item has all three pairs (plus one repeated pair, which a run skips)."""
    records = []
    human = Source(kind="human", name="h1")
    for i in range(n_items):
        prompt = Prompt(id=f"q{i}", text=f"Question {i}: what is {i} + {i}?")
        answers = [
            Response(model=m, text=f"{m} says {2 * i}" + " because" * (k * 3 + i % 4))
            for k, m in enumerate(MODELS)
        ]
        for a, b in ((0, 1), (1, 2), (0, 2), (1, 0)):
            records.append(
                Comparison(prompt=prompt, responses=[answers[a], answers[b]], winner=0, judge=human)
            )
    return records


def distinct_pairs(n_items: int) -> int:
    return 3 * n_items


def load(store: Store, name: str, n_items: int) -> None:
    store.add_records(name, pairs(n_items))


def openai_config(base_url: str, **overrides: Any) -> OpenAIJudgeConfig:
    data: dict[str, Any] = {
        "name": "scripted",
        "kind": "openai",
        "model": "loopback",
        "base_url": base_url,
        "api_key_env": None,
        "concurrency": 16,
        "timeout_s": 10,
        "max_retries": 4,
    }
    data.update(overrides)
    return OpenAIJudgeConfig.model_validate(data)


def write_config(path: Path, config: OpenAIJudgeConfig) -> Path:
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    return path
