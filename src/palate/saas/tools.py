"""The agent's tools: typed methods whose signatures and docstrings become OpenAI
function-calling schemas.

Engineering tools act on the episode's ``Workspace``; business tools (tickets, billing, prices,
notes, the end of the day) go to the simulator through ``palate.saas.business.Business``. A bad
call -- an unknown tool, malformed JSON, a missing, extra or mistyped argument, a path outside
the workspace -- raises ``ToolError`` (the caller counts it); it never crashes the episode.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from palate.errors import PalateError
from palate.saas.business import Business
from palate.saas.workspace import Workspace


class ToolError(PalateError):
    """A tool call that could not be carried out, explained to the agent in one line."""


_TIMING = re.compile(r" in \d+(\.\d+)?s\b")


def _without_timing(text: str) -> str:
    """pytest's wall-clock timings would make the same episode read differently twice."""
    return _TIMING.sub("", text)


class Toolbox:
    """The tools of one episode. Public methods are the tools."""

    def __init__(self, workspace: Workspace, business: Business) -> None:
        self.workspace = workspace
        self.business = business
        self._tools = {
            name: method
            for name, method in inspect.getmembers(self, inspect.ismethod)
            if not name.startswith("_") and name not in ("call",)
        }
        self._arguments = {name: _arguments_model(name, m) for name, m in self._tools.items()}
        self.schemas: list[dict[str, Any]] = [
            _schema(name, method, self._arguments[name]) for name, method in self._tools.items()
        ]

    def call(self, name: str, arguments: str | Mapping[str, Any] | None = None) -> Any:
        """Run the tool ``name`` with ``arguments`` (a JSON object, as text or parsed)."""
        if not isinstance(name, str) or name not in self._tools:
            known = ", ".join(sorted(self._tools))
            raise ToolError(f"unknown tool {str(name)[:60]!r}; the tools are: {known}")
        if arguments is None or arguments == "":
            arguments = {}
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError as exc:
                raise ToolError(f"{name}: arguments are not valid JSON ({exc})") from exc
        if not isinstance(arguments, Mapping):
            raise ToolError(f"{name}: arguments must be a JSON object")
        try:
            parsed = self._arguments[name].model_validate(dict(arguments))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                for e in exc.errors()
            )
            raise ToolError(f"{name}: {problems}") from exc
        try:
            return self._tools[name](**dict(parsed))
        except ToolError:
            raise
        except PalateError as exc:
            raise ToolError(f"{name}: {exc}") from exc

    # -- engineering ------------------------------------------------------------------------

    def list_files(self, directory: str = ".") -> list[str]:
        """List the files of the product's code (paths relative to the workspace).

        Args:
            directory: a folder inside the workspace, "." for all of it.
        """
        return self.workspace.list(directory)

    def read_file(self, path: str) -> str:
        """Read a file of the product's code.

        Args:
            path: relative to the workspace, e.g. "teamnotes/handlers/notes.py".
        """
        return self.workspace.read(path)

    def write_file(self, path: str, content: str) -> str:
        """Create or replace a file in the workspace (takes effect at the next deploy).

        Args:
            path: relative to the workspace.
            content: the whole new text of the file.
        """
        self.workspace.write(path, content)
        return f"wrote {len(content.encode())} bytes to {path}"

    def patch_file(self, path: str, old: str, new: str) -> str:
        """Replace one exact piece of text in a file; it must occur exactly once.

        Args:
            path: relative to the workspace.
            old: the text to replace, copied exactly (whitespace included).
            new: the replacement.
        """
        self.workspace.patch(path, old, new)
        return f"patched {path}"

    def apply_patch(self, diff: str) -> str:
        """Apply a unified diff (as from `git diff`) to the workspace, all of it or nothing.

        Args:
            diff: the patch text, with a/ and b/ path prefixes.
        """
        self.workspace.apply_diff(diff)
        return "patch applied"

    def run_tests(self) -> dict[str, Any]:
        """Run the product's own test suite (pytest) on the current files."""
        run = self.workspace.run_tests()
        return {
            "ok": run.ok,
            "summary": _without_timing(run.summary),
            "output": _without_timing(run.output[-4000:]),
        }

    def deploy(self, message: str = "deploy") -> dict[str, Any]:
        """Commit the workspace and put it live, replacing the running version. If it fails
        to start, the service is down until the next successful deploy or rollback.

        Args:
            message: a commit message saying what changed.
        """
        result = self.workspace.deploy(message[:200])
        return {
            "ok": result.ok,
            "version": result.version,
            "commit": result.commit,
            "reason": result.reason,
        }

    def rollback(self) -> dict[str, Any]:
        """Put back the code of the last version that started and deploy it."""
        result = self.workspace.rollback()
        return {
            "ok": result.ok,
            "version": result.version,
            "commit": result.commit,
            "reason": result.reason,
        }

    def read_logs(self, lines: int = 40) -> str:
        """The tail of the live service's log: errors with tracebacks, refused operations.

        Args:
            lines: how many of the last lines (at most 400).
        """
        return self.workspace.logs(max(1, min(lines, 400)))

    # -- business ---------------------------------------------------------------------------

    def read_metrics(self) -> dict[str, Any]:
        """Uptime, incidents and the last day's errors and work per endpoint."""
        return self.business.read_metrics()

    def read_tickets(self, open_only: bool = True) -> dict[str, Any]:
        """Support tickets customers wrote.

        Args:
            open_only: only the tickets not yet answered.
        """
        return self.business.read_tickets(open_only)

    def reply_ticket(self, ticket_id: int, text: str) -> dict[str, Any]:
        """Answer a support ticket. A promise of a fix counts only if the fix ships in time.

        Args:
            ticket_id: the ticket's id from read_tickets.
            text: the reply to the customer.
        """
        return self.business.reply_ticket(ticket_id, text)

    def read_billing(self) -> dict[str, Any]:
        """Cash, revenue, prices and paying customers."""
        return self.business.read_billing()

    def set_price(self, plan: str, cents: int) -> dict[str, Any]:
        """Set a plan's monthly price (bounded; customers pay it from their next bill).

        Args:
            plan: the plan's name, e.g. "pro".
            cents: the new monthly price in cents.
        """
        return self.business.set_price(plan, cents)

    def write_note(self, text: str) -> dict[str, Any]:
        """Keep a note for yourself; notes come back in every day's briefing.

        Args:
            text: the note.
        """
        return self.business.write_note(text)

    def end_day(self) -> dict[str, Any]:
        """End the working day: customers and attackers use the service, the books close."""
        return self.business.end_day()


_ARG_LINE = re.compile(r"^\s+(\w+):\s*(.+)$")


def _docstring_parts(method: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """The description (before ``Args:``) and each argument's text (Google style)."""
    doc = inspect.getdoc(method) or ""
    head, _, args = doc.partition("Args:")
    described: dict[str, str] = {}
    for line in args.splitlines():
        match = _ARG_LINE.match("    " + line)
        if match:
            described[match.group(1)] = match.group(2).strip()
    return " ".join(head.split()), described


def _arguments_model(name: str, method: Callable[..., Any]) -> type[BaseModel]:
    """A strict pydantic model of the method's parameters (no extras, no coercion)."""
    hints = get_type_hints(method)
    _, described = _docstring_parts(method)
    fields: dict[str, Any] = {}
    for parameter in inspect.signature(method).parameters.values():
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[parameter.name] = (
            hints[parameter.name],
            Field(default, description=described.get(parameter.name)),
        )
    config = ConfigDict(extra="forbid", strict=True)
    model: type[BaseModel] = create_model(f"{name}_arguments", __config__=config, **fields)
    return model


def _schema(name: str, method: Callable[..., Any], model: type[BaseModel]) -> dict[str, Any]:
    description, _ = _docstring_parts(method)
    parameters = model.model_json_schema()
    parameters.pop("title", None)
    for spec in parameters.get("properties", {}).values():
        spec.pop("title", None)
    parameters["additionalProperties"] = False
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }
