"""What every command shares: the --db and --json options, opening the store, checked numeric
options, and the two ways of printing.

Library imports wait until a command runs, so that ``palate --help`` starts fast.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from palate.errors import PalateError

if TYPE_CHECKING:
    from palate.store import Store

# No highlighting: user strings (model and rubric names) are printed as they are, and rich's
# highlighter takes minutes on a 100 KB name.
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

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


class FiniteFloat:
    """Parser of a float option that must be a finite number within bounds; anything else is
    a usage error (exit 2) before the command does or records anything. (A plain min/max
    range lets NaN through: every comparison with NaN is false.)"""

    def __init__(
        self,
        low: float | None = None,
        high: float | None = None,
        *,
        low_open: bool = False,
        high_open: bool = False,
    ) -> None:
        self.low, self.high = low, high
        self.low_open, self.high_open = low_open, high_open
        self.__name__ = "float"  # typer shows it as the option's type

    def describe(self) -> str:
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        left = "(" if self.low_open or self.low is None else "["
        right = ")" if self.high_open or self.high is None else "]"
        return f"{left}{low}, {high}{right}"

    def __call__(self, value: str | float) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise typer.BadParameter(f"{value!r} is not a number") from None
        if not math.isfinite(number):
            raise typer.BadParameter(f"{value!r} is not a finite number")
        too_low = self.low is not None and (
            number <= self.low if self.low_open else number < self.low
        )
        too_high = self.high is not None and (
            number >= self.high if self.high_open else number > self.high
        )
        if too_low or too_high:
            raise typer.BadParameter(f"{number:g} is not in {self.describe()}")
        return number


OPEN_UNIT_INTERVAL = FiniteFloat(0, 1, low_open=True, high_open=True)
"""Levels such as alpha and delta: strictly between 0 and 1."""
PRIOR_STRENGTH = FiniteFloat(0, 1e6)
"""An L2 penalty: 0 (none) up to a prior so strong that every score is the same."""

MAX_BOOTSTRAP = 100_000
"""Most bootstrap replicates an option accepts: beyond it the interval no longer changes,
only the wait (and memory) grows."""

SEED_MAX = 2**32 - 1
"""Largest --seed: what numpy, torch and Python's random all accept (the least is 0)."""


def open_store(db: str | None, *, create: bool = False) -> Store:
    """Open the store named by --db (else $PALATE_DB_URL, else ./palate.db).

    Commands that only read refuse a SQLite file that does not exist, so a typo in --db
    says so instead of answering from a new, empty store; commands that add data pass
    ``create=True``."""
    from palate.store import Store, default_url
    from palate.store.engine import sqlite_path

    url = db or default_url()
    path = sqlite_path(url)
    if not create and path is not None and not path.exists():
        raise PalateError(
            f"no store at {path} (check --db or $PALATE_DB_URL; `palate import` creates one)"
        )
    return Store(url)


def checked_output(path: Path, what: str = "output") -> Path:
    """Refuse an output path that cannot be written as a file: a directory, or a file in a
    folder that does not exist (said now, not as a traceback after the work is done)."""
    if path.is_dir():
        raise PalateError(f"{path}: is a directory; give a file name for the {what}")
    if not path.parent.is_dir():
        raise PalateError(f"{path}: folder {path.parent} does not exist")
    return path


def emit(as_json: bool, document: dict[str, Any], render: Callable[[], None]) -> None:
    """Print the JSON document, or the human rendering of the same result."""
    if as_json:
        print(json.dumps(document, ensure_ascii=False))
    else:
        render()
