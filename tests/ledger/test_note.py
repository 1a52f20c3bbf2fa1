"""Signed notes and keys: byte-exact with Go's golang.org/x/mod/sumdb/note, and strict."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from palate.errors import PalateError
from palate.ledger.keys import load_signer, load_verifier
from palate.ledger.note import Checkpoint, NoteError, Signer, Verifier, open_note, sign_note

# The example key pair and signed note of golang.org/x/mod/sumdb/note (note_test.go).
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZ"
    "SNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_matches_go_reference_note() -> None:
    signer = Signer.decode(GO_SKEY)
    assert signer.encode() == GO_SKEY
    assert signer.verifier.encode() == GO_VKEY
    assert Verifier.decode(GO_VKEY) == signer.verifier
    assert sign_note(GO_TEXT, signer) == GO_TEXT + "\n" + GO_SIG  # Ed25519 is deterministic
    assert open_note(GO_TEXT + "\n" + GO_SIG, Verifier.decode(GO_VKEY)) == GO_TEXT


def test_tampered_or_foreign_notes_do_not_open(tmp_path: Path) -> None:
    note = GO_TEXT + "\n" + GO_SIG
    with pytest.raises(NoteError, match="does not verify"):
        open_note(note.replace("cryptography", "cryptographY"), Verifier.decode(GO_VKEY))
    other = load_signer(tmp_path, "PeterNeumann")  # same name, another key
    with pytest.raises(NoteError, match="not signed by"):
        open_note(note, other.verifier)
    with pytest.raises(NoteError):
        Verifier.decode(GO_VKEY.replace("c74f20a3", "c74f20a4"))


def test_checkpoint_text_round_trips() -> None:
    cp = Checkpoint("palate.ledger/abc", 42, bytes(range(32)))
    assert cp.text() == "palate.ledger/abc\n42\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
    assert Checkpoint.parse(cp.text()) == cp
    with pytest.raises(NoteError):
        Checkpoint.parse("origin\nnot-a-number\nAAAA\n")


def test_key_made_on_first_use_private_and_stable(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    assert load_verifier(keys) is None
    signer = load_signer(keys)
    assert (keys / "palate-ledger.key").stat().st_mode & 0o777 == 0o600
    assert load_signer(keys).verifier == signer.verifier
    assert load_verifier(keys) == signer.verifier


def test_refuses_private_key_readable_by_others(tmp_path: Path) -> None:
    load_signer(tmp_path)
    os.chmod(tmp_path / "palate-ledger.key", 0o644)
    with pytest.raises(PalateError, match="accessible to other users"):
        load_signer(tmp_path)
