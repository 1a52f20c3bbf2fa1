"""Canonical bytes are RFC 8785 (checked against the ``rfc8785`` package), PROV relations,
and verify's per-kind entity checkers."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
import rfc8785

from palate.ledger import Activity, EntityRef, Ledger
from palate.ledger.provenance import (
    RecordChain,
    build_record,
    canonical_record,
    chain_marker,
    prov_relations,
)
from palate.ledger.verify import CHECKERS, verify_ledger
from palate.store import Store

REF = EntityRef(kind="rubric", id="r1", hash="cd" * 32)


def _random_value(rng: random.Random, depth: int = 0) -> object:
    pick = rng.randrange(7 if depth < 3 else 4)
    if pick == 0:
        return "".join(chr(rng.choice([rng.randrange(0, 0x80), rng.randrange(0x80, 0x3000),
                                       rng.randrange(0x10000, 0x10FFFF)]))
                       for _ in range(rng.randrange(6)))  # fmt: skip
    if pick == 1:
        return rng.randrange(-(2**53) + 1, 2**53)
    if pick == 2:
        return rng.choice([True, False, None])
    if pick == 3:
        return rng.choice([0.1, 1.0, 1e21, -2.5e-7, 123456.789, 5e-324])
    if pick == 4:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    keys = [str(_random_value(rng, 3)) for _ in range(rng.randrange(4))]
    return {k: _random_value(rng, depth + 1) for k in keys}


def test_canonical_bytes_are_rfc8785() -> None:
    rng = random.Random(11)
    for i in range(400):
        attributes = {f"k{j}": _random_value(rng) for j in range(rng.randrange(4))}
        record = build_record(index=i, previous="ab" * 32, time="2026-11-23T00:00:00Z",
                              activity="judge-run", agent="bot\u2028\x01", used=[REF],
                              attributes=attributes)  # fmt: skip
        body = canonical_record(record)
        assert body == rfc8785.dumps(record)
        assert b"\n" not in body  # bundles join records with newlines
        assert chain_marker(i, "ab" * 32) in body


def test_prov_relations() -> None:
    data = EntityRef(kind="dataset-rows", id="d#0..5", hash="ef" * 32)
    record = build_record(index=0, previous="", time="t", activity="judge-run", agent="bot",
                          used=[REF], generated=[data])  # fmt: skip
    prov = prov_relations(record, "00" * 32)
    assert prov["wasDerivedFrom"] == [
        {
            "prov:generatedEntity": f"palate:dataset-rows/d#0..5#{'ef' * 32}",
            "prov:usedEntity": f"palate:rubric/r1#{'cd' * 32}",
            "prov:activity": f"palate:record/{'00' * 32}",
        }
    ]
    assert prov["wasAssociatedWith"][0]["prov:agent"] == "palate:agent/bot"


def test_a_new_entity_kind_is_checked_by_adding_a_function(tmp_path: Path) -> None:
    """Files, say: a checker that re-hashes the file (palate does not ship it: a user's
    own file changing later is not tampering with the ledger)."""
    data = tmp_path / "judge.yaml"
    data.write_text("model: gpt-4o-mini\n")

    def check_file(_store: Store, ref: EntityRef) -> str | None:
        actual = hashlib.sha256(Path(ref.id).read_bytes()).hexdigest()
        return None if actual == ref.hash else f"file {ref.id} changed"

    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    ledger = Ledger(store)
    ledger.append("noop", agent="a")
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    ledger.append("judge-run", agent="a", used=[EntityRef(kind="file", id=str(data), hash=digest)])
    checkers = {**CHECKERS, "file": check_file}
    assert verify_ledger(store, None, checkers).ok
    data.write_text("model: gpt-4o\n")
    result = verify_ledger(store, None, checkers)
    assert (result.ok, result.first_bad) == (False, "1")
    assert "changed" in (result.reason or "")


def test_bulk_chain_bytes_equal_the_general_path() -> None:
    """``RecordChain`` (bulk appends) writes exactly ``canonical_record(build_record(...))``
    and chains leaf hashes, for flat attributes (its fast path) and for every other kind."""
    rng = random.Random(5)
    other = EntityRef(kind="dataset-rows", id="d#0..5", hash="ef" * 32)
    used_choices: list[tuple[EntityRef, ...]] = [(), (REF,), (REF, other)]
    items = []
    for i in range(600):
        flat = {f"k{j}": rng.choice(["x\u2028y", "é", 7, -(2**53) + 1, True, None])
                for j in range(rng.randrange(4))}  # fmt: skip
        attributes = flat if i % 2 else {f"k{j}": _random_value(rng) for j in range(3)}
        if i % 7 == 0:
            attributes = {"big": 2**53 - 1, "é-key": "v"} if i % 14 else {"n": {"x": 1}}
        activity, agent = rng.choice(["judge-run", "import"]), rng.choice(["bot", "pers\u00f6n"])
        used, generated = list(rng.choice(used_choices)), rng.choice(used_choices)
        items.append(Activity(activity, agent, used, generated, attributes or None))
    time = "2026-11-23T00:00:00.000001Z"
    chain = RecordChain(time, 40, "ab" * 32)
    bodies, leaves = chain.extend(iter(items), 500)
    assert len(bodies) == 500 and chain.index == 540
    previous = "ab" * 32
    for i, (item, body, leaf) in enumerate(zip(items, bodies, leaves, strict=False)):
        record = build_record(index=40 + i, previous=previous, time=time, activity=item.activity,
                              agent=item.agent, used=item.used, generated=item.generated,
                              attributes=item.attributes)  # fmt: skip
        assert body == rfc8785.dumps(record) == canonical_record(record)
        assert leaf == hashlib.sha256(b"\x00" + body).digest()
        previous = leaf.hex()
    assert chain.previous == previous
    rest, _ = chain.extend(iter(items[500:]), 500)
    assert len(rest) == 100 and chain.index == 640


ADVERSARIAL_STRINGS = [
    "".join(map(chr, range(0x20))),  # every control character: \b \f \n \r \t, else \u00XX
    '"quoted" \\back\\slash/ \x7f',
    "\u2028\u2029 é \ud7ff \ue000 \uffff",
    "\U0001f600 \U0010ffff",  # outside the BMP: raw UTF-8, never surrogate pairs
    '},{"k":1}\n{',  # what batch output is split at, inside a string
    "",
]


def _flat(rng: random.Random) -> dict[str, object] | None:
    values = [*ADVERSARIAL_STRINGS, 0, -1, 2**53 - 1, -(2**53) + 1, True, False, None]
    keys = ["k", "K", "_", "a b", "~", "\x01", '"', "\\", "0", "z" * 20]
    attributes = {rng.choice(keys): rng.choice(values) for _ in range(rng.randrange(5))}
    return attributes if attributes or rng.random() < 0.5 else None  # {} and None: no key


def _assert_chain_is_rfc8785(items: list[Activity]) -> None:
    time = "2026-11-23T00:00:00.000001Z"
    chain = RecordChain(time, 0, "")
    bodies, leaves = chain.extend(iter(items), len(items))
    previous = ""
    for i, (item, body, leaf) in enumerate(zip(items, bodies, leaves, strict=True)):
        record = build_record(index=i, previous=previous, time=time, activity=item.activity,
                              agent=item.agent, used=item.used, generated=item.generated,
                              attributes=item.attributes)  # fmt: skip
        assert body == rfc8785.dumps(record), (i, item.attributes)
        previous = leaf.hex()


def test_bulk_chain_batch_attributes_are_rfc8785() -> None:
    """A batch whose attributes are all flat is written in one call (the fast path); its
    bytes are RFC 8785 for adversarial strings and keys and integers at the 2**53 edge.
    One value that is not flat anywhere in the batch (a float, an integer past 2**53, a
    non-ASCII key, a nested value) still gives RFC 8785 for every record; and what RFC 8785
    cannot write (an integer past 2**53, a non-string key) is refused."""
    rng = random.Random(7)
    items = [Activity("judge-run", "bot", [REF], (), _flat(rng)) for _ in range(300)]
    _assert_chain_is_rfc8785(items)
    spoiled = list(items)
    for odd in [{"f": 1e21}, {"é": 1}, {"n": {"b": 1, "a": [0.5]}}, {"l": []}]:
        spoiled[150] = Activity("judge-run", "bot", [REF], (), odd)
        _assert_chain_is_rfc8785(spoiled)
    for refused in [{"big": 2**53}, {"small": -(2**53)}, {3: "x"}]:
        spoiled[150] = Activity("judge-run", "bot", [REF], (), refused)
        with pytest.raises(rfc8785.CanonicalizationError):
            RecordChain("t", 0, "").extend(iter(spoiled), len(spoiled))
