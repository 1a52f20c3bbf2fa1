"""The provenance ledger: append-only, Merkle-hashed, signed, verifiable."""

from pathlib import Path

from palate.ledger.aggregation import record_aggregation
from palate.ledger.ledger import Activity, Ledger, LedgerEntry
from palate.ledger.provenance import EntityRef
from palate.ledger.verify import CHECKERS, VerifyResult
from palate.store import Store

__all__ = [
    "CHECKERS",
    "Activity",
    "EntityRef",
    "Ledger",
    "LedgerEntry",
    "VerifyResult",
    "record_aggregation",
    "verify",
]


def verify(store: Store, key_dir: Path | None = None) -> VerifyResult:
    """Recompute every hash, check signed checkpoints (with the key in ``key_dir``) and the
    data records refer to; the result names the first bad record (``palate ledger verify``).

    (This function takes the name of the ``palate.ledger.verify`` module, which is imported
    above and so is not re-attached here by a later import.)
    """
    return Ledger(store, key_dir).verify()
