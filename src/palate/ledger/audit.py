"""Auditing a store: ``palate.ledger.verify(store)``, what ``palate ledger verify`` runs."""

from __future__ import annotations

from pathlib import Path

from palate.ledger.ledger import Ledger
from palate.ledger.verify import VerifyResult
from palate.store import Store


def verify(store: Store, key_dir: Path | None = None) -> VerifyResult:
    """Recompute every record's hash and the chain, check signed checkpoints (with the key in
    ``key_dir``, default ``$PALATE_KEY_DIR``) and that the rows and rubrics the records name
    still hash to what was recorded; the result names the first bad record, if any."""
    return Ledger(store, key_dir).verify()
