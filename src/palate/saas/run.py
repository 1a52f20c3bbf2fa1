"""Run one episode with a scripted agent, write its log and summary, record its digest."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from palate.errors import PalateError
from palate.ledger import EntityRef, Ledger
from palate.ledger.provenance import current_agent
from palate.saas.agents import Agent, agent
from palate.saas.env import SaasEnv
from palate.saas.episode import Episode
from palate.saas.events import write_atomic
from palate.saas.presets import preset
from palate.store import Store

if TYPE_CHECKING:
    from palate.saas.llm_agent import AgentConfig

EVENTS_FILE = "events.jsonl"
SUMMARY_FILE = "summary.json"


@dataclass(frozen=True)
class RunOptions:
    agent: str
    """Scripted agent name (idle, symptom, root-cause, breaker, greedy-pricer)."""
    seed: int
    preset: str = "default"
    days: int | None = None
    """Days to run; default: the preset's length."""
    snapshot_at: int | None = None
    """Also save a snapshot at the start of this day, under OUT/snapshot."""
    agent_config: AgentConfig | None = None
    """For agent ``llm`` (in rollouts): its AGENT.yaml."""
    cache_url: str | None = None
    """For agent ``llm``: the store its completed calls are kept in. Each process running an
    episode opens it itself (SQLite's WAL and busy timeout let several write at once; on a Ray
    cluster it must be a database every worker reaches, e.g. PostgreSQL)."""


def run_episode(options: RunOptions, out: Path, root: Path | None = None) -> dict[str, Any]:
    """Run to the end; write OUT/events.jsonl and OUT/summary.json; return the summary."""
    if options.days is not None and options.days < 1:
        raise PalateError(f"--days must be at least 1, got {options.days}")
    preset(options.preset)
    player = agent(options.agent)
    env = SaasEnv(options.preset, options.days, root=root)
    try:
        observation, _ = env.reset(seed=options.seed)
        episode = env.episode
        assert episode is not None
        finish(env, episode, player, json.loads(observation), options.snapshot_at, out)
        return write_results(episode, player.name, out)
    finally:
        env.close()


def finish(
    env: SaasEnv,
    episode: Episode,
    player: Agent,
    observation: dict[str, Any],
    snapshot_at: int | None,
    out: Path,
) -> None:
    """Step the agent until the episode ends, snapshotting at ``snapshot_at`` if asked."""
    terminated = False
    while not terminated:
        if snapshot_at is not None and episode.day == snapshot_at and episode.calls_today == 0:
            episode.snapshot(out / "snapshot", agent_state=(player, observation))
            snapshot_at = None
        text, _reward, terminated, _truncated, _info = env.step(json.dumps(player.act(observation)))
        observation = json.loads(text)


def write_results(episode: Episode, agent_name: str, out: Path) -> dict[str, Any]:
    summary = episode.summary(agent_name)
    episode.log.write(out / EVENTS_FILE)
    write_atomic(out / SUMMARY_FILE, orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    return summary


def resume_episode(snapshot: Path, out: Path, root: Path) -> dict[str, Any]:
    """Continue a snapshot (in this process, which may be new) to the end."""
    episode, (player, observation) = Episode.restore(snapshot, root)
    env = SaasEnv(episode.config.preset, episode.config.days)
    env.episode = episode
    try:
        finish(env, episode, player, observation, None, out)
        return write_results(episode, player.name, out)
    finally:
        episode.close()


def record_episode(
    store: Store, summary: dict[str, Any], preset_name: str, used: Sequence[EntityRef] = ()
) -> None:
    """Record the episode's digest in the ledger: which agent (``used``: an LLM agent's
    config), seed and preset gave which log, so a published figure can be traced to a
    replayable episode."""
    Ledger(store).append(
        "saas.run",
        agent=current_agent(),
        used=used,
        generated=[
            EntityRef(
                kind="saas-episode",
                id=f"{summary['agent']}:{preset_name}:{summary['seed']}",
                hash=summary["digest"],
            )
        ],
        attributes={"preset": preset_name, **summary},
    )
