"""Money, randomness and the log: the deterministic core of the simulator."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from palate.errors import InputError, PalateError
from palate.saas.books import ACCOUNTS, Books
from palate.saas.events import GENESIS, EventLog, read_log
from palate.saas.market import build_market
from palate.saas.presets import PRESETS
from palate.saas.rng import stream


def test_books_balance_and_net_worth_is_assets_minus_liabilities() -> None:
    books = Books()
    books.post(0, "cash", "owner_equity", 10_000, "start")
    books.post(0, "cash", "deferred_revenue", 3_000, "billed a month ahead")
    books.post(1, "deferred_revenue", "subscription_revenue", 100, "one day earned")
    books.post(1, "compute", "cash", 40, "compute")
    assert books.balanced
    assert books.balance("cash") == 12_960
    assert books.balance("deferred_revenue") == 2_900
    # Cash collected in advance is not net worth until earned: the prepay guard.
    assert books.net_worth == 10_000 + 100 - 40
    assert set(books.balances) == set(ACCOUNTS)


@pytest.mark.parametrize(("debit", "cents"), [("nowhere", 1), ("cash", -5), ("cash", 1.5)])
def test_books_refuse_bad_postings(debit: str, cents: object) -> None:
    with pytest.raises(PalateError):
        Books().post(0, debit, "owner_equity", cents, "bad")  # type: ignore[arg-type]


def test_streams_are_sha256_of_seed_and_name() -> None:
    digest = hashlib.sha256(b"7:arrivals").digest()
    expected = random.Random(int.from_bytes(digest[:16], "big"))
    drawn = stream(7, "arrivals")
    assert [drawn.random() for _ in range(5)] == [expected.random() for _ in range(5)]
    assert stream(7, "arrivals").random() != stream(7, "attacks").random()
    assert stream(7, "arrivals").random() != stream(8, "arrivals").random()


def test_market_depends_on_the_seed_only() -> None:
    quick = PRESETS["quick"]
    one = build_market(quick, 3, ["tags"])
    assert one == build_market(quick, 3, ["tags"])
    assert one != build_market(quick, 4, ["tags"])
    assert len([c for c in one.customers if c.arrives < 0]) == quick.initial_customers
    assert one.usage(2) == build_market(quick, 3, ["tags"]).usage(2)
    # Later variants are hit only from variants_day on.
    assert "unicode_tags" not in one.scenarios_on(0)
    assert "unicode_tags" in one.scenarios_on(one.variants_day)


def test_log_chain_digest_and_roundtrip(tmp_path: Path) -> None:
    log = EventLog()
    assert log.digest == GENESIS
    log.append(0, "start", {"seed": 1})
    log.append(0, "probe", {"scenario": "notes", "verdict": "ok", "title": "Réunion"})
    path = tmp_path / "events.jsonl"
    log.write(path)
    events = read_log(path)
    assert [e.hash for e in events] == [e.hash for e in log]
    assert events[-1].hash == log.digest
    other = EventLog()
    other.append(0, "start", {"seed": 2})
    assert other.events[0].hash != log.events[0].hash


def _tamper(path: Path, line: int, edit: str) -> None:
    lines = path.read_text().splitlines()
    record = json.loads(lines[line])
    if edit == "data":
        record["data"]["seed"] = 99
    elif edit == "index":
        record["i"] = 5
    lines[line] = json.dumps(record) if edit != "garbage" else "{not json"
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("edit", "line", "message"),
    [
        ("data", 0, "line 1"),
        ("index", 1, "line 2, field 'i'"),
        ("garbage", 1, "line 2: not an event"),
    ],
)
def test_corrupt_logs_are_refused_naming_the_line(
    tmp_path: Path, edit: str, line: int, message: str
) -> None:
    log = EventLog()
    log.append(0, "start", {"seed": 1})
    log.append(0, "close", {"up": True})
    path = tmp_path / "events.jsonl"
    log.write(path)
    _tamper(path, line, edit)
    with pytest.raises(InputError, match=message):
        read_log(path)


def test_missing_and_empty_logs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such event log"):
        read_log(tmp_path / "absent.jsonl")
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(InputError, match="empty event log"):
        read_log(tmp_path / "empty.jsonl")
