"""The provenance ledger: append-only, Merkle-hashed, signed, verifiable.

``palate.ledger.verify`` is the function (``palate.ledger.audit.verify``): importing it loads
the ``palate.ledger.verify`` module first, so the module cannot take the name back later.
"""

from palate.ledger.aggregation import record_aggregation
from palate.ledger.audit import verify
from palate.ledger.ledger import Activity, Ledger, LedgerEntry
from palate.ledger.provenance import EntityRef
from palate.ledger.verify import CHECKERS, VerifyResult

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
