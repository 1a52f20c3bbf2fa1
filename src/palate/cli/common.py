"""What every command shares: the --db and --json options and the two ways of printing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console

from palate.ledger import EntityRef, Ledger
from palate.ledger.provenance import current_agent
from palate.schema.hashing import canonical_bytes
from palate.store import Store, default_url

console = Console()
err_console = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (sqlite:///FILE or postgresql://...). "
        "Default: $PALATE_DB_URL, else sqlite:///palate.db.",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one machine-readable JSON document on stdout.")
]


def open_store(db: str | None) -> Store:
    return Store(db or default_url())


def emit(as_json: bool, document: dict[str, Any], render: Callable[[], None]) -> None:
    """Print the JSON document, or the human rendering of the same result."""
    if as_json:
        print(json.dumps(document, ensure_ascii=False))
    else:
        render()


def record_aggregation(
    store: Store,
    activity: str,
    datasets: list[str],
    options: dict[str, Any],
    document: dict[str, Any],
) -> None:
    """Append an aggregation to the ledger: the rows it read, its options, and the hash of
    what it reported, so a published figure can be traced back to its data."""
    ledger = Ledger(store)
    digest = hashlib.sha256(canonical_bytes(document)).hexdigest()
    ledger.append(
        activity,
        agent=current_agent(),
        used=[ledger.dataset_rows(name) for name in datasets],
        generated=[EntityRef(kind="aggregate", id=f"{activity}:{','.join(datasets)}", hash=digest)],
        attributes={"options": options},
    )
