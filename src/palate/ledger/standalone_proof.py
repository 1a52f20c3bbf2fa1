"""Checking a ledger inclusion proof offline, with nothing but the Python standard library.

Copy this file anywhere: ``python standalone_proof.py PROOF.json`` prints whether the record
in the proof is in the ledger tree of the stated size and root (RFC 9162 §2.1.3.2). If the
proof carries a signed checkpoint, its size and root must be the ones the proof uses; the
signature itself needs an Ed25519 library (``palate ledger verify`` checks it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from typing import Any


def verify_proof(proof: dict[str, Any] | str) -> bool:
    """True if ``proof`` (``palate ledger proof`` output) shows its record in its tree."""
    data = json.loads(proof) if isinstance(proof, str) else proof
    try:
        index, size = int(data["leaf_index"]), int(data["tree_size"])
        root = bytes.fromhex(data["root_hash"])
        path = [bytes.fromhex(h) for h in data["inclusion_path"]]
        record = data["record"].encode("utf-8")
    except (KeyError, TypeError, ValueError):
        return False
    note = data.get("checkpoint")
    if note is not None:
        lines = note.split("\n")
        if len(lines) < 3 or lines[1] != str(size) or lines[2] != base64.b64encode(root).decode():
            return False
    if not 0 <= index < size:
        return False
    node = hashlib.sha256(b"\x00" + record).digest()
    fn, sn = index, size - 1
    for sibling in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            node = hashlib.sha256(b"\x01" + sibling + node).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            node = hashlib.sha256(b"\x01" + node + sibling).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and node == root


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        ok = verify_proof(f.read())
    print("proof verifies" if ok else "proof does NOT verify")
    sys.exit(0 if ok else 1)
