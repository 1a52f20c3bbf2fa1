"""Test helpers: run the CLI in-process, and fingerprint a store's full content."""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

import pytest

from palate.cli.app import main
from palate.store import Store


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``palate ARGS`` in this process; return (exit code, stdout, stderr)."""
    argv = sys.argv
    sys.argv = ["palate", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = argv
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run_cli(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def fingerprint(url: str) -> tuple[dict[str, int], str]:
    """Record counts per dataset and a hash over every stored record, for 'unchanged' checks."""
    store = Store(url)
    try:
        counts = {d.name: d.records for d in store.datasets()}
        digest = hashlib.sha256()
        for name in sorted(counts):
            for body in store.iter_bodies(name):
                digest.update(body.encode())
        return counts, digest.hexdigest()
    finally:
        store.close()
