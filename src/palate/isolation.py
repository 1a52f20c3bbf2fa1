"""Kernel-side containment of untrusted code, shared by the code verifier
(``palate.judges.verifier``) and the SaaS harness's product sandbox (``palate.saas.sandbox``).

Both run the untrusted code in an isolated interpreter whose own bootstrap adds resource limits
and an audit hook, built from one policy written here (``AUDIT_POLICY``); this module also adds
what the kernel can enforce underneath: a new user and
network namespace (``unshare -rn``: no network at all) and, where mounts are allowed, a mount
namespace in which chosen directories are hidden and every file system but one working
directory is read-only. Each falls back to less where this kernel refuses it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def unshare_prefix() -> tuple[str, ...]:
    """``unshare -rn`` (a new user and network namespace) when this kernel allows it."""
    tool = shutil.which("unshare")
    if tool is None:
        return ()
    try:
        ok = subprocess.run([tool, "-rn", "true"], capture_output=True, timeout=10).returncode
    except (OSError, subprocess.SubprocessError):
        return ()
    return (tool, "-rn") if ok == 0 else ()


def kill_group(pgid: int) -> None:
    """SIGKILL a whole process group (gone already is fine)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


SCRATCH_MB = 64
"""Size of the private scratch file system, the only place contained code may write."""

# Runs as root of a new user, network and mount namespace, before the command: hides the given
# directories under empty read-only tmpfs mounts, makes every file system read-only and mounts a
# small private tmpfs on the scratch directory. Arguments: the working directory, the scratch
# directory, the number of hidden directories, the directories, then the command.
_NAMESPACE = r"""
set -e
workdir="$1"; scratch="$2"; count="$3"; shift 3
while [ "$count" -gt 0 ]; do
    mount -t tmpfs -o ro,size=4k,mode=0555 palate-hidden "$1"
    shift; count=$((count - 1))
done
while read -r _ point _ options _; do
    case "$point:$options" in
        *:ro,*|/proc*|/sys*) ;;
        *) mount -o remount,bind,ro "$point" 2>/dev/null || true ;;
    esac
done < /proc/self/mounts
mount -t tmpfs -o "size=${SCRATCH_MB}m,mode=0700" palate-scratch "$scratch"
cd "$workdir"
exec "$@"
"""


@lru_cache(maxsize=1)
def namespaces_work() -> bool:
    """Whether this kernel lets us make user, network and mount namespaces and hide a
    directory (palate's own package, as every contained run does) under tmpfs."""
    tool = shutil.which("unshare")
    if tool is None:
        return False
    package = str(Path(__file__).resolve().parent)  # always hidden from contained code
    with tempfile.TemporaryDirectory(prefix="palate-ns-") as probe:
        try:
            done = subprocess.run(
                [tool, "-rnm", "sh", "-c", _NAMESPACE, "sh", probe, probe, "1", package, "true"],
                capture_output=True,
                timeout=10,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SCRATCH_MB": "1"},
            )
        except (OSError, subprocess.SubprocessError):
            return False
    return done.returncode == 0


def contained_command(
    workdir: Path, scratch: Path, hidden: Sequence[str | Path], command: Sequence[str]
) -> tuple[list[str], dict[str, str]]:
    """``command`` wrapped in as much kernel containment as this machine allows, and the
    environment variables that wrapping needs.

    With a mount namespace: ``hidden`` directories are empty, every file system is read-only,
    ``workdir`` included, and ``scratch`` is a private tmpfs of ``SCRATCH_MB``, the only
    writable place. Without one: at least no network (``unshare -rn``), or nothing; the
    interpreter's audit hook then stands alone (and ``scratch`` is the real directory).
    """
    if not namespaces_work():
        return [*unshare_prefix(), *command], {}
    dirs = [str(h) for h in hidden if Path(h).is_dir()]
    wrapper = ["unshare", "-rnm", "sh", "-c", _NAMESPACE, "sh", str(workdir), str(scratch)]
    return [*wrapper, str(len(dirs)), *dirs, *command], {"SCRATCH_MB": str(SCRATCH_MB)}


# Python source each contained bootstrap starts with, so both share one policy: ``set_limits``
# applies a spec's resource limits; ``refuser`` builds the check an audit hook calls (PEP 578),
# which says why an event is refused or returns None. ``_posixsubprocess`` forks without an
# audit event, so the modules that reach it are refused at import.
AUDIT_POLICY = r"""
import os, resource

def set_limits(spec):
    mb = spec["memory_mb"] * 1024 * 1024
    for limit, value in ((resource.RLIMIT_AS, mb), (resource.RLIMIT_CPU, spec["cpu_s"]),
                         (resource.RLIMIT_FSIZE, spec["fsize"]), (resource.RLIMIT_CORE, 0),
                         (resource.RLIMIT_NOFILE, 64), (resource.RLIMIT_NPROC, 0)):
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            pass

BLOCKED_IMPORTS = ("_posixsubprocess", "_ctypes", "ctypes", "multiprocessing",
                   "_multiprocessing")
PATH_EVENTS = ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown",
               "os.link", "os.symlink", "os.truncate", "os.utime", "shutil.rmtree",
               "shutil.copyfile", "shutil.move", "shutil.copytree", "os.chroot")

def refuser(blocked, blocked_imports, path_events, where, may_write, may_read=None):
    def refusal(event, args):
        if event.startswith(blocked):
            return event
        if event == "import" and args[0].split(".")[0] in blocked_imports:
            return "import " + args[0]
        if event == "open":
            path, mode, flags = args
            if not isinstance(path, (str, bytes, os.PathLike)):
                return None
            writing = (mode is not None and any(c in str(mode) for c in "wax+")) or (
                isinstance(flags, int)
                and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
            if writing and not may_write(path):
                return "write outside the %s: %s" % (where, path)
            if not writing and may_read is not None and not may_read(path):
                return "read outside the %s: %s" % (where, path)
        elif event in path_events:
            for arg in args:
                if isinstance(arg, (str, bytes, os.PathLike)) and not may_write(arg):
                    return "%s outside the %s: %s" % (event, where, arg)
        return None

    return refusal
"""
