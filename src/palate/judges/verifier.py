"""A code-executing verifier: run a Python submission against its tests, contained.

Verifiable rewards (does the code pass the tests?) are the cheapest honest judge there is, but
the code comes from a policy being optimised, so it will sooner or later loop, eat memory, fork,
write where it should not or reach for the network. Each run gets a fresh temporary directory
and an isolated interpreter (``python -I``) whose bootstrap, before any submitted code runs,
sets resource limits (CPU time, address space, file size, open files, no core dumps, no new
processes) and installs an audit hook (PEP 578) that refuses sockets, process creation, ctypes
and writes outside the directory. Where user namespaces work, ``unshare -rn`` also takes the
network away at the kernel level. A wall-clock timeout kills the whole process group.

This is containment for mistakes and reward hacking by ordinary code, not a security boundary
against an attacker who targets CPython itself (such code could also forge its in-process pass
report by walking frames): run untrusted code from strangers in a VM. Submissions may not import
subprocess, multiprocessing or ctypes (``_posixsubprocess`` forks without an audit event).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from palate.errors import PalateError
from palate.isolation import AUDIT_POLICY
from palate.isolation import kill_group as _kill_group
from palate.isolation import unshare_prefix as _unshare_prefix
from palate.judges.base import JudgeResources
from palate.schema import CallInfo, Rating, Source, Unscored

if TYPE_CHECKING:
    from palate.judges.base import PointTask
    from palate.judges.config import VerifierJudgeConfig

Status = Literal["passed", "failed", "timeout", "memory", "forbidden"]

_EXIT_FORBIDDEN = 3
_EXIT_MEMORY = 4
_OUTPUT_LIMIT = 1 << 20  # bytes of stdout/stderr kept and allowed (RLIMIT_FSIZE)

# Runs first in the child, after the shared AUDIT_POLICY. Reads the run's spec (limits, nonce,
# code, tests) from stdin, so nothing of it is visible in argv or the environment, then drops
# privileges it cannot regain.
_BOOTSTRAP = r"""
import json, sys

def _main():
    spec = json.loads(sys.stdin.read())
    nonce, root = spec["nonce"], os.path.realpath(os.getcwd())
    set_limits(spec)

    class Forbidden(BaseException):
        pass

    blocked = ("socket.", "os.fork", "os.forkpty", "os.posix_spawn", "os.exec", "os.spawn",
               "os.system", "subprocess.", "ctypes.", "os.kill", "os.killpg", "signal.",
               "pty.", "winreg.", "webbrowser.", "sys.remote_exec", "os.startfile",
               # raising its own limits; reaching into this bootstrap's frames and objects
               "resource.", "object.__getattr__", "sys._current_frames", "gc.get_")
    state = {"violation": None}

    def inside(path):
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        full = os.path.realpath(os.path.join(root, os.fspath(path)))
        return full == root or full.startswith(root + os.sep)

    check = refuser(blocked, BLOCKED_IMPORTS + ("subprocess",), PATH_EVENTS + ("os.chdir",),
                    "working directory", inside)

    def hook(event, args):
        why = check(event, args)
        if why is not None:
            state["violation"] = state["violation"] or why
            raise Forbidden(why)

    import traceback
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    passed = 0
    fail = None
    sys.addaudithook(hook)  # from here to exit; an audit hook cannot be removed
    try:
        try:
            exec(compile(spec["code"], "submission.py", "exec"), namespace)
            for i, test in enumerate(spec["tests"]):
                try:
                    exec(compile(test, "test_%d.py" % i, "exec"), namespace)
                    passed += 1
                except (Exception, SystemExit) as exc:
                    if isinstance(exc, MemoryError):
                        raise
                    why = "".join(traceback.format_exception_only(exc)).strip()
                    fail = fail or "test %d: %s" % (i, why)
        except SystemExit as exc:
            fail = "the submission exited (%s) before its tests ran" % (exc.code,)
    except Forbidden:
        pass
    except MemoryError:
        os._exit(4)
    except BaseException as exc:
        fail = fail or "".join(traceback.format_exception_only(exc)).strip()
    if state["violation"] is not None:  # blocked, even if the submission caught the error
        sys.stderr.write("FORBIDDEN %s\n" % state["violation"])
        sys.stderr.flush()
        os._exit(3)
    sys.stdout.write("\n%s %s\n" % (nonce, json.dumps({"passed": passed, "fail": fail})))
    sys.stdout.flush()
    os._exit(0)

_main()
"""


@dataclass(frozen=True)
class VerifierResult:
    """What one contained run did."""

    status: Status
    """passed: every test passed; failed: a test failed or the code raised; timeout: wall or
    CPU limit; memory: address-space limit; forbidden: it tried a blocked operation."""
    detail: str
    """Why, in one line (first failing test, blocked operation, limit hit)."""
    passed: int
    """Tests that passed."""
    total: int
    """Tests run (the number given)."""
    duration_s: float
    """Wall time of the run."""

    @property
    def pass_rate(self) -> float:
        return self.passed / self.total if self.total else float(self.status == "passed")


def _tail(path: Path) -> str:
    data = path.read_bytes()[-4000:].decode(errors="replace").strip()
    return data.splitlines()[-1] if data else ""


def run_python(
    code: str,
    tests: str | Sequence[str] = (),
    *,
    timeout_s: float = 10.0,
    memory_mb: int = 512,
) -> VerifierResult:
    """Run ``code`` then each test snippet (asserts) in one contained interpreter.

    Tests share the submission's namespace and run one after another; each that raises counts
    as failed. The status is ``passed`` only when all tests passed and the bootstrap reported
    so with this run's secret nonce (a submission that exits early cannot fake a pass).
    """
    if timeout_s <= 0 or memory_mb <= 0:
        raise PalateError(f"need timeout_s > 0 and memory_mb > 0 (got {timeout_s}, {memory_mb})")
    test_list = [tests] if isinstance(tests, str) else list(tests)
    nonce = secrets.token_hex(16)
    spec = {
        "nonce": nonce,
        "code": code,
        "tests": test_list,
        "memory_mb": memory_mb,
        "cpu_s": max(1, math.ceil(timeout_s)),
        "fsize": _OUTPUT_LIMIT,
    }
    total = len(test_list)
    with tempfile.TemporaryDirectory(prefix="palate-verify-") as scratch:
        work = Path(scratch) / "work"
        logs = Path(scratch) / "logs"
        work.mkdir()
        logs.mkdir()
        out_path, err_path = logs / "stdout", logs / "stderr"
        env = {"PATH": "/usr/bin:/bin", "HOME": str(work), "TMPDIR": str(work), "LANG": "C.UTF-8"}
        argv = [*_unshare_prefix(), sys.executable, "-I", "-c", AUDIT_POLICY + _BOOTSTRAP]
        started = time.perf_counter()
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = subprocess.Popen(
                argv,
                cwd=work,
                env=env,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            timed_out = False
            try:
                proc.communicate(json.dumps(spec).encode(), timeout=timeout_s + 1.0)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(proc.pid)  # also any child that slipped past the limits
                proc.wait()
        duration = time.perf_counter() - started
        report = None
        for line in out_path.read_bytes().decode(errors="replace").splitlines()[::-1]:
            if line.startswith(nonce + " "):
                report = json.loads(line[len(nonce) + 1 :])
                break
        stderr_tail = _tail(err_path)
    rc = proc.returncode

    def result(status: Status, detail: str, passed: int = 0) -> VerifierResult:
        return VerifierResult(status, detail, passed, total, duration)

    if timed_out:
        return result("timeout", f"wall-clock limit of {timeout_s:g} s")
    if rc in (-signal.SIGXCPU, -signal.SIGKILL) and report is None:
        return result("timeout", f"CPU time limit of {spec['cpu_s']} s")
    if rc == -signal.SIGXFSZ:
        return result("failed", f"output over {_OUTPUT_LIMIT} bytes")
    if rc == _EXIT_FORBIDDEN:
        return result("forbidden", stderr_tail.removeprefix("FORBIDDEN ") or "blocked operation")
    if rc == _EXIT_MEMORY or (report is None and "MemoryError" in stderr_tail):
        return result("memory", f"address-space limit of {memory_mb} MB")
    if report is None or rc != 0:
        return result("failed", stderr_tail or f"no report from the run (exit code {rc})")
    passed = int(report["passed"])
    if report["fail"] is None and passed == total:
        return result("passed", f"{passed}/{total} tests passed", passed)
    return result("failed", str(report["fail"]), passed)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Chen et al. (2021)'s unbiased pass@k from n samples of which c are correct:
    1 - C(n-c, k) / C(n, k), computed as their numerically stable product
    1 - prod_{i=n-c+1}^{n} (1 - k / i)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise PalateError(f"pass@k needs 0 <= c <= n and 1 <= k <= n (got n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product


_FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)


def extract_code(text: str) -> str:
    """The code in a model's answer: its first fenced block when it has one, else all of it."""
    match = _FENCE.search(text)
    return match.group(1) if match else text


class VerifierJudge(JudgeResources):
    """Scores code responses by running them against each item's tests (score = pass rate).

    ``tests`` maps an item (the prompt's key) to its test snippets. Runs go to worker threads,
    at most ``concurrency`` at a time, since each is a process.
    """

    def __init__(
        self,
        config: VerifierJudgeConfig,
        tests: Mapping[str, Sequence[str]],
        *,
        concurrency: int | None = None,
    ) -> None:
        from palate.judges.config import config_hash

        self.config = config
        self.tests = tests
        self.source = Source(kind="judge", name=config.name, version=config_hash(config))
        self._slots = asyncio.Semaphore(concurrency or max(1, (os.cpu_count() or 2) // 2))

    async def judge_point(self, task: PointTask) -> list[Rating]:
        base = {
            "item": task.item,
            "prompt": task.prompt,
            "response": task.response,
            "rater": self.source,
            "rubric": task.rubric,
            "dimension": task.dimensions[0] if len(task.dimensions) == 1 else None,
        }
        tests = self.tests.get(task.item)
        text = task.response.text
        if text is None and task.response.messages:
            text = task.response.messages[-1].content
        if tests is None or text is None:
            reason = "no tests for this item" if tests is None else "no code in the response"
            return [Rating(unscored=Unscored(reason=reason), **base)]
        async with self._slots:
            run = await asyncio.to_thread(
                run_python,
                extract_code(text),
                list(tests),
                timeout_s=self.config.timeout_s,
                memory_mb=self.config.memory_mb,
            )
        call = CallInfo(latency_s=run.duration_s, raw_output=run.detail)
        return [
            Rating(
                score=run.pass_rate,
                call=call,
                error_tags=[] if run.status == "passed" else [run.status],
                metadata={"status": run.status, "passed": run.passed, "total": run.total},
                **base,
            )
        ]

    def pass_at_k(self, ratings: Sequence[Rating]) -> dict[str, float]:
        """pass@k per item (k from the config) over several sampled responses per item; a
        sample counts as correct when it passed every test."""
        counts: dict[str, list[int]] = {}
        for rating in ratings:
            if rating.score is None:
                continue
            tally = counts.setdefault(rating.item, [0, 0])
            tally[0] += 1
            tally[1] += rating.score == 1.0
        return {
            item: pass_at_k(n, c, self.config.k)
            for item, (n, c) in counts.items()
            if n >= self.config.k
        }
