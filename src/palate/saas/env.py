"""``SaasEnv``: the episode as a Gymnasium environment whose actions are tool calls.

An action is a JSON object ``{"tool": NAME, "arguments": {...}}`` (text); the observation is
the tool's answer as JSON text. The reward of a step is the change in net worth (in cents) it
caused, so the rewards of an episode sum exactly to its change in net worth; only ``end_day``
moves money. A malformed action, an unknown tool or wrong argument types is a counted tool
error, never an exception.
"""

from __future__ import annotations

import json
import shutil
import string
import tempfile
from pathlib import Path
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from palate.saas.episode import Config, Episode, feature_ids
from palate.saas.presets import preset

MAX_TEXT = 16_384
TEXT = spaces.Text(max_length=MAX_TEXT, min_length=0, charset=string.printable)


def render_text(value: Any) -> str:
    """JSON text that fits the observation space (ASCII, bounded length)."""
    text = json.dumps(value, ensure_ascii=True, default=str)
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 14] + "...(truncated)"
    return text


class SaasEnv(gym.Env[str, str]):
    """Run the SaaS business for ``days`` days of ``preset`` (``reset`` options may override:
    ``{"preset": NAME, "days": N}``)."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (Gymnasium's declaration)

    def __init__(
        self, preset: str = "quick", days: int | None = None, root: Path | None = None
    ) -> None:
        self.preset_name = preset
        self.days = days
        self.root = root
        self.action_space = TEXT
        self.observation_space = TEXT
        self.episode: Episode | None = None
        self._dir: Path | None = None

    # -- the Gymnasium API ------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        name = str(options.get("preset", self.preset_name))
        days = int(options.get("days") or self.days or preset(name).days)
        episode_seed = seed if seed is not None else int(self.np_random.integers(2**31))
        self._close_episode()
        self._dir = Path(tempfile.mkdtemp(prefix="palate-saas-", dir=self.root))
        config = Config(name, episode_seed, days, feature_ids())
        self.episode = Episode.start(config, self._dir)
        return render_text(self.briefing()), self._info()

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        episode = self._require()
        before = episode.economy.books.net_worth
        name, arguments = parse_action(action)
        ok, result = episode.call(name, arguments)
        reward = float(episode.economy.books.net_worth - before)
        terminated = episode.done or episode.economy.books.balance("cash") < 0
        observation = render_text({"ok": ok, "result": result})
        return observation, reward, terminated, False, self._info()

    def close(self) -> None:
        self._close_episode()
        super().close()

    # -- helpers -----------------------------------------------------------------------------

    @property
    def tool_schemas(self) -> list[dict[str, Any]]:
        """The tools as OpenAI function-calling schemas."""
        return list(self._require().toolbox.schemas)

    def briefing(self) -> dict[str, Any]:
        episode = self._require()
        return {
            "day": episode.day,
            "days": episode.config.days,
            "tools": [schema["function"]["name"] for schema in self.tool_schemas],
            "billing": episode.read_billing(),
        }

    def _info(self) -> dict[str, Any]:
        episode = self._require()
        return {
            "day": episode.day,
            "net_worth_cents": episode.economy.books.net_worth,
            "tool_errors": episode.tool_errors,
            "guards": episode.guards(),
            "digest": episode.log.digest,
        }

    def _require(self) -> Episode:
        if self.episode is None:
            raise gym.error.ResetNeeded("call reset() first")
        return self.episode

    def _close_episode(self) -> None:
        if self.episode is not None:
            self.episode.close()
            self.episode = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def parse_action(action: Any) -> tuple[str, Any]:
    """(tool name, arguments); a malformed action becomes a call the toolbox will refuse."""
    if isinstance(action, dict):
        data: Any = action
    else:
        try:
            data = json.loads(str(action))
        except ValueError:
            return "", str(action)
    if not isinstance(data, dict):
        return "", str(action)
    return str(data.get("tool", "")), data.get("arguments", {})
