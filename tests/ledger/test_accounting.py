"""Issue 19: an import's rows and its ledger record land together or not at all, and
``ledger verify`` names any data row that no record accounts for (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from palate.io import import_file
from palate.ledger import Ledger
from palate.store import Store
from palate.store.ledger_tables import ledger_entries
from palate.store.tables import datasets, records
from tests.helpers import run_cli


def _battles(path: Path, n: int, offset: int = 0) -> Path:
    with path.open("w") as f:
        for i in range(offset, offset + n):
            row = {"question_id": f"q{i}", "model_a": "m1", "model_b": "m2",
                   "winner": ["model_a", "model_b", "tie"][i % 3]}  # fmt: skip
            f.write(json.dumps(row) + "\n")
    return path


def _counts(store: Store) -> tuple[int, int, int]:
    """(datasets, data rows, ledger bundle rows) in the store."""
    with store.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (datasets, records, ledger_entries)
        )


def _copy_row_behind_the_ledger(store: Store, dataset: str, source_id: int) -> int:
    """Insert a copy of a row (with a fresh content hash) straight into ``records``."""
    columns = [c.name for c in records.columns if c.name not in ("id", "hash", "dataset_id")]
    listed = ", ".join(columns)
    with store.engine.begin() as conn:
        target = conn.execute(select(datasets.c.id).where(datasets.c.name == dataset)).scalar()
        if target is None:
            conn.execute(datasets.insert().values(name=dataset))
            target = conn.execute(select(datasets.c.id).where(datasets.c.name == dataset))
            target = target.scalar_one()
        conn.execute(
            text(
                f"INSERT INTO records (dataset_id, hash, {listed}) "
                f"SELECT :target, :hash, {listed} FROM records WHERE id = :source"
            ),
            {"target": target, "hash": "f" * 64, "source": source_id},
        )
        return int(conn.execute(select(func.max(records.c.id))).scalar_one())


@pytest.fixture
def store(store_url: str) -> Store:
    return Store(store_url)


def test_imports_account_for_every_row(store: Store, tmp_path: Path) -> None:
    import_file(store, _battles(tmp_path / "a.jsonl", 9), fmt="arena", dataset="arena")
    import_file(store, _battles(tmp_path / "b.jsonl", 9), fmt="arena", dataset="other")
    import_file(store, _battles(tmp_path / "c.jsonl", 6, offset=9), fmt="arena", dataset="arena")
    result = Ledger(store, key_dir=tmp_path / "keys").verify()
    assert result.ok and result.records == 3, result


@pytest.mark.parametrize("where", ["after-the-imports", "between-imports", "unrecorded-dataset"])
def test_a_row_written_behind_the_ledgers_back_is_named(
    store: Store, tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import_file(store, _battles(tmp_path / "a.jsonl", 9), fmt="arena", dataset="arena")
    dataset = "stray" if where == "unrecorded-dataset" else "arena"
    row_id = _copy_row_behind_the_ledger(store, dataset, source_id=3)
    if where == "between-imports":  # a later import's range starts after the stray row
        import_file(store, _battles(tmp_path / "b.jsonl", 6, offset=9), fmt="arena",
                    dataset="arena")  # fmt: skip
    result = Ledger(store, key_dir=tmp_path / "keys").verify()
    assert not result.ok
    assert result.first_bad == f"{dataset}#{row_id}", result
    assert "behind the ledger's back" in (result.reason or "")

    code, out, err = run_cli(capsys, "ledger", "verify", "--db", store.url, "--json",
                             "--key-dir", str(tmp_path / "keys"))  # fmt: skip
    assert code == 1
    assert json.loads(out)["first_bad"] == f"{dataset}#{row_id}"
    assert f"row {row_id} of dataset '{dataset}'" in err and len(err.strip().splitlines()) == 1


def test_an_import_whose_record_fails_leaves_nothing(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_file(store, _battles(tmp_path / "a.jsonl", 9), fmt="arena", dataset="arena")
    before = _counts(store)

    def fail(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the ledger write failed")

    monkeypatch.setattr(Ledger, "append", fail)
    with pytest.raises(RuntimeError, match="ledger write failed"):
        import_file(store, _battles(tmp_path / "b.jsonl", 6, offset=9), fmt="arena",
                    dataset="new")  # fmt: skip
    assert _counts(store) == before
    monkeypatch.undo()
    assert Ledger(store, key_dir=tmp_path / "keys").verify().ok


# The real import, killed (SIGKILL: no cleanup of any kind) after its rows are written and
# before its ledger record is.
_KILLED_IMPORT = """
import os, signal, sys
from pathlib import Path
from palate.io import import_file
from palate.ledger import Ledger
from palate.store import Store

def die(*args, **kwargs):
    print("rows written", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

Ledger.append = die
import_file(Store(sys.argv[1]), Path(sys.argv[2]), fmt="arena", dataset="arena")
"""


def test_an_import_killed_between_rows_and_record_leaves_neither(
    store: Store, tmp_path: Path
) -> None:
    import_file(store, _battles(tmp_path / "a.jsonl", 9), fmt="arena", dataset="arena")
    before = _counts(store)
    data = _battles(tmp_path / "b.jsonl", 500, offset=9)
    killed = subprocess.run([sys.executable, "-c", _KILLED_IMPORT, store.url, str(data)],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert killed.returncode == -9 and "rows written" in killed.stdout, killed.stderr
    assert _counts(store) == before
    assert Ledger(store, key_dir=tmp_path / "keys").verify().ok
    # ... and the store is not left locked: the next import goes through and verifies.
    import_file(store, data, fmt="arena", dataset="arena")
    assert _counts(store)[1] == before[1] + 500
    assert Ledger(store, key_dir=tmp_path / "keys").verify().ok


def test_judge_run_batches_are_written_with_their_record(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from palate.judges.run import write_batch
    from palate.schema import Comparison

    import_file(store, _battles(tmp_path / "a.jsonl", 12), fmt="arena", dataset="arena")
    judged = [r for r in store.iter_records("arena") if isinstance(r, Comparison)]
    assert write_batch(store, "arena.judged", judged[:6], "scripted") == 6
    assert write_batch(store, "arena.judged", judged[:6], "scripted") == 0  # nothing new
    ledger = Ledger(store, key_dir=tmp_path / "keys")
    assert ledger.verify().ok and ledger.size() == 3  # the import and both batches

    def fail(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the ledger write failed")

    before = _counts(store)
    monkeypatch.setattr(Ledger, "append", fail)
    with pytest.raises(RuntimeError):
        write_batch(store, "arena.judged", judged[6:], "scripted")
    monkeypatch.undo()
    assert _counts(store) == before
    assert ledger.verify().ok
