"""Sessions, roles and CSRF.

The session is Starlette's signed cookie (itsdangerous; HttpOnly, SameSite=Lax) holding the
user id and a CSRF token; the user is re-read from the store on every request, so a deleted
account loses access at once. Every form carries the token in a hidden field and every JSON
write in the ``X-CSRF-Token`` header; both are compared in constant time.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from palate.store.studio import StudioStore, UserRow

CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(Exception):
    """A page was asked for without a session: the handler redirects to the login page."""


class PageForbidden(Exception):
    """A page the user's role may not see."""


def studio_of(request: Request) -> StudioStore:
    studio: StudioStore = request.app.state.studio
    return studio


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_valid(request: Request, sent: str | None) -> bool:
    expected = request.session.get("csrf")
    return (
        isinstance(expected, str)
        and isinstance(sent, str)
        and secrets.compare_digest(expected.encode(), sent.encode())
    )


def start_session(request: Request, user: UserRow) -> str:
    """Log in: a fresh session (no fixation) with a new CSRF token."""
    request.session.clear()
    request.session["uid"] = user.id
    return csrf_token(request)


def session_user(request: Request) -> UserRow | None:
    uid = request.session.get("uid")
    if not isinstance(uid, int):
        return None
    return studio_of(request).user(uid)


def page_user(request: Request) -> UserRow:
    user = session_user(request)
    if user is None:
        raise LoginRequired
    return user


def page_admin(user: Annotated[UserRow, Depends(page_user)]) -> UserRow:
    if user.role != "admin":
        raise PageForbidden
    return user


def api_user(request: Request) -> UserRow:
    user = session_user(request)
    if user is None:
        raise HTTPException(401, "log in first (POST /api/login)")
    return user


def api_admin(user: Annotated[UserRow, Depends(api_user)]) -> UserRow:
    if user.role != "admin":
        raise HTTPException(403, "admins only")
    return user


def _csrf_header(request: Request, token: str | None) -> None:
    if not csrf_valid(request, token):
        raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")


def api_writer(
    request: Request,
    user: Annotated[UserRow, Depends(api_user)],
    x_csrf_token: Annotated[str | None, Header(description="The session's CSRF token.")] = None,
) -> UserRow:
    _csrf_header(request, x_csrf_token)
    return user


def api_admin_writer(
    request: Request,
    user: Annotated[UserRow, Depends(api_admin)],
    x_csrf_token: Annotated[str | None, Header(description="The session's CSRF token.")] = None,
) -> UserRow:
    _csrf_header(request, x_csrf_token)
    return user


PageUser = Annotated[UserRow, Depends(page_user)]
PageAdmin = Annotated[UserRow, Depends(page_admin)]
ApiUser = Annotated[UserRow, Depends(api_user)]
ApiAdmin = Annotated[UserRow, Depends(api_admin)]
ApiWriter = Annotated[UserRow, Depends(api_writer)]
ApiAdminWriter = Annotated[UserRow, Depends(api_admin_writer)]
