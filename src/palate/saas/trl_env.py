"""``palate.saas`` as a TRL ``environment_factory``: one SaaS episode per GRPO rollout.

TRL's ``GRPOTrainer`` (1.16) makes one environment per rollout from the factory, calls
``reset(**row)`` with the dataset row before generating (a returned string is appended to the
last user message), offers every public method of the environment's class as a tool (name,
type hints and docstring become the schema), runs the tool calls the model writes, turn after
turn, and scores the finished rollout with ``get_reward``.

The tools here are the episode's own (``palate.saas.tools.Toolbox``) with their signatures and
docstrings; ``tools=`` keeps only some of them in view. Every call goes through the real
``SaasEnv``, so a bad call is a counted tool error the model reads, never an exception. A
rollout ends when the model stops calling tools; ``get_reward`` then plays out the remaining
days with no further action (as the idle agent would) and returns the change in net worth in
dollars, so every rollout is scored on the whole episode.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, get_type_hints

from palate.errors import PalateError
from palate.saas.env import SaasEnv, render_text
from palate.saas.tools import Toolbox

END_DAY = json.dumps({"tool": "end_day", "arguments": {}})

BRIEF = (
    "You run a small note-taking SaaS business: its code, its customers and its money. "
    "Call the tools to work on it; end each working day with end_day. "
    "You are judged by the business's net worth at the end of the episode."
)
"""The default instruction a rollout starts from; the episode's briefing follows it."""


def tool_names() -> list[str]:
    """Every tool an episode offers, in the toolbox's order."""
    return [
        name
        for name, _ in inspect.getmembers(Toolbox, inspect.isfunction)
        if not name.startswith("_") and name != "call"
    ]


class SaasToolEnv:
    """One rollout's episode. Subclasses made by ``tool_environment`` carry the tools."""

    def __init__(
        self,
        preset: str = "quick",
        days: int | None = None,
        root: Path | None = None,
        max_calls: int | None = None,
    ) -> None:
        self._env = SaasEnv(preset, days, root=root)
        self.max_calls = max_calls
        """Tool calls one rollout may make; later ones are refused without reaching the
        episode (None: only the episode's own daily limit applies)."""
        self._seeds: Iterable[int] | None = None
        self._start_net_worth = 0
        self.summary: dict[str, Any] | None = None
        """The finished episode's summary (``Episode.summary``), set by ``get_reward``."""
        self.calls = 0
        """Tool calls the model made in this rollout."""

    def reset(self, seed: int | None = None, **_row: Any) -> str:
        """Start a fresh episode: on the row's ``seed`` if it has one, else the next of the
        factory's seeds. Returns the briefing, appended to the prompt by TRL."""
        if seed is None:
            seed = next(iter(self._seeds)) if self._seeds is not None else None
        observation, info = self._env.reset(seed=seed)
        self._start_net_worth = int(info["net_worth_cents"])
        self.summary = None
        self.calls = 0
        return "\n" + observation

    def get_reward(self) -> float:
        """Play out the remaining days without further action; the change in net worth in
        dollars over the whole episode."""
        episode = self._episode()
        terminated = episode.done
        while not terminated:
            _, _, terminated, _, _ = self._env.step(END_DAY)
        self.summary = episode.summary("trl")
        return (episode.economy.books.net_worth - self._start_net_worth) / 100

    def _call(self, name: str, arguments: dict[str, Any]) -> str:
        if self.max_calls is not None and self.calls >= self.max_calls:
            return render_text({"ok": False, "result": f"no calls left ({self.max_calls} used)"})
        self.calls += 1
        observation, _, _, _, _ = self._env.step(json.dumps({"tool": name, "arguments": arguments}))
        return observation

    def _episode(self) -> Any:
        if self._env.episode is None:
            raise PalateError("the environment was not reset")
        return self._env.episode

    def _write_log(self, path: Path) -> None:
        """Write this rollout's event log (replayable with ``palate saas replay``)."""
        self._episode().log.write(path)

    def _close(self) -> None:
        self._env.close()


def _tool_method(name: str) -> Callable[..., str]:
    """A method that calls the toolbox's tool ``name``, with its signature and docstring."""
    method = getattr(Toolbox, name)
    signature = inspect.signature(method)
    hints = get_type_hints(method)

    def tool(self: SaasToolEnv, **arguments: Any) -> str:
        return self._call(name, arguments)

    tool.__name__ = tool.__qualname__ = name
    tool.__doc__ = method.__doc__
    tool.__signature__ = signature.replace(return_annotation=str)  # type: ignore[attr-defined]
    tool.__annotations__ = {
        **{p: hints[p] for p in signature.parameters if p != "self"},
        "return": str,
    }
    return tool


def tool_environment(tools: Sequence[str] | None = None) -> type[SaasToolEnv]:
    """A ``SaasToolEnv`` class offering ``tools`` (default: all of them) as methods."""
    known = tool_names()
    chosen = list(tools) if tools is not None else known
    unknown = [t for t in chosen if t not in known]
    if unknown:
        raise PalateError(f"unknown tools {', '.join(unknown)}; the tools are: {', '.join(known)}")
    if "end_day" not in chosen:
        raise PalateError("the tools in view must include end_day")
    methods = {name: _tool_method(name) for name in chosen}
    return type("SaasToolEnv", (SaasToolEnv,), methods)


class SaasEnvironments:
    """The callable to pass as ``environment_factory``; closes every episode it made.

    ``seeds`` feed the resets of rows that carry no ``seed`` column (the default counts up
    from 0); ``max_calls`` bounds each rollout's tool calls. Use it as a context manager, or
    call ``close``, so the episodes' services stop.
    """

    def __init__(
        self,
        preset: str = "quick",
        days: int | None = None,
        tools: Sequence[str] | None = None,
        seeds: Iterable[int] | None = None,
        root: Path | None = None,
        max_calls: int | None = None,
    ) -> None:
        self.preset = preset
        self.max_calls = max_calls
        self.days = days
        self.root = root
        self.environment = tool_environment(tools)
        self.seeds = iter(seeds) if seeds is not None else _count()
        self.made: list[SaasToolEnv] = []

    def __call__(self) -> SaasToolEnv:
        environment = self.environment(self.preset, self.days, self.root, self.max_calls)
        environment._seeds = self.seeds
        self.made.append(environment)
        return environment

    def close(self) -> None:
        for environment in self.made:
            environment._close()

    def __enter__(self) -> SaasEnvironments:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _count() -> Iterable[int]:
    seed = 0
    while True:
        yield seed
        seed += 1
