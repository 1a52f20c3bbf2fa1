"""The provenance ledger: an append-only Merkle log of PROV records in the store.

Each record is stored as its RFC 8785 canonical bytes; its id is its RFC 9162 leaf hash.
Nothing is edited in place: corrections are new records that supersede or revoke old ones.
Signed checkpoints (C2SP tlog-checkpoint notes) pin the tree at a size, so that a rewrite of
history is caught even if whoever made it also rewrote the stored hashes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection

from palate.errors import PalateError
from palate.ledger import merkle
from palate.ledger.keys import DEFAULT_KEY_NAME, key_dir, load_signer, load_verifier
from palate.ledger.note import Checkpoint, sign_note
from palate.ledger.provenance import (
    Activity,
    EntityRef,
    RecordChain,
    Revision,
    build_record,
    canonical_record,
    dataset_rows_id,
)
from palate.ledger.verify import VerifyResult, origin_of, verify_ledger
from palate.store import Store
from palate.store import ledger as sql
from palate.store.store import Record, record_values


@dataclass(frozen=True)
class LedgerEntry:
    """One stored record: its position, id (leaf hash, hex), content and time."""

    index: int
    id: str
    record: dict[str, Any]
    timestamp: datetime

    @classmethod
    def from_row(cls, row: sql.EntryRow) -> LedgerEntry:
        idx, body, leaf, time = row
        return cls(idx, leaf.hex(), orjson.loads(body), datetime.fromisoformat(time))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Ledger:
    """The ledger of one store; ``key_dir`` holds the checkpoint signing key."""

    def __init__(
        self, store: Store, key_dir: Path | None = None, key_name: str = DEFAULT_KEY_NAME
    ) -> None:
        self.store = store
        self.key_dir = key_dir
        self.key_name = key_name

    # -- writing ---------------------------------------------------------------------------

    def append(
        self,
        activity: str,
        *,
        agent: str,
        used: Sequence[EntityRef] = (),
        generated: Sequence[EntityRef] = (),
        attributes: Mapping[str, Any] | None = None,
        supersedes: str | None = None,
        revokes: str | None = None,
        within: Connection | None = None,
    ) -> LedgerEntry:
        """Append one record: ``agent`` carried out ``activity``, which used and generated
        the given entities. ``supersedes``/``revokes`` name an earlier record (see
        ``resolve``) that this one corrects or withdraws. With ``within`` (a
        ``Store.transaction()``) the record commits together with that transaction's rows,
        or not at all."""
        with sql.ledger_writer(self.store, within) as writer:
            index, last = writer.tip()
            record = build_record(
                index=index,
                previous=last.hex() if last else "",
                time=_now(),
                activity=activity,
                agent=agent,
                used=used,
                generated=generated,
                attributes=attributes,
                supersedes=self._revision(supersedes, index) if supersedes else None,
                revokes=self._revision(revokes, index) if revokes else None,
            )
            body = canonical_record(record)
            leaf = merkle.leaf_hash(body)
            writer.insert([(index, body, leaf, record["time"])])
        return LedgerEntry(index, leaf.hex(), record, datetime.fromisoformat(record["time"]))

    def append_many(self, activities: Iterable[Activity]) -> int:
        """Append many records in one transaction (all or none); return how many.

        The records share one timestamp. Built, hashed and inserted in batches, so memory
        stays flat however many there are. A batch is read before any of it is written, so
        a generator must not change an attributes dict or entity list it already yielded.
        """
        time = _now()
        added = 0
        items = iter(activities)
        with sql.ledger_writer(self.store) as writer:
            index, last = writer.tip()
            chain = RecordChain(time, index, last.hex() if last else "")
            while True:
                first = chain.index
                bodies, leaves = chain.extend(items, sql.APPEND_CHUNK)
                writer.insert_bundles(first, bodies, leaves, time)
                added += len(bodies)
                if len(bodies) < sql.APPEND_CHUNK:
                    return added

    def add_records(
        self,
        dataset: str,
        items: Iterable[Record],
        *,
        activity: str,
        agent: str,
        used: Sequence[EntityRef] = (),
        attributes: Callable[[int], Mapping[str, Any]] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[int, EntityRef]:
        """Add records to a dataset together with the ledger record that accounts for them,
        in one transaction: both land or neither does. The record generated exactly the
        rows added (none, when all were there already: the attempt is still recorded);
        ``attributes`` is called with how many were new. Return (rows added, their entity)."""
        values = (record_values(r) for r in items)
        return self.add_rows(
            dataset, values, activity=activity, agent=agent, used=used, attributes=attributes,
            progress=progress,
        )  # fmt: skip

    def add_rows(
        self,
        dataset: str,
        values: Iterable[tuple[Any, ...]],
        *,
        activity: str,
        agent: str,
        used: Sequence[EntityRef] = (),
        attributes: Callable[[int], Mapping[str, Any]] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[int, EntityRef]:
        """``add_records`` for rows already built by ``palate.store.store.record_values``."""
        with self.store.transaction() as tx:
            after = self.dataset_last_id(dataset, within=tx)
            added = self.store.add_rows(dataset, values, progress, within=tx)
            rows = self.dataset_rows(dataset, after_id=after, within=tx)
            self.append(
                activity,
                agent=agent,
                used=used,
                generated=[rows],
                attributes=attributes(added) if attributes else None,
                within=tx,
            )
        return added, rows

    def _revision(self, ref: str, before: int) -> Revision:
        index = self.resolve(ref)
        if index >= before:
            raise PalateError(f"record {ref!r} is not an earlier record")
        row = sql.read_entry(self.store, index)
        assert row is not None
        return Revision(index=index, id=row[2].hex())

    def dataset_last_id(self, dataset: str, within: Connection | None = None) -> int:
        """The largest record id in the dataset now (0 if it is empty or absent): pass it
        as ``after_id`` to ``dataset_rows`` after adding rows, to name just those."""
        return sql.dataset_max_id(self.store, dataset, within)

    def dataset_rows(
        self, dataset: str, after_id: int | None = None, within: Connection | None = None
    ) -> EntityRef:
        """The dataset's records with id > ``after_id`` (all when None), as they are now
        (``within`` a transaction: as that transaction sees them), named by the Merkle root
        of their content hashes in id order."""
        after = after_id or 0
        upto = max(sql.dataset_max_id(self.store, dataset, within), after)
        hashes = sql.dataset_row_hashes(self.store, dataset, after, upto, within)  # unknown: error
        return EntityRef(
            kind="dataset-rows",
            id=dataset_rows_id(dataset, after, upto),
            hash=merkle.root([merkle.leaf_hash(bytes.fromhex(h)) for h in hashes]).hex(),
        )

    # -- reading ---------------------------------------------------------------------------

    def size(self) -> int:
        return sql.ledger_size(self.store)

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[LedgerEntry]:
        for batch in sql.iter_entries(self.store, start, stop):
            yield from (LedgerEntry.from_row(row) for row in batch)

    def find(self, kind: str, id: str) -> list[LedgerEntry]:
        """Records that used or generated the entity ``kind``/``id``."""
        needle = orjson.dumps(id)
        found = []
        for batch in sql.iter_entries(self.store):
            for row in batch:
                if needle not in row[1]:
                    continue
                entry = LedgerEntry.from_row(row)
                refs = [*entry.record["used"], *entry.record["generated"]]
                if any(r["kind"] == kind and r["id"] == id for r in refs):
                    found.append(entry)
        return found

    def resolve(self, ref: str) -> int:
        """The index of a record named by ``#N`` / ``index:N`` (its index) or by a prefix of
        its id (4+ hex digits).

        A bare number is read both ways, because an id prefix can be all digits: it names
        the record at that index when no id starts with it, the record whose id starts with
        it when it is not a valid index, and is refused, listing both, when both match.
        """
        size = self.size()
        for marker in ("#", "index:"):
            if ref.startswith(marker):
                number = ref[len(marker) :]
                if not number.isdigit():
                    raise PalateError(f"not a record index: {ref!r} (write #N, e.g. #12)")
                return self._index(int(number), ref, size)
        hex_ref = ref.lower()
        if len(hex_ref) < 4 or any(c not in "0123456789abcdef" for c in hex_ref):
            if ref.isdigit():
                return self._index(int(ref), ref, size)
            raise PalateError(
                f"not a record reference: {ref!r} (an index as #N, or 4+ hex digits of an id)"
            )
        as_index = int(ref) if ref.isdigit() and int(ref) < size else None
        found = self._by_id_prefix(hex_ref)
        if as_index is not None and found:
            raise PalateError(
                f"record reference {ref!r} is ambiguous: index {as_index} or the record whose "
                f"id starts with it (index {found[0]}); write #{as_index} for the index or "
                "more digits of the id"
            )
        if as_index is not None:
            return as_index
        if len(found) != 1:
            if not found and ref.isdigit():
                raise PalateError(f"no record {ref} (the ledger holds {size}, no id starts so)")
            raise PalateError(f"{'no' if not found else 'more than one'} record with id {ref}")
        return found[0]

    @staticmethod
    def _index(index: int, ref: str, size: int) -> int:
        if index >= size:
            raise PalateError(f"no record {ref} (the ledger holds {size})")
        return index

    def _by_id_prefix(self, hex_ref: str) -> list[int]:
        whole = bytes.fromhex(hex_ref[: len(hex_ref) // 2 * 2])
        odd = int(hex_ref[-1], 16) if len(hex_ref) % 2 else None
        return list(sql.find_by_leaf_prefix(self.store, whole, odd))

    # -- proofs and checkpoints --------------------------------------------------------------

    def root(self, size: int | None = None) -> bytes:
        return merkle.root(sql.read_leaves(self.store, size))

    def checkpoint(self) -> str:
        """Verify the log (hashes, chain, earlier checkpoints; not the data it names, which
        can take long and is ``verify``'s job), then sign and store a checkpoint of it;
        return the note."""
        verifier = load_verifier(key_dir(self.key_dir), self.key_name)
        result = verify_ledger(self.store, verifier, checkers={})
        if not result.ok:
            raise PalateError(f"ledger does not verify, not signing it: {result.describe()}")
        if result.records == 0:
            raise PalateError("the ledger is empty: nothing to checkpoint")
        first = sql.read_entry(self.store, 0)
        assert first is not None
        signer = load_signer(key_dir(self.key_dir), self.key_name)
        body = Checkpoint(origin_of(first[2]), result.records, bytes.fromhex(result.root))
        note = sign_note(body.text(), signer)
        sql.add_checkpoint(self.store, body.size, body.root, note)
        return note

    def inclusion_proof(self, ref: str) -> dict[str, Any]:
        """An RFC 9162 inclusion proof of one record, against the latest checkpoint that
        covers it (else the current tree, unsigned), as JSON data that
        ``palate.ledger.standalone_proof.verify_proof`` checks offline."""
        index = self.resolve(ref)
        covering = [c for c in sql.read_checkpoints(self.store) if c[1] > index]
        note = covering[-1][3] if covering else None
        leaves = sql.read_leaves(self.store, covering[-1][1] if covering else None)
        entry = sql.read_entry(self.store, index)
        assert entry is not None
        return {
            "record": entry[1].decode(),
            "leaf_index": index,
            "tree_size": len(leaves),
            "root_hash": merkle.root(leaves).hex(),
            "inclusion_path": [h.hex() for h in merkle.inclusion_proof(leaves, index)],
            "checkpoint": note,
        }

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        return merkle.consistency_proof(sql.read_leaves(self.store, new_size), old_size)

    def verify(self) -> VerifyResult:
        """Recompute everything; see ``palate.ledger.verify``."""
        verifier = load_verifier(key_dir(self.key_dir), self.key_name)
        return verify_ledger(self.store, verifier)
