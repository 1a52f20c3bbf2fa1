"""Recording an aggregation (a statistic, a calibration, a probe) in the ledger.

Every library call that reports a figure records what it read, its options and the hash of what
it reported, so a published number can be traced back to its data whatever the entry point.
"""

from __future__ import annotations

import hashlib
from typing import Any

from palate.ledger.ledger import Ledger
from palate.ledger.provenance import EntityRef, current_agent
from palate.schema.hashing import canonical_bytes
from palate.store import Store


def record_aggregation(
    store: Store,
    activity: str,
    datasets: list[str],
    options: dict[str, Any],
    document: dict[str, Any],
) -> None:
    """Append ``activity`` over ``datasets`` with its ``options`` and the hash of ``document``
    (the result's ``to_json()``, which is also the command's ``--json`` output)."""
    ledger = Ledger(store)
    digest = hashlib.sha256(canonical_bytes(document)).hexdigest()
    ledger.append(
        activity,
        agent=current_agent(),
        used=[ledger.dataset_rows(name) for name in datasets],
        generated=[EntityRef(kind="aggregate", id=f"{activity}:{','.join(datasets)}", hash=digest)],
        attributes={"options": options},
    )
