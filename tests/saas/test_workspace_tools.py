"""The agent's tools: schemas generated from the typed methods, calls that reach the workspace
and the business, and bad calls that become ToolErrors instead of crashes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from palate.saas.tools import Toolbox, ToolError
from palate.saas.workspace import Workspace

TOOLS = {
    "list_files",
    "read_file",
    "write_file",
    "patch_file",
    "apply_patch",
    "run_tests",
    "deploy",
    "rollback",
    "read_logs",
    "read_metrics",
    "read_tickets",
    "read_billing",
    "reply_ticket",
    "set_price",
    "write_note",
    "end_day",
}


class RecordingBusiness:
    """Stands in for the simulator's business side: answers and remembers each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def _record(self, name: str, *args: Any) -> dict[str, Any]:
        self.calls.append((name, args))
        return {"called": name}

    def read_tickets(self, open_only: bool = True) -> dict[str, Any]:
        return self._record("read_tickets", open_only)

    def reply_ticket(self, ticket_id: int, text: str) -> dict[str, Any]:
        return self._record("reply_ticket", ticket_id, text)

    def read_billing(self) -> dict[str, Any]:
        return self._record("read_billing")

    def read_metrics(self) -> dict[str, Any]:
        return self._record("read_metrics")

    def set_price(self, plan: str, cents: int) -> dict[str, Any]:
        return self._record("set_price", plan, cents)

    def write_note(self, text: str) -> dict[str, Any]:
        return self._record("write_note", text)

    def end_day(self) -> dict[str, Any]:
        return self._record("end_day")


@pytest.fixture
def toolbox(tmp_path: Path) -> Iterator[Toolbox]:
    ws = Workspace.create(tmp_path / "episode", seed=11)
    yield Toolbox(ws, RecordingBusiness())
    ws.stop()


def test_schemas_come_from_signatures_and_docstrings(toolbox: Toolbox) -> None:
    by_name = {s["function"]["name"]: s["function"] for s in toolbox.schemas}
    assert set(by_name) == TOOLS
    write = by_name["write_file"]
    assert write["description"].startswith("Create or replace a file")
    assert write["parameters"]["required"] == ["path", "content"]
    assert write["parameters"]["properties"]["path"] == {
        "type": "string",
        "description": "relative to the workspace.",
    }
    assert write["parameters"]["additionalProperties"] is False
    price = by_name["set_price"]["parameters"]["properties"]
    assert price["cents"]["type"] == "integer"
    assert by_name["read_logs"]["parameters"]["properties"]["lines"]["default"] == 40
    json.dumps(toolbox.schemas)  # plain JSON, as an API wants it


def test_engineering_tools_act_on_the_workspace(toolbox: Toolbox) -> None:
    toolbox.call("write_file", '{"path": "teamnotes/extra.py", "content": "X = 1\\n"}')
    assert toolbox.call("read_file", {"path": "teamnotes/extra.py"}) == "X = 1\n"
    toolbox.call("patch_file", {"path": "teamnotes/extra.py", "old": "1", "new": "2"})
    assert "teamnotes/extra.py" in toolbox.call("list_files", {"directory": "teamnotes"})
    deployed = toolbox.call("deploy", {"message": "add extra"})
    assert deployed["ok"] and deployed["version"] == 1
    assert toolbox.workspace.request("GET", "/health").status == 200
    tests = toolbox.call("run_tests")
    assert tests["ok"] and "passed" in tests["summary"] and " in 0." not in tests["summary"]


def test_business_tools_reach_the_simulator(toolbox: Toolbox) -> None:
    business = toolbox.business
    assert isinstance(business, RecordingBusiness)
    toolbox.call("set_price", {"plan": "pro", "cents": 1500})
    toolbox.call("reply_ticket", '{"ticket_id": 3, "text": "fixed, thanks"}')
    toolbox.call("read_tickets", {})
    toolbox.call("end_day", None)
    assert business.calls == [
        ("set_price", ("pro", 1500)),
        ("reply_ticket", (3, "fixed, thanks")),
        ("read_tickets", (True,)),
        ("end_day", ()),
    ]


@pytest.mark.parametrize(
    ("name", "arguments", "reason"),
    [
        ("drop_database", {}, "unknown tool"),
        ("read_file", '{"path": ', "not valid JSON"),
        ("read_file", "[1, 2]", "must be a JSON object"),
        ("read_file", {}, "path: Field required"),
        ("read_file", {"path": "a", "mode": "rb"}, "mode: Extra inputs"),
        ("set_price", {"plan": "pro", "cents": "1500"}, "cents: Input should be a valid integer"),
        ("read_file", {"path": "../data/app.db"}, "without .."),
        ("read_file", {"path": "nothing/here.py"}, "no such file"),
        ("patch_file", {"path": "pytest.ini", "old": "absent", "new": "x"}, "not found"),
        ("apply_patch", {"diff": "not a diff"}, "does not apply"),
    ],
)
def test_bad_calls_are_tool_errors(
    toolbox: Toolbox, name: str, arguments: Any, reason: str
) -> None:
    with pytest.raises(ToolError, match=reason):
        toolbox.call(name, arguments)
    assert toolbox.business.calls == []  # type: ignore[attr-defined]


def test_a_reopened_copy_carries_on_where_it_was(toolbox: Toolbox, tmp_path: Path) -> None:
    ws = toolbox.workspace
    assert ws.deploy().ok
    assert ws.request("POST", "/signup", {"email": "kept@example.com"}).status == 201
    ws.write("teamnotes/__init__.py", "def broken(:\n")
    assert not ws.deploy().ok
    assert ws.rollback().ok
    copy_root = tmp_path / "copy"
    shutil.copytree(ws.root, copy_root, symlinks=True)
    copy = Workspace.reopen(copy_root, seed=11)
    try:
        assert copy.up and copy.deploys == ws.deploys
        assert copy.request("POST", "/signup", {"email": "kept@example.com"}).status == 409
        # the same next action gives the same commit in the original and in the copy
        ws.write("README.md", "next")
        copy.write("README.md", "next")
        assert ws.commit("next") == copy.commit("next")
    finally:
        copy.stop()
