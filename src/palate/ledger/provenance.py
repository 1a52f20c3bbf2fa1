"""Provenance records (W3C PROV) and their canonical bytes.

One ledger record is one PROV *activity* (an import, a judge run, an aggregation, ...) carried
out by an *agent*, that *used* some entities and *generated* others; every generated entity
*was derived from* every used one. Entities are named by kind, id and content hash, so a
record says exactly which bytes went in and came out. Records are never edited: a later
record ``supersedes`` (corrects) or ``revokes`` (withdraws) an earlier one by its id.

The canonical form is RFC 8785 JSON. ``rfc8785`` is slow (tens of microseconds a record),
and for the values ledger records hold (strings, safe integers, booleans, null, with ASCII
keys) orjson's sorted output is byte-identical, so that is used whenever it provably applies.
"""

from __future__ import annotations

import getpass
import hashlib
import itertools
import os
from binascii import hexlify
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
import orjson
import rfc8785
from pydantic import BaseModel, ConfigDict, Field

from palate import __version__

SHA256_HEX = r"^[0-9a-f]{64}$"
_SAFE_INT = 2**53 - 1


def current_agent() -> str:
    """Who is acting: this palate version and the operating-system user running it (by uid
    in a container whose user has no name)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no $USER and no passwd entry
        user = f"uid-{os.getuid()}"
    return f"palate/{__version__} user:{user}"


class EntityRef(BaseModel):
    """A PROV entity as the ledger names it: what it is, which one, and its content hash."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = Field(
        min_length=1,
        description="Entity kind, e.g. dataset-rows, rubric, judge-config, checkpoint, eval.",
    )
    id: str = Field(min_length=1, description="Identifier within the kind (name, version, path).")
    hash: str = Field(
        pattern=SHA256_HEX,
        description="SHA-256 hex of the entity's content, or the Merkle root of its rows.",
    )


class Revision(BaseModel):
    """A pointer to an earlier ledger record, by position and id (its leaf hash)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int = Field(ge=0, description="Position of the earlier record in the ledger.")
    id: str = Field(pattern=SHA256_HEX, description="Leaf hash (hex) of the earlier record.")


class Activity(NamedTuple):
    """One record to append in bulk (``Ledger.append_many``); see ``Ledger.append``.

    A named tuple, not a dataclass: a million of them are built for one bulk append.
    """

    activity: str
    agent: str
    used: Sequence[EntityRef] = ()
    generated: Sequence[EntityRef] = ()
    attributes: Mapping[str, Any] | None = None


def ref_dict(ref: EntityRef) -> dict[str, str]:
    return {"hash": ref.hash, "id": ref.id, "kind": ref.kind}


def build_record(
    *,
    index: int,
    previous: str,
    time: str,
    activity: str,
    agent: str,
    used: Sequence[EntityRef] = (),
    generated: Sequence[EntityRef] = (),
    attributes: Mapping[str, Any] | None = None,
    supersedes: Revision | None = None,
    revokes: Revision | None = None,
) -> dict[str, Any]:
    """The record as plain JSON data.

    ``index`` and ``previous`` (the leaf hash of record ``index - 1``, empty for the first)
    chain each record to the one before, so a record rewritten together with its stored leaf
    hash is still caught by its successor.
    """
    record: dict[str, Any] = {
        "activity": activity,
        "agent": agent,
        "generated": [ref_dict(r) for r in generated],
        "index": index,
        "previous": previous,
        "time": time,
        "used": [ref_dict(r) for r in used],
    }
    if attributes:
        record["attributes"] = dict(attributes)
    if supersedes is not None:
        record["supersedes"] = {"id": supersedes.id, "index": supersedes.index}
    if revokes is not None:
        record["revokes"] = {"id": revokes.id, "index": revokes.index}
    return record


def _orjson_is_canonical(value: Any) -> bool:
    """True when orjson's sorted output equals RFC 8785 for this value (no floats, no big
    integers, ASCII keys: there the two agree byte for byte).

    Loops over the common leaf types rather than ``all(map(...))``: a bulk append runs it
    once per record, and this halves its share of the append."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -_SAFE_INT <= value <= _SAFE_INT
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                return False
            leaf = type(item)
            simple = leaf is str or leaf is bool or item is None
            if not simple and not _orjson_is_canonical(item):
                return False
        return True
    if kind is list or kind is tuple:
        return all(map(_orjson_is_canonical, value))
    return False


def canonical_record(record: Mapping[str, Any]) -> bytes:
    """RFC 8785 canonical JSON of a record built by ``build_record``.

    Only ``attributes`` can hold caller-chosen values; everything else is strings and
    integers the ledger wrote, so only it is inspected.
    """
    if record["index"] <= _SAFE_INT and _orjson_is_canonical(record.get("attributes")):
        return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    return bytes(rfc8785.dumps(record))


_ATTR_LEAVES = frozenset({str, int, bool, type(None)})
_STRICT = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
# msgspec writes a whole batch of attributes in one call, one per line (JSON has no raw
# newlines), with the same bytes as orjson's sorted output for flat values: ASCII keys in
# sorted order, RFC 8785's string escapes (\b \f \n \r \t, else lowercase \u00XX).
_LINES = msgspec.json.Encoder(order="sorted")
_ATTRIBUTES_KEY = b',"attributes":'

_Pieces = tuple[bytes, bytes, bytes, tuple["EntityRef", ...]]


def _attribute_bytes(attributes: Mapping[str, Any] | None) -> bytes | None:
    """The ``,"attributes":{...}`` piece of one record (empty without attributes), or None
    when they are not flat (strings, booleans, null and safe integers under ASCII keys),
    where only the general path is known to be RFC 8785."""
    if not attributes:
        return b""
    if type(attributes) is dict and _ATTR_LEAVES.issuperset(map(type, attributes.values())):
        try:
            if "".join(attributes).isascii():
                return _ATTRIBUTES_KEY + orjson.dumps(attributes, option=_STRICT)
        except (TypeError, orjson.JSONEncodeError):  # a non-str key, a big int
            pass
    return None


def _all_flat(batch: list[Any]) -> bool:
    """Whether every item is a dict that ``_attribute_bytes`` would find flat; each check
    is one pass in C over all the batch's keys or values."""
    if not set(map(type, batch)) <= {dict}:
        return False
    try:
        if not "".join(itertools.chain.from_iterable(batch)).isascii():
            return False
    except TypeError:  # a key that is not a string
        return False
    kinds = set(map(type, itertools.chain.from_iterable(map(dict.values, batch))))
    if not _ATTR_LEAVES.issuperset(kinds):
        return False
    try:  # orjson's strict mode refuses integers past 2**53, as RFC 8785 does
        orjson.dumps(batch, option=orjson.OPT_STRICT_INTEGER)
    except orjson.JSONEncodeError:  # such an integer, or a lone surrogate
        return False
    return True


def _batch_attribute_bytes(batch: Sequence[Mapping[str, Any] | None]) -> list[bytes | None]:
    """``_attribute_bytes`` of every record of a batch: written in one call where all are
    flat (the usual case), which costs a fraction of doing it record by record."""
    present = [a for a in batch if a]
    if not _all_flat(present):
        return [_attribute_bytes(a) for a in batch]
    lines = iter(_LINES.encode_lines(present).split(b"\n"))
    return [_ATTRIBUTES_KEY + next(lines) if a else b"" for a in batch]


class RecordChain:
    """Canonical bytes and leaf hashes of many chained records, as
    ``canonical_record(build_record(...))`` and ``merkle.leaf_hash`` give, without building
    each record as a dict: a bulk append's records share a timestamp and name the same few
    activities, agents and entities, so their bytes are a cached head, the attributes, the
    chain link and a cached tail. Only the chain link is sequential.

    The cached pieces are orjson's output for the same values, and keys are laid out in the
    sorted order canonical JSON has. Attributes that are flat (strings, booleans, null and
    safe integers under ASCII keys) are written by msgspec or orjson, whose output is then
    RFC 8785; anything else takes the general path.
    """

    def __init__(self, time: str, index: int, previous: str) -> None:
        self.time = time
        self.index = index  # of the next record
        self.previous = previous  # leaf hash (hex) of the last record
        self._time = orjson.dumps(time)
        self._pieces_of: dict[tuple[Any, ...], _Pieces] = {}

    def _pieces(
        self, activity: str, agent: str, used: Sequence[EntityRef], generated: Sequence[EntityRef]
    ) -> _Pieces:
        """The bytes before the attributes, between them and the index, and after the
        chain link, of records with these activity, agent and entities."""
        key = (activity, agent, *map(id, used), None, *map(id, generated))
        if (found := self._pieces_of.get(key)) is not None:
            return found
        head = b'{"activity":%s,"agent":%s' % (orjson.dumps(activity), orjson.dumps(agent))
        middle = b',"generated":%s,"index":' % orjson.dumps([ref_dict(r) for r in generated])
        tail = b',"time":%s,"used":%s}' % (self._time, orjson.dumps([ref_dict(r) for r in used]))
        # The refs are kept with their bytes, so the ids in the key stay theirs.
        self._pieces_of[key] = pieces = (head, middle, tail, (*used, *generated))
        return pieces

    def extend(self, activities: Iterator[Activity], limit: int) -> tuple[list[bytes], list[bytes]]:
        """The bytes and leaf hashes of the next (up to) ``limit`` records."""
        batch = list(itertools.islice(activities, limit))
        attributes = _batch_attribute_bytes([item[4] for item in batch])
        bodies: list[bytes] = []
        leaves: list[bytes] = []
        add_body, add_leaf = bodies.append, leaves.append
        index, previous = self.index, self.previous.encode()
        if index + len(batch) > _SAFE_INT:  # RFC 8785 cannot write such indexes
            attributes = [None] * len(batch)
        sha256 = hashlib.sha256
        same: tuple[Any, ...] = ()  # (activity, agent, used, generated) of ``pieces``
        pieces: _Pieces = (b"", b"", b"", ())
        for item, attrs in zip(batch, attributes, strict=True):
            if attrs is None:
                activity, agent, used, generated, values = item
                record = build_record(
                    index=index, previous=previous.decode(), time=self.time, activity=activity,
                    agent=agent, used=used, generated=generated, attributes=values,
                )  # fmt: skip
                body = canonical_record(record)
            else:
                # Consecutive records mostly name the same entities: a tuple comparison (by
                # identity first, in C) finds that faster than building the cache key.
                if item[:4] != same:
                    same = item[:4]
                    pieces = self._pieces(*same)
                body = b'%s%s%s%d,"previous":"%s"%s' % (
                    pieces[0],
                    attrs,
                    pieces[1],
                    index,
                    previous,
                    pieces[2],
                )
            leaf = sha256(b"\x00" + body).digest()
            add_body(body)
            add_leaf(leaf)
            previous = hexlify(leaf)
            index += 1
        self.index, self.previous = index, previous.decode()
        return bodies, leaves


def chain_marker(index: int, previous: str) -> bytes:
    """The exact bytes every canonical record holds for its position: its ``index`` key is
    always followed by ``previous`` (no top-level key sorts between them)."""
    return b'"index":%d,"previous":"%s"' % (index, previous.encode())


def prov_relations(record: Mapping[str, Any], record_id: str) -> dict[str, Any]:
    """The record in PROV terms (as in PROV-JSON): the activity, its agent, and the
    used / wasGeneratedBy / wasAssociatedWith / wasDerivedFrom relations between them."""
    activity = f"palate:record/{record_id}"
    agent = f"palate:agent/{record['agent']}"

    def entity(ref: Mapping[str, str]) -> str:
        return f"palate:{ref['kind']}/{ref['id']}#{ref['hash']}"

    used = [entity(r) for r in record["used"]]
    generated = [entity(r) for r in record["generated"]]
    return {
        "activity": {activity: {"prov:type": record["activity"], "prov:time": record["time"]}},
        "agent": {agent: {}},
        "entity": {e: {} for e in [*used, *generated]},
        "used": [{"prov:activity": activity, "prov:entity": e} for e in used],
        "wasGeneratedBy": [{"prov:entity": e, "prov:activity": activity} for e in generated],
        "wasAssociatedWith": [{"prov:activity": activity, "prov:agent": agent}],
        "wasDerivedFrom": [
            {"prov:generatedEntity": g, "prov:usedEntity": u, "prov:activity": activity}
            for g in generated
            for u in used
        ],
    }


def file_ref(path: Path) -> EntityRef:
    """A file (or a directory, such as a saved Hugging Face dataset) named by its path and
    content hash: SHA-256 of the bytes, or for a directory SHA-256 of the canonical JSON
    list of [relative path, SHA-256] of every file in it."""
    if path.is_dir():
        listing = [
            [p.relative_to(path).as_posix(), _sha256_file(p)]
            for p in sorted(path.rglob("*"))
            if p.is_file()
        ]
        digest = hashlib.sha256(orjson.dumps(listing)).hexdigest()
    else:
        digest = _sha256_file(path)
    return EntityRef(kind="file", id=str(path), hash=digest)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_rows_id(dataset: str, after: int, upto: int) -> str:
    """How a range of a dataset's rows is named: ``NAME#AFTER..UPTO`` (after < id <= upto)."""
    return f"{dataset}#{after}..{upto}"


def parse_dataset_rows_id(ref_id: str) -> tuple[str, int, int]:
    """(dataset, after, upto) from a ``dataset_rows_id``; ValueError if it is not one."""
    dataset, sep, span = ref_id.rpartition("#")
    after, dots, upto = span.partition("..")
    if not (sep and dots and dataset and after.isdigit() and upto.isdigit()):
        raise ValueError(f"not a dataset-rows id: {ref_id!r}")
    return dataset, int(after), int(upto)
