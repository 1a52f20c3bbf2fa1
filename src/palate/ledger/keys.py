"""The ledger's signing key: made on first use, kept private, refused when it is not.

Keys live in ``$PALATE_KEY_DIR``, else ``~/.config/palate/keys``: ``NAME.key`` (mode 0600,
signed-note's ``PRIVATE+KEY+name+id+base64`` encoding) and ``NAME.pub`` (the verifier key
string, safe to share with whoever checks checkpoints).
"""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from palate.errors import PalateError
from palate.ledger.note import NoteError, Signer, Verifier, check_key_name

KEY_DIR_ENV = "PALATE_KEY_DIR"
DEFAULT_KEY_NAME = "palate-ledger"


def key_dir(explicit: Path | None = None) -> Path:
    if explicit is not None:
        found = explicit
    elif env := os.environ.get(KEY_DIR_ENV):
        found = Path(env)
    else:
        return Path.home() / ".config" / "palate" / "keys"
    if found.exists() and not found.is_dir():
        raise PalateError(f"key folder {found} is a file; give the folder that holds the keys")
    return found


def _read_private(path: Path) -> Signer:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise PalateError(
            f"{path}: private key is accessible to other users (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {path}"
        )
    try:
        return Signer.decode(path.read_text())
    except NoteError as exc:
        raise PalateError(f"{path}: {exc}") from exc


def load_signer(directory: Path, name: str = DEFAULT_KEY_NAME) -> Signer:
    """The named signing key, made now if it does not exist yet (safe against a race)."""
    check_key_name(name)
    path = directory / f"{name}.key"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        signer = Signer(name, Ed25519PrivateKey.generate())
        # Written to a private temporary file, then linked into place: a reader never sees
        # a half-written key, and of two racing processes the first link wins.
        tmp = directory / f".{name}.key.{uuid.uuid4().hex}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(signer.encode() + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            pub_tmp = directory / f".{name}.pub.{uuid.uuid4().hex}"
            pub_tmp.write_text(signer.verifier.encode() + "\n")
            pub_tmp.replace(directory / f"{name}.pub")
        finally:
            tmp.unlink()
    return _read_private(path)


def load_verifier(directory: Path, name: str = DEFAULT_KEY_NAME) -> Verifier | None:
    """The named public key, from ``NAME.pub`` (or derived from ``NAME.key``); None if
    neither exists."""
    public = directory / f"{name}.pub"
    if public.exists():
        try:
            return Verifier.decode(public.read_text())
        except NoteError as exc:
            raise PalateError(f"{public}: {exc}") from exc
    if (directory / f"{name}.key").exists():
        return _read_private(directory / f"{name}.key").verifier
    return None
