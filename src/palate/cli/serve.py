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
    db: DbOption = None,
) -> None:
    """Run the studio, the web app where raters judge and admins run projects."""
    try:
        import uvicorn

        from palate.studio import create_app
    except ImportError as exc:
        raise PalateError(f"the studio needs the 'studio' extra ({exc.name} is missing)") from exc
    store = open_store(db, create=True)
    url = store.url
    store.close()
    console.print(f"palate studio on http://{host}:{port}/ (API docs at /api/docs)")
    uvicorn.run(create_app(url), host=host, port=port, log_level="warning")


@app.command("add-user")
def add_user_command(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option("--role", help="admin or rater.")] = "rater",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a studio account; the password comes from $PALATE_STUDIO_PASSWORD or a prompt."""
    from palate.store.studio import StudioStore
    from palate.studio.accounts import ROLES, add_user

    if role not in ROLES:
        raise InputError(f"role must be admin or rater, not {role!r}", field="--role")
    password = os.environ.get(PASSWORD_ENV) or typer.prompt(
        f"Password for {name}", hide_input=True, confirmation_prompt=True
    )
    user = add_user(StudioStore(open_store(db, create=True)), name, role, password)
    emit(
        as_json,
        {"user": user.name, "role": user.role},
        lambda: console.print(f"Added {user.role} [bold]{user.name}[/]."),
    )
