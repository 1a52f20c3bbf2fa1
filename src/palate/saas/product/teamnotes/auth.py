"""Accounts and who may see what.

A token is ``<user id>.<HMAC of the id>`` under the service's secret, so checking one needs no
table lookup and the same secret always gives the same tokens.
"""

from __future__ import annotations

import hashlib
import hmac

from teamnotes.web import HTTPError, Request


def make_token(secret: str, user_id: int) -> str:
    digest = hmac.new(secret.encode(), f"user:{user_id}".encode(), hashlib.sha256)
    return f"{user_id}.{digest.hexdigest()[:32]}"


def current_user(request: Request) -> int:
    """The signed-in user's id, from ``Authorization: Bearer <token>``."""
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip()
    user_part, _, _ = token.partition(".")
    if not user_part.isdigit():
        raise HTTPError(401, "sign in first (Authorization: Bearer <token>)")
    expected = make_token(request.settings["secret"], int(user_part))
    if not hmac.compare_digest(token, expected):
        raise HTTPError(401, "invalid token")
    return int(user_part)


def role_in(request: Request, workspace_id: int, user_id: int) -> str | None:
    row = request.db.execute(
        "SELECT role FROM members WHERE workspace_id = ? AND user_id = ?",
        (workspace_id, user_id),
    ).one()
    return None if row is None else str(row[0])


def require_member(request: Request, workspace_id: int, user_id: int) -> str:
    role = role_in(request, workspace_id, user_id)
    if role is None:
        raise HTTPError(404, "workspace not found")
    return role
