"""Tables, created on first start; feature modules may add their own with ``extend``."""

from __future__ import annotations

from teamnotes.db import Database

TABLES = [
    """CREATE TABLE IF NOT EXISTS users (
        id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, plan TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS workspaces (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, owner_id INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS members (
        workspace_id INTEGER NOT NULL, user_id INTEGER NOT NULL, role TEXT NOT NULL,
        PRIMARY KEY (workspace_id, user_id))""",
    """CREATE TABLE IF NOT EXISTS notes (
        id INTEGER PRIMARY KEY, workspace_id INTEGER NOT NULL, author_id INTEGER NOT NULL,
        title TEXT NOT NULL, body TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1)""",
    "CREATE INDEX IF NOT EXISTS notes_by_workspace ON notes (workspace_id, id)",
    """CREATE TABLE IF NOT EXISTS note_tags (
        note_id INTEGER NOT NULL, tag TEXT NOT NULL, slug TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS tags_by_note ON note_tags (note_id)",
    """CREATE TABLE IF NOT EXISTS shares (
        code TEXT PRIMARY KEY, note_id INTEGER NOT NULL)""",
]


def extend(statement: str) -> None:
    """Add a ``CREATE ... IF NOT EXISTS`` statement run at start-up."""
    if statement not in TABLES:
        TABLES.append(statement)


def create(db: Database) -> None:
    for statement in TABLES:
        db.execute(statement)
