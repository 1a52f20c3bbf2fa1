"""Scripted baseline agents: the brackets that show the reward means what we say.

Each acts only through tool calls, exactly as a language-model agent would: ``act`` gets the
last observation (parsed JSON) and returns the next action ``{"tool": ..., "arguments": ...}``.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from palate.errors import PalateError
from palate.saas.defects import FEATURES, defect, feature
from palate.saas.market import LIST_PRICES

Action = dict[str, Any]
END_DAY: Action = {"tool": "end_day", "arguments": {}}


class Agent:
    """Ends every day without doing anything; subclasses queue work for the day."""

    name = "idle"

    def __init__(self) -> None:
        self.day = 0
        self.queue: deque[Action] = deque()

    def act(self, observation: dict[str, Any]) -> Action:
        if not self.queue:
            self.plan_day(observation)
            self.queue.append(END_DAY)
        action = self.queue.popleft()
        if action["tool"] == "end_day":
            self.day += 1
        return action

    def plan_day(self, observation: dict[str, Any]) -> None:
        """Queue the day's calls (before the closing ``end_day``)."""


class Idle(Agent):
    name = "idle"


class Breaker(Agent):
    """Ships a change that breaks start-up on the first day, and never looks back."""

    name = "breaker"

    def plan_day(self, observation: dict[str, Any]) -> None:
        if self.day == 0:
            self.queue.extend(
                [
                    {
                        "tool": "write_file",
                        "arguments": {
                            "path": "teamnotes/__init__.py",
                            "content": "raise RuntimeError('half-finished refactor')\n",
                        },
                    },
                    {"tool": "deploy", "arguments": {}},
                ]
            )


class GreedyPricer(Agent):
    """Triples every price on the first day."""

    name = "greedy-pricer"

    def plan_day(self, observation: dict[str, Any]) -> None:
        if self.day == 0:
            for plan, cents in sorted(LIST_PRICES.items()):
                self.queue.append(
                    {"tool": "set_price", "arguments": {"plan": plan, "cents": 3 * cents}}
                )


TOPIC_DEFECTS: dict[str, tuple[str, int]] = {
    "export_unicode": ("unicode-slug", 0),
    "unicode_tags": ("unicode-slug", 1),
    "pages": ("pagination-offset", 0),
    "collab": ("lost-update", 0),
    "idor": ("idor", 0),
    "idor_export": ("idor", 1),
    "inject_sort": ("sql-injection", 0),
    "inject_search": ("sql-injection", 1),
}
"""What a ticket's topic points at: (defect, variant index). The busy-workspace listing
points at the pagination bug when its answer is wrong, and at the N+1 query when it is slow."""


def _patch(diff: str) -> Action:
    return {"tool": "apply_patch", "arguments": {"diff": diff}}


DEPLOY: Action = {"tool": "deploy", "arguments": {}}


class Symptom(Agent):
    """Reads the tickets every morning and patches exactly the input each one reports: the
    symptom patch of a defect's first variant. A later variant of the same defect is a new
    input it has no patch for."""

    name = "symptom"

    def __init__(self) -> None:
        super().__init__()
        self.patched: set[str] = set()
        self.read_today = -1

    def act(self, observation: dict[str, Any]) -> Action:
        if self.read_today != self.day:
            self.read_today = self.day
            return {"tool": "read_tickets", "arguments": {}}
        if not self.queue:
            self.queue.extend(self.patches_for(observation))
            self.queue.append(END_DAY)
        return super().act(observation)

    def patches_for(self, observation: dict[str, Any]) -> list[Action]:
        tickets = observation.get("result", {}).get("tickets", [])
        actions: list[Action] = []
        for ticket in tickets:
            target = self.defect_of(ticket)
            if target is None or target[0] in self.patched:
                continue
            defect_id, variant = target
            if variant == 0:
                self.patched.add(defect_id)
                actions.append(_patch(defect(defect_id).symptom_patch))
        return [*actions, DEPLOY] if actions else []

    @staticmethod
    def defect_of(ticket: dict[str, Any]) -> tuple[str, int] | None:
        topic = str(ticket.get("topic", ""))
        if topic == "big_list":
            slow = "slow" in str(ticket.get("text", ""))
            return ("n-plus-one", 0) if slow else ("pagination-offset", 0)
        return TOPIC_DEFECTS.get(topic)


class RootCause(Agent):
    """Applies the reference fix of every defect on day 0 (security first), then ships the
    features customers ask for most, two a day."""

    name = "root-cause"
    FIX_ORDER = ("idor", "sql-injection", "unicode-slug", "pagination-offset", "lost-update",
                 "n-plus-one")  # fmt: skip
    FEATURES_PER_DAY = 2

    def __init__(self) -> None:
        super().__init__()
        self.shipped: set[str] = set()
        self.asks: dict[str, int] = {}
        self.read_today = -1

    def act(self, observation: dict[str, Any]) -> Action:
        if self.day > 0 and self.read_today != self.day:
            self.read_today = self.day
            return {"tool": "read_tickets", "arguments": {"open_only": False}}
        return super().act(observation)

    def plan_day(self, observation: dict[str, Any]) -> None:
        if self.day == 0:
            self.queue.extend(_patch(defect(d).fix_patch) for d in self.FIX_ORDER)
            self.queue.append(DEPLOY)
            return
        for ticket in observation.get("result", {}).get("tickets", []):
            topic = str(ticket.get("topic", ""))
            if topic.startswith("feature:"):
                asked = topic.removeprefix("feature:")
                self.asks[asked] = self.asks.get(asked, 0) + 1
        wanted = sorted(
            (f.id for f in FEATURES if f.id not in self.shipped),
            key=lambda f: -self.asks.get(f, 0),
        )[: self.FEATURES_PER_DAY]
        for feature_id in wanted:
            self.shipped.add(feature_id)
            self.queue.append(_patch(feature(feature_id).patch))
        if wanted:
            self.queue.append(DEPLOY)


AGENTS: dict[str, type[Agent]] = {
    a.name: a for a in (Idle, Symptom, RootCause, Breaker, GreedyPricer)
}


def agent(name: str) -> Agent:
    try:
        return AGENTS[name]()
    except KeyError:
        raise PalateError(f"unknown agent {name!r}; choose one of {', '.join(AGENTS)}") from None
