"""Preference sets read and pooled as columns (SQLite) equal those built row by row, on data
made to hit the edges: several judgements of one pair in both orders, ties, strengths whose
sums depend on their order, dimensions, unicode, empty strings, NUL characters, non-BMP
emoji, and texts that share their length and last bytes (the signature's buckets)."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from palate.schema import Comparison, Prompt, Response, Source, Unscored
from palate.schema.outcome import strength_outcome
from palate.store import Store, training
from palate.train import datasets as build
from palate.train.config import PairPolicy

PROMPTS = ["p", "", "é", "p\x00", "\x00p", "😀", "Write a poem about the sea, please."]
TEXTS = [
    "", "a", "b", "a\x00", "\x00a", "😀", "x😀", "😀x", "ß", "ss", "日本語",
    "first version, same tail: 12345678", "other version, same tail: 12345678",
    "short", "shorT", "a longer answer that goes on for a while", "\U0001f600\U0001f601",
]  # fmt: skip


def _judgements(seed: int, n: int) -> list[Comparison]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.choice(TEXTS), rng.choice(TEXTS)
        kind = rng.random()
        outcome: dict[str, Any]
        if kind < 0.05:  # counted in the report, never read
            outcome = {"unscored": Unscored(reason="refusal")}
        elif kind < 0.4:
            outcome = {"winner": rng.randrange(2)}
        elif kind < 0.55:
            outcome = {"tie": True}
        else:  # strengths: 0.1 + 0.2 + ... sums differ with their order
            outcome = strength_outcome(rng.choice([1.1, 1.2, 1.3, 1.5, 1.7, 1.9, 1.05, 1.93]))
        out.append(
            Comparison(
                prompt=Prompt(text=rng.choice(PROMPTS)),
                responses=[Response(model="m", text=a), Response(model="n", text=b)],
                judge=Source(kind="human", name=rng.choice(["r1", "r2", "r3"])),
                dimension=rng.choice([None, "style", "", "accuracy"]),
                **outcome,
            )
        )
    return out


POLICIES = [
    PairPolicy(),
    PairPolicy(with_margin=True, min_margin=0.15),
    PairPolicy(min_agreement=0.6, with_margin=True),
    PairPolicy(dimension_weights={"style": 2.0, "": 0.5, "accuracy": 0.0}, with_margin=True),
    PairPolicy(dimension="style"),
    PairPolicy(judged_by=["r1", "r2"], min_margin=0.05),
]


def _both_ways(store: Store, policy: PairPolicy, patch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    assert training.text_pairs(store, "d") is not None  # the column path applies here
    from_columns = build.preference_dataset(store, "d", policy)
    with patch.context() as p:
        p.setattr(build, "text_pairs", lambda *_a, **_k: None)
        from_rows = build.preference_dataset(store, "d", policy)
    return from_columns, from_rows


@pytest.mark.parametrize("policy", POLICIES)
def test_columns_give_the_rows_of_the_row_path(
    tmp_path: Path, policy: PairPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    store.add_records("d", _judgements(seed=1, n=600))
    store.add_records("other", _judgements(seed=2, n=50))  # interleaved ids of another set
    store.add_records("d", _judgements(seed=3, n=300))
    monkeypatch.setattr(training, "CHUNK_IDS", 97)  # many chunks, one pair across several
    (data, report), (expected, expected_report) = _both_ways(store, policy, monkeypatch)
    assert data.to_dict() == expected.to_dict()
    assert data.features == expected.features
    assert report.to_json() == expected_report.to_json()
    assert report.rows > 20
    assert expected_report.dropped["tie"] > 0 and expected_report.dropped["unscored"] > 0


def test_a_chunk_over_the_length_limit_is_split(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    store.add_records("d", _judgements(seed=4, n=200))
    store.engine.dispose()  # new connections, each with a 2,000-byte limit on one value
    event.listen(
        store.engine,
        "connect",
        lambda conn, _record: conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 2_000),
    )
    (data, report), (expected, expected_report) = _both_ways(
        store, PairPolicy(with_margin=True), monkeypatch
    )
    assert data.to_dict() == expected.to_dict()
    assert report.to_json() == expected_report.to_json()


def test_stores_with_other_records_are_read_row_by_row(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    store.add_records("d", _judgements(seed=5, n=20))
    assert training.text_pairs(store, "d") is not None
    store.add_records(
        "d",
        [
            Comparison(
                prompt=Prompt(text="p"),
                responses=[Response(text="a"), Response(text="b")],
                judge=Source(kind="human", name="r1"),
                ranking=[1, 0],
            )
        ],
    )
    assert training.text_pairs(store, "d") is None
    assert training.text_pairs(store, "d", judged_by=["nobody"]) is None  # no rows
