"""C2SP signed notes and tlog checkpoints, with Ed25519 signatures.

Formats (https://github.com/C2SP/C2SP, signed-note.md and tlog-checkpoint.md): a note is
UTF-8 text of newline-terminated lines, then a blank line, then one line per signature:
``— <key name> <base64(key id || signature)>``. The key id is the first four bytes of
SHA-256(key name || 0x0A || 0x01 || public key), 0x01 naming Ed25519. A checkpoint's text is
the log's origin, its tree size in decimal, and its root hash in base64, one per line.
Tools that read Go's ``golang.org/x/mod/sumdb/note`` read these notes too.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from palate.errors import PalateError

ED25519 = b"\x01"
_DASH = "\u2014 "
_PRIVATE_PREFIX = "PRIVATE+KEY+"


class NoteError(PalateError):
    """A signed note or checkpoint that is malformed or does not verify."""


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


def check_key_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


@dataclass(frozen=True)
class Verifier:
    """A named Ed25519 public key, as the verifier key string of signed-note.md encodes it."""

    name: str
    public_key: bytes

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.public_key)

    def encode(self) -> str:
        return f"{self.name}+{self.id.hex()}+{base64.b64encode(ED25519 + self.public_key).decode()}"

    @classmethod
    def decode(cls, text: str) -> Verifier:
        try:
            name, hex_id, b64 = text.strip().split("+", 2)
            raw = base64.b64decode(b64, validate=True)
        except ValueError as exc:
            raise NoteError(f"not a verifier key: {text.strip()!r}") from exc
        if raw[:1] != ED25519 or len(raw) != 33:
            raise NoteError(f"verifier key {name!r} is not an Ed25519 key")
        verifier = cls(check_key_name(name), raw[1:])
        if verifier.id.hex() != hex_id:
            raise NoteError(f"verifier key {name!r}: key id does not match the key")
        return verifier


@dataclass(frozen=True)
class Signer:
    """A named Ed25519 private key."""

    name: str
    private_key: Ed25519PrivateKey

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.private_key.public_key().public_bytes_raw())

    def encode(self) -> str:
        """``PRIVATE+KEY+name+id+base64(0x01 || seed)``, as Go's note.GenerateKey writes."""
        seed = base64.b64encode(ED25519 + self.private_key.private_bytes_raw()).decode()
        return f"{_PRIVATE_PREFIX}{self.name}+{self.verifier.id.hex()}+{seed}"

    @classmethod
    def decode(cls, text: str) -> Signer:
        text = text.strip()
        try:
            if not text.startswith(_PRIVATE_PREFIX):
                raise ValueError("no PRIVATE+KEY prefix")
            name, hex_id, b64 = text[len(_PRIVATE_PREFIX) :].split("+", 2)
            raw = base64.b64decode(b64, validate=True)
            if raw[:1] != ED25519 or len(raw) != 33:
                raise ValueError("not an Ed25519 key")
            private = Ed25519PrivateKey.from_private_bytes(raw[1:])
        except ValueError as exc:
            raise NoteError(f"not a signing key ({exc})") from exc
        signer = cls(check_key_name(name), private)
        if signer.verifier.id.hex() != hex_id:
            raise NoteError("signing key: key id does not match the key")
        return signer


def sign_note(text: str, signer: Signer) -> str:
    """``text`` (newline-terminated lines) followed by its signature line."""
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("note text must be non-empty lines, each ending in a newline")
    signature = signer.private_key.sign(text.encode())
    blob = base64.b64encode(signer.verifier.id + signature).decode()
    return f"{text}\n{_DASH}{check_key_name(signer.name)} {blob}\n"


def open_note(note: str, verifier: Verifier) -> str:
    """The note's text, if it carries a valid signature by ``verifier``; else NoteError."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise NoteError("malformed note: no signature block")
    text += "\n"
    public = Ed25519PublicKey.from_public_bytes(verifier.public_key)
    for line in signatures[:-1].split("\n"):
        if not line.startswith(_DASH):
            raise NoteError(f"malformed signature line {line!r}")
        name, _, blob = line[len(_DASH) :].partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except ValueError as exc:
            raise NoteError(f"malformed signature by {name!r}") from exc
        if name != verifier.name or raw[:4] != verifier.id:
            continue
        try:
            public.verify(raw[4:], text.encode())
        except InvalidSignature as exc:
            raise NoteError(f"signature by {name!r} does not verify") from exc
        return text
    raise NoteError(f"note is not signed by key {verifier.name}+{verifier.id.hex()}")


@dataclass(frozen=True)
class Checkpoint:
    """A tlog checkpoint: the log's name, its size, and its root hash at that size."""

    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        try:
            origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
        except (IndexError, ValueError) as exc:
            raise NoteError("malformed checkpoint") from exc
        if not origin or size < 0 or len(root) != 32:
            raise NoteError("malformed checkpoint")
        return cls(origin, size, root)
