"""Full-text-ish search over a workspace's titles and bodies."""

from __future__ import annotations

from teamnotes.auth import current_user, require_member
from teamnotes.handlers.notes import COLUMNS, note_from_row
from teamnotes.web import HTTPError, Request, Response, route

MAX_RESULTS = 50


@route("GET", "/search")
def search(request: Request) -> Response:
    """Notes whose title or body contains ``q`` (case-insensitive), newest first."""
    user_id = current_user(request)
    workspace_id = request.int_query("workspace_id")
    require_member(request, workspace_id, user_id)
    q = request.query.get("q", "").strip()
    if not q:
        raise HTTPError(400, "q must not be empty")
    rows = request.db.execute(
        f"SELECT {COLUMNS} FROM notes n WHERE n.workspace_id = {workspace_id}"
        f" AND (n.title LIKE '%{q}%' OR n.body LIKE '%{q}%')"
        f" ORDER BY n.id DESC LIMIT {MAX_RESULTS}"
    ).rows
    hits = [note_from_row(row) for row in rows]
    return Response(
        200,
        {"q": q, "results": [{"id": n.id, "title": n.title, "version": n.version} for n in hits]},
    )
