"""Queries of the provenance ledger (palate.ledger decides what to write; this runs the SQL).

Appends are serialised: SQLite writers start with ``BEGIN IMMEDIATE`` (see engine.py) and
PostgreSQL writers take a transaction-scoped advisory lock, so two processes never read the
same tip and never take the same index. Bulk inserts use ``executemany`` on SQLite and
``COPY`` on PostgreSQL; reads stream in batches straight from the driver's cursor.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, and_, false, func, insert, or_, select, text

from palate.errors import PalateError
from palate.store.ledger_tables import ledger_checkpoints, ledger_entries
from palate.store.store import BATCH_SIZE, Store
from palate.store.tables import RECORD_COLUMNS, datasets, records

_PG_LEDGER_LOCK = 0x6C6564676572  # "ledger"
BUNDLE_SIZE = 256  # records per bundle row in bulk appends
APPEND_CHUNK = BUNDLE_SIZE * 40  # records a bulk append hands to one insert
_LEAF = 32

EntryRow = tuple[int, bytes, bytes, str]  # index, record, leaf hash, time


class CorruptBundle(PalateError):
    """A stored bundle whose records and leaf hashes do not line up."""

    def __init__(self, first: int) -> None:
        super().__init__(f"the bundle of records from {first} is malformed")
        self.first = first


class LedgerWriter:
    """One append transaction: read the tip, then insert the records that follow it."""

    def __init__(self, conn: Connection, backend: str) -> None:
        self.conn = conn
        self.backend = backend

    def tip(self) -> tuple[int, bytes | None]:
        """The next index and the leaf hash of the last record (None when empty)."""
        row = self.conn.execute(
            select(ledger_entries.c.idx, ledger_entries.c.leaves)
            .order_by(ledger_entries.c.idx.desc())
            .limit(1)
        ).first()
        if row is None:
            return 0, None
        leaves = bytes(row[1])
        return int(row[0]) + len(leaves) // _LEAF, leaves[-_LEAF:]

    def insert(self, rows: Sequence[EntryRow]) -> None:
        """Store consecutive records, ``BUNDLE_SIZE`` to a row."""
        if rows:
            self.insert_bundles(rows[0][0], [r[1] for r in rows], [r[2] for r in rows], rows[0][3])

    def insert_bundles(
        self, first: int, bodies: Sequence[bytes], leaves: Sequence[bytes], time: str
    ) -> None:
        """Store the consecutive records ``first``, ``first + 1``, ... (their bytes and
        leaf hashes, all at ``time``), ``BUNDLE_SIZE`` to a row."""
        bundles = [
            (
                first + i,
                b"\n".join(bodies[i : i + BUNDLE_SIZE]),
                b"".join(leaves[i : i + BUNDLE_SIZE]),
                time,
            )
            for i in range(0, len(bodies), BUNDLE_SIZE)
        ]
        driver = self.conn.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()
        try:
            if self.backend == "postgresql":
                # Binary COPY: bytea goes over the wire as is, not hex-escaped.
                sql = "COPY ledger_entries (idx, records, leaves, time) FROM STDIN (FORMAT BINARY)"
                with cursor.copy(sql) as copy:
                    copy.set_types(["int8", "bytea", "bytea", "varchar"])
                    for bundle in bundles:
                        copy.write_row(bundle)
            else:
                cursor.executemany(
                    "INSERT INTO ledger_entries (idx, records, leaves, time) VALUES (?, ?, ?, ?)",
                    bundles,
                )
        finally:
            cursor.close()


@contextmanager
def ledger_writer(store: Store, within: Connection | None = None) -> Iterator[LedgerWriter]:
    """A write transaction holding the ledger's append lock; commits on success.

    With ``within`` (a ``Store.transaction()``), the append joins that transaction and
    commits or rolls back with it."""
    with store.transaction() if within is None else nullcontext(within) as conn:
        if store.backend == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LEDGER_LOCK})
        yield LedgerWriter(conn, store.backend)


def _read(store: Store, within: Connection | None = None) -> AbstractContextManager[Connection]:
    """A read-only connection, or ``within`` (whose uncommitted rows it then sees)."""
    if within is not None:
        return nullcontext(within)
    return store.engine.connect().execution_options(sqlite_begin="DEFERRED")


def ledger_size(store: Store) -> int:
    """How many records the ledger holds (by its last bundle)."""
    with _read(store) as conn:
        return LedgerWriter(conn, store.backend).tip()[0]


Bundle = tuple[int, bytes, bytes, str]  # first index, records joined by newlines, leaves, time


def split_bundle(first: int, records: bytes, leaves: bytes) -> list[bytes]:
    """The records of a bundle; ``CorruptBundle`` when they and its leaf hashes do not
    line up."""
    bodies = records.split(b"\n")
    if len(leaves) != _LEAF * len(bodies):
        raise CorruptBundle(first)
    return bodies


def _unpack(first: int, records: bytes, leaves: bytes, time: str) -> list[EntryRow]:
    return [
        (first + i, body, leaves[i * _LEAF : (i + 1) * _LEAF], time)
        for i, body in enumerate(split_bundle(first, records, leaves))
    ]


def iter_bundles(store: Store, start: int = 0, stop: int | None = None) -> Iterator[list[Bundle]]:
    """The stored bundles holding records ``start <= index < stop``, in index order, in
    batches, streamed (a bundle may also hold records outside the range)."""
    with store.engine.connect() as conn:
        postgres = store.backend == "postgresql"
        mark = "%s" if postgres else "?"
        sql = f"SELECT idx, records, leaves, time FROM ledger_entries WHERE idx > {mark}"
        params: list[int] = [start - BUNDLE_SIZE]
        if stop is not None:
            sql += f" AND idx < {mark}"
            params.append(stop)
        driver = conn.connection.driver_connection
        assert driver is not None
        # A named (server-side) cursor streams on PostgreSQL; SQLite cursors always stream.
        cursor = driver.cursor(name="palate_ledger_entries") if postgres else driver.cursor()
        try:
            cursor.execute(sql + " ORDER BY idx", params)
            while bundles := cursor.fetchmany(max(BATCH_SIZE // BUNDLE_SIZE, 1)):
                yield [(int(i), bytes(r), bytes(h), t) for i, r, h, t in bundles]
        finally:
            cursor.close()


def iter_entries(store: Store, start: int = 0, stop: int | None = None) -> Iterator[list[EntryRow]]:
    """Records with ``start <= index < stop``, in index order, in batches, streamed.

    Raises ``CorruptBundle`` at a bundle whose records and hashes do not line up.
    """
    for bundles in iter_bundles(store, start, stop):
        batch = [row for bundle in bundles for row in _unpack(*bundle)]
        if batch and (batch[0][0] < start or (stop is not None and batch[-1][0] >= stop)):
            batch = [r for r in batch if start <= r[0] and (stop is None or r[0] < stop)]
        if batch:
            yield batch


def read_entry(store: Store, idx: int) -> EntryRow | None:
    for batch in iter_entries(store, idx, idx + 1):
        return batch[0]
    return None


def read_leaves(store: Store, stop: int | None = None) -> list[bytes]:
    """Stored leaf hashes in index order (for proofs; verification recomputes them)."""
    query = select(ledger_entries.c.leaves).order_by(ledger_entries.c.idx)
    with _read(store) as conn:
        joined = b"".join(
            bytes(leaves)
            for (leaves,) in conn.execution_options(yield_per=BATCH_SIZE).execute(query)
        )
    size = len(joined) // _LEAF if stop is None else min(stop, len(joined) // _LEAF)
    return [joined[i * _LEAF : (i + 1) * _LEAF] for i in range(size)]


def find_by_leaf_prefix(store: Store, prefix: bytes, odd_nibble: int | None) -> list[int]:
    """Indexes whose leaf hash starts with ``prefix`` (and, for an odd-length hex prefix,
    whose next byte's high nibble is ``odd_nibble``)."""
    n = len(prefix)
    return [
        i
        for i, leaf in enumerate(read_leaves(store))
        if leaf.startswith(prefix) and (odd_nibble is None or leaf[n] >> 4 == odd_nibble)
    ]


def add_checkpoint(store: Store, size: int, root: bytes, note: str) -> None:
    with store.engine.connect() as conn, conn.begin():
        conn.execute(insert(ledger_checkpoints).values(size=size, root=root, note=note))


def read_checkpoints(store: Store) -> list[tuple[int, int, bytes, str]]:
    """Stored checkpoints (id, size, root, note), smallest tree first."""
    query = select(
        ledger_checkpoints.c.id,
        ledger_checkpoints.c.size,
        ledger_checkpoints.c.root,
        ledger_checkpoints.c.note,
    ).order_by(ledger_checkpoints.c.size, ledger_checkpoints.c.id)
    with _read(store) as conn:
        return [(int(i), int(s), bytes(r), n) for i, s, r, n in conn.execute(query)]


# -- dataset rows named by the ledger --------------------------------------------------------


def dataset_max_id(store: Store, dataset: str, within: Connection | None = None) -> int:
    """The largest record id in the dataset (0 when it is empty or does not exist)."""
    query = (
        select(func.max(records.c.id))
        .select_from(records.join(datasets))
        .where(datasets.c.name == dataset)
    )
    with _read(store, within) as conn:
        return int(conn.execute(query).scalar() or 0)


def dataset_row_hashes(
    store: Store, dataset: str, after: int, upto: int, within: Connection | None = None
) -> list[str]:
    """Content hashes of a dataset's records with ``after < id <= upto``, in id order."""
    with _read(store, within) as conn:
        dataset_id = store.dataset_id(conn, dataset)
        query = (
            select(records.c.hash)
            .where(records.c.dataset_id == dataset_id)
            .where(records.c.id > after)
            .where(records.c.id <= upto)
            .order_by(records.c.id)
        )
        return [h for (h,) in conn.execution_options(yield_per=BATCH_SIZE).execute(query)]


def iter_dataset_rows(
    store: Store, dataset: str, after: int, upto: int
) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(dataset id, full row in ``RECORD_COLUMNS`` order) of the records with
    ``after < id <= upto``, in id order; PalateError if the dataset is gone."""
    with _read(store) as conn:
        found = conn.execute(select(datasets.c.id).where(datasets.c.name == dataset)).scalar()
        if found is None:
            raise PalateError(f"dataset {dataset!r} no longer exists")
        query = (
            select(*(records.c[c] for c in RECORD_COLUMNS))
            .where(records.c.dataset_id == found)
            .where(records.c.id > after)
            .where(records.c.id <= upto)
            .order_by(records.c.id)
        )
        for row in conn.execution_options(yield_per=BATCH_SIZE).execute(query):
            yield int(found), tuple(row)


def first_unaccounted_row(
    store: Store, covered: dict[str, list[tuple[int, int]]]
) -> tuple[str, int, str] | None:
    """The first record (dataset, id, content hash) that lies in none of the id ranges
    ``covered`` names for its dataset (``after < id <= upto``), or None.

    The ledger's records account for every row palate wrote, so such a row was written
    behind the ledger's back. One indexed query per dataset, over the gaps between ranges.
    """
    with _read(store) as conn:
        for dataset_id, name in conn.execute(select(datasets.c.id, datasets.c.name)):
            in_dataset = records.c.dataset_id == dataset_id
            gaps = []
            reached = 0  # every id <= reached is covered
            for after, upto in sorted(covered.get(name, [])):
                if after > reached:
                    gaps.append(and_(records.c.id > reached, records.c.id <= after))
                reached = max(reached, upto)
            gaps.append(records.c.id > reached)
            query = (
                select(records.c.id, records.c.hash)
                .where(in_dataset, or_(false(), *gaps))
                .order_by(records.c.id)
                .limit(1)
            )
            found = conn.execute(query).first()
            if found is not None:
                return name, int(found[0]), str(found[1])
    return None
