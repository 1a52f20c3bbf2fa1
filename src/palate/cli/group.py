"""The typer group behind ``palate``: commands from ``palate.cli.app.COMMANDS``, imported
only when they run (``palate --help`` without arguments is rendered by ``app.top_help``
without loading typer at all)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperCommand, TyperGroup

from palate.cli.app import COMMANDS, DESCRIPTION, palate_version

if TYPE_CHECKING:  # typer's own copy of click, whose classes its groups are built of
    from typer._click import Command, Context


def load_command(name: str) -> Command:
    """Import the command ``name`` and build its click command."""
    module, attribute = COMMANDS[name].target.split(":")
    target = getattr(importlib.import_module(module), attribute)
    command: Command
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)  # a group even if it has one command
    else:
        single = typer.Typer(add_completion=False)  # no --install-completion: as in groups
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """A typer group whose commands in ``COMMANDS`` are imported only when run."""

    _listing_help = False

    def list_commands(self, ctx: Context) -> list[str]:
        return [*COMMANDS, *super().list_commands(ctx)]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        if self._listing_help:
            # The listing needs only the summary: do not import the command for it.
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name].summary)
        return load_command(cmd_name)

    def get_help(self, ctx: Context) -> str:
        self._listing_help = True
        try:
            return super().get_help(ctx)
        finally:
            self._listing_help = False


def _print_version(value: bool) -> None:
    if value:
        print(f"palate {palate_version()}")
        raise typer.Exit()


app = typer.Typer(
    name="palate",
    cls=LazyGroup,
    help=DESCRIPTION,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _palate(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Taste-driven post-training: judgements in, trustworthy scores and decisions out."""
