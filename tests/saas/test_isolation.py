"""Agent-written product code is contained: it cannot write outside its workspace, read the
reference fixes, the harness's database or the simulator's state, reach the network (even
other loopback services) or start processes; and nothing of it outlives ``stop``."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import palate.saas
from palate import isolation
from palate.saas import sandbox
from palate.saas.workspace import Workspace

ATTACKS = """
import os, socket, sqlite3

from teamnotes.web import Request, Response, route


def _try(action):
    try:
        return "done: " + repr(action())[:80]
    except BaseException as exc:  # the point is to see what the sandbox did
        return "refused: " + type(exc).__name__


def _fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    return pid


def _spawn():
    import subprocess

    return subprocess.run(["true"]).returncode


@route("POST", "/attack")
def attack(request: Request) -> Response:
    t = request.json()
    return Response(200, {
        "write_outside": _try(lambda: open(t["outside"], "w").write("owned")),
        "write_git": _try(lambda: open(".git/hooks/post-commit", "w").write("#!/bin/sh")),
        "read_fix": _try(lambda: open(t["fix"]).read()),
        "list_fixes": _try(lambda: os.listdir(t["fixes"])),
        "read_sim": _try(lambda: open(t["sim"]).read()),
        "read_db": _try(lambda: open(t["db"], "rb").read()),
        "rewrite_own_code": _try(lambda: open("teamnotes/app.py", "a").write("# owned")),
        "read_harness": _try(lambda: open(f"/proc/{os.getppid()}/environ", "rb").read()),
        "open_db": _try(lambda: sqlite3.connect(t["db"]).execute("select 1").fetchall()),
        "loopback": _try(lambda: socket.create_connection(("127.0.0.1", t["port"]), 1)),
        "remote": _try(lambda: socket.create_connection(("192.0.2.1", 80), 1)),
        "fork": _try(_fork),
        "spawn": _try(_spawn),
        "ctypes": _try(lambda: __import__("ctypes")),
        "resource": _try(lambda: __import__("resource").setrlimit(
            __import__("resource").RLIMIT_NPROC, (1000, 1000))),
    })
"""

BOMB_TEST = """
import os, subprocess


def test_fork_bomb():
    for _ in range(64):
        try:
            os.fork()
        except BaseException:
            pass
    subprocess.Popen(["sleep", "60"])
"""


def _running_in(directory: Path) -> list[int]:
    """Processes whose working directory is ``directory``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if Path(os.readlink(entry / "cwd")) == directory:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture(params=["namespaces", "audit-hook-only"])
def workspace(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workspace]:
    """Contained as on this machine, and as where the kernel refuses namespaces (the audit
    hook alone)."""
    if request.param == "audit-hook-only":
        monkeypatch.setattr(isolation, "namespaces_work", lambda: False)
        monkeypatch.setattr(isolation, "unshare_prefix", lambda: ())
    ws = Workspace.create(tmp_path / "episode", seed=5)
    yield ws
    ws.stop()


def test_service_code_is_contained(workspace: Workspace, tmp_path: Path) -> None:
    sim_state = tmp_path / "simulator-state.json"
    sim_state.write_text('{"customers": "hidden"}')
    outside = tmp_path / "outside.txt"
    bystander = socket.create_server(("127.0.0.1", 0))  # another service on loopback
    bystander.settimeout(0.2)
    fixes = Path(palate.saas.__file__).parent / "fixes"
    workspace.write("teamnotes/handlers/attack.py", ATTACKS)
    assert workspace.deploy().ok
    reply = workspace.request(
        "POST",
        "/attack",
        {
            "outside": str(outside),
            "fix": str(fixes / "defect-idor.patch"),
            "fixes": str(fixes),
            "sim": str(sim_state),
            "db": str(workspace.data / "app.db"),
            "port": bystander.getsockname()[1],
        },
    )
    assert reply.status == 200, workspace.logs()
    assert {name: what.split(":")[0] for name, what in reply.body.items()} == dict.fromkeys(
        reply.body, "refused"
    )
    assert not outside.exists()
    assert not (workspace.repo / ".git" / "hooks" / "post-commit").exists()
    assert "# owned" not in workspace.read("teamnotes/app.py")
    with pytest.raises(TimeoutError):
        bystander.accept()
    bystander.close()
    assert "REFUSED" in workspace.logs()  # the agent can see what was refused
    # the service survived its own attempts and still answers
    assert workspace.request("GET", "/health").status == 200
    workspace.stop()
    assert _running_in(workspace.repo) == []


def test_test_code_is_contained(workspace: Workspace) -> None:
    workspace.write("tests/test_bomb.py", BOMB_TEST)
    run = workspace.run_tests(timeout_s=60)
    assert not run.ok
    assert "REFUSED" in run.output
    assert _running_in(workspace.repo) == []


KERNEL_ONLY = """
import json, os, socket, sys
done = {}
for name, action in [
    ("read_fix", lambda: open(sys.argv[1]).read()),
    ("write_outside", lambda: open(sys.argv[2], "w").write("x")),
    ("write_inside", lambda: open("inside.txt", "w").write("x")),
    ("network", lambda: socket.create_connection(("127.0.0.1", int(sys.argv[3])), 1)),
    ("write_scratch", lambda: open(os.path.join(sys.argv[4], "tmp.txt"), "w").write("x")),
]:
    try:
        action()
        done[name] = "done"
    except OSError as exc:
        done[name] = type(exc).__name__
print(json.dumps(done))
"""


@pytest.mark.skipif(not isolation.namespaces_work(), reason="this kernel refuses namespaces")
def test_the_kernel_contains_code_that_gets_past_the_audit_hook(tmp_path: Path) -> None:
    """Without the audit hook at all, the mount and network namespaces still hide the fixes,
    keep every file system read-only but a private scratch tmpfs and leave no network."""
    import subprocess
    import sys

    ws = Workspace.create(tmp_path / "episode", seed=5)
    fix = Path(palate.saas.__file__).parent / "fixes" / "defect-idor.patch"
    outside = tmp_path / "outside.txt"
    bystander = socket.create_server(("127.0.0.1", 0))
    port = str(bystander.getsockname()[1])
    python = [sys.executable, "-c", KERNEL_ONLY, str(fix), str(outside), port, str(ws.scratch)]
    argv, env = isolation.contained_command(ws.repo, ws.scratch, sandbox._hidden_paths(), python)
    done = subprocess.run(
        argv,
        cwd=ws.repo,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    bystander.close()
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result == {
        "read_fix": "FileNotFoundError",  # an empty read-only tmpfs hides it
        "write_outside": "OSError",  # read-only file system
        "write_inside": "OSError",  # the workspace too: only tools change the code
        "network": result["network"],
        "write_scratch": "done",
    }
    assert result["network"] != "done"
    assert not outside.exists() and not (ws.repo / "inside.txt").exists()
    assert list(ws.scratch.iterdir()) == []  # the scratch tmpfs went away with the process
