"""The product's code, run contained: as a loopback HTTP service, or as its own test suite.

The code comes from an agent being optimised, so it will sooner or later write where it should
not, read what it should not (the reference fixes, the simulator's state), reach for the
network, fork or loop. Like the code verifier's submissions (``palate.judges.verifier``) it runs
in an isolated interpreter (``python -I``) whose bootstrap sets resource limits (address space,
CPU, file size, open files, no new processes) and installs an audit hook (PEP 578) that refuses
connecting sockets, process creation, ctypes, frame introspection (in the service), reads
outside the workspace and the Python installation, and writes anywhere but a scratch directory
(only the agent's tools change the code). Refusals raise ``PermissionError`` in the agent's code
and are logged for it. Under that, ``palate.isolation`` adds what the kernel enforces where it
allows: no network at all, palate's own package and the harness's directories hidden, every
file system read-only, the scratch directory a private 64 MB tmpfs.
The process group is killed on stop.

The service cannot open its own database. The harness (this module, in the simulator's process)
owns the SQLite file and runs each SQL statement the service sends over a socket pair, counting
the work: one unit per statement plus one per 1,000 SQLite virtual-machine steps (a progress
handler). Work is counted here, outside the agent's process, while this harness waits for that
request's answer, so the agent's code cannot forge it, and it is the same on every replay. The
HTTP listening socket is made here and handed down, so it works from inside the empty network
namespace.

Threat model, honestly: this is containment for mistakes and for reward hacking by ordinary
code, not a boundary against code that attacks CPython or the kernel (run strangers' code in a
VM). A service can keep data in memory to skip counted queries (as real caches do, within its
memory limit), and a deliberately misbehaving service that sends SQL after answering has that
work counted to its next request.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import sqlite3
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from palate import isolation
from palate.errors import PalateError

STEPS_PER_TICK = 1000
"""SQLite virtual-machine steps per unit of counted work."""

# Runs first in every contained child, after the shared AUDIT_POLICY: limits and the audit
# hook, from a spec on stdin.
_CONTAIN = r"""
import json, signal, sys

class Refused(PermissionError):
    pass

def _under(path, roots):
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)

def contain(spec):
    root = os.path.realpath(spec["root"])
    readable = tuple([root] + [os.path.realpath(p) for p in spec["readable"]])
    hidden = tuple(os.path.realpath(p) for p in spec["hidden"])
    writable = (os.path.realpath(spec["scratch"]),)
    sys.path[:] = [root] + [p for p in sys.path
                            if p and _under(os.path.realpath(p), readable)
                            and not _under(os.path.realpath(p), hidden)]
    sys.dont_write_bytecode = True
    set_limits(spec)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full disk quota fails writes, not us

    blocked = ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg",
               "socket.getaddrinfo", "socket.gethost", "socket.getnameinfo", "socket.sethostname",
               "os.fork", "os.forkpty", "os.posix_spawn", "os.exec", "os.spawn", "os.system",
               "subprocess.", "ctypes.", "os.kill", "os.killpg", "signal.", "pty.",
               "webbrowser.", "sys.remote_exec", "resource.",
               "sys._current_frames", "gc.get_", "sqlite3.enable_load_extension",
               "sqlite3.load_extension")
    devices = ("/dev/null", "/dev/urandom")
    # the way from an exception or generator to this bootstrap's frame and its locals
    frame_attributes = ("tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back")
    frames_ok = bool(spec.get("allow_frames"))  # pytest's reports need them

    def full(path):
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        return os.path.realpath(os.path.join(root, os.fspath(path)))

    def may_read(path):
        where = full(path)
        return where in devices or (_under(where, readable) and not _under(where, hidden))

    def may_write(path):
        where = full(path)
        return where == "/dev/null" or (_under(where, writable) and not _under(where, hidden))

    refusal = refuser(blocked, BLOCKED_IMPORTS, PATH_EVENTS, "workspace", may_write, may_read)

    def check(event, args):
        if event == "object.__getattr__" and args[1] in frame_attributes and not frames_ok:
            return "%s.%s" % (type(args[0]).__name__, args[1])
        if event == "sqlite3.connect" and args[0] != ":memory:":
            return "opening a database file (the service gets its database from the host)"
        if event in ("os.listdir", "os.scandir", "os.chdir"):
            if args and isinstance(args[0], (str, bytes, os.PathLike)) and not may_read(args[0]):
                return "listing outside the workspace: %s" % (args[0],)
            return None
        return refusal(event, args)

    def hook(event, args):
        why = check(event, args)
        if why is not None:
            try:
                sys.stderr.write("REFUSED %s\n" % why)
                sys.stderr.flush()
            except Exception:
                pass
            raise Refused("refused by the sandbox: " + why)

    sys.addaudithook(hook)  # from here to exit; an audit hook cannot be removed
"""

# The service: an HTTP/1.1 keep-alive loop on the listening socket handed down, calling the
# product's ``handle``; SQL goes to the harness over the database socket.
_SERVICE = r"""
import importlib, socket

def _service():
    spec = json.loads(sys.stdin.readline())
    listener = socket.socket(fileno=spec["http_fd"])
    channel = socket.socket(fileno=spec["db_fd"])
    contain(spec)
    dbmod = importlib.import_module(spec["db_module"])

    replies = channel.makefile("rb")

    def exchange(message):
        data = json.dumps(message).encode()
        channel.sendall(len(data).to_bytes(4, "big") + data)
        head = replies.read(4)
        body = replies.read(int.from_bytes(head, "big")) if len(head) == 4 else b""
        if not body:
            raise SystemExit("the host closed the database channel")
        return json.loads(body)

    class HostDatabase:
        def execute(self, sql, params=()):
            reply = exchange({"sql": sql, "params": list(params)})
            if "error" in reply:
                raise dbmod.DatabaseError(reply["error"])
            return dbmod.Result([tuple(r) for r in reply["rows"]], reply["lastrowid"],
                                reply["rowcount"])

    db = HostDatabase()
    app = importlib.import_module(spec["app_module"])
    app.startup(db, spec["settings"])
    exchange({"op": "ready"})
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with conn:
            reader = conn.makefile("rb")
            while _serve_one(reader, conn, app, db):
                pass

def _serve_one(reader, conn, app, db):
    line = reader.readline(65537)
    if not line:
        return False
    try:
        method, target, _ = line.decode("latin-1").split(" ", 2)
    except ValueError:
        return False
    headers = {}
    while True:
        h = reader.readline(65537)
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers[name.strip()] = value.strip()
    length = headers.get("Content-Length", "0")
    if not length.isdigit() or int(length) > (1 << 21):
        return False  # framing we cannot trust: close the connection
    body = reader.read(int(length))
    try:
        status, out_headers, payload = app.handle(db, method, target, headers, body)
        status, payload = int(status), bytes(payload)
    except Exception:
        # printed by the interpreter's C code: formatting it here would need frame access
        sys.stderr.write("ERROR %s %s\n" % (method, target))
        sys.__excepthook__(*sys.exc_info())
        sys.stderr.flush()
        status, out_headers = 500, {"Content-Type": "application/json"}
        payload = b'{"error": "internal server error"}'
    head = "HTTP/1.1 %d %s\r\n" % (status, "OK" if status < 400 else "Error")
    for name, value in dict(out_headers).items():
        if name.lower() not in ("content-length", "connection"):
            head += "%s: %s\r\n" % (name, value)
    head += "Content-Length: %d\r\nConnection: keep-alive\r\n\r\n" % len(payload)
    conn.sendall(head.encode("latin-1") + payload)
    return True

_service()
"""

# The product's tests: pytest inside the workspace, with the same containment.
_TESTS = r"""
def _tests():
    spec = json.loads(sys.stdin.readline())
    import pytest  # installed code, imported before the limits (it imports subprocess)

    contain(spec)
    code = pytest.main(["-p", "no:cacheprovider", "-p", "no:faulthandler"])
    sys.stdout.flush()
    os._exit(int(code))

_tests()
"""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one contained process."""

    memory_mb: int = 512
    """Address space."""
    cpu_s: int = 3600
    """CPU seconds over the process's whole life (a service lives across many requests)."""
    fsize: int = 16 << 20
    """Largest file it may write (bytes)."""
    start_timeout_s: float = 10.0
    """Wall-clock limit for start-up (imports, creating tables)."""
    request_timeout_s: float = 10.0
    """Wall-clock limit for one request's answer; past it the service is killed (downtime)."""
    work_budget: int = 20_000
    """Counted work one request may do before its SQL is interrupted."""


class Reply(NamedTuple):
    """One request's answer. ``status`` 0 means no answer: the service is down, crashed or
    timed out. ``work`` is counted by the harness (see the module docstring)."""

    status: int
    body: Any
    work: int


def _hidden_paths() -> list[str]:
    """Never readable from contained code: palate itself (the reference fixes, the
    simulator) wherever it is installed."""
    import palate

    return [str(Path(palate.__file__).resolve().parent)]


def _readable_paths() -> list[str]:
    """The Python installation: standard library and installed packages."""
    paths = sysconfig.get_paths()
    keys = ("stdlib", "platstdlib", "purelib", "platlib")
    found = {str(Path(paths[k]).resolve()) for k in keys if k in paths}
    found.add(str(Path(sys.base_prefix).resolve() / "lib"))
    return sorted(found)


def _spec(root: Path, scratch: Path, limits: Limits, hidden: list[str]) -> dict[str, Any]:
    return {
        "root": str(root),
        "scratch": str(scratch),
        "readable": _readable_paths(),
        "hidden": [*_hidden_paths(), *hidden],
        "memory_mb": limits.memory_mb,
        "cpu_s": limits.cpu_s,
        "fsize": limits.fsize,
    }


def _contained(root: Path, scratch: Path, hidden: list[str], program: str) -> dict[str, Any]:
    """``subprocess.Popen`` arguments for a contained interpreter running ``program`` in
    ``root``, writing only to ``scratch``."""
    argv, wrapper_env = isolation.contained_command(
        root, scratch, hidden, [sys.executable, "-I", "-c", program]
    )
    home = str(scratch)
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8"}
    return {"args": argv, "cwd": root, "env": {**env, **wrapper_env}, "start_new_session": True}


class CountingDatabase:
    """The service's SQLite database, run here in the harness, counting work per statement."""

    _PRAGMAS = frozenset({"table_info", "table_xinfo", "index_list", "index_info", "foreign_keys"})

    def __init__(self, path: Path, budget: int) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.connection.execute("PRAGMA journal_mode = WAL")
        self.connection.execute("PRAGMA synchronous = OFF")
        self.connection.set_authorizer(self._authorize)
        self.connection.set_progress_handler(self._tick, STEPS_PER_TICK)
        self.budget = budget
        self.work = 0

    def _authorize(self, action: int, arg1: str | None, *_: Any) -> int:
        if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_PRAGMA and arg1 not in self._PRAGMAS:
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    def _tick(self) -> int:
        self.work += 1
        return int(self.work > self.budget)  # non-zero interrupts the statement

    def run(self, message: Any) -> dict[str, Any]:
        """One statement from the service: ``{"sql": str, "params": [scalars]}``."""
        if not isinstance(message, dict) or not isinstance(message.get("sql"), str):
            return {"error": "expected {sql, params}"}
        params = message.get("params", [])
        if not isinstance(params, list) or not all(
            v is None or isinstance(v, str | int | float) for v in params
        ):
            return {"error": "params must be a list of strings, numbers or nulls"}
        self.work += 1
        try:
            cursor = self.connection.execute(message["sql"], params)
            rows = cursor.fetchmany(10_000)
        except (sqlite3.Error, OverflowError, ValueError) as exc:
            return {"error": str(exc)}
        if any(isinstance(v, bytes) for row in rows for v in row):
            return {"error": "binary values are not supported"}
        return {"rows": rows, "lastrowid": cursor.lastrowid, "rowcount": cursor.rowcount}

    def end_request(self) -> None:
        """Whatever the request left open is rolled back: no half-done transaction stays."""
        if self.connection.in_transaction:
            self.connection.rollback()

    def close(self) -> None:
        with contextlib.suppress(sqlite3.ProgrammingError):  # already closed
            self.end_request()
        self.connection.close()


_MAX_ANSWER = 64 << 20


def _request_head(method: str, path: str, length: int, headers: Mapping[str, str]) -> bytes:
    """An HTTP/1.1 request's head; refuses what would break the framing (a harness bug)."""
    fields = [(method, path), *headers.items()]
    if any(c in text for pair in fields for text in pair for c in "\r\n") or " " in path:
        raise PalateError(f"refusing to send a malformed request: {method} {path!r}")
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    if length:
        lines.append("Content-Type: application/json")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _Connection:
    """A keep-alive HTTP/1.1 connection to the service, reading just what its answers need
    (``http.client`` parses headers with the e-mail parser: a third of a request's cost)."""

    def __init__(self, port: int, timeout_s: float) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")

    def receive(self) -> tuple[int, str, bytes]:
        """(status, content type, body) of the next answer."""
        status_line = self.reader.readline(65537)
        if not status_line:
            raise ConnectionError("the service closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length, content_type = 0, ""
        while True:
            line = self.reader.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "content-type":
                content_type = value.strip()
        if not 0 <= length <= _MAX_ANSWER:
            raise ValueError(f"answer of {length} bytes")
        data = self.reader.read(length)
        if len(data) != length:
            raise ConnectionError("the answer was cut short")
        return status, content_type, data

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


@dataclass
class Service:
    """One running version of the product, answering HTTP on a loopback port."""

    process: subprocess.Popen[bytes]
    port: int
    database: CountingDatabase
    channel: socket.socket
    limits: Limits
    _http: _Connection | None = field(default=None, repr=False)
    down_reason: str | None = None

    @property
    def alive(self) -> bool:
        return self.down_reason is None and self.process.poll() is None

    def _serve_database(self, until: socket.socket | None, deadline: float) -> str | None:
        """Answer the service's SQL until ``until`` is readable (or, with ``None``, until the
        service says it is ready). Returns why it stopped early, or None."""
        watched: list[socket.socket] = [self.channel] + ([until] if until is not None else [])
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timed out"
            ready, _, _ = select.select(watched, [], [], min(left, 0.5))
            if self.channel in ready:
                try:
                    message = _receive(self.channel)
                    if message is None:
                        return "the service exited"
                    if until is None and message == {"op": "ready"}:
                        _send(self.channel, {})
                        return None
                    _send(self.channel, self.database.run(message))
                except OSError:  # it died between asking and hearing the answer
                    return "the service exited"
                continue
            if until is not None and until in ready:
                return None
            if self.process.poll() is not None:
                return "the service exited"

    def wait_ready(self) -> str | None:
        return self._serve_database(None, time.monotonic() + self.limits.start_timeout_s)

    def request(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send one request over the keep-alive connection; ``(status, body, work)``."""
        if not self.alive:
            return Reply(0, None, 0)
        body = b"" if json_body is None else json.dumps(json_body).encode()
        head = _request_head(method, path, len(body), headers or {})
        self.database.work = 0
        try:
            if self._http is None:
                self._http = _Connection(self.port, self.limits.request_timeout_s)
            self._http.sock.sendall(head + body)
            deadline = time.monotonic() + self.limits.request_timeout_s
            why = self._serve_database(self._http.sock, deadline)
            if why is not None:
                raise TimeoutError(why)
            status, content_type, data = self._http.receive()
        except (OSError, ValueError) as exc:  # TimeoutError and ConnectionError are OSErrors
            work = self.database.work
            self.stop(f"no answer to {method} {path}: {exc}")
            return Reply(0, None, work)
        self.database.end_request()
        work = self.database.work
        parsed: Any = data.decode(errors="replace")
        if content_type.startswith("application/json"):
            with contextlib.suppress(ValueError):
                parsed = json.loads(data)
        return Reply(status, parsed, work)

    def stop(self, reason: str = "stopped") -> None:
        """Kill the whole process group and close everything; safe to call twice."""
        if self.down_reason is None:
            self.down_reason = reason
        isolation.kill_group(self.process.pid)
        self.process.wait()
        if self._http is not None:
            self._http.close()
            self._http = None
        self.channel.close()
        self.database.close()


def _send(sock: socket.socket, message: Any) -> None:
    data = json.dumps(message).encode()
    sock.sendall(struct.pack(">I", len(data)) + data)


def _receive_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(min(size - len(data), 1 << 20))
        if not chunk:
            return None
        data += chunk
    return data


def _receive(sock: socket.socket) -> Any:
    """One framed JSON message, or None when the peer closed (or sent garbage)."""
    head = _receive_exactly(sock, 4)
    if head is None:
        return None
    (size,) = struct.unpack(">I", head)
    if size > 4 << 20:
        return None
    data = _receive_exactly(sock, size)
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return {}


def start_service(
    root: Path,
    database_path: Path,
    log_path: Path,
    settings: dict[str, Any],
    *,
    scratch: Path,
    limits: Limits | None = None,
    hidden: list[str] | None = None,
    app_module: str = "teamnotes",
) -> tuple[Service | None, str]:
    """Start the product in ``root`` as a contained service. Returns the service, or None and
    why it did not come up (the tail of its log)."""
    limits = limits or Limits()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    ours, theirs = socket.socketpair()
    spec = {
        **_spec(root, scratch, limits, hidden or []),
        "allow_frames": False,
        "http_fd": listener.fileno(),
        "db_fd": theirs.fileno(),
        "settings": settings,
        "app_module": app_module,
        "db_module": f"{app_module}.db",
    }
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            **_contained(
                root, scratch, spec["hidden"], isolation.AUDIT_POLICY + _CONTAIN + _SERVICE
            ),
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=log,
            pass_fds=(listener.fileno(), theirs.fileno()),
        )
    listener.close()
    theirs.close()
    assert process.stdin is not None
    with contextlib.suppress(BrokenPipeError):  # it died at once: wait_ready says why
        process.stdin.write(json.dumps(spec).encode() + b"\n")
        process.stdin.close()
    database = CountingDatabase(database_path, limits.work_budget)
    service = Service(process, port, database, ours, limits)
    why = service.wait_ready()
    if why is not None:
        service.stop(why)
        return None, f"start-up failed ({why}): {tail(log_path)}"
    return service, "started"


@dataclass(frozen=True)
class TestRun:
    """The product's own test suite, run contained."""

    __test__ = False  # not a pytest test class, whatever its name

    ok: bool
    exit_code: int
    summary: str
    """pytest's last line, e.g. "12 passed in 0.4s", or why it did not finish."""
    output: str
    """The tail of pytest's output."""


def run_tests(
    root: Path,
    *,
    scratch: Path,
    timeout_s: float = 60.0,
    limits: Limits | None = None,
    hidden: list[str] | None = None,
) -> TestRun:
    """``pytest`` in ``root`` (the workspace), contained like the service."""
    limits = limits or Limits(cpu_s=max(1, int(timeout_s)))
    spec = {**_spec(root, scratch, limits, hidden or []), "allow_frames": True}
    options = _contained(root, scratch, spec["hidden"], isolation.AUDIT_POLICY + _CONTAIN + _TESTS)
    options["env"]["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    # output goes to a file, where the file-size limit caps it (a pipe would not)
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            **options, stdin=subprocess.PIPE, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            process.communicate(json.dumps(spec).encode() + b"\n", timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            isolation.kill_group(process.pid)
            process.wait()
        output.seek(max(0, output.seek(0, os.SEEK_END) - 8000))
        text = output.read().decode(errors="replace")
    if timed_out:
        return TestRun(False, -1, f"timed out after {timeout_s:g} s", text)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    summary = lines[-1] if lines else f"no output (exit code {process.returncode})"
    return TestRun(process.returncode == 0, process.returncode, summary, text)


def tail(path: Path, lines: int = 20, limit: int = 8000) -> str:
    """The last lines of a log file ('' when there is none)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - limit))
            data = handle.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def process_group_alive(pgid: int) -> bool:
    """Whether any process of this group still exists (for checks after stop)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


__all__ = [
    "Limits",
    "Reply",
    "Service",
    "TestRun",
    "process_group_alive",
    "run_tests",
    "start_service",
    "tail",
]
