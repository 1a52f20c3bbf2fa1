"""The database tables, as SQLAlchemy Core metadata.

One wide ``records`` table holds every canonical record: the full record as canonical JSON in
``body`` (lossless), plus the few columns statistics filter and aggregate on, so that ranking a
million comparisons never has to parse JSON.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)

metadata = MetaData()

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

records = Table(
    "records",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id"), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("item", Text, nullable=False),
    Column("model_a", Text),
    Column("model_b", Text),
    Column("length_a", Integer),  # characters of responses[0]/[1] text, for length control
    Column("length_b", Integer),
    Column("outcome", Float),  # for responses[0] vs [1]: 1 win, 0 loss, 0.5 tie, None unscored
    Column("winner", SmallInteger),
    Column("tie", Boolean, nullable=False),
    Column("label", Text),
    Column("score", Float),
    Column("source_kind", String(16), nullable=False),
    Column("source_name", Text, nullable=False),
    Column("dimension", Text),
    Column("unscored", Boolean, nullable=False),
    # Texts of a plain two-response comparison (see ``pair_texts``), so training sets are
    # read from columns; NULL for other records. ``body`` stays the source of truth.
    Column("prompt_text", Text),
    Column("text_a", Text),
    Column("text_b", Text),
    Column("body", Text, nullable=False),
    UniqueConstraint("dataset_id", "hash", name="uq_records_dataset_hash"),
)

Index("ix_records_dataset_id_id", records.c.dataset_id, records.c.id)

PairTexts = tuple[str | None, str | None, str | None]


def pair_texts(data: dict[str, Any]) -> PairTexts:
    """(prompt, responses[0], responses[1]) texts of a record's canonical JSON data, when it
    is a comparison of exactly two responses given as plain text, without a ranking or
    messages; else (None, None, None). Used on import and by the migration's backfill."""
    responses = data.get("responses")
    prompt = data.get("prompt")
    if data.get("kind") != "comparison" or "ranking" in data or not prompt or not responses:
        return None, None, None
    parts = [prompt, *responses]
    if len(responses) != 2 or any("messages" in p or "text" not in p for p in parts):
        return None, None, None
    return prompt["text"], responses[0]["text"], responses[1]["text"]


# Column order used by the bulk insert paths (everything but the autoincrement id).
RECORD_COLUMNS: tuple[str, ...] = tuple(c.name for c in records.columns if c.name != "id")
