"""A language-model agent that runs the SaaS business through tool calls.

Any OpenAI-compatible endpoint will do; requests go through the judges' client (retries, rate
limits), and every completed call is kept under the hash of its request body (a
``palate.store.judge_cache.JudgeCallCache`` when a store is given). The episode is snapshotted
at every day boundary (``OUT/snapshot``): rerun the same command after a kill and it continues
from the last snapshot, and the calls made since then come from the cache, not the model, so
it ends with the digest it would have had.

Each request carries the system briefing (with the harness's additions, the agent's latest
notes and, when the harness says so, a one-line-a-day digest of the turns that no longer fit),
the episode's opening, and as many recent turns as fit in ``context_tokens``. Tokens are
estimated as characters / 4 plus 4 a message (``palate.judges.client.estimate_tokens``); the
latest turn is always sent whole. A malformed or unknown tool call, or an answer with no tool
call, is a tool error the agent sees and the episode counts. A request that fails after its
retries ends the day for the agent (counted as a model error), so the episode always finishes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import tempfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson
from pydantic import BaseModel, ConfigDict, Field

from palate.errors import PalateError
from palate.io.yamlfile import load_model
from palate.judges.client import ChatClient, ChatResult, estimate_tokens
from palate.saas.derailment import DerailmentRules, DerailmentWatch
from palate.saas.env import SaasEnv
from palate.saas.episode import Episode
from palate.saas.events import write_atomic
from palate.saas.harness import HARNESS_FILE, HARNESS_TOOLS, AgentToolbox, Harness, HarnessFile
from palate.saas.presets import preset
from palate.saas.run import EVENTS_FILE, SUMMARY_FILE
from palate.schema.hashing import canonical_bytes
from palate.store import Store
from palate.store.judge_cache import JudgeCallCache

AGENT_NAME = "llm"
SNAPSHOT_DIR = "snapshot"
STEPS_FILE = "steps.jsonl"
DIGEST_DAYS = 30
"""Days of dropped turns kept in the daily digest."""

DEFAULT_BRIEFING = """\
You are the CEO and only engineer of TeamNotes, a small paid web service for shared notes.
You act only through tool calls. Each day: read tickets, metrics and billing as you see fit,
fix and ship code (apply_patch or write_file, run_tests, deploy), answer tickets, set prices,
then call end_day; customers and attackers use whatever is deployed and the books close.
Your goal is the business's net worth at the end of the episode. Promises in ticket replies
must be kept; a broken deploy takes the service down until you deploy or roll back."""


class AgentConfig(BaseModel):
    """``AGENT.yaml``: the endpoint, the context budget, the briefing and the initial harness."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(min_length=1)
    """An OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1."""
    model: str = Field(min_length=1)
    api_key_env: str | None = None
    """The environment variable holding the API key (the key itself never goes in a file)."""
    max_tokens: int = Field(1024, ge=1)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    context_tokens: int = Field(8000, ge=256)
    """Budget for the recent turns (estimated tokens)."""
    max_retries: int = Field(6, ge=0)
    backoff_base_s: float = Field(0.5, ge=0.0)
    """The first retry waits up to this long (doubling each time, with jitter)."""
    timeout_s: float = Field(120.0, gt=0)
    requests_per_minute: float | None = Field(None, gt=0)
    tokens_per_minute: float | None = Field(None, gt=0)
    briefing: str = DEFAULT_BRIEFING
    harness: Harness = Field(default_factory=Harness)
    derailment: DerailmentRules = Field(default_factory=DerailmentRules)

    @property
    def hash(self) -> str:
        return hashlib.sha256(canonical_bytes(self.model_dump(mode="json"))).hexdigest()

    def client(self) -> ChatClient:
        key = None
        if self.api_key_env is not None:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise PalateError(f"api_key_env: ${self.api_key_env} is not set")
        return ChatClient(
            self.base_url,
            self.model,
            api_key=key,
            concurrency=1,
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            backoff_base_s=self.backoff_base_s,
            requests_per_minute=self.requests_per_minute,
            tokens_per_minute=self.tokens_per_minute,
        )


def load_agent_config(path: Path) -> AgentConfig:
    """Read and validate AGENT.yaml (errors name the file, line and field)."""
    return load_model(path, AgentConfig)


class CallCache(Protocol):
    """Completed calls by request hash (``JudgeCallCache`` is one)."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    async def put(self, key: str, value: dict[str, Any]) -> None: ...


@dataclass
class Turn:
    """One answer of the model and what its calls gave back."""

    day: int
    messages: list[dict[str, Any]]
    outline: list[str] = field(default_factory=list)
    """'tool ok' / 'tool error' per call, for the daily digest."""


@dataclass
class Call:
    id: str | None
    """The tool call's id; None when the answer had no tool call (or the model failed)."""
    tool: str
    arguments: Any


class LlmAgent:
    """The agent's state between calls (pickled into day-boundary snapshots)."""

    name = AGENT_NAME

    def __init__(self, config: AgentConfig, harness: HarnessFile, opening: list[str]) -> None:
        self.config = config
        self.config_hash = config.hash
        self.harness = harness
        self.opening = [{"role": "user", "content": text} for text in opening]
        self.turns: list[Turn] = []
        self.pending: deque[Call] = deque()
        self.watch = DerailmentWatch(config.derailment)
        self.steps: list[dict[str, Any]] = []
        self.counts = {"model_calls": 0, "cache_hits": 0, "model_errors": 0, "no_tool_call": 0}

    # -- what the model sees -----------------------------------------------------------------

    def request(self, episode: Episode, schemas: list[dict[str, Any]]) -> dict[str, Any]:
        """The arguments of the next chat call: messages and the tools in view."""
        recent, dropped = self._fit(self.turns)
        system = [self.config.briefing]
        harness = self.harness.harness
        if harness.system_prompt:
            system.append(harness.system_prompt)
        system.append(f"Today is day {episode.day} of {episode.config.days}.")
        notes = episode.notes[-harness.notes_shown :] if harness.notes_shown else []
        if notes:
            ordered = reversed(notes) if harness.notes_layout == "latest-first" else iter(notes)
            system.append(f"Your notes ({harness.notes_layout}):\n" + "\n".join(
                f"- {note}" for note in ordered
            ))  # fmt: skip
        if dropped and harness.summarisation == "daily-digest":
            system.append("Earlier turns, one line a day:\n" + digest(dropped))
        view = harness.tools_in_view
        tools = [
            s
            for s in schemas
            if view is None
            or s["function"]["name"] in view
            or s["function"]["name"] in HARNESS_TOOLS
        ]
        messages = [{"role": "system", "content": "\n\n".join(system)}, *self.opening]
        for turn in recent:
            messages.extend(turn.messages)
        return {"messages": messages, "tools": tools}

    def _fit(self, turns: list[Turn]) -> tuple[list[Turn], list[Turn]]:
        """(the recent turns within the budget, the older ones); the latest always fits."""
        budget = self.config.context_tokens
        kept = 0
        for turn in reversed(turns):
            cost = estimate_tokens(turn.messages)
            if kept and budget - cost < 0:
                break
            budget -= cost
            kept += 1
        split = len(turns) - kept
        return turns[split:], turns[:split]

    # -- what the model said -----------------------------------------------------------------

    def take(self, day: int, result: ChatResult) -> None:
        """Queue the calls of an answer (or the fallback when there is none)."""
        if result.error is not None:
            self.counts["model_errors"] += 1
            self.turns.append(Turn(day, [], [f"model failed ({result.error[:80]}), day ended"]))
            self.pending.append(Call(None, "end_day", {}))
            return
        calls = [_call(i, c) for i, c in enumerate(result.tool_calls or [])]
        message: dict[str, Any] = {"role": "assistant", "content": result.text}
        if calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.tool, "arguments": c.arguments},
                }
                for c in calls
            ]
            self.pending.extend(calls)
        else:
            self.counts["no_tool_call"] += 1
            message["content"] = result.text or ""
            self.pending.append(Call(None, "", result.text or ""))
        self.turns.append(Turn(day, [message]))

    def answered(self, call: Call, observation: str, ok: bool) -> None:
        """Add what a call gave back to the current turn."""
        turn = self.turns[-1]
        turn.outline.append(f"{call.tool or '(no tool call)'} {'ok' if ok else 'error'}")
        if not turn.messages:
            return  # the fallback after a failed request: nothing to show the model
        if call.id is None:
            text = (
                f"Tool error: your answer had no tool call; act only through tools. {observation}"
            )
            turn.messages.append({"role": "user", "content": text})
        else:
            turn.messages.append({"role": "tool", "tool_call_id": call.id, "content": observation})


def _call(index: int, raw: Any) -> Call:
    """A tool call as the model wrote it, however malformed: the toolbox judges it."""
    raw = raw if isinstance(raw, dict) else {}
    function = raw.get("function") if isinstance(raw.get("function"), dict) else {}
    arguments = function.get("arguments", "")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, default=str)
    return Call(str(raw.get("id") or f"call_{index}"), str(function.get("name") or ""), arguments)


def digest(turns: list[Turn]) -> str:
    """One line a day: the calls made and whether they worked (the latest DIGEST_DAYS)."""
    days: dict[int, list[str]] = {}
    for turn in turns:
        days.setdefault(turn.day, []).extend(turn.outline)
    lines = [f"day {day}: {', '.join(calls)}"[:400] for day, calls in days.items()]
    return "\n".join(lines[-DIGEST_DAYS:])


def store_cache(store: Store, config: AgentConfig) -> JudgeCallCache:
    """The agent's completed calls, kept in the store beside the judges' (by config hash)."""
    return JudgeCallCache(store, f"saas-agent:{config.hash[:40]}")


def request_key(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


# -- running an episode ------------------------------------------------------------------------


@dataclass(frozen=True)
class LlmRunOptions:
    seed: int
    preset: str = "default"
    days: int | None = None


def run_llm_episode(
    config: AgentConfig,
    options: LlmRunOptions,
    out: Path,
    root: Path | None = None,
    cache: CallCache | None = None,
) -> dict[str, Any]:
    """Run (or, when OUT holds a snapshot of this agent's episode, continue) to the end; write
    OUT/events.jsonl, OUT/steps.jsonl (each step's info) and OUT/summary.json."""
    if options.days is not None and options.days < 1:
        raise PalateError(f"--days must be at least 1, got {options.days}")
    preset(options.preset)
    out.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_run(config, options, out, root, cache))


async def _run(
    config: AgentConfig,
    options: LlmRunOptions,
    out: Path,
    root: Path | None,
    cache: CallCache | None,
) -> dict[str, Any]:
    env = SaasEnv(options.preset, options.days, root=root)
    resumed_in: Path | None = None
    async with config.client() as client:
        try:
            snapshot = _latest_snapshot(out)
            if snapshot is not None:
                resumed_in = Path(tempfile.mkdtemp(prefix="palate-saas-", dir=root))
                episode, player = _resume(config, options, snapshot, resumed_in)
                env.episode = episode
            else:
                observation, _ = env.reset(seed=options.seed)
                assert env.episode is not None
                episode = env.episode
                days = episode.config.days
                opening = f"Episode: preset {options.preset}, seed {options.seed}, {days} days."
                harness = HarnessFile(config.harness, out / HARNESS_FILE)
                player = LlmAgent(config, harness, [opening, observation])
            assert episode.workspace is not None
            episode.use_toolbox(AgentToolbox(episode.workspace, episode, player.harness))
            await _play(env, episode, player, client, cache, out)
            return _write_results(episode, player, out)
        finally:
            env.close()
            if resumed_in is not None:
                shutil.rmtree(resumed_in, ignore_errors=True)


def _latest_snapshot(out: Path) -> Path | None:
    """OUT/snapshot, or the one it replaces when a kill came between the two renames."""
    for name in (SNAPSHOT_DIR, f"{SNAPSHOT_DIR}.old"):
        if (out / name).is_dir():
            return out / name
    return None


def _resume(
    config: AgentConfig, options: LlmRunOptions, snapshot: Path, root: Path
) -> tuple[Episode, LlmAgent]:
    episode, player = Episode.restore(snapshot, root)
    if not isinstance(player, LlmAgent) or player.config_hash != config.hash:
        episode.close()
        raise PalateError(f"{snapshot} is a snapshot of another agent's episode")
    days = options.days or preset(options.preset).days
    if (episode.config.seed, episode.config.preset, episode.config.days) != (
        options.seed,
        options.preset,
        days,
    ):
        episode.close()
        raise PalateError(f"{snapshot} is a snapshot of another seed, preset or length")
    return episode, player


async def _play(
    env: SaasEnv,
    episode: Episode,
    player: LlmAgent,
    client: ChatClient,
    cache: CallCache | None,
    out: Path,
) -> None:
    terminated = episode.done
    while not terminated:
        day = episode.day
        if not player.pending:
            player.take(day, await _ask(player, env, client, cache))
        call = player.pending.popleft()
        errors = episode.tool_errors
        observation, _, terminated, _, info = env.step(
            json.dumps({"tool": call.tool, "arguments": call.arguments})
        )
        ok = episode.tool_errors == errors
        player.answered(call, observation, ok)
        info["derailment"] = player.watch.observe(
            day, call.tool, call.arguments, ok, episode.day > day
        )
        player.steps.append({"call_day": day, "tool": call.tool, "ok": ok, **info})
        if episode.day > day and not terminated and not player.pending:
            _snapshot(episode, player, out)


async def _ask(
    player: LlmAgent, env: SaasEnv, client: ChatClient, cache: CallCache | None
) -> ChatResult:
    """The model's answer to the next request, from the cache when it was answered before."""
    assert env.episode is not None
    request = player.request(env.episode, env.tool_schemas)
    config = player.config
    messages, tools = request["messages"], request["tools"]
    tokens, temperature = config.max_tokens, config.temperature
    body = client.request_body(messages, max_tokens=tokens, temperature=temperature, tools=tools)
    key = request_key(body)
    stored = cache.get(key) if cache is not None else None
    if stored is not None:
        player.counts["cache_hits"] += 1
        return ChatResult.from_json(stored)
    player.counts["model_calls"] += 1
    result = await client.chat(messages, max_tokens=tokens, temperature=temperature, tools=tools)
    if cache is not None and result.error is None:
        await cache.put(key, result.to_json())
    return result


def _snapshot(episode: Episode, player: LlmAgent, out: Path) -> None:
    """Replace OUT/snapshot with one taken now; a kill at any moment leaves a whole one."""
    fresh, old = out / f"{SNAPSHOT_DIR}.new", out / f"{SNAPSHOT_DIR}.old"
    current = out / SNAPSHOT_DIR
    shutil.rmtree(fresh, ignore_errors=True)
    episode.snapshot(fresh, agent_state=player)
    if current.exists():
        shutil.rmtree(old, ignore_errors=True)
        current.rename(old)
    fresh.rename(current)
    shutil.rmtree(old, ignore_errors=True)


def _write_results(episode: Episode, player: LlmAgent, out: Path) -> dict[str, Any]:
    summary = {
        **episode.summary(AGENT_NAME),
        "model": player.config.model,
        "agent_config_hash": player.config_hash,
        "harness_versions": list(player.harness.versions),
        "tool_errors": episode.tool_errors,
        **player.counts,
        "derailment": player.watch.summary(),
    }
    episode.log.write(out / EVENTS_FILE)
    write_atomic(out / STEPS_FILE, b"".join(orjson.dumps(s) + b"\n" for s in player.steps))
    write_atomic(out / SUMMARY_FILE, orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    for name in (SNAPSHOT_DIR, f"{SNAPSHOT_DIR}.old"):
        shutil.rmtree(out / name, ignore_errors=True)
    return summary
