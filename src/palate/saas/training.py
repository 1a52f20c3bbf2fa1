"""Episodes as training data, read from their event logs.

Three shapes, one per use:

- ``samples``: one row per day: the state the agent met that morning, the calls it made, the
  day's change in net worth and the reward-to-go (the change from that morning to the end of
  the episode, discounted by ``gamma`` per day), for value learning and filtered imitation.
- ``trl``: whole trajectories in TRL's conversational tool-calling format: ``messages``
  (the user's brief and briefing, then each assistant ``tool_calls`` turn followed by its
  ``tool`` result) and ``tools`` (the JSON schemas), as ``SFTTrainer`` takes them. The log
  keeps the calls but not every answer, so the answers are recomputed by re-running the calls
  in a fresh episode, which must reach the log's digest.
- ``pairs``: preference pairs between rollouts of the same market (preset, seed, days): the
  one with the higher final net worth is chosen; equal net worths make no pair (counted).

Every log is verified first (hash chain, and the books recomputed by replay), and an export
is recorded in the ledger with the digest of every episode it used.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import orjson

from palate.errors import InputError
from palate.ledger import EntityRef, Ledger
from palate.ledger.provenance import current_agent
from palate.saas.env import SaasEnv
from palate.saas.episode import Config, new_economy
from palate.saas.events import Event, read_log, write_atomic
from palate.saas.replay import replay
from palate.saas.trl_env import BRIEF
from palate.store import Store

ExportFormat = Literal["samples", "trl", "pairs"]
EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)
STATE_KEYS = ("net_worth_cents", "cash_cents", "customers", "up", "open_tickets")


@dataclass(frozen=True)
class EpisodeLog:
    """A verified episode log."""

    path: Path
    config: Config
    events: list[Event]
    digest: str
    start_net_worth_cents: int
    net_worth_cents: int

    @property
    def market(self) -> tuple[str, int, int]:
        """What makes two rollouts comparable: the same preset, seed and length."""
        return (self.config.preset, self.config.seed, self.config.days)

    def actions(self) -> list[dict[str, Any]]:
        return [e.data for e in self.events if e.kind == "action"]


def load_episode(path: Path) -> EpisodeLog:
    """Read a log, check its chain and recompute its books (``palate.saas.replay``)."""
    replayed = replay(path)
    events = read_log(path)
    data = events[0].data
    config = Config(
        str(data["preset"]), int(data["seed"]), int(data["days"]), tuple(data["features"])
    )
    economy = new_economy(config)
    economy.open_books()
    return EpisodeLog(
        path,
        config,
        events,
        replayed.digest,
        economy.books.net_worth,
        replayed.net_worth_cents,
    )


# -- per-day samples with reward-to-go -------------------------------------------------------


def day_samples(episode: EpisodeLog, gamma: float = 1.0) -> list[dict[str, Any]]:
    """One row per closed day (see the module docstring)."""
    summaries = {e.day: e.data for e in episode.events if e.kind == "day"}
    days = sorted(summaries)
    morning: dict[str, Any] = {"net_worth_cents": episode.start_net_worth_cents}
    rows = []
    for day in days:
        end = summaries[day]
        state = {key: morning[key] for key in STATE_KEYS if key in morning}
        calls = [
            {"tool": a["tool"], "arguments": a["args"], "ok": a["ok"]}
            for a in (e.data for e in episode.events if e.kind == "action" and e.day == day)
        ]
        rows.append(
            {
                "episode": episode.digest,
                "preset": episode.config.preset,
                "seed": episode.config.seed,
                "day": day,
                "state": state,
                "actions": calls,
                "reward_cents": end["net_worth_cents"] - state["net_worth_cents"],
            }
        )
        morning = end
    to_go = 0.0
    for row in reversed(rows):
        to_go = row["reward_cents"] + gamma * to_go
        row["reward_to_go_cents"] = to_go
    return rows


# -- whole trajectories in TRL's conversational tool-calling format ---------------------------


def trajectory(episode: EpisodeLog, prompt: str = BRIEF) -> dict[str, Any]:
    """The episode as one conversation; the tool answers are recomputed by re-running the
    logged calls, which must reach the logged digest."""
    env = SaasEnv(episode.config.preset, episode.config.days)
    try:
        observation, _ = env.reset(seed=episode.config.seed)
        assert env.episode is not None
        messages: list[dict[str, Any]] = [{"role": "user", "content": f"{prompt}\n{observation}"}]
        for action in episode.actions():
            text, _, _, _, _ = env.step(
                json.dumps({"tool": action["tool"], "arguments": action["args"]})
            )
            messages.append({"role": "assistant", "content": "", "tool_calls": [_call(action)]})
            messages.append({"role": "tool", "name": action["tool"], "content": text})
        tools = env.tool_schemas
        digest = env.episode.log.digest
    finally:
        env.close()
    if digest != episode.digest:
        raise InputError(
            "re-running the logged calls does not reach the logged digest", file=str(episode.path)
        )
    return {
        "messages": messages,
        "tools": tools,
        "episode": episode.digest,
        "preset": episode.config.preset,
        "seed": episode.config.seed,
        "net_worth_cents": episode.net_worth_cents,
        "reward_cents": episode.net_worth_cents - episode.start_net_worth_cents,
    }


def _call(action: dict[str, Any]) -> dict[str, Any]:
    """A logged call as an assistant ``tool_calls`` entry; arguments that were not a JSON
    object stay the text the agent wrote (the OpenAI format's string form)."""
    arguments = action["args"]
    if not isinstance(arguments, dict):
        arguments = str(arguments)
    return {"type": "function", "function": {"name": action["tool"], "arguments": arguments}}


# -- preference pairs between rollouts of the same seed --------------------------------------


@dataclass
class PairCounts:
    """What pairing left out, so nothing is lost silently."""

    ties: int = 0
    """Pairs of rollouts with equal net worth (no preference)."""
    duplicates: int = 0
    """Rollouts with the digest of one already seen (the same episode twice)."""
    unmatched: int = 0
    """Rollouts with no other rollout of their market."""


def preference_pairs(
    episodes: Sequence[EpisodeLog], prompt: str = BRIEF
) -> tuple[list[dict[str, Any]], PairCounts]:
    """Every pair of distinct rollouts of the same market; the richer one is chosen."""
    counts = PairCounts()
    markets: dict[tuple[str, int, int], list[EpisodeLog]] = {}
    seen: set[str] = set()
    for episode in episodes:
        if episode.digest in seen:
            counts.duplicates += 1
            continue
        seen.add(episode.digest)
        markets.setdefault(episode.market, []).append(episode)
    pairs = []
    for group in markets.values():
        if len(group) == 1:
            counts.unmatched += 1
            continue
        conversations = {e.digest: trajectory(e, prompt) for e in group}
        for a, b in itertools.combinations(group, 2):
            if a.net_worth_cents == b.net_worth_cents:
                counts.ties += 1
                continue
            chosen, rejected = (a, b) if a.net_worth_cents > b.net_worth_cents else (b, a)
            best, worst = conversations[chosen.digest], conversations[rejected.digest]
            pairs.append(
                {
                    "prompt": best["messages"][:1],
                    "chosen": best["messages"][1:],
                    "rejected": worst["messages"][1:],
                    "tools": best["tools"],
                    "preset": chosen.config.preset,
                    "seed": chosen.config.seed,
                    "chosen_episode": chosen.digest,
                    "rejected_episode": rejected.digest,
                    "margin_cents": chosen.net_worth_cents - rejected.net_worth_cents,
                }
            )
    return pairs, counts


# -- export ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EpisodeExport:
    """What ``palate saas export`` reports."""

    format: str
    path: str
    rows: int
    episodes: list[str]
    """Digests of the episodes used, in input order."""
    sha256: str
    left_out: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "path": self.path,
            "rows": self.rows,
            "episodes": self.episodes,
            "sha256": self.sha256,
            "left_out": self.left_out,
        }


def export_episodes(
    logs: Iterable[Path],
    fmt: str,
    out: Path,
    *,
    store: Store | None = None,
    gamma: float = 1.0,
) -> EpisodeExport:
    """Write the episodes' training data to ``out`` (JSON lines, atomically) and, with a
    store, record the export in its ledger with the digest of every episode used."""
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown format {fmt!r} (known: {', '.join(EXPORT_FORMATS)})")
    if not 0.0 <= gamma <= 1.0:
        raise InputError(f"--gamma must be in [0, 1], got {gamma}")
    episodes = [load_episode(Path(path)) for path in logs]
    if not episodes:
        raise InputError("no episode logs given")
    left_out: dict[str, int] = {}
    if fmt == "samples":
        rows = [row for e in episodes for row in day_samples(e, gamma)]
    elif fmt == "trl":
        rows = [trajectory(e) for e in episodes]
    else:
        rows, counts = preference_pairs(episodes)
        left_out = {k: v for k, v in vars(counts).items() if v}
    body = b"".join(orjson.dumps(row) + b"\n" for row in rows)
    write_atomic(out, body)
    result = EpisodeExport(
        fmt,
        str(out),
        len(rows),
        [e.digest for e in episodes],
        hashlib.sha256(body).hexdigest(),
        left_out,
    )
    if store is not None:
        record_export(store, result, episodes)
    return result


def record_export(store: Store, result: EpisodeExport, episodes: Sequence[EpisodeLog]) -> None:
    """One ledger record: these episodes (by digest) went into this file (by hash)."""
    Ledger(store).append(
        "saas.export",
        agent=current_agent(),
        used=[
            EntityRef(
                kind="saas-episode",
                id=f"{e.config.preset}:{e.config.seed}:{e.digest[:12]}",
                hash=e.digest,
            )
            for e in episodes
        ],
        generated=[EntityRef(kind="saas-training-data", id=result.path, hash=result.sha256)],
        attributes={"format": result.format, "rows": result.rows, "left_out": result.left_out},
    )
