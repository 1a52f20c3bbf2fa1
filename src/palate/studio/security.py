"""Sessions, roles and CSRF.

The cookie is Starlette's signed session (itsdangerous; HttpOnly, SameSite=Lax, Secure over
https). Before login it holds only a CSRF token for the login form; after login it holds a
random session token whose SHA-256 is a row of ``studio_sessions``. The row, not the cookie,
decides: logging out, an admin ending a user's sessions, disabling the account or changing
its password deletes the rows, and every copy of the cookie stops working at once. The user
is re-read with the session on every request. Every form carries the CSRF token in a hidden
field and every JSON write in the ``X-CSRF-Token`` header; both are compared in constant time.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from palate.store.studio import SessionRow, StudioStore, UserRow

CSRF_HEADER = "X-CSRF-Token"
SESSION_HOURS = 12


class LoginRequired(Exception):
    """A page was asked for without a session: the handler redirects to the login page."""


class PageForbidden(Exception):
    """A page the user's role may not see."""


def studio_of(request: Request) -> StudioStore:
    studio: StudioStore = request.app.state.studio
    return studio


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_UNREAD = object()


def _live_session(request: Request) -> SessionRow | None:
    """The request's server-side session, looked up once per request."""
    cached = getattr(request.state, "palate_session", _UNREAD)
    if cached is not _UNREAD:
        return cached  # type: ignore[return-value]
    token = request.session.get("sid")
    found = None
    if isinstance(token, str):
        found = studio_of(request).session(_token_hash(token), datetime.now(UTC))
    request.state.palate_session = found
    return found


def csrf_token(request: Request) -> str:
    """The CSRF token: the session's when logged in, else one kept in the cookie for the
    login form (created on first use)."""
    live = _live_session(request)
    if live is not None:
        return live.csrf
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_valid(request: Request, sent: str | None) -> bool:
    live = _live_session(request)
    expected = live.csrf if live is not None else request.session.get("csrf")
    return (
        isinstance(expected, str)
        and isinstance(sent, str)
        and secrets.compare_digest(expected.encode(), sent.encode())
    )


def start_session(request: Request, user: UserRow) -> str:
    """Log in: a new server-side session (no fixation) with a new CSRF token; returns it."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    studio = studio_of(request)
    studio.end_expired_sessions(now)
    studio.open_session(user.id, _token_hash(token), csrf, now + timedelta(hours=SESSION_HOURS))
    request.session.clear()
    request.session["sid"] = token
    request.state.palate_session = SessionRow(user, csrf)
    return csrf


def end_session(request: Request) -> None:
    """Log out: the server forgets the session, so copies of the cookie are dead too."""
    token = request.session.get("sid")
    if isinstance(token, str):
        studio_of(request).end_session(_token_hash(token))
    request.session.clear()
    request.state.palate_session = None


def session_user(request: Request) -> UserRow | None:
    live = _live_session(request)
    return live.user if live is not None else None


def page_user(request: Request) -> UserRow:
    user = session_user(request)
    if user is None:
        raise LoginRequired
    return user


def page_admin(user: Annotated[UserRow, Depends(page_user)]) -> UserRow:
    if user.role != "admin":
        raise PageForbidden
    return user


def page_adjudicator(user: Annotated[UserRow, Depends(page_user)]) -> UserRow:
    """Adjudicators settle disputed items; admins may too."""
    if user.role not in ("admin", "adjudicator"):
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


def api_adjudicator(user: Annotated[UserRow, Depends(api_user)]) -> UserRow:
    if user.role not in ("admin", "adjudicator"):
        raise HTTPException(403, "adjudicators and admins only")
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


def api_adjudicator_writer(
    request: Request,
    user: Annotated[UserRow, Depends(api_adjudicator)],
    x_csrf_token: Annotated[str | None, Header(description="The session's CSRF token.")] = None,
) -> UserRow:
    _csrf_header(request, x_csrf_token)
    return user


PageUser = Annotated[UserRow, Depends(page_user)]
PageAdmin = Annotated[UserRow, Depends(page_admin)]
PageAdjudicator = Annotated[UserRow, Depends(page_adjudicator)]
ApiUser = Annotated[UserRow, Depends(api_user)]
ApiAdmin = Annotated[UserRow, Depends(api_admin)]
ApiWriter = Annotated[UserRow, Depends(api_writer)]
ApiAdminWriter = Annotated[UserRow, Depends(api_admin_writer)]
ApiAdjudicator = Annotated[UserRow, Depends(api_adjudicator)]
ApiAdjudicatorWriter = Annotated[UserRow, Depends(api_adjudicator_writer)]
