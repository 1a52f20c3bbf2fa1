"""The rubrics table: every rubric version ever added, by content hash, never edited."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, String, Table, Text, func

from palate.store.tables import metadata

rubrics = Table(
    "rubrics",
    metadata,
    Column("version", String(64), primary_key=True),  # sha256 hex of the canonical body
    Column("name", String(200), nullable=False, index=True),
    Column("body", Text, nullable=False),  # RFC 8785 canonical JSON, exactly what was hashed
    Column("source", Text, nullable=True),  # the file as the author wrote it (comments kept)
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
