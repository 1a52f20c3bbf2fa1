"""Tables of the provenance ledger: its entries and its signed checkpoints.

Entries are stored in bundles of consecutive records, as transparency logs store tiles
(C2SP tlog-tiles bundles 256 entries): one row per append of a single record, one row per
``BUNDLE_SIZE`` records of a bulk append. A database row costs several times more to
insert than SHA-256 of its bytes, so a million records in a million rows could never be
appended at hashing speed. A bundle holds the exact canonical bytes that were hashed,
joined by newlines (canonical JSON never contains a raw newline), and their 32-byte leaf
hashes, concatenated; verification trusts only the bytes.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, String, Table, Text

from palate.store.tables import metadata

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),  # of the first record
    Column("records", LargeBinary, nullable=False),  # RFC 8785 canonical JSON, newline-joined
    Column("leaves", LargeBinary, nullable=False),  # SHA-256(0x00 || record), concatenated
    Column("time", String(40), nullable=False),  # the records' UTC timestamp, ISO 8601
)

ledger_checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),  # the C2SP signed note, as issued
)
