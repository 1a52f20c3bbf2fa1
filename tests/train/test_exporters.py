"""OpenRLHF and open-instruct exports: chat-message pairs, with what they cannot hold counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from palate.schema import Comparison, Prompt, Response, Source
from palate.store import Store
from tests.helpers import run_json


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    judge = Source(kind="judge", name="j")
    with Store(url) as store:
        store.add_records(
            "x",
            [
                Comparison(
                    prompt=Prompt(text="q"),
                    responses=[Response(text="a"), Response(text="b")],
                    strength=1.8,
                    winner=1,
                    judge=judge,
                ),
                Comparison(
                    prompt=Prompt(text="q2"),
                    responses=[Response(text="c"), Response(text="d")],
                    tie=True,
                    judge=judge,
                ),
            ],
        )
    return url


def test_openrlhf(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.jsonl"
    report = run_json(
        capsys, "export", "--dataset", "x", "--format", "openrlhf", str(out), "--db", db
    )
    assert (
        report["written"] == 1
        and report["dropped"] == {"tie": 1}
        and report["lost"] == {"strength": 1}
    )
    assert [json.loads(line) for line in out.read_text().splitlines()] == [
        {
            "prompt": [{"role": "user", "content": "q"}],
            "chosen": [{"role": "assistant", "content": "b"}],
            "rejected": [{"role": "assistant", "content": "a"}],
        }
    ]


def test_open_instruct(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.jsonl"
    report = run_json(
        capsys, "export", "--dataset", "x", "--format", "open-instruct", str(out), "--db", db
    )
    assert report["written"] == 1 and report["dropped"] == {"tie": 1}
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row == {
        "chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}],
        "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
    }
