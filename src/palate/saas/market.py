"""The market: who the customers are, when prospects arrive, what each does each day, and when
attackers come. All of it is drawn from the seed alone, never from what the agent does, so
every agent on a seed faces the same market.

Profiles are hidden from the agent: it learns about them only through tickets, churn and
billing, as a real business does.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from palate.saas.presets import Preset
from palate.saas.rng import stream
from palate.saas.traffic import LATER, SCENARIOS

LIST_PRICES: dict[str, int] = {"pro": 1_200, "team": 4_900}
"""List price per month in cents for each paid plan."""


@dataclass(frozen=True)
class Segment:
    name: str
    share: float
    plan: str
    usage: dict[str, float]
    """Scenario -> probability of using it on a given day."""
    security_sensitive: bool = False


SEGMENTS: tuple[Segment, ...] = (
    Segment("solo", 0.35, "pro", {"notes": 0.6, "search": 0.4, "pages": 0.35}),
    Segment("team", 0.30, "team", {"notes": 0.6, "search": 0.3, "collab": 0.5, "big_list": 0.3}),
    Segment(
        "international",
        0.20,
        "pro",
        {"notes": 0.5, "export_unicode": 0.4, "unicode_tags": 0.5, "pages": 0.2},
    ),
    Segment(
        "enterprise",
        0.15,
        "team",
        {"notes": 0.5, "big_list": 0.6, "collab": 0.4, "search": 0.3},
        security_sensitive=True,
    ),
)
ATTACKS: tuple[str, ...] = tuple(name for name, s in SCENARIOS.items() if s.attack)


@dataclass(frozen=True)
class Profile:
    """A customer's hidden needs and tolerances."""

    id: int
    arrives: int
    """Day the customer (or prospect) shows up; -1 for customers there from the start."""
    segment: str
    plan: str
    usage: tuple[tuple[str, float], ...]
    willingness: float
    """Most the customer will pay, as a multiple of the list price."""
    tolerance: float
    """Satisfaction below which the customer cancels."""
    bill_offset: int
    """Day of the month the customer is billed."""
    wishes: tuple[tuple[str, int], ...]
    """Feature -> extra cents per month the customer pays once it ships."""
    security_sensitive: bool
    signup_draw: float
    """Uniform draw deciding whether a prospect signs up."""


@dataclass(frozen=True)
class Attack:
    day: int
    kind: str


@dataclass(frozen=True)
class Market:
    preset: Preset
    seed: int
    customers: tuple[Profile, ...]
    attacks: tuple[Attack, ...]
    variants_day: int
    """Day from which the later variants of defects are hit."""

    def arrived_by(self, day: int) -> list[Profile]:
        return [c for c in self.customers if c.arrives <= day]

    def scenarios_on(self, day: int) -> list[str]:
        """Customer scenarios in use on ``day``, in a fixed order."""
        return [
            name
            for name, s in SCENARIOS.items()
            if not s.attack and (day >= self.variants_day or name not in LATER)
        ]

    def usage(self, day: int) -> dict[int, tuple[list[str], float]]:
        """For every customer arrived by ``day``: the scenarios they use that day and a
        uniform draw for price churn. Drawn for every customer, churned or not, so the draws
        never depend on the agent."""
        rng = stream(self.seed, f"usage:{day}")
        out: dict[int, tuple[list[str], float]] = {}
        later_ok = day >= self.variants_day
        for c in self.customers:
            if c.arrives > day:
                continue
            used = [
                name for name, p in c.usage if rng.random() < p and (later_ok or name not in LATER)
            ]
            out[c.id] = (used, rng.random())
        return out


def _profile(rng: random.Random, cid: int, arrives: int, features: list[str]) -> Profile:
    pick = rng.random()
    cumulative = 0.0
    segment = SEGMENTS[-1]
    for s in SEGMENTS:
        cumulative += s.share
        if pick < cumulative:
            segment = s
            break
    wishes: list[tuple[str, int]] = []
    for feature in features:
        if rng.random() < 0.3:
            wishes.append((feature, 100 * rng.randint(2, 12)))
    return Profile(
        id=cid,
        arrives=arrives,
        segment=segment.name,
        plan=segment.plan,
        usage=tuple(sorted(segment.usage.items())),
        willingness=1.1 + rng.random() * 1.3,
        tolerance=0.25 + rng.random() * 0.3,
        bill_offset=rng.randrange(30),
        wishes=tuple(wishes),
        security_sensitive=segment.security_sensitive,
        signup_draw=rng.random(),
    )


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; fine for the small means used here."""
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def build_market(preset: Preset, seed: int, features: list[str]) -> Market:
    """Everything outside the agent's control, from the seed alone."""
    people = stream(seed, "customers")
    arrivals = stream(seed, "arrivals")
    profiles = [_profile(people, i, -1, features) for i in range(preset.initial_customers)]
    for day in range(preset.days):
        for _ in range(_poisson(arrivals, preset.arrivals_per_day)):
            profiles.append(_profile(people, len(profiles), day, features))
    variants_day = max(1, round(preset.days * preset.variants_from))
    attackers = stream(seed, "attacks")
    attacks: list[Attack] = []
    for day in range(1, preset.days):
        for _ in range(_poisson(attackers, preset.attacks_per_week / 7)):
            kinds = [k for k in ATTACKS if day >= variants_day or k not in LATER]
            attacks.append(Attack(day, attackers.choice(kinds)))
    return Market(preset, seed, tuple(profiles), tuple(attacks), variants_day)
