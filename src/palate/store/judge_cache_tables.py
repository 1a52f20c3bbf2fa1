"""The judge call cache table: one row per completed model call, keyed by its content hash.

A row is what the endpoint answered (text, logprobs, usage, latency), never the request's
headers, so no API key can reach the database. ``judge`` (the judge config hash) lets a run
load just its own calls in one query when it starts.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, String, Table, Text, func

from palate.store.tables import metadata

judge_calls = Table(
    "judge_calls",
    metadata,
    Column("key", String(64), primary_key=True),  # sha256 hex of the call's inputs
    Column("judge", String(64), nullable=False, index=True),  # judge config hash
    Column("body", Text, nullable=False),  # canonical JSON of the call's result
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
