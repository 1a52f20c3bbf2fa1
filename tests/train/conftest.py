"""Fixtures for training tests: a tiny model on disk and a store of moon-poem preferences."""

from __future__ import annotations

from pathlib import Path

import pytest

from palate.ledger import Ledger
from palate.schema import Comparison, Prompt, Response, Source
from palate.store import Store
from palate.testing.tiny import build_tiny_model

PROMPTS = ["the night sky", "a cold sea", "over the tree", "the quiet wind"]
CHOSEN = ["the moon rises silver", "a bright moon sings", "the moon is quiet", "moon light falls"]
REJECTED = ["the sun is warm", "a dark rain falls", "the star was cold", "wind over sea"]


def preference_records() -> list[Comparison]:
    """Pairs whose chosen side always mentions the moon; shown in both orders."""
    judge = Source(kind="human", name="rater-1")
    records = []
    for k, prompt in enumerate(PROMPTS):
        for chosen in CHOSEN:
            rejected = REJECTED[k]
            first_chosen = (k + len(chosen)) % 2 == 0
            responses = [Response(text=" " + chosen), Response(text=" " + rejected)]
            if not first_chosen:
                responses.reverse()
            records.append(
                Comparison(
                    prompt=Prompt(text=prompt),
                    responses=responses,
                    winner=0 if first_chosen else 1,
                    judge=judge,
                )
            )
    return records


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture
def moon_store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'palate.db'}"
    with Store(url) as store:  # through the ledger, so that the run's verify holds
        Ledger(store).add_records("moon", preference_records(), activity="test", agent="test")
    return url
