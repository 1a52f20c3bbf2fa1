"""Scripted tool-calling models for the loopback server (``palate.testing.loopback``): one
that follows a scripted baseline agent, call for call, and one that answers nonsense.

They stand in for a language model in tests and benchmarks: an LLM agent driven by
``FollowAgent("root-cause")`` must reach the root-cause baseline's digest, and one driven by
``Nonsense`` must still finish its episode, with the nonsense counted and flagged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from palate.saas.agents import Agent, agent


def conversation_key(body: dict[str, Any]) -> str:
    """Which episode a request belongs to: the LLM agent's episode line (its second
    message) names the preset and seed, and never changes within an episode."""
    messages = body.get("messages") or []
    opening = str(messages[1].get("content", "")) if len(messages) > 1 else ""
    return hashlib.sha256(opening.encode()).hexdigest()


def tool_call_message(index: int, tool: str, arguments: str) -> dict[str, Any]:
    call = {"id": f"call_{index}", "type": "function"}
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [{**call, "function": {"name": tool, "arguments": arguments}}],
    }


class FollowAgent:
    """Answers each request with the next call of a scripted baseline agent, one agent per
    episode, fed the last message (the observation the LLM agent passed on)."""

    def __init__(self, name: str) -> None:
        self.factory: Callable[[], Agent] = lambda: agent(name)
        self.agents: dict[str, Agent] = {}
        self.calls: dict[str, int] = {}

    def reply(self, body: dict[str, Any]) -> dict[str, Any]:
        key = conversation_key(body)
        player = self.agents.setdefault(key, self.factory())
        index = self.calls[key] = self.calls.get(key, 0) + 1
        last = (body.get("messages") or [{}])[-1]
        try:
            observation = json.loads(str(last.get("content") or ""))
        except ValueError:
            observation = {}
        action = player.act(observation if isinstance(observation, dict) else {})
        return tool_call_message(index, action["tool"], json.dumps(action["arguments"]))


class Nonsense:
    """Cycles through what a confused model does: prose with no tool call, arguments that
    are not JSON, a tool that does not exist, the same harmless call again and again; every
    eighth answer ends the day, so the episode still moves on."""

    CYCLE: tuple[tuple[str, str] | None, ...] = (
        None,
        ("set_price", '{"plan": "pro", "cents": '),
        ("launch_rocket", "{}"),
        ("read_billing", "{}"),
        ("read_billing", "{}"),
        ("read_billing", "{}"),
        ("read_billing", "{}"),
        ("end_day", "{}"),
    )

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def reply(self, body: dict[str, Any]) -> dict[str, Any]:
        key = conversation_key(body)
        index = self.calls[key] = self.calls.get(key, 0) + 1
        step = self.CYCLE[(index - 1) % len(self.CYCLE)]
        if step is None:
            return {"role": "assistant", "content": "I believe the business is doing great."}
        return tool_call_message(index, *step)
