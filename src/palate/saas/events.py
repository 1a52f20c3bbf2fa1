"""The episode's append-only, hash-chained event log.

Each event's hash covers the previous hash and the event's canonical JSON, so the final hash
(the episode digest) pins every action, request outcome and posting in order. The log is kept
in memory during a run and written atomically (temporary file, then rename).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from palate.errors import InputError
from palate.io.atomic import write_atomic

GENESIS = "0" * 64


@dataclass(frozen=True)
class Event:
    index: int
    day: int
    kind: str
    data: dict[str, Any]
    previous: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {
            "i": self.index,
            "day": self.day,
            "kind": self.kind,
            "data": self.data,
            "prev": self.previous,
            "hash": self.hash,
        }


def chain_hash(previous: str, index: int, day: int, kind: str, data: dict[str, Any]) -> str:
    body = orjson.dumps(
        {"i": index, "day": day, "kind": kind, "data": data}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(previous.encode() + body).hexdigest()


class EventLog:
    """Events in order; ``digest`` is the hash of the last one."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    @property
    def digest(self) -> str:
        return self.events[-1].hash if self.events else GENESIS

    def append(self, day: int, kind: str, data: dict[str, Any]) -> Event:
        # Round-trip through JSON so what is hashed is exactly what a reader will see.
        data = orjson.loads(orjson.dumps(data))
        index = len(self.events)
        previous = self.digest
        event = Event(
            index, day, kind, data, previous, chain_hash(previous, index, day, kind, data)
        )
        self.events.append(event)
        return event

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def write(self, path: Path) -> None:
        """Write the whole log as JSON lines, atomically."""
        lines = [orjson.dumps(e.to_json(), option=orjson.OPT_SORT_KEYS) for e in self.events]
        write_atomic(path, b"\n".join(lines) + b"\n")


def read_log(path: Path) -> list[Event]:
    """Read and verify a log: every line parses, indexes count up, and the chain holds."""
    if not path.is_file():
        raise InputError("no such event log", file=str(path))
    events: list[Event] = []
    previous = GENESIS
    with path.open("rb") as handle:
        for line_no, line in enumerate(handle, start=1):
            try:
                raw = json.loads(line)
                event = Event(
                    int(raw["i"]),
                    int(raw["day"]),
                    str(raw["kind"]),
                    dict(raw["data"]),
                    str(raw["prev"]),
                    str(raw["hash"]),
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"not an event: {exc}", file=str(path), line=line_no) from exc
            if event.index != len(events):
                raise InputError(
                    "event index out of order", file=str(path), line=line_no, field="i"
                )
            if event.previous != previous:
                raise InputError("hash chain broken", file=str(path), line=line_no, field="prev")
            expected = chain_hash(previous, event.index, event.day, event.kind, event.data)
            if event.hash != expected:
                raise InputError("event hash mismatch", file=str(path), line=line_no, field="hash")
            events.append(event)
            previous = event.hash
    if not events:
        raise InputError("empty event log", file=str(path))
    return events
