"""``palate serve`` (the studio web app) and ``palate studio add-user``.

The studio's dependencies (FastAPI, uvicorn, pwdlib) are imported only when these commands
run, so the rest of the CLI starts fast and works without the ``studio`` extra.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from palate.cli.common import DbOption, JsonOption, console, emit, open_store
from palate.errors import InputError, PalateError

PASSWORD_ENV = "PALATE_STUDIO_PASSWORD"

app = typer.Typer(help="Manage the studio's accounts.", no_args_is_help=True)


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")
    ] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Server processes on this address (use PostgreSQL beyond 1; they share "
            "sessions, drafts and the signing secret through the store).",
        ),
    ] = 1,
    https: Annotated[
        bool,
        typer.Option(
            "--https",
            help="Served over https (behind a TLS proxy): Secure cookies and HSTS. "
            "Also on with PALATE_STUDIO_HTTPS=1.",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Run the studio, the web app where raters judge and admins run projects."""
    try:
        import uvicorn

        from palate.studio.app import HTTPS_ENV, STORE_ENV, create_app
    except ImportError as exc:
        raise PalateError(f"the studio needs the 'studio' extra ({exc.name} is missing)") from exc
    store = open_store(db, create=True)
    url = store.url
    store.close()
    if https:
        os.environ[HTTPS_ENV] = "1"
    create_app(url).state.store.close()  # fails here, once, on a weak secret or bad store
    console.print(f"palate studio on http://{host}:{port}/ (API docs at /api/docs)")
    # Idle keep-alive connections stay open longer than a proxy's (nginx: 60 s), so the server
    # never closes one just as a request is sent on it (the client would see a dropped request).
    keep_alive_s = 75
    if workers == 1:
        uvicorn.run(
            create_app(url),
            host=host,
            port=port,
            log_level="warning",
            timeout_keep_alive=keep_alive_s,
        )
        return
    os.environ[STORE_ENV] = url  # each worker process builds its app from the environment
    uvicorn.run(
        "palate.studio.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        timeout_keep_alive=keep_alive_s,
        # uvicorn kills a worker that misses a 5 s health ping; on a busy machine a loaded
        # worker can miss one while serving fine, and every connection it held would drop.
        timeout_worker_healthcheck=60,
    )


@app.command("add-user")
def add_user_command(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option("--role", help="admin, rater or adjudicator.")] = "rater",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a studio account; the password comes from $PALATE_STUDIO_PASSWORD or a prompt."""
    from palate.store.studio import StudioStore
    from palate.studio.accounts import ROLES, add_user

    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, not {role!r}", field="--role")
    password = os.environ.get(PASSWORD_ENV) or typer.prompt(
        f"Password for {name}", hide_input=True, confirmation_prompt=True
    )
    user = add_user(StudioStore(open_store(db, create=True)), name, role, password)
    emit(
        as_json,
        {"user": user.name, "role": user.role},
        lambda: console.print(f"Added {user.role} [bold]{user.name}[/]."),
    )
