"""Where an export lands, and what it may replace there.

An export never destroys what it did not create. A writable regular file is replaced
atomically (the new file is renamed over it). Anything else at the path (a read-only file
too) is refused unless the user passes ``force``, and even then: a directory is replaced
only if it is a previous export of the same format (it holds our mark), a symbolic link is
followed to its target, and a device or pipe is written through (opened and written to,
never replaced by a file). Missing folders above the path are created, and removed again if
the export fails.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from palate.errors import PalateError
from palate.io.readers import special_kind

MARK = ".palate-export.json"
"""A file in every directory export, saying which format wrote it."""


def previous_export(path: Path) -> str | None:
    """The format of the palate export in directory ``path``; None if it is not one."""
    try:
        return str(json.loads((path / MARK).read_text(encoding="utf-8"))["format"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextmanager
def export_destination(out: Path, fmt: str, *, is_directory: bool, force: bool) -> Iterator[Path]:
    """Yield a fresh temporary path to write the export to; on success, put it at ``out``.

    Every refusal is raised before the caller writes anything. If the caller fails, ``out``
    is left as it was."""
    target, write_through = _check(out, fmt, is_directory=is_directory, force=force)
    created: list[Path] = []
    if write_through:
        parent = Path(tempfile.mkdtemp(prefix="palate-export-"))
    else:
        created = _make_folders(target.parent)
        parent = Path(tempfile.mkdtemp(prefix=".palate-export-", dir=target.parent))
    tmp = parent / target.name
    try:
        yield tmp
        if write_through:
            with tmp.open("rb") as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink)
        elif is_directory:
            (tmp / MARK).write_text(json.dumps({"format": fmt}), encoding="utf-8")
            _replace_directory(tmp, target, parent)
        else:
            if target.is_dir():  # made by someone else while we wrote: never remove it
                raise PalateError(f"{target}: became a directory while exporting; not replaced")
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(parent, ignore_errors=True)
        for folder in reversed(created):  # a failed export leaves no folders behind either
            with suppress(OSError):
                folder.rmdir()  # only if empty: never what someone else put there meanwhile
        raise
    shutil.rmtree(parent, ignore_errors=True)


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and the missing folders above it; return those created, outermost
    first. A file where a folder must be is a clear error."""
    missing = []
    for path in (folder, *folder.parents):
        if path.is_dir():
            break
        if os.path.lexists(path):
            raise PalateError(f"{path}: is not a folder, so nothing can be written under it")
        missing.append(path)
    missing.reverse()
    for path in missing:
        path.mkdir(exist_ok=True)
    return missing


def _check(out: Path, fmt: str, *, is_directory: bool, force: bool) -> tuple[Path, bool]:
    """The path to write (``out``, or a symlink's target) and whether to write through."""
    try:
        mode = os.lstat(out).st_mode
    except (FileNotFoundError, NotADirectoryError):  # new (folders made by _make_folders)
        return out, False
    if stat.S_ISLNK(mode):
        target = out.resolve()
        if not force:
            raise PalateError(
                f"{out}: is a symbolic link to {target}; pass --force to write to {target}"
            )
        return _check(target, fmt, is_directory=is_directory, force=force)
    if stat.S_ISREG(mode):
        if is_directory and not force:
            raise PalateError(
                f"{out}: is a file and {fmt} exports a directory; pass --force to replace it"
            )
        if not mode & 0o222 and not force:  # mode bits, not access(): root may write anything
            raise PalateError(f"{out}: is read-only; pass --force to replace it")
        return out, False
    if stat.S_ISDIR(mode):
        found = previous_export(out)
        if found == fmt and is_directory:
            if not force:
                raise PalateError(
                    f"{out}: holds a previous {fmt} export; pass --force to replace it"
                )
            return out, False
        what = f"a {found} export" if found else "a directory palate did not write"
        raise PalateError(
            f"{out}: is {what}; palate replaces only its own {fmt} exports "
            f"(give a new path{' for this format' if found else ''})"
        )
    kind = special_kind(mode)
    if is_directory or kind == "socket":
        raise PalateError(f"{out}: is a {kind}; {fmt} cannot be written to one")
    if not force:
        raise PalateError(f"{out}: is a {kind}; pass --force to write the export into it")
    return out, True


def _replace_directory(new: Path, target: Path, scratch: Path) -> None:
    """Move ``new`` to ``target``, replacing a previous export there (checked by ``_check``)."""
    if not target.exists():
        os.replace(new, target)
        return
    if target.is_dir():
        old = scratch / "previous"
        os.replace(target, old)  # removed with the scratch folder
        os.replace(new, target)
        return
    target.unlink()  # a regular file, which the user forced us to replace
    os.replace(new, target)
