"""Notes: create, read, update, delete, list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from teamnotes.auth import current_user, require_member
from teamnotes.db import Value
from teamnotes.text import slugify
from teamnotes.web import HTTPError, Request, Response, route

MAX_TITLE = 200
MAX_BODY = 100_000
MAX_TAGS = 20


@dataclass(frozen=True)
class Note:
    id: int
    workspace_id: int
    author_id: int
    title: str
    body: str
    version: int

    def to_json(self, tags: list[str]) -> dict[str, Any]:
        return {
            "id": self.id,
            "workspace_id": self.workspace_id,
            "author_id": self.author_id,
            "title": self.title,
            "body": self.body,
            "version": self.version,
            "tags": tags,
        }


COLUMNS = "n.id, n.workspace_id, n.author_id, n.title, n.body, n.version"


def note_from_row(row: tuple[Value, ...]) -> Note:
    return Note(
        int(row[0] or 0),
        int(row[1] or 0),
        int(row[2] or 0),
        str(row[3]),
        str(row[4]),
        int(row[5] or 0),
    )


def load_note(request: Request, note_id: int) -> Note:
    row = request.db.execute(f"SELECT {COLUMNS} FROM notes n WHERE n.id = ?", (note_id,)).one()
    if row is None:
        raise HTTPError(404, "note not found")
    return note_from_row(row)


def tags_of(request: Request, note_id: int) -> list[str]:
    rows = request.db.execute(
        "SELECT tag FROM note_tags WHERE note_id = ? ORDER BY rowid", (note_id,)
    ).rows
    return [str(row[0]) for row in rows]


def text_field(data: dict[str, Any], name: str, limit: int, default: str | None = None) -> str:
    value = data.get(name, default)
    if not isinstance(value, str):
        raise HTTPError(400, f"{name} must be a string")
    if len(value) > limit:
        raise HTTPError(400, f"{name} is longer than {limit} characters")
    return value


def tags_field(data: dict[str, Any]) -> list[str] | None:
    tags = data.get("tags")
    if tags is None:
        return None
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
        raise HTTPError(400, "tags must be a list of non-empty strings")
    if len(tags) > MAX_TAGS:
        raise HTTPError(400, f"at most {MAX_TAGS} tags")
    return [t.strip() for t in tags]


def replace_tags(request: Request, note_id: int, tags: list[str]) -> None:
    request.db.execute("DELETE FROM note_tags WHERE note_id = ?", (note_id,))
    for tag in tags:
        request.db.execute(
            "INSERT INTO note_tags (note_id, tag, slug) VALUES (?, ?, ?)",
            (note_id, tag, slugify(tag)),
        )


@route("POST", "/notes")
def create_note(request: Request) -> Response:
    user_id = current_user(request)
    data = request.json()
    workspace_id = data.get("workspace_id")
    if not isinstance(workspace_id, int):
        raise HTTPError(400, "workspace_id must be an integer")
    require_member(request, workspace_id, user_id)
    title = text_field(data, "title", MAX_TITLE)
    body = text_field(data, "body", MAX_BODY, "")
    tags = tags_field(data) or []
    result = request.db.execute(
        "INSERT INTO notes (workspace_id, author_id, title, body) VALUES (?, ?, ?, ?)",
        (workspace_id, user_id, title, body),
    )
    note_id = int(result.lastrowid or 0)
    replace_tags(request, note_id, tags)
    return Response(201, Note(note_id, workspace_id, user_id, title, body, 1).to_json(tags))


@route("GET", "/notes/{note_id}")
def get_note(request: Request) -> Response:
    current_user(request)
    note = load_note(request, request.int_param("note_id"))
    return Response(200, note.to_json(tags_of(request, note.id)))


@route("PUT", "/notes/{note_id}")
def update_note(request: Request) -> Response:
    user_id = current_user(request)
    note = load_note(request, request.int_param("note_id"))
    require_member(request, note.workspace_id, user_id)
    data = request.json()

    title = text_field(data, "title", MAX_TITLE, note.title)
    body = text_field(data, "body", MAX_BODY, note.body)
    tags = tags_field(data)

    request.db.execute(
        "UPDATE notes SET title = ?, body = ?, version = version + 1 WHERE id = ?",
        (title, body, note.id),
    )
    if tags is not None:
        replace_tags(request, note.id, tags)
    updated = load_note(request, note.id)
    return Response(200, updated.to_json(tags_of(request, note.id)))


@route("DELETE", "/notes/{note_id}")
def delete_note(request: Request) -> Response:
    user_id = current_user(request)
    note = load_note(request, request.int_param("note_id"))
    require_member(request, note.workspace_id, user_id)
    request.db.execute("DELETE FROM note_tags WHERE note_id = ?", (note.id,))
    request.db.execute("DELETE FROM notes WHERE id = ?", (note.id,))
    return Response(200, {"deleted": note.id})


@route("GET", "/notes")
def list_notes(request: Request) -> Response:
    """One page of a workspace's notes, oldest first unless ``sort`` says otherwise."""
    user_id = current_user(request)
    workspace_id = request.int_query("workspace_id")
    require_member(request, workspace_id, user_id)
    page = max(1, request.int_query("page", 1))
    per_page = min(max(1, request.int_query("per_page", 20)), 100)

    where = ["n.workspace_id = ?"]
    params: list[Value] = [workspace_id]

    # The sort order: a column, descending with a leading "-".
    sort = request.query.get("sort", "id")
    order_by = f"{sort[1:]} DESC" if sort.startswith("-") else sort

    ordering = [order_by, "n.id"]

    offset = page * per_page

    condition = " AND ".join(where)
    total = request.db.execute(f"SELECT count(*) FROM notes n WHERE {condition}", params).one()
    rows = request.db.execute(
        f"SELECT {COLUMNS} FROM notes n WHERE {condition}"
        f" ORDER BY {', '.join(ordering)} LIMIT ? OFFSET ?",
        [*params, per_page, offset],
    ).rows

    notes = []
    for row in rows:
        note = note_from_row(row)
        notes.append(note.to_json(tags_of(request, note.id)))

    return Response(
        200,
        {
            "notes": notes,
            "page": page,
            "per_page": per_page,
            "total": int(total[0] or 0) if total else 0,
        },
    )
