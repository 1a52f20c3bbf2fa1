"""What every command shares: the --db and --json options and the two ways of printing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console

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
