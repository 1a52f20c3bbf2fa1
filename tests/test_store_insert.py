"""SQLite's bulk insert: rows streamed into one executemany, with progress and cache tuning."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from palate.io import arena
from palate.schema import Comparison, Source
from palate.store import Store
from palate.store.store import BATCH_SIZE, INSERT_CACHE_KIB


def comparisons(n: int) -> list[Comparison]:
    judge = Source(kind="human", name="t")
    return [
        arena.from_row({"model_a": "a", "model_b": "b", "winner": "tie", "question_id": i}, judge)
        for i in range(n)
    ]


def test_progress_counts_every_row_and_repeats_are_skipped(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    reported: list[int] = []
    items = comparisons(BATCH_SIZE + 7)
    added = store.add_records("d", [*items, items[0]], progress=reported.append)
    assert added == BATCH_SIZE + 7
    assert reported == [BATCH_SIZE, 8]  # every row handed over, the repeat too
    assert store.count("d") == BATCH_SIZE + 7
    keys = [r.prompt.key for r in store.iter_records("d") if isinstance(r, Comparison)]
    assert keys == [str(i) for i in range(BATCH_SIZE + 7)]


def test_the_insert_gives_the_connection_its_cache_size_back(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    with store.transaction() as conn:
        before = conn.execute(text("PRAGMA cache_size")).scalar_one()
        assert before != -INSERT_CACHE_KIB
        store.add_records("d", comparisons(3), within=conn)
        assert conn.execute(text("PRAGMA cache_size")).scalar_one() == before
    assert store.count("d") == 3
