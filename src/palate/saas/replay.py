"""Replay: recompute an episode's books from its event log alone.

The log's input events (the start, the agent's calls, deploys, request outcomes, day closings)
are fed to a fresh economy through the same ``apply`` the live run used; every derived event
(postings, sign-ups, cancellations, tickets, day summaries) is recomputed, not read, and must
equal the one in the log. The recomputed hash chain then gives the digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from palate.errors import InputError, PalateError
from palate.saas.episode import INPUT_KINDS, Config, apply, new_economy
from palate.saas.events import EventLog, read_log


@dataclass(frozen=True)
class Replay:
    digest: str
    net_worth_cents: int
    days: int
    events: int

    def to_json(self) -> dict[str, Any]:
        return {"digest": self.digest, "net_worth_cents": self.net_worth_cents}


def replay(path: Path) -> Replay:
    events = read_log(path)
    first = events[0]
    if first.kind != "start":
        raise InputError("the log does not begin with a start event", file=str(path), line=1)
    try:
        data = first.data
        config = Config(
            str(data["preset"]), int(data["seed"]), int(data["days"]), tuple(data["features"])
        )
        economy = new_economy(config)
    except (KeyError, TypeError, ValueError, PalateError) as exc:
        raise InputError(f"bad start event: {exc}", file=str(path), line=1) from exc
    rebuilt = EventLog()
    for event in events:
        if event.kind not in INPUT_KINDS:
            continue
        rebuilt.append(event.day, event.kind, event.data)
        try:
            derived = apply(economy, event.day, event.kind, event.data)
        except (KeyError, TypeError, ValueError, PalateError) as exc:
            raise InputError(
                f"bad {event.kind} event: {exc}", file=str(path), line=event.index + 1
            ) from exc
        for kind, payload in derived:
            rebuilt.append(event.day, kind, payload)
    for original, again in zip(events, rebuilt.events, strict=False):
        if original.hash != again.hash:
            raise InputError(
                f"recomputed {again.kind} event differs from the logged {original.kind} event",
                file=str(path),
                line=original.index + 1,
            )
    if len(rebuilt) != len(events):
        raise InputError(
            f"replay gives {len(rebuilt)} events, the log has {len(events)}", file=str(path)
        )
    return Replay(rebuilt.digest, economy.books.net_worth, economy.counters["days"], len(events))
