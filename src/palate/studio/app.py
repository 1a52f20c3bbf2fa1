"""The studio's FastAPI app: pages, the JSON API, sessions, and how errors are answered.

Errors: a user's mistake (``InputError``) is 422 with the field it concerns, an unknown or
foreign task 404, a repeated submission 409, too many wrong logins 429; pages show the
message, the API returns JSON ``{"detail": ..., "field": ...}``. Only /login, /health,
/static, the API docs and the OpenAPI document work without a session.

Several server processes may serve one address: they share the store (PostgreSQL), so they
share sessions, drafts and the cookie-signing secret (``$PALATE_STUDIO_SECRET``, or one
generated on first start and kept in the store, so restarts log nobody out).
"""

from __future__ import annotations

import math
import os
import secrets
from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from palate.errors import InputError, PalateError
from palate.store import Store
from palate.store.studio import AlreadyExists, StudioStore
from palate.studio import api, content, pages
from palate.studio.accounts import HashingPool, LoginBusy
from palate.studio.guard import MAX_BODY, RequestGuard
from palate.studio.security import SESSION_HOURS, LoginRequired, PageForbidden, session_user
from palate.studio.service import NotFound, NotQualified, Service
from palate.studio.throttle import LoginThrottle, LoginThrottled

SECRET_ENV = "PALATE_STUDIO_SECRET"
HTTPS_ENV = "PALATE_STUDIO_HTTPS"
STORE_ENV = "PALATE_STUDIO_STORE"
SECRET_SETTING = "session_secret"
MIN_SECRET_BITS = 128
STATIC = Path(__file__).parent / "static"


def _status(exc: PalateError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, NotQualified):
        return 403
    if isinstance(exc, AlreadyExists):
        return 409
    if isinstance(exc, InputError):
        return 422
    if isinstance(exc, LoginThrottled):
        return 429
    return 400


def check_secret(secret: str) -> str:
    """The secret if it is long and varied enough to sign cookies, else PalateError."""
    distinct = len(set(secret))
    bits = len(secret) * math.log2(distinct) if distinct > 1 else 0.0
    if len(secret) < 32 or bits < MIN_SECRET_BITS:
        raise PalateError(
            f"{SECRET_ENV} is too weak to sign sessions: use at least 32 random characters "
            '(e.g. python -c "import secrets; print(secrets.token_urlsafe(32))"), '
            "or unset it to have one generated and kept in the store"
        )
    return secret


def session_secret(studio: StudioStore, given: str | None) -> str:
    """``given`` (checked), else ``$PALATE_STUDIO_SECRET`` (checked), else the store's own."""
    chosen = given if given is not None else os.environ.get(SECRET_ENV)
    if chosen is not None:
        return check_secret(chosen)
    return studio.setting(SECRET_SETTING, secrets.token_urlsafe(32))


def create_app(
    store_url: str,
    *,
    secret_key: str | None = None,
    https: bool | None = None,
    max_body: int = MAX_BODY,
    throttle: LoginThrottle | None = None,
) -> FastAPI:
    """The studio on the store at ``store_url``.

    ``secret_key`` signs session cookies (see ``session_secret``); ``https`` marks cookies
    Secure and sends HSTS (default: ``$PALATE_STUDIO_HTTPS`` is 1; turn it on behind an
    https proxy); ``max_body`` bounds request bodies in bytes.
    """
    store = Store(store_url)
    studio = StudioStore(store)
    key = session_secret(studio, secret_key)
    if https is None:
        https = os.environ.get(HTTPS_ENV, "") in ("1", "true", "yes")
    app = FastAPI(
        title="palate studio",
        summary="Expert raters judge; admins assign, watch quality and export.",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.store = store
    app.state.studio = studio
    app.state.service = Service(studio)
    app.state.hashing = HashingPool()
    app.state.throttle = (throttle or LoginThrottle()).bound(studio)
    app.add_middleware(
        SessionMiddleware,
        secret_key=key,
        session_cookie="palate_session",
        max_age=SESSION_HOURS * 3600,
        same_site="lax",
        https_only=https,
    )
    app.add_middleware(RequestGuard, max_body=max_body, https=https)
    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/health", tags=["health"])
    def health() -> dict[str, bool]:
        """Liveness, without a session or the database (the load test's baseline)."""
        return {"ok": True}

    @app.get("/highlight.css", include_in_schema=False)
    def highlight_css() -> Response:
        """Colours of highlighted code in task text (classes, so no inline styles)."""
        return Response(content.highlight_css(), media_type="text/css")

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """Swagger UI served from here (no script from elsewhere, none inline)."""
        return HTMLResponse((STATIC / "api-docs.html").read_text())

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

    @app.exception_handler(LoginBusy)
    def _busy(request: Request, exc: LoginBusy) -> Response:
        text = "too many logins at once: try again in a few seconds"
        return JSONResponse({"detail": text, "field": None}, 503, headers={"Retry-After": "5"})

    @app.exception_handler(PalateError)
    def _palate(request: Request, exc: PalateError) -> Response:
        status = _status(exc)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, LoginThrottled) else None
        if request.url.path.startswith("/api/"):
            field = exc.field if isinstance(exc, InputError) else None
            return JSONResponse({"detail": str(exc), "field": field}, status, headers=headers)
        page = pages.message(request, session_user(request), status, "Cannot do that", str(exc))
        if headers:
            page.headers.update(headers)
        return page

    return app


def app_from_env() -> FastAPI:
    """The app of one of several worker processes (``palate serve --workers N``)."""
    return create_app(os.environ[STORE_ENV])
