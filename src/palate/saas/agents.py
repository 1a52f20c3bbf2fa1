"""Scripted baseline agents: the brackets that show the reward means what we say.

Each acts only through tool calls, exactly as a language-model agent would: ``act`` gets the
last observation (parsed JSON) and returns the next action ``{"tool": ..., "arguments": ...}``.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from palate.errors import PalateError
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


AGENTS: dict[str, type[Agent]] = {a.name: a for a in (Idle, Breaker, GreedyPricer)}


def agent(name: str) -> Agent:
    try:
        return AGENTS[name]()
    except KeyError:
        raise PalateError(f"unknown agent {name!r}; choose one of {', '.join(AGENTS)}") from None
