"""Derailment: an agent that is no longer running the business, though its episode goes on.

Two signs, each flagged once per spell: the same call (tool and arguments) made again and again
in a row, and days on end with no call that changes anything (no file edit, deploy, rollback,
price, reply, note or harness edit that went through). The flags go into each step's info
and the episode's summary, so a report can say where an agent lost its way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

CHANGING_TOOLS = frozenset(
    {"write_file", "patch_file", "apply_patch", "deploy", "rollback", "set_price",
     "reply_ticket", "write_note", "edit_harness"}
)  # fmt: skip


class DerailmentRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repeat_calls: int = Field(4, ge=2)
    """This many identical calls in a row (``end_day`` aside) is a loop."""
    idle_days: int = Field(3, ge=1)
    """This many days in a row without a change is a stall."""


@dataclass
class Flag:
    day: int
    kind: str
    """'looping' or 'stalled'."""
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"day": self.day, "kind": self.kind, "detail": self.detail}


@dataclass
class DerailmentWatch:
    """Watches the calls of one episode."""

    rules: DerailmentRules
    flags: list[Flag] = field(default_factory=list)
    last_call: str = ""
    repeats: int = 0
    idle_days: int = 0
    changed_today: bool = False

    def observe(
        self, day: int, tool: str, arguments: Any, ok: bool, day_ended: bool
    ) -> dict[str, Any]:
        """Account for one call made on ``day`` (which it may have ended: ``end_day``, or the
        day's last allowed call); return the step info's ``derailment``."""
        new: list[Flag] = []
        if tool == "end_day":
            self.last_call, self.repeats = "", 0
        else:
            call = json.dumps([tool, arguments], sort_keys=True, default=str)
            self.repeats = self.repeats + 1 if call == self.last_call else 1
            self.last_call = call
            if self.repeats == self.rules.repeat_calls:
                new.append(Flag(day, "looping", f"{tool} called {self.repeats} times in a row"))
            self.changed_today |= ok and tool in CHANGING_TOOLS
        if day_ended:
            self.idle_days = 0 if self.changed_today else self.idle_days + 1
            self.changed_today = False
            if self.idle_days == self.rules.idle_days:
                new.append(Flag(day, "stalled", f"no change for {self.idle_days} days"))
        self.flags.extend(new)
        return {
            "repeats": self.repeats,
            "idle_days": self.idle_days,
            "looping": self.repeats >= self.rules.repeat_calls,
            "stalled": self.idle_days >= self.rules.idle_days,
            "flagged": [f.to_json() for f in new],
        }

    def summary(self) -> dict[str, Any]:
        return {
            "looping": sum(f.kind == "looping" for f in self.flags),
            "stalled": sum(f.kind == "stalled" for f in self.flags),
            "flags": [f.to_json() for f in self.flags],
        }
