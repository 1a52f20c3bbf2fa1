"""Workspaces and their members."""

from __future__ import annotations

from teamnotes.auth import current_user, require_member
from teamnotes.handlers.accounts import PLANS
from teamnotes.web import HTTPError, Request, Response, route


def _plan_of(request: Request, user_id: int) -> str:
    row = request.db.execute("SELECT plan FROM users WHERE id = ?", (user_id,)).one()
    return "free" if row is None else str(row[0])


@route("POST", "/workspaces")
def create_workspace(request: Request) -> Response:
    user_id = current_user(request)
    name = request.json().get("name")
    if not isinstance(name, str) or not name.strip():
        raise HTTPError(400, "name must be a non-empty string")
    owned = request.db.execute(
        "SELECT count(*) FROM workspaces WHERE owner_id = ?", (user_id,)
    ).one()
    if owned is not None and int(owned[0] or 0) >= PLANS[_plan_of(request, user_id)]["workspaces"]:
        raise HTTPError(402, "workspace limit of your plan reached")
    result = request.db.execute(
        "INSERT INTO workspaces (name, owner_id) VALUES (?, ?)", (name.strip(), user_id)
    )
    workspace_id = int(result.lastrowid or 0)
    request.db.execute(
        "INSERT INTO members (workspace_id, user_id, role) VALUES (?, ?, 'owner')",
        (workspace_id, user_id),
    )
    return Response(201, {"id": workspace_id, "name": name.strip()})


@route("GET", "/workspaces")
def list_workspaces(request: Request) -> Response:
    user_id = current_user(request)
    rows = request.db.execute(
        "SELECT w.id, w.name, m.role FROM workspaces w JOIN members m ON m.workspace_id = w.id"
        " WHERE m.user_id = ? ORDER BY w.id",
        (user_id,),
    ).rows
    return Response(200, [{"id": r[0], "name": r[1], "role": r[2]} for r in rows])


@route("POST", "/workspaces/{workspace_id}/members")
def add_member(request: Request) -> Response:
    user_id = current_user(request)
    workspace_id = request.int_param("workspace_id")
    if require_member(request, workspace_id, user_id) != "owner":
        raise HTTPError(403, "only the owner adds members")
    email = request.json().get("email")
    row = request.db.execute("SELECT id FROM users WHERE email = ?", (str(email).lower(),)).one()
    if row is None:
        raise HTTPError(404, "no user with that email")
    count = request.db.execute(
        "SELECT count(*) FROM members WHERE workspace_id = ?", (workspace_id,)
    ).one()
    if count is not None and int(count[0] or 0) >= PLANS[_plan_of(request, user_id)]["members"]:
        raise HTTPError(402, "member limit of your plan reached")
    request.db.execute(
        "INSERT OR IGNORE INTO members (workspace_id, user_id, role) VALUES (?, ?, 'member')",
        (workspace_id, row[0]),
    )
    return Response(201, {"workspace_id": workspace_id, "user_id": row[0], "role": "member"})
