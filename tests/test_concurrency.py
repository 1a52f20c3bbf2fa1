"""Two processes importing into one store at the same time both succeed and lose nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from palate.store import Store


def test_two_concurrent_imports(store_url: str, shared_data: Path) -> None:
    Store(store_url).close()  # create the schema first, as any earlier command would
    files = [
        shared_data / "arena/human.jsonl.gz",
        shared_data / "arena/gpt-4-0125-preview.jsonl.gz",
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "palate", "import", str(f), "--db", store_url, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in files
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    counts = {d.name: d.records for d in Store(store_url).datasets()}
    assert counts == {"human": 26919, "gpt-4-0125-preview": 26919}


def test_two_concurrent_imports_on_a_new_store(tmp_path: Path, shared_data: Path) -> None:
    """Even the first migration may race: both processes open a database that does not exist."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    files = [shared_data / "crowd/rte.csv", shared_data / "crowd/temp.csv"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "palate", "import", str(f), "--db", url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in files
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    counts = {d.name: d.records for d in Store(url).datasets()}
    assert counts == {"rte": 8000, "temp": 4620}
