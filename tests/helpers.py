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


ARENA_OUTCOME = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "tie (bothbad)": 0.5}


def arena_battles(path: Any) -> tuple[list[dict[str, Any]], list[str], dict[str, int]]:
    """Arena battles from a shared ``.jsonl.gz`` in ``num`` order, the sorted model names and
    each name's code. Both kinds of tie count as ties (``ARENA_OUTCOME``)."""
    import gzip

    with gzip.open(path, "rt") as f:
        rows = sorted((json.loads(line) for line in f), key=lambda r: r["num"])
    names = sorted({r["model_a"] for r in rows} | {r["model_b"] for r in rows})
    return rows, names, {n: k for k, n in enumerate(names)}
