"""Training data checked against every evaluation set the ledger has seen evaluated.

A train run calls ``check_training_data`` before recording itself, and writes the summary into
``run.json`` and its ledger record, so a card or a gate can show whether the model trained on
what it is evaluated on.
"""

from __future__ import annotations

import hashlib
from typing import Any

from palate.ledger import EntityRef, Ledger, LedgerEntry
from palate.ledger.provenance import current_agent, parse_dataset_rows_id
from palate.safety.overlap import OverlapConfig, OverlapResult, dataset_overlap
from palate.schema.hashing import canonical_bytes
from palate.store import Store

EVALUATION_ACTIVITY = "evaluation"
OVERLAP_ACTIVITY = "data-overlap"


def record_overlap(store: Store, train: str, evaluation: str, result: OverlapResult) -> LedgerEntry:
    """Append an overlap check: the rows of both sets, its settings and how many evaluation
    prompts it flagged (the figure a model card quotes)."""
    ledger = Ledger(store)
    document = result.to_json()
    digest = hashlib.sha256(canonical_bytes(document)).hexdigest()
    return ledger.append(
        OVERLAP_ACTIVITY,
        agent=current_agent(),
        used=[ledger.dataset_rows(train), ledger.dataset_rows(evaluation)],
        generated=[EntityRef(kind="overlap", id=f"{train}->{evaluation}", hash=digest)],
        attributes={
            "train": train,
            "eval": evaluation,
            "n_eval": result.n_eval,
            "n_flagged": len(result.flagged),
            "checks": document["checks"],
            "ngram": result.config.ngram,
        },
    )


def registered_eval_sets(ledger: Ledger) -> list[str]:
    """Datasets read by recorded evaluations, in the order first evaluated."""
    names: dict[str, None] = {}
    for entry in ledger.entries():
        if entry.record.get("activity") != EVALUATION_ACTIVITY:
            continue
        for used in entry.record.get("used", []):
            if used.get("kind") == "dataset-rows":
                names.setdefault(parse_dataset_rows_id(used["id"])[0], None)
    return list(names)


def check_training_data(
    store: Store, train_dataset: str, config: OverlapConfig | None = None
) -> dict[str, Any]:
    """{"checked": [eval sets], "n_flagged": total, "by_eval_set": {name: overlap document}}.

    Lexical checks only by default (exact and n-gram): a train run should not wait an hour
    embedding a million rows; run ``palate data overlap`` for paraphrases."""
    config = config or OverlapConfig(embed=False)
    by_set = {
        name: dataset_overlap(store, train_dataset, name, config).to_json()
        for name in registered_eval_sets(Ledger(store))
        if name != train_dataset
    }
    return {
        "checked": list(by_set),
        "n_flagged": sum(doc["n_flagged"] for doc in by_set.values()),
        "by_eval_set": by_set,
    }
