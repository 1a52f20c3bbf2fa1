"""Export a whole workspace as files (one per note)."""

from __future__ import annotations

from typing import Any

from teamnotes.auth import current_user
from teamnotes.text import slugify
from teamnotes.web import HTTPError, Request, Response, route


def workspace_notes(request: Request, workspace_id: int) -> list[dict[str, Any]]:
    rows = request.db.execute(
        "SELECT id, title, body FROM notes WHERE workspace_id = ? ORDER BY id", (workspace_id,)
    ).rows
    tag_rows = request.db.execute(
        "SELECT t.note_id, t.tag FROM note_tags t JOIN notes n ON n.id = t.note_id"
        " WHERE n.workspace_id = ? ORDER BY t.rowid",
        (workspace_id,),
    ).rows
    tags: dict[int, list[str]] = {}
    for note_id, tag in tag_rows:
        tags.setdefault(int(note_id or 0), []).append(str(tag))
    return [
        {"id": row[0], "title": row[1], "body": row[2], "tags": tags.get(int(row[0] or 0), [])}
        for row in rows
    ]


@route("GET", "/export")
def export(request: Request) -> Response:
    current_user(request)
    workspace_id = request.int_query("workspace_id")
    workspace = request.db.execute(
        "SELECT name FROM workspaces WHERE id = ?", (workspace_id,)
    ).one()
    if workspace is None:
        raise HTTPError(404, "workspace not found")
    notes = workspace_notes(request, workspace_id)

    # One file per note, named after its title.
    files = [{"file": f"{slugify(note['title'])}-{note['id']}.md", **note} for note in notes]
    return Response(200, {"workspace": workspace[0], "files": files})
