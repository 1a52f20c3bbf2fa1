"""Queries of the judge call cache: load a judge's completed calls, commit new ones.

Commits are grouped: calls that complete while a commit is running wait for the next one, so
at hundreds of calls a second the database sees a few transactions a second, and a caller is
told its call is stored only once its transaction has committed. A run killed at any moment
therefore loses at most the calls still in flight or waiting for that commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from palate.schema.hashing import canonical_bytes
from palate.store.judge_cache_tables import judge_calls
from palate.store.store import Store


class JudgeCallCache:
    """The completed calls of one judge (by config hash), in memory and in the store."""

    def __init__(self, store: Store, judge: str) -> None:
        self.store = store
        self.judge = judge
        with store.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            rows = conn.execute(
                select(judge_calls.c.key, judge_calls.c.body).where(judge_calls.c.judge == judge)
            )
            self._calls: dict[str, dict[str, Any]] = {k: orjson.loads(b) for k, b in rows}
        self._pending: list[tuple[str, str, asyncio.Future[None]]] = []
        self._flushing = False

    def __len__(self) -> int:
        return len(self._calls)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored result of a call, or None when it was never completed."""
        return self._calls.get(key)

    async def put(self, key: str, value: dict[str, Any]) -> None:
        """Store a completed call; returns once its transaction has committed."""
        self._calls[key] = value
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((key, canonical_bytes(value).decode(), future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await asyncio.to_thread(self._write, [(k, b) for k, b, _ in batch])
                except Exception as exc:  # every waiter learns its call was not stored
                    for *_, future in batch:
                        if not future.done():  # its caller may have been cancelled
                            future.set_exception(exc)
                    continue
                for *_, future in batch:
                    if not future.done():
                        future.set_result(None)
        finally:
            self._flushing = False

    def _write(self, rows: Sequence[tuple[str, str]]) -> None:
        insert = pg_insert if self.store.backend == "postgresql" else sqlite_insert
        values = [{"key": k, "judge": self.judge, "body": b} for k, b in rows]
        with self.store.engine.begin() as conn:
            conn.execute(insert(judge_calls).on_conflict_do_nothing(), values)
