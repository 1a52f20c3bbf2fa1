"""An episode's copy of the product: a git repository the agent edits, tests and deploys.

Layout under ``root``: ``repo/`` (the product's code, a git repository: the only place tools
reach), ``data/`` (the service's SQLite database, owned by the harness), ``logs/`` and
``scratch/`` (where the contained code may write temporary files). Paths
given to the file methods are relative to ``repo/``, may not leave it, pass through a symbolic
link or touch ``.git``. Commits get fixed dates, so the same actions give the same hashes.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from palate.errors import PalateError
from palate.saas import sandbox
from palate.saas.sandbox import Limits, Reply, Service, TestRun

_STATE = "workspace.json"
"""The deploy history, next to repo/ (so a copied root can be reopened)."""

MAX_FILE_BYTES = 256 * 1024
"""Largest file the agent may write."""


class WorkspaceError(PalateError):
    """A file operation the workspace refuses (bad path, missing file, patch not found)."""


@dataclass(frozen=True)
class DeployResult:
    """What a deploy (or rollback) did."""

    ok: bool
    """The new version started and answers requests."""
    version: int
    """Deploys so far, this one included."""
    commit: str
    """The commit that was deployed."""
    reason: str
    """"started", or why it did not (the tail of its log)."""


def product_source() -> Path:
    """The clean product shipped with palate (package data)."""
    return Path(str(resources.files("palate.saas") / "product"))


def _git_env(counter: int) -> dict[str, str]:
    stamp = f"{1767225600 + counter} +0000"  # 2026-01-01, plus one second per commit
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/nonexistent",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "agent",
        "GIT_AUTHOR_EMAIL": "agent@palate.invalid",
        "GIT_COMMITTER_NAME": "agent",
        "GIT_COMMITTER_EMAIL": "agent@palate.invalid",
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_DATE": stamp,
    }


class Workspace:
    """One episode's product repository, its deployed service and its logs."""

    def __init__(
        self,
        root: Path,
        seed: int,
        *,
        limits: Limits | None = None,
        hidden: Sequence[Path] = (),
    ) -> None:
        """``hidden``: more directories contained code must never see (the simulator's
        state, when it lies outside ``root``); palate's own package is always hidden."""
        self.root = root.resolve()
        self.hidden = [Path(h).resolve() for h in hidden]
        self.repo = self.root / "repo"
        self.data = self.root / "data"
        self.logs_dir = self.root / "logs"
        self.scratch = self.root / "scratch"
        """The only place the contained code may write (a private tmpfs where possible)."""
        self.seed = seed
        self.limits = limits or Limits()
        self.service: Service | None = None
        self.deploys: list[tuple[str, bool]] = []
        """(commit, started) of every deploy and rollback, in order."""
        self._commits = 0

    # -- creation -------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        root: Path,
        seed: int,
        *,
        limits: Limits | None = None,
        hidden: Sequence[Path] = (),
    ) -> Workspace:
        """Copy the clean product into ``root/repo`` and commit it."""
        workspace = cls(root, seed, limits=limits, hidden=hidden)
        if workspace.repo.exists():
            raise WorkspaceError(f"{workspace.repo} already exists")
        shutil.copytree(
            product_source(), workspace.repo, ignore=shutil.ignore_patterns("__pycache__")
        )
        for directory in (workspace.data, workspace.logs_dir, workspace.scratch):
            directory.mkdir(parents=True, exist_ok=True)
        workspace._git("init", "-q", "-b", "main")
        workspace.commit("the product as shipped")
        return workspace

    @classmethod
    def reopen(
        cls,
        root: Path,
        seed: int,
        *,
        limits: Limits | None = None,
        hidden: Sequence[Path] = (),
    ) -> Workspace:
        """Continue a workspace (e.g. a restored snapshot): its deploy history comes back and,
        if the last deploy was running, the same version starts again (not a new deploy)."""
        workspace = cls(root, seed, limits=limits, hidden=hidden)
        try:
            state = json.loads((workspace.root / _STATE).read_text())
        except (OSError, ValueError) as exc:
            raise WorkspaceError(f"{root}: not a workspace ({exc})") from exc
        workspace.deploys = [(str(c), bool(ok)) for c, ok in state["deploys"]]
        workspace._commits = int(state["commits"])
        if workspace.deploys and workspace.deploys[-1][1]:
            workspace._start()
        return workspace

    def _save_state(self) -> None:
        state = {"deploys": self.deploys, "commits": self._commits}
        partial = self.root / (_STATE + ".partial")
        partial.write_text(json.dumps(state))
        partial.replace(self.root / _STATE)

    def _git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", *args],
            cwd=self.repo,
            env=_git_env(self._commits),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise WorkspaceError(f"git {args[0]} failed: {done.stderr.strip()[-300:]}")
        return done.stdout

    # -- files ----------------------------------------------------------------------------
    def path(self, relative: str) -> Path:
        """The real path of ``relative`` inside the repository, refused if it escapes."""
        if not isinstance(relative, str) or not relative.strip() or "\0" in relative:
            raise WorkspaceError("a path must be a non-empty string")
        pure = PurePosixPath(relative)
        if pure.is_absolute() or ".." in pure.parts:
            raise WorkspaceError(f"{relative}: paths are relative to the workspace, without ..")
        if pure.parts and pure.parts[0] == ".git":
            raise WorkspaceError(f"{relative}: .git is off limits")
        current = self.repo
        for part in pure.parts:
            if part == ".":
                continue
            current = current / part
            if current.is_symlink():
                raise WorkspaceError(f"{relative}: symbolic links are refused")
        return current

    def list(self, directory: str = ".") -> builtins.list[str]:
        """Files under ``directory`` (relative paths, sorted), without .git and caches."""
        base = self.path(directory)
        if not base.is_dir():
            raise WorkspaceError(f"{directory}: no such directory")
        found = []
        for path in base.rglob("*"):
            parts = path.relative_to(self.repo).parts
            if ".git" in parts or "__pycache__" in parts or not path.is_file():
                continue
            found.append("/".join(parts))
        return sorted(found)

    def read(self, relative: str) -> str:
        path = self.path(relative)
        if not path.is_file():
            raise WorkspaceError(f"{relative}: no such file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise WorkspaceError(f"{relative}: larger than {MAX_FILE_BYTES} bytes")
        return path.read_text(errors="replace")

    def write(self, relative: str, text: str) -> None:
        """Create or replace a file (atomically)."""
        if not isinstance(text, str):
            raise WorkspaceError("text must be a string")
        if len(text.encode()) > MAX_FILE_BYTES:
            raise WorkspaceError(f"{relative}: larger than {MAX_FILE_BYTES} bytes")
        path = self.path(relative)
        if path.is_dir():
            raise WorkspaceError(f"{relative}: is a directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path(relative)  # the parents just made are real directories, still inside
        # a fresh name (O_EXCL): contained code may have planted a symlink at any fixed one
        handle, partial = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(partial, path)

    def patch(self, relative: str, old: str, new: str) -> None:
        """Replace the one occurrence of ``old`` in a file with ``new``."""
        text = self.read(relative)
        count = text.count(old) if old else 0
        if count != 1:
            found = "not found" if count == 0 else f"found {count} times"
            raise WorkspaceError(f"{relative}: the text to replace was {found} (need exactly 1)")
        self.write(relative, text.replace(old, new, 1))

    def apply_diff(self, diff: str) -> None:
        """Apply a unified diff (``git apply``), all of it or nothing."""
        done = subprocess.run(
            ["git", "-c", "core.hooksPath=/dev/null", "apply", "--whitespace=nowarn", "-"],
            cwd=self.repo,
            env=_git_env(self._commits),
            input=diff,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise WorkspaceError(f"the patch does not apply: {done.stderr.strip()[-300:]}")

    # -- git ------------------------------------------------------------------------------
    def commit(self, message: str) -> str:
        """Commit everything in the working tree (if anything changed); the HEAD commit."""
        self._git("add", "-A")
        if self._git("status", "--porcelain").strip() or self._commits == 0:
            self._commits += 1
            self._git("commit", "-q", "--allow-empty", "-m", message or "change")
            self._save_state()
        return self._git("rev-parse", "HEAD").strip()

    # -- running --------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        secret = hashlib.sha256(f"palate-saas-secret:{self.seed}".encode()).hexdigest()
        return {"secret": secret}

    def run_tests(self, timeout_s: float = 60.0) -> TestRun:
        """The product's own tests, contained."""
        self.scratch.mkdir(exist_ok=True)
        return sandbox.run_tests(
            self.repo, scratch=self.scratch, timeout_s=timeout_s, hidden=self._hidden()
        )

    def _hidden(self) -> builtins.list[str]:
        own = [self.repo / ".git", self.data, self.logs_dir]
        return [str(path) for path in [*own, *self.hidden]]

    def deploy(self, message: str = "deploy") -> DeployResult:
        """Commit the working tree and start it, replacing the running version. A version
        that fails to start leaves the service down until the next deploy or rollback."""
        commit = self.commit(f"{message} {len(self.deploys) + 1}")
        reason = self._start()
        self.deploys.append((commit, self.service is not None))
        self._save_state()
        return DeployResult(self.service is not None, len(self.deploys), commit, reason)

    def _start(self) -> str:
        """(Re)start the service from the working tree; "started" or why not."""
        self.stop()
        self.scratch.mkdir(exist_ok=True)
        log = self.logs_dir / "service.log"
        if log.exists() and log.stat().st_size > 1 << 20:
            log.replace(self.logs_dir / "service.previous.log")
        self.service, reason = sandbox.start_service(
            self.repo,
            self.data / "app.db",
            log,
            self.settings(),
            scratch=self.scratch,
            limits=self.limits,
            hidden=self._hidden(),
        )
        return reason

    def rollback(self) -> DeployResult:
        """Put back the code of the last version that started (other than the running one)
        and deploy it."""
        running = self.deploys[-1][0] if self.deploys and self.service is not None else None
        targets = [c for c, ok in reversed(self.deploys) if ok and c != running]
        if not targets:
            return DeployResult(False, len(self.deploys), "", "nothing to roll back to")
        self._git("read-tree", "-u", "--reset", targets[0])
        self._git("clean", "-fdq")
        return self.deploy(f"rollback to {targets[0][:10]}")

    def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """A request to the deployed service; status 0 when it is down."""
        if self.service is None or not self.service.alive:
            return Reply(0, None, 0)
        return self.service.request(method, path, json, headers)

    @property
    def up(self) -> bool:
        return self.service is not None and self.service.alive

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
            self.service = None

    def logs(self, lines: int = 40) -> str:
        """The tail of the service's log: errors with tracebacks, refused operations."""
        return sandbox.tail(self.logs_dir / "service.log", lines)
