"""The provenance ledger: append-only, Merkle-hashed, signed, verifiable."""

from palate.ledger.ledger import Activity, Ledger, LedgerEntry
from palate.ledger.provenance import EntityRef
from palate.ledger.verify import CHECKERS, VerifyResult

__all__ = ["CHECKERS", "Activity", "EntityRef", "Ledger", "LedgerEntry", "VerifyResult"]
