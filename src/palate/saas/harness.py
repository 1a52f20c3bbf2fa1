"""The part of an LLM agent's configuration that the agent itself may change.

Its system-prompt additions, how its notes are laid out, which tools it keeps in view and how
old turns are summarised live in a YAML file (``OUT/harness.yaml``) that the agent reads and
rewrites through two more tools. Those calls go through the episode like any other, so every
version is in the episode log (the ``edit_harness`` action carries the whole new text) and
changing its own harness is an action with consequences like any other.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from palate.saas.business import Business
from palate.saas.events import write_atomic
from palate.saas.tools import Toolbox, ToolError
from palate.saas.workspace import Workspace
from palate.schema.hashing import canonical_bytes

HARNESS_FILE = "harness.yaml"
HARNESS_TOOLS = ("read_harness", "edit_harness")
"""Always in view: an agent that hid them could never get its tools back."""


class Harness(BaseModel):
    """The agent-editable settings."""

    model_config = ConfigDict(extra="forbid")

    system_prompt: str = Field("", max_length=8000)
    """Added to the system briefing."""
    notes_layout: Literal["latest-first", "oldest-first"] = "latest-first"
    """The order its notes are shown in."""
    notes_shown: int = Field(10, ge=0, le=200)
    """How many of its notes are shown (the latest ones)."""
    tools_in_view: list[str] | None = None
    """The tools whose schemas are sent to the model; None: all of them."""
    summarisation: Literal["drop", "daily-digest"] = "daily-digest"
    """What becomes of turns that no longer fit the context: dropped, or one line per day
    naming the calls made and whether they worked."""

    @property
    def hash(self) -> str:
        return hashlib.sha256(canonical_bytes(self.model_dump())).hexdigest()

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(), sort_keys=False, allow_unicode=True)


class HarnessFile:
    """The current harness, the file it lives in and the hashes of all its versions."""

    def __init__(self, harness: Harness, path: Path) -> None:
        self.harness = harness
        self.path = path
        self.versions = [harness.hash]
        write_atomic(path, harness.to_yaml().encode())

    def replace(self, text: str) -> Harness:
        """Validate ``text`` as a new version and put it in place (nothing changes if bad)."""
        try:
            data = yaml.safe_load(text)
            harness = Harness.model_validate(data if data is not None else {})
        except yaml.YAMLError as exc:
            raise ToolError(f"edit_harness: not valid YAML ({exc})") from exc
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'harness'}: {e['msg']}"
                for e in exc.errors()
            )
            raise ToolError(f"edit_harness: {problems}") from exc
        write_atomic(self.path, harness.to_yaml().encode())
        self.harness = harness
        self.versions.append(harness.hash)
        return harness


class AgentToolbox(Toolbox):
    """The episode's tools and the two that read and rewrite the agent's harness."""

    def __init__(self, workspace: Workspace, business: Business, harness: HarnessFile) -> None:
        self._harness = harness
        super().__init__(workspace, business)

    def read_harness(self) -> str:
        """Read your harness file (YAML): system_prompt (added to your briefing), notes_layout
        (latest-first or oldest-first), notes_shown, tools_in_view (tool names, or null for
        all) and summarisation (drop or daily-digest, for turns that no longer fit)."""
        return self._harness.harness.to_yaml()

    def edit_harness(self, content: str) -> dict[str, object]:
        """Replace your harness file; it takes effect from your next turn.

        Args:
            content: the whole new YAML text (fields as read_harness describes).
        """
        harness = self._harness.replace(content)
        return {"version": len(self._harness.versions), "hash": harness.hash}
