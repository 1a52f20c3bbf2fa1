"""The studio's FastAPI app: pages, the JSON API, sessions, and how errors are answered.

Errors: a user's mistake (``InputError``) is 422 with the field it concerns, an unknown or
foreign task 404, a repeated submission 409; pages show the message, the API returns JSON
``{"detail": ..., "field": ...}``. Only /login, /health, /static and the OpenAPI document
work without a session.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from palate.errors import InputError, PalateError
from palate.store import Store
from palate.store.studio import AlreadyExists, StudioStore
from palate.studio import api, pages
from palate.studio.security import LoginRequired, PageForbidden, session_user
from palate.studio.service import NotFound, Service

SESSION_HOURS = 12
SECRET_ENV = "PALATE_STUDIO_SECRET"


def _status(exc: PalateError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, AlreadyExists):
        return 409
    if isinstance(exc, InputError):
        return 422
    return 400


def create_app(store_url: str, *, secret_key: str | None = None) -> FastAPI:
    """The studio on the store at ``store_url``.

    ``secret_key`` signs session cookies (default: ``$PALATE_STUDIO_SECRET``, else a random
    key, so sessions end when the server restarts).
    """
    store = Store(store_url)
    app = FastAPI(
        title="palate studio",
        summary="Expert raters judge; admins assign, watch quality and export.",
        version="1",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.store = store
    app.state.studio = StudioStore(store)
    app.state.service = Service(app.state.studio)
    key = secret_key or os.environ.get(SECRET_ENV) or secrets.token_urlsafe(32)
    app.add_middleware(
        SessionMiddleware,
        secret_key=key,
        session_cookie="palate_session",
        max_age=SESSION_HOURS * 3600,
        same_site="lax",
        https_only=False,
    )
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.get("/health", tags=["health"])
    def health() -> dict[str, bool]:
        """Liveness, without a session or the database (the load test's baseline)."""
        return {"ok": True}

    app.include_router(api.router)
    app.include_router(pages.router)

    @app.exception_handler(LoginRequired)
    def _login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/login", 303)

    @app.exception_handler(PageForbidden)
    def _forbidden(request: Request, exc: PageForbidden) -> Response:
        return pages.message(
            request, session_user(request), 403, "Not allowed", "This page is for admins."
        )

    @app.exception_handler(pages.CsrfFailed)
    def _csrf(request: Request, exc: pages.CsrfFailed) -> Response:
        return pages.message(
            request,
            session_user(request),
            403,
            "Form expired",
            "The form's security token is missing or stale: reload the page and try again.",
        )

    @app.exception_handler(PalateError)
    def _palate(request: Request, exc: PalateError) -> Response:
        status = _status(exc)
        if request.url.path.startswith("/api/"):
            field = exc.field if isinstance(exc, InputError) else None
            return JSONResponse({"detail": str(exc), "field": field}, status)
        return pages.message(request, session_user(request), status, "Cannot do that", str(exc))

    return app
