"""The Store: datasets of canonical records in SQLite or PostgreSQL.

Writes are atomic (one transaction per import: all records or none) and use each backend's
fast bulk path: ``executemany`` on SQLite, ``COPY`` into a temporary table on PostgreSQL.
Content hashes make imports idempotent: a record already in the dataset is skipped.
Reads stream, so a dataset larger than memory can be exported or aggregated.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError

from palate.errors import PalateError
from palate.schema import Comparison, Generation, Rating, record_adapter
from palate.schema.hashing import canonical_bytes, record_dict
from palate.store import migrate
from palate.store.engine import explain_database_error, make_engine, normalise_url
from palate.store.tables import RECORD_COLUMNS, datasets, pair_texts, records

if TYPE_CHECKING:
    from palate.io.importing import ImportResult

BATCH_SIZE = 10_000
# SQLite page cache while bulk inserting (KiB; it grows only as pages are used), see
# ``_insert_rows_sqlite``
INSERT_CACHE_KIB = 64 * 1024

Record = Comparison | Rating


def default_url() -> str:
    """``PALATE_DB_URL`` if set, else ``palate.db`` in the working directory."""
    return os.environ.get("PALATE_DB_URL") or "sqlite:///palate.db"


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    records: int


def record_row(dataset_id: int, record: Record | Generation) -> tuple[Any, ...]:
    """The ``records`` row for a record, in ``RECORD_COLUMNS`` order."""
    return (dataset_id, *record_values(record))


def record_values(record: Record | Generation) -> tuple[Any, ...]:
    """The ``records`` row for a record without its first column (the dataset id), so that it
    can be built before the dataset exists (or in another process, see ``palate.io.producer``)."""
    data = record_dict(record)
    encoded = canonical_bytes(data)
    digest = hashlib.sha256(encoded).hexdigest()
    body = encoded.decode()
    if isinstance(record, Generation):
        text = record.response.text
        return (
            digest,
            "generation",
            record.prompt.key,
            record.response.model,
            None,
            len(text) if text is not None else None,
            None,
            None,
            None,
            False,
            None,
            None,
            "model",
            record.response.model or record.backend,
            None,
            record.error is not None,
            None,  # prompt and response texts as columns are for pairs (``pair_texts``)
            None,
            None,
            body,
        )
    unscored = record.unscored is not None
    if isinstance(record, Comparison):
        first, second = record.responses[0], record.responses[1]
        return (
            digest,
            "comparison",
            record.prompt.key,
            first.model,
            second.model,
            len(first.text) if first.text is not None else None,
            len(second.text) if second.text is not None else None,
            record.score_for_first(),
            record.winner,
            record.tie,
            None,
            None,
            record.judge.kind,
            record.judge.name,
            record.dimension,
            unscored,
            *pair_texts(data),
            body,
        )
    return (
        digest,
        "rating",
        record.item,
        record.response.model if record.response else None,
        None,
        None,
        None,
        None,
        None,
        False,
        record.label,
        record.score,
        record.rater.kind,
        record.rater.name,
        record.dimension,
        unscored,
        None,
        None,
        None,
        body,
    )


class Store:
    """A palate database. Opening one brings its schema up to date."""

    def __init__(self, url: str | None = None) -> None:
        self.url = normalise_url(url or default_url())
        self.engine = make_engine(self.url)
        try:
            migrate.upgrade(self.engine)
        except PalateError:
            raise
        except DBAPIError as exc:  # unreachable server, unwritable file, a lock held too long
            raise explain_database_error(exc, self.url) from exc
        except Exception as exc:
            raise PalateError(f"cannot open store {self._safe_url()}: {exc}") from exc

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def _safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction, committed when the block ends and rolled back if it
        raises. Pass it as ``within=`` to writes that must land together, such as an
        import's rows and the ledger record that accounts for them."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def add_records(
        self,
        dataset: str,
        items: Iterable[Record | Generation],
        progress: Callable[[int], None] | None = None,
        *,
        within: Connection | None = None,
    ) -> int:
        """Add records to a dataset in one transaction; return how many were new.

        If ``items`` raises part-way (a malformed line), nothing is written. With ``within``
        (a ``transaction()``), the rows become part of that transaction instead.
        """
        return self.add_rows(dataset, (record_values(r) for r in items), progress, within=within)

    def add_rows(
        self,
        dataset: str,
        values: Iterable[tuple[Any, ...]],
        progress: Callable[[int], None] | None = None,
        *,
        within: Connection | None = None,
    ) -> int:
        """``add_records`` for rows already built by ``record_values``."""
        if within is None:
            with self.transaction() as conn:
                return self.add_rows(dataset, values, progress, within=conn)
        dataset_id = self._ensure_dataset(within, dataset)
        if self.backend == "postgresql":
            rows = ((dataset_id, *v) for v in values)
            return _copy_rows_postgres(within, dataset_id, rows, progress)
        return _insert_rows_sqlite(within, dataset_id, values, progress)

    def import_file(
        self,
        path: str | Path,
        *,
        dataset: str | None = None,
        format: str = "auto",
        judged_by: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportResult:
        """Import one file (format detected unless given) into ``dataset`` and record it in
        the ledger; see ``palate.io.import_file``."""
        from palate.io.importing import import_file  # io is built on the store, not under it

        return import_file(
            self, Path(path), fmt=format, dataset=dataset, judged_by=judged_by, progress=progress
        )

    def _ensure_dataset(self, conn: Connection, name: str) -> int:
        dialect_insert = pg_insert if self.backend == "postgresql" else sqlite_insert
        conn.execute(dialect_insert(datasets).values(name=name).on_conflict_do_nothing())
        return int(conn.execute(select(datasets.c.id).where(datasets.c.name == name)).scalar_one())

    # -- reading ---------------------------------------------------------------------------

    def _read(self) -> Connection:
        return self.engine.connect().execution_options(sqlite_begin="DEFERRED")

    def datasets(self) -> list[DatasetInfo]:
        query = (
            select(datasets.c.name, func.count(records.c.id))
            .select_from(datasets.outerjoin(records))
            .group_by(datasets.c.name)
            .order_by(datasets.c.name)
        )
        with self._read() as conn:
            return [DatasetInfo(name, int(n)) for name, n in conn.execute(query)]

    def dataset_id(self, conn: Connection, name: str) -> int:
        found = conn.execute(select(datasets.c.id).where(datasets.c.name == name)).scalar()
        if found is None:
            known = ", ".join(d.name for d in self.datasets()) or "none"
            raise PalateError(f"no dataset named {name!r} (known: {known})")
        return int(found)

    def count(self, dataset: str) -> int:
        with self._read() as conn:
            dataset_id = self.dataset_id(conn, dataset)
            query = select(func.count()).where(records.c.dataset_id == dataset_id)
            return int(conn.execute(query).scalar_one())

    def iter_bodies(self, dataset: str, kinds: tuple[str, ...] | None = None) -> Iterator[str]:
        """Canonical JSON of each record (of the given kinds, else all), in insertion order,
        streamed."""
        with self._read() as conn:
            dataset_id = self.dataset_id(conn, dataset)
            query = (
                select(records.c.body)
                .where(records.c.dataset_id == dataset_id)
                .order_by(records.c.id)
            )
            if kinds is not None:
                query = query.where(records.c.kind.in_(kinds))
            for (body,) in conn.execution_options(yield_per=BATCH_SIZE).execute(query):
                yield body

    def iter_records(self, dataset: str) -> Iterator[Record]:
        """The dataset's comparisons and ratings (generations are read by ``iter_generations``)."""
        for body in self.iter_bodies(dataset, kinds=("comparison", "rating")):
            yield record_adapter.validate_json(body)

    def iter_generations(self, dataset: str) -> Iterator[Generation]:
        """The dataset's generations (unjudged responses), in insertion order."""
        for body in self.iter_bodies(dataset, kinds=("generation",)):
            yield Generation.model_validate_json(body)

    def columns(
        self, dataset: str, names: list[str], kind: str, *, scored_only: bool = True
    ) -> list[tuple[Any, ...]]:
        """Selected columns of one kind of record (``comparison``/``rating``).

        Statistics read these instead of parsing JSON bodies. Unscored records are left out
        unless ``scored_only`` is False (their outcome is then None).
        """
        cols = [records.c[n] for n in names]
        with self._read() as conn:
            dataset_id = self.dataset_id(conn, dataset)
            query = (
                select(*cols)
                .where(records.c.dataset_id == dataset_id)
                .where(records.c.kind == kind)
                .order_by(records.c.id)
            )
            if scored_only:
                query = query.where(records.c.unscored.is_(False))
            return [
                tuple(row) for row in conn.execution_options(yield_per=BATCH_SIZE).execute(query)
            ]


def _batches(rows: Iterable[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH_SIZE)):
        yield batch


def _insert_rows_sqlite(
    conn: Connection,
    dataset_id: int,
    values: Iterable[tuple[Any, ...]],
    progress: Callable[[int], None] | None,
) -> int:
    # One executemany pulls the rows from the iterator as it inserts them, so rows still being
    # built in other processes (``palate.io.producer``) arrive while earlier ones are written,
    # not in bursts of a batch. The dataset id (an integer the database gave) is written into
    # the statement, so each row goes in as it was built, without copying it into a longer tuple.
    placeholders = ", ".join("?" for _ in RECORD_COLUMNS[1:])  # RECORD_COLUMNS[0]: dataset_id
    sql = (
        f"INSERT OR IGNORE INTO records ({', '.join(RECORD_COLUMNS)}) "
        f"VALUES ({int(dataset_id)}, {placeholders})"
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    # Each new row lands on a random page of the content-hash index. With SQLite's default
    # 2 MiB page cache most of those pages are read back from the OS one system call at a
    # time once the table is large (a quarter of the insert's time at a million rows), so
    # the insert gets a larger cache, and the connection its own setting back afterwards.
    (previous,) = cursor.execute("PRAGMA cache_size").fetchone()
    cursor.execute(f"PRAGMA cache_size = -{INSERT_CACHE_KIB}")
    try:
        cursor.executemany(sql, values if progress is None else _reporting(values, progress))
        added = max(cursor.rowcount, 0)
    finally:
        cursor.execute(f"PRAGMA cache_size = {int(previous)}")
        cursor.close()
    return added


def _reporting(
    rows: Iterable[tuple[Any, ...]], progress: Callable[[int], None]
) -> Iterator[tuple[Any, ...]]:
    """``rows``, telling ``progress`` how many were handed on, a batch at a time."""
    for batch in _batches(rows):
        yield from batch
        progress(len(batch))


def _copy_rows_postgres(
    conn: Connection,
    dataset_id: int,
    rows: Iterable[tuple[Any, ...]],
    progress: Callable[[int], None] | None,
) -> int:
    # Imports into one dataset take turns (other datasets are not blocked), so "the dataset is
    # empty" stays true for the whole transaction.
    conn.execute(select(datasets.c.id).where(datasets.c.id == dataset_id).with_for_update())
    has_rows = conn.execute(
        select(records.c.id).where(records.c.dataset_id == dataset_id).limit(1)
    ).first()
    if has_rows is None:
        return _copy_into_empty_dataset(conn, rows, progress)
    return _copy_via_temporary_table(conn, rows, progress)


def _copy_into_empty_dataset(
    conn: Connection,
    rows: Iterable[tuple[Any, ...]],
    progress: Callable[[int], None] | None,
) -> int:
    """The common first import: COPY straight into ``records``, skipping in-file repeats."""
    seen: set[str] = set()
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY records ({', '.join(RECORD_COLUMNS)}) FROM STDIN") as copy:
        for batch in _batches(rows):
            for row in batch:
                digest = row[1]  # RECORD_COLUMNS[1] is the content hash
                if digest not in seen:
                    seen.add(digest)
                    copy.write_row(row)
            if progress:
                progress(len(batch))
    return len(seen)


def _copy_via_temporary_table(
    conn: Connection,
    rows: Iterable[tuple[Any, ...]],
    progress: Callable[[int], None] | None,
) -> int:
    """Adding to a non-empty dataset: COPY into a temporary table, then insert what is new."""
    columns = ", ".join(RECORD_COLUMNS)
    conn.execute(
        text(
            "CREATE TEMPORARY TABLE palate_import (LIKE records INCLUDING DEFAULTS) ON COMMIT DROP"
        )
    )
    # Keep file order: ids are assigned in ``seq`` order below, so exports stay byte-stable.
    conn.execute(text("ALTER TABLE palate_import DROP COLUMN id, ADD COLUMN seq BIGSERIAL"))
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY palate_import ({columns}) FROM STDIN") as copy:
        for batch in _batches(rows):
            for row in batch:
                copy.write_row(row)
            if progress:
                progress(len(batch))
    result = conn.execute(
        text(
            f"INSERT INTO records ({columns}) SELECT {columns} FROM palate_import "
            "ORDER BY seq ON CONFLICT (dataset_id, hash) DO NOTHING"
        )
    )
    conn.execute(text("DROP TABLE palate_import"))
    return int(result.rowcount)
