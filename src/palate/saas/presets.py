"""Episode sizes: how long, how many customers, how much real traffic."""

from __future__ import annotations

from dataclasses import dataclass

from palate.errors import PalateError


@dataclass(frozen=True)
class Preset:
    name: str
    days: int
    """Simulated days in one episode."""
    initial_customers: int
    """Paying customers on day 0."""
    arrivals_per_day: float
    """Mean number of prospects that arrive each day (they sign up if the price suits them)."""
    attacks_per_week: float
    """Mean number of attack attempts per week."""
    variants_from: float
    """Fraction of the episode after which the later variants of defects start to be hit."""
    starting_cash_cents: int = 1_000_000
    """Money in the bank on day 0."""
    max_calls_per_day: int = 40
    """Tool calls the agent may make in one day before the day is ended for it."""


PRESETS: dict[str, Preset] = {
    "quick": Preset("quick", 7, 60, 1.5, 1.5, 0.4),
    "default": Preset("default", 60, 300, 4.0, 1.5, 0.35),
    "long": Preset("long", 180, 600, 6.0, 1.5, 0.3),
}


def preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise PalateError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None
