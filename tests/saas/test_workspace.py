"""The episode workspace: confined files, deterministic commits, deploy/rollback/stop of the
contained service, and work counted by the harness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from palate.saas.sandbox import Limits, Reply, process_group_alive
from palate.saas.workspace import Workspace, WorkspaceError


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.create(tmp_path / "episode", seed=7)
    yield ws
    ws.stop()


def _token(ws: Workspace, email: str) -> dict[str, str]:
    status, body, _ = ws.request("POST", "/signup", {"email": email, "plan": "pro"})
    assert status == 201, body
    return {"Authorization": f"Bearer {body['token']}"}


def test_files_stay_inside_the_repository(workspace: Workspace) -> None:
    assert "teamnotes/app.py" in workspace.list()
    for bad in ("../data/app.db", "/etc/passwd", ".git/config", "", "a/../../x"):
        with pytest.raises(WorkspaceError):
            workspace.read(bad)
        with pytest.raises(WorkspaceError):
            workspace.write(bad, "x")
    (workspace.repo / "link").symlink_to("/etc")
    with pytest.raises(WorkspaceError, match="symbolic"):
        workspace.read("link/passwd")
    with pytest.raises(WorkspaceError, match="symbolic"):
        workspace.write("link/evil", "x")
    (workspace.repo / "todo.md.partial").symlink_to(workspace.root.parent / "planted")
    workspace.write("todo.md", "safe")  # a planted link next to the file is not followed
    assert not (workspace.root.parent / "planted").exists()
    workspace.write("notes/todo.md", "hello")
    assert workspace.read("notes/todo.md") == "hello"
    workspace.patch("notes/todo.md", "hello", "bye")
    assert workspace.read("notes/todo.md") == "bye"
    with pytest.raises(WorkspaceError, match="not found"):
        workspace.patch("notes/todo.md", "hello", "x")


def test_same_actions_give_the_same_commits(tmp_path: Path) -> None:
    heads = []
    for name in ("a", "b"):
        ws = Workspace.create(tmp_path / name, seed=1)
        ws.write("README.md", "changed")
        heads.append(ws.commit("edit"))
    assert heads[0] == heads[1]


def test_deploy_serves_requests_with_counted_work(workspace: Workspace) -> None:
    assert workspace.request("GET", "/health").status == 0  # not deployed yet
    result = workspace.deploy()
    assert result.ok, result.reason
    auth = _token(workspace, "ada@example.com")
    status, body, _ = workspace.request("POST", "/workspaces", {"name": "team"}, auth)
    assert status == 201
    for i in range(12):
        workspace.request("POST", "/notes", {"workspace_id": body["id"], "title": f"n{i}"}, auth)
    listing = f"/notes?workspace_id={body['id']}&per_page="
    small = workspace.request("GET", listing + "1", None, auth)
    large = workspace.request("GET", listing + "6", None, auth)
    assert small.status == large.status == 200
    assert (len(small.body["notes"]), len(large.body["notes"])) == (1, 6)
    # the shipped list fetches tags note by note: one more statement per note on the page
    assert large.work - small.work >= 5
    again = workspace.request("GET", listing + "6", None, auth)
    assert again.work == large.work  # counted, not timed


def test_a_broken_version_means_downtime_until_rollback(workspace: Workspace) -> None:
    assert workspace.deploy().ok
    _token(workspace, "ada@example.com")
    workspace.write("teamnotes/__init__.py", "def broken(:\n")
    broken = workspace.deploy()
    assert not broken.ok and "SyntaxError" in broken.reason
    assert workspace.request("GET", "/health").status == 0
    back = workspace.rollback()
    assert back.ok, back.reason
    assert "broken(" not in workspace.read("teamnotes/__init__.py")
    # the data survived: the same e-mail is still taken
    assert workspace.request("POST", "/signup", {"email": "ada@example.com"}).status == 409


def test_stop_leaves_nothing_running(workspace: Workspace) -> None:
    assert workspace.deploy().ok
    assert workspace.service is not None
    pid = workspace.service.process.pid
    assert process_group_alive(pid)
    workspace.stop()
    assert not process_group_alive(pid)
    assert workspace.request("GET", "/health").status == 0


def test_the_product_tests_pass_when_run_contained(workspace: Workspace) -> None:
    run = workspace.run_tests()
    assert run.ok, run.output
    assert "passed" in run.summary


RUNAWAY = """
from teamnotes.web import Request, Response, route


@route("GET", "/count-forever")
def count_forever(request: Request) -> Response:
    sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    request.db.execute(sql)
    return Response(200, {})


@route("GET", "/spin")
def spin(request: Request) -> Response:
    while True:
        pass
"""


def test_runaway_sql_is_cut_at_the_work_budget_and_hangs_are_downtime(tmp_path: Path) -> None:
    limits = Limits(work_budget=2_000, request_timeout_s=1.0)
    ws = Workspace.create(tmp_path / "episode", seed=7, limits=limits)
    try:
        ws.write("teamnotes/handlers/runaway.py", RUNAWAY)
        assert ws.deploy().ok
        first = ws.request("GET", "/count-forever")
        second = ws.request("GET", "/count-forever")
        assert first.status == 400 and "interrupted" in first.body["error"]
        assert first.work == second.work == 2_001  # the statement and the budget
        assert ws.request("GET", "/spin").status == 0
        assert not ws.up and ws.request("GET", "/health").status == 0
        assert ws.deploy().ok
    finally:
        ws.stop()


def _session(ws: Workspace) -> list[Reply]:
    """A fixed conversation with the service."""
    replies = [ws.request("POST", "/signup", {"email": "same@example.com"})]
    auth = {"Authorization": f"Bearer {replies[0].body['token']}"}
    replies.append(ws.request("POST", "/workspaces", {"name": "w"}, auth))
    for i in range(5):
        note = {"workspace_id": 1, "title": f"n{i}", "body": "x" * i, "tags": ["t"]}
        replies.append(ws.request("POST", "/notes", note, auth))
    for path in ("/notes?per_page=3&", "/search?q=n&", "/export?"):
        replies.append(ws.request("GET", path + "workspace_id=1", None, auth))
    return replies


def test_the_same_requests_get_the_same_answers_and_work(tmp_path: Path) -> None:
    """What replay relies on: bodies (tokens included) and counted work repeat exactly."""
    runs = []
    for name in ("first", "second"):
        ws = Workspace.create(tmp_path / name, seed=21)
        try:
            assert ws.deploy().ok
            runs.append(_session(ws))
        finally:
            ws.stop()
    assert runs[0] == runs[1]
    assert all(status in (200, 201) for status, _, _ in runs[0])
    assert sum(work for _, _, work in runs[0]) > 0
