"""Read-only share links for single notes."""

from __future__ import annotations

import hashlib
import hmac

from teamnotes.auth import current_user, require_member
from teamnotes.handlers.notes import load_note, tags_of
from teamnotes.web import HTTPError, Request, Response, route


@route("POST", "/share")
def share(request: Request) -> Response:
    user_id = current_user(request)
    note_id = request.json().get("note_id")
    if not isinstance(note_id, int):
        raise HTTPError(400, "note_id must be an integer")
    note = load_note(request, note_id)
    require_member(request, note.workspace_id, user_id)
    secret = request.settings["secret"].encode()
    code = hmac.new(secret, f"share:{note.id}".encode(), hashlib.sha256).hexdigest()[:20]
    request.db.execute(
        "INSERT OR IGNORE INTO shares (code, note_id) VALUES (?, ?)", (code, note.id)
    )
    return Response(201, {"code": code, "path": f"/shared/{code}"})


@route("GET", "/shared/{code}")
def shared(request: Request) -> Response:
    row = request.db.execute(
        "SELECT note_id FROM shares WHERE code = ?", (request.params["code"],)
    ).one()
    if row is None:
        raise HTTPError(404, "no such share")
    note = load_note(request, int(row[0] or 0))
    return Response(
        200, {"title": note.title, "body": note.body, "tags": tags_of(request, note.id)}
    )
