"""Content hashes: the identity of a record is what it says, not where it came from.

Re-importing the same file therefore adds nothing, and the ledger can name any record by hash.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel


def record_dict(record: BaseModel) -> dict[str, Any]:
    """The record as plain JSON data, without empty optional fields."""
    data = record.model_dump(mode="json", exclude_none=True)
    return {k: v for k, v in data.items() if v != [] and v != {} and v is not False}


def canonical_json(data: Any) -> str:
    """Deterministic JSON: sorted keys, no insignificant whitespace, UTF-8 kept as is."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(record: BaseModel) -> str:
    """SHA-256 of the record's canonical JSON, as lowercase hex."""
    return hashlib.sha256(canonical_json(record_dict(record)).encode()).hexdigest()
