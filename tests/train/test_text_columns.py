"""Migration 0007: plain text pairs get their texts as columns (backfilled from the body on
an existing store), and training sets read from the columns give the same rows as decoding
every body did (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from alembic import command
from sqlalchemy import create_engine, select, text

from palate.io import import_file
from palate.ledger import Ledger
from palate.schema import Comparison, Message, Prompt, Response, Source
from palate.store import Store, migrate
from palate.store.tables import RECORD_COLUMNS, pair_texts, records
from palate.train import datasets as build
from palate.train.config import PairPolicy

NEW = ("prompt_text", "text_a", "text_b")


def _comparisons() -> list[Comparison]:
    """Plain pairs (winners, ties, strengths, dimensions) and records that keep no columns:
    messages, a ranking, three responses, an Arena-style prompt with only an id."""
    human = Source(kind="human", name="h")
    out = []
    for i in range(40):
        texts = [Response(model="a", text=f"answer {i % 7}"), Response(model="b", text=f"r{i % 5}")]
        outcome: dict[str, object] = [{"winner": 0}, {"winner": 1}, {"tie": True},
                                      {"strength": 1.2, "winner": 0},
                                      {"strength": 1.8, "winner": 1}][i % 5]  # fmt: skip
        out.append(Comparison(prompt=Prompt(text=f"p{i % 9}"), responses=texts, judge=human,
                              dimension=["style", None][i % 2], **outcome))  # type: ignore[arg-type]  # fmt: skip
    chat = [Message(role="user", content="hi")]
    out += [
        Comparison(prompt=Prompt(messages=chat), judge=human, winner=0,
                   responses=[Response(messages=[Message(role="assistant", content="a")]),
                              Response(messages=[Message(role="assistant", content="b")])]),
        Comparison(prompt=Prompt(text="p1"), judge=human, ranking=[1, 0],
                   responses=[Response(text="answer 1"), Response(text="r1")]),
        Comparison(prompt=Prompt(text="p2"), judge=human, winner=2,
                   responses=[Response(text="x"), Response(text="y"), Response(text="z")]),
        Comparison(prompt=Prompt(id="q7"), judge=human, winner=1,
                   responses=[Response(text="x"), Response(text="y")]),
    ]  # fmt: skip
    return out


def _body_only(store: Store, dataset: str) -> Store:
    """Make every row look as it did before the columns: no texts, decode the body."""
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE records SET prompt_text = NULL, text_a = NULL, text_b = NULL"))
    return store


def test_columns_are_filled_only_for_plain_text_pairs(store_url: str) -> None:
    store = Store(store_url)
    store.add_records("d", _comparisons())
    with store.engine.connect() as conn:
        rows = conn.execute(select(*(records.c[c] for c in NEW), records.c.body)).all()
    filled = [row for row in rows if row[2] is not None]
    assert len(filled) == 40  # the four special records keep NULLs
    for *texts, body in rows:
        assert tuple(texts) == pair_texts(orjson.loads(body))
        data = orjson.loads(body)
        if texts[2] is not None:
            assert texts == [data["prompt"]["text"], *(r["text"] for r in data["responses"])]


@pytest.mark.parametrize("policy", [PairPolicy(), PairPolicy(min_margin=0.3, with_margin=True),
                                    PairPolicy(dimension_weights={"style": 2.0, "": 1.0}),
                                    PairPolicy(format="conversational")])  # fmt: skip
def test_training_sets_from_columns_equal_those_from_bodies(
    store_url: str, policy: PairPolicy
) -> None:
    store = Store(store_url)
    store.add_records("d", _comparisons())
    from_columns = [f(store, "d", policy) for f in (build.preference_dataset, build.sft_dataset,
                                                    build.prompt_dataset)]  # fmt: skip
    _body_only(store, "d")
    from_bodies = [f(store, "d", policy) for f in (build.preference_dataset, build.sft_dataset,
                                                   build.prompt_dataset)]  # fmt: skip
    for (data, report), (expected, expected_report) in zip(from_columns, from_bodies, strict=True):
        assert data.to_dict() == expected.to_dict()
        assert report.to_json() == expected_report.to_json()
        assert report.rows > 0


def test_an_existing_store_is_backfilled_and_still_verifies(tmp_path: Path) -> None:
    """A store made at revision 0005 with rows written the old way is upgraded on opening."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(migrate._config(conn), "0005")
    engine.dispose()
    old_columns = [c for c in RECORD_COLUMNS if c not in NEW]
    with pytest.MonkeyPatch.context() as patch:  # the importer of before: no text columns
        patch.setattr("palate.store.store.RECORD_COLUMNS", tuple(old_columns))
        patch.setattr("palate.store.store.pair_texts", lambda _data: ())
        patch.setattr("palate.store.migrate.upgrade", lambda _engine: None)
        data = tmp_path / "pairs.jsonl"
        data.write_text("".join(
            json.dumps({"prompt": {"text": f"p{i}"}, "kind": "comparison", "winner": i % 2,
                        "judge": {"kind": "human", "name": "h"},
                        "responses": [{"text": f"a{i}"}, {"text": f"b{i}"}]}) + "\n"
            for i in range(30)))  # fmt: skip
        import_file(Store(url), data, fmt="jsonl", dataset="d")
    store = Store(url)  # upgrades to head: the backfill runs
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM records WHERE text_b IS NULL")).scalar() == 0
        first = conn.execute(select(*(records.c[c] for c in NEW)).order_by(records.c.id)).first()
    assert tuple(first or ()) == ("p0", "a0", "b0")
    assert Ledger(store, key_dir=tmp_path / "keys").verify().ok
    data_set, report = build.preference_dataset(store, "d", PairPolicy())
    assert report.rows == 30 and data_set[0]["prompt"] == "p0"
