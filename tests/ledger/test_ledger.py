"""The ledger in a real store (SQLite and PostgreSQL): appends, proofs, checkpoints, and
verification that names the first bad record whatever was tampered with."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from palate.errors import PalateError
from palate.io import import_file
from palate.ledger import Activity, EntityRef, Ledger, merkle
from palate.ledger.keys import load_signer
from palate.ledger.standalone_proof import verify_proof
from palate.store import Store

CONFIG = EntityRef(kind="judge-config", id="gpt4-pairwise", hash="ab" * 32)


def _battles(path: Path, n: int) -> Path:
    with path.open("w") as f:
        for i in range(n):
            row = {"question_id": f"q{i}", "model_a": "m1", "model_b": "m2",
                   "winner": ["model_a", "model_b", "tie"][i % 3]}  # fmt: skip
            f.write(json.dumps(row) + "\n")
    return path


@pytest.fixture
def ledger(store_url: str, tmp_path: Path) -> Iterator[Ledger]:
    """Six records: an import naming the rows it added, then five judge runs."""
    store = Store(store_url)
    led = Ledger(store, key_dir=tmp_path / "keys")
    import_file(store, _battles(tmp_path / "battles.jsonl", 12), fmt="arena")  # record 0
    for i in range(5):
        led.append("judge-run", agent="bot", used=[CONFIG], attributes={"run": i})
    yield led
    store.close()


def _sql(led: Ledger, sql: str, **params: Any) -> None:
    with led.store.engine.begin() as conn:
        conn.execute(text(sql), params)


def _record(led: Ledger, idx: int) -> bytes:
    with led.store.engine.connect() as conn:
        row = conn.execute(text("SELECT records FROM ledger_entries WHERE idx = :i"), {"i": idx})
        return bytes(row.scalar_one())


def _rewrite(led: Ledger, idx: int, old: bytes, new: bytes) -> None:
    """Edit a single-record row and its stored hash together, as a careful forger would."""
    body = _record(led, idx).replace(old, new)
    leaf = merkle.leaf_hash(body)
    _sql(led, "UPDATE ledger_entries SET records = :r, leaves = :l WHERE idx = :i",
         r=body, l=leaf, i=idx)  # fmt: skip


def _first_bad(led: Ledger) -> str | None:
    result = led.verify()
    assert result.ok == (result.first_bad is None)
    return result.first_bad


def test_untouched_ledger_verifies(ledger: Ledger) -> None:
    result = ledger.verify()
    assert result.ok and result.records == 6 and result.unsigned == 6
    note = ledger.checkpoint()
    assert note.split("\n")[1] == "6"
    result = ledger.verify()
    assert result.ok and result.checkpoints == 1 and result.unsigned == 0
    assert result.root == ledger.root().hex()


def test_edited_record_bytes(ledger: Ledger) -> None:
    body = _record(ledger, 2).replace(b'"run":1', b'"run":7')
    _sql(ledger, "UPDATE ledger_entries SET records = :r WHERE idx = 2", r=body)
    assert _first_bad(ledger) == "2"


def test_edited_record_with_its_hash(ledger: Ledger) -> None:
    body = _record(ledger, 2).replace(b'"run":1', b'"run":7')
    leaf = merkle.leaf_hash(body)
    _sql(
        ledger, "UPDATE ledger_entries SET records = :r, leaves = :l WHERE idx = 2", r=body, l=leaf
    )
    assert _first_bad(ledger) == "2"  # record 3 was chained to the original


def test_last_record_rewritten_is_caught_by_the_checkpoint(ledger: Ledger) -> None:
    ledger.checkpoint()
    body = _record(ledger, 5).replace(b'"run":4', b'"run":9')
    leaf = merkle.leaf_hash(body)
    _sql(
        ledger, "UPDATE ledger_entries SET records = :r, leaves = :l WHERE idx = 5", r=body, l=leaf
    )
    result = ledger.verify()
    assert not result.ok and result.first_bad == "5" and "checkpoint" in (result.reason or "")


def test_deleted_record(ledger: Ledger) -> None:
    _sql(ledger, "DELETE FROM ledger_entries WHERE idx = 3")
    assert _first_bad(ledger) == "3"


def test_deleted_last_signed_record(ledger: Ledger) -> None:
    ledger.checkpoint()
    _sql(ledger, "DELETE FROM ledger_entries WHERE idx = 5")
    assert _first_bad(ledger) == "5"


def test_reordered_records(ledger: Ledger) -> None:
    _sql(ledger, "UPDATE ledger_entries SET idx = 100 WHERE idx = 2")
    _sql(ledger, "UPDATE ledger_entries SET idx = 2 WHERE idx = 3")
    _sql(ledger, "UPDATE ledger_entries SET idx = 3 WHERE idx = 100")
    assert _first_bad(ledger) == "2"


def test_inserted_record(ledger: Ledger) -> None:
    forged = _record(ledger, 1)
    _sql(ledger, "UPDATE ledger_entries SET idx = idx + 100 WHERE idx >= 2")
    _sql(ledger, "UPDATE ledger_entries SET idx = idx - 99 WHERE idx >= 100")
    _sql(
        ledger,
        "INSERT INTO ledger_entries (idx, records, leaves, time) VALUES (2, :r, :l, 'x')",
        r=forged,
        l=merkle.leaf_hash(forged),
    )
    assert _first_bad(ledger) == "2"


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE records SET outcome = 1 - outcome, winner = 1 - winner WHERE id = 4",
        "UPDATE records SET body = REPLACE(body, '\"q3\"', '\"q9\"') WHERE id = 4",
        "DELETE FROM records WHERE id = 4",
    ],
    ids=["outcome-column", "body", "deleted-row"],
)
def test_changed_data_rows(ledger: Ledger, tamper: str) -> None:
    assert ledger.verify().ok
    _sql(ledger, tamper)
    result = ledger.verify()
    assert result.first_bad == "0", result  # the import record that named those rows


def test_checkpoint_from_another_key(ledger: Ledger, tmp_path: Path) -> None:
    ledger.checkpoint()
    assert ledger.verify().ok
    stranger = Ledger(ledger.store, key_dir=tmp_path / "other-keys")
    assert "no public key" in (stranger.verify().reason or "")
    load_signer(tmp_path / "other-keys")  # now it has a key of its own
    with pytest.raises(PalateError, match="does not verify"):
        stranger.checkpoint()  # refuses to sign: the first checkpoint is not by its key
    result = stranger.verify()
    assert not result.ok and "not signed by" in (result.reason or "")


def test_consistency_proof_between_checkpoints(ledger: Ledger) -> None:
    old = ledger.checkpoint()
    old_root = merkle.root([merkle.leaf_hash(_record(ledger, i)) for i in range(6)])
    for i in range(3):
        ledger.append("judge-run", agent="bot", used=[CONFIG], attributes={"later": i})
    proof = ledger.consistency_proof(6)
    assert old.split("\n")[1] == "6"
    assert merkle.verify_consistency(6, 9, old_root, ledger.root(), proof)
    # Rewrite history under the old checkpoint (record and stored hash together).
    _rewrite(ledger, 1, b'"run":0', b'"run":5')
    forged = ledger.consistency_proof(6)
    assert not merkle.verify_consistency(6, 9, old_root, ledger.root(), forged)
    assert _first_bad(ledger) == "1"


def test_inclusion_proof_checks_offline(ledger: Ledger) -> None:
    ledger.checkpoint()
    entry = ledger.append("judge-run", agent="bot", used=[CONFIG])
    signed = ledger.inclusion_proof("3")
    assert signed["tree_size"] == 6 and signed["checkpoint"] is not None
    assert verify_proof(json.dumps(signed))
    unsigned = ledger.inclusion_proof(entry.id[:10])
    assert unsigned["leaf_index"] == 6 and unsigned["checkpoint"] is None
    assert verify_proof(unsigned)
    assert not verify_proof({**signed, "record": unsigned["record"]})


def test_supersede_and_find(ledger: Ledger) -> None:
    first = next(ledger.entries(1, 2))
    fix = ledger.append("judge-run", agent="bot", used=[CONFIG], supersedes=first.id[:8])
    assert fix.record["supersedes"] == {"id": first.id, "index": 1}
    gone = ledger.append("retract", agent="alice", revokes="2")
    assert gone.record["revokes"]["index"] == 2
    assert ledger.verify().ok
    with pytest.raises(PalateError):
        ledger.append("judge-run", agent="bot", supersedes="99")
    assert [e.index for e in ledger.find("judge-config", "gpt4-pairwise")] == [1, 2, 3, 4, 5, 6]
    # A pointer to an earlier record is checked against that record.
    _rewrite(ledger, 7, gone.record["revokes"]["id"].encode(), b"0" * 64)
    assert _first_bad(ledger) == "7"


def _digit_prefixed(led: Ledger, n_digits: int, below: int | None = None) -> tuple[int, str]:
    """The first record whose id starts with ``n_digits`` decimal digits (as a number below
    ``below`` when given): the case where a bare reference reads both as index and prefix."""
    for entry in led.entries():
        head = entry.id[:n_digits]
        if head.isdigit() and (below is None or int(head) < below):
            return entry.index, head
    raise AssertionError("no such record: the fixed clock should have made one")


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Record ids hash the time of writing: pin it so the ids below are the same every run."""
    monkeypatch.setattr("palate.ledger.ledger._now", lambda: "2026-01-02T03:04:05.000006Z")


def test_all_digit_id_prefix_is_an_id_when_no_such_index(ledger: Ledger, fixed_clock: None) -> None:
    ledger.append_many(Activity("judge-run", agent="bot", attributes={"i": i}) for i in range(300))
    index, prefix = _digit_prefixed(ledger, 8)
    assert int(prefix) >= ledger.size()  # so it cannot be an index
    assert ledger.resolve(prefix) == index
    fix = ledger.append("judge-run", agent="bot", supersedes=prefix)
    assert fix.record["supersedes"]["index"] == index


def test_reference_that_is_both_index_and_prefix_is_refused(
    ledger: Ledger, fixed_clock: None
) -> None:
    ledger.append_many(Activity("judge-run", agent="bot", attributes={"i": i}) for i in range(3000))
    index, prefix = _digit_prefixed(ledger, 4, below=ledger.size())
    with pytest.raises(PalateError, match="ambiguous") as caught:
        ledger.resolve(prefix)
    assert f"#{int(prefix)}" in str(caught.value) and f"index {index}" in str(caught.value)
    assert ledger.resolve(f"#{int(prefix)}") == int(prefix)
    assert ledger.resolve(f"index:{int(prefix)}") == int(prefix)
    assert ledger.resolve(next(ledger.entries(index, index + 1)).id[:12]) == index


def test_index_references(ledger: Ledger) -> None:
    assert ledger.resolve("#0") == 0 and ledger.resolve("3") == 3
    for bad, message in [("#6", "no record"), ("#x", "not a record index"), ("zz", "reference")]:
        with pytest.raises(PalateError, match=message):
            ledger.resolve(bad)


def test_concurrent_appends_take_distinct_indexes(ledger: Ledger) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            led = Ledger(ledger.store, key_dir=ledger.key_dir)
            for i in range(8):
                led.append("judge-run", agent=f"w{n}", attributes={"i": i})
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    result = ledger.verify()
    assert result.ok and result.records == 6 + 32


def test_bulk_append(ledger: Ledger) -> None:
    items = (Activity("judgement", "bot", used=[CONFIG], attributes={"i": i}) for i in range(2500))
    assert ledger.append_many(items) == 2500
    ledger.checkpoint()
    assert ledger.verify().ok and ledger.size() == 2506
    assert next(ledger.entries(2505)).record["previous"] == next(ledger.entries(2504)).id
    assert ledger.inclusion_proof("1000")["leaf_index"] == 1000


def _bundle(led: Ledger, first: int) -> tuple[list[bytes], list[bytes]]:
    with led.store.engine.connect() as conn:
        row = conn.execute(
            text("SELECT records, leaves FROM ledger_entries WHERE idx = :i"), {"i": first}
        ).one()
    leaves = bytes(row[1])
    return bytes(row[0]).split(b"\n"), [leaves[i : i + 32] for i in range(0, len(leaves), 32)]


def _store_bundle(led: Ledger, first: int, bodies: list[bytes], leaves: list[bytes]) -> None:
    _sql(led, "UPDATE ledger_entries SET records = :r, leaves = :l WHERE idx = :i",
         r=b"\n".join(bodies), l=b"".join(leaves), i=first)  # fmt: skip


@pytest.mark.parametrize("how", ["bytes", "bytes-and-hash", "dropped", "swapped", "malformed"])
def test_tampering_inside_a_bulk_bundle(ledger: Ledger, how: str) -> None:
    ledger.append_many(Activity("judgement", "bot", attributes={"i": i}) for i in range(600))
    first = 6 + 256  # the second bundle of the bulk append
    bodies, leaves = _bundle(ledger, first)
    k = 10  # record first + 10
    if how == "bytes":
        bodies[k] = bodies[k].replace(b'"i":266', b'"i":267')
    elif how == "bytes-and-hash":
        bodies[k] = bodies[k].replace(b'"i":266', b'"i":267')
        leaves[k] = merkle.leaf_hash(bodies[k])
    elif how == "dropped":
        del bodies[k], leaves[k]
    elif how == "swapped":
        bodies[k], bodies[k + 1] = bodies[k + 1], bodies[k]
        leaves[k], leaves[k + 1] = leaves[k + 1], leaves[k]
    else:
        leaves = leaves[:-1]
    _store_bundle(ledger, first, bodies, leaves)
    assert _first_bad(ledger) == str(first if how == "malformed" else first + k)


def test_checkpoints_repeated_and_tampered(ledger: Ledger) -> None:
    ledger.checkpoint()
    ledger.checkpoint()  # the same size twice
    ledger.append("judge-run", agent="bot", used=[CONFIG])
    ledger.checkpoint()
    result = ledger.verify()
    assert result.ok and result.checkpoints == 3 and result.unsigned == 0
    _sql(ledger, "UPDATE ledger_checkpoints SET size = 5 WHERE size = 6")
    result = ledger.verify()
    assert result.first_bad == "0" and "differs from signed" in (result.reason or "")
