"""Sign-up, plans and health."""

from __future__ import annotations

import re

from teamnotes.auth import current_user, make_token
from teamnotes.db import DatabaseError
from teamnotes.web import HTTPError, Request, Response, route

PLANS = {
    "free": {"workspaces": 1, "members": 3},
    "pro": {"workspaces": 10, "members": 20},
    "team": {"workspaces": 100, "members": 200},
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@route("GET", "/health")
def health(request: Request) -> Response:
    return Response(200, {"ok": True})


@route("GET", "/plans")
def plans(request: Request) -> Response:
    return Response(200, [{"name": name, **limits} for name, limits in PLANS.items()])


@route("POST", "/signup")
def signup(request: Request) -> Response:
    data = request.json()
    email, plan = data.get("email"), data.get("plan", "free")
    if not isinstance(email, str) or not EMAIL.match(email):
        raise HTTPError(400, "email must look like name@example.com")
    if plan not in PLANS:
        raise HTTPError(400, f"plan must be one of {', '.join(PLANS)}")
    try:
        result = request.db.execute(
            "INSERT INTO users (email, plan) VALUES (?, ?)", (email.lower(), plan)
        )
    except DatabaseError as exc:
        raise HTTPError(409, "email already registered") from exc
    user_id = int(result.lastrowid or 0)
    token = make_token(request.settings["secret"], user_id)
    return Response(201, {"user_id": user_id, "token": token, "plan": plan})


@route("GET", "/me")
def me(request: Request) -> Response:
    user_id = current_user(request)
    row = request.db.execute("SELECT email, plan FROM users WHERE id = ?", (user_id,)).one()
    if row is None:
        raise HTTPError(401, "no such user")
    return Response(200, {"user_id": user_id, "email": row[0], "plan": row[1]})


@route("PUT", "/me/plan")
def change_plan(request: Request) -> Response:
    user_id = current_user(request)
    plan = request.json().get("plan")
    if plan not in PLANS:
        raise HTTPError(400, f"plan must be one of {', '.join(PLANS)}")
    request.db.execute("UPDATE users SET plan = ? WHERE id = ?", (plan, user_id))
    return Response(200, {"user_id": user_id, "plan": plan})
