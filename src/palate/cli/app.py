"""The ``palate`` entry point and its table of commands.

Commands load lazily: ``palate --help`` lists them from the table below without importing
any of them (nor typer and rich: it is rendered here), and ``palate stats rank`` imports only
``palate.cli.stats`` (and what it needs), so no command pays for scipy, matplotlib or torch
unless it uses them. The typer group lives in ``palate.cli.group``.

User mistakes (``PalateError``, and the environment's: a file that cannot be read or written,
a database that refuses) print one line and exit 1; usage errors exit 2 (click's rule);
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from palate.errors import PalateError

if TYPE_CHECKING:
    from typer._click import Command

DESCRIPTION = "Taste-driven post-training: judgements in, trustworthy scores and decisions out."


@dataclass(frozen=True)
class LazyCommand:
    """A command or command group, named by where it lives, with its one-line summary."""

    target: str  # "module:attribute": a typer.Typer group or a command function
    summary: str


COMMANDS: dict[str, LazyCommand] = {
    "import": LazyCommand(
        "palate.cli.data:import_command", "Import a file into a dataset: all records or none"
    ),
    "export": LazyCommand("palate.cli.data:export_command", "Export a dataset"),
    "datasets": LazyCommand("palate.cli.data:datasets_command", "List datasets"),
    "data": LazyCommand("palate.cli.safety:data_app", "Checks across datasets"),
    "safety": LazyCommand("palate.cli.safety:safety_app", "Red-team suites"),
    "revise": LazyCommand(
        "palate.cli.safety:revise_command", "Critique and revise responses by a constitution"
    ),
    "stats": LazyCommand("palate.cli.stats:app", "Win rates, rankings, truth inference"),
    "judge": LazyCommand("palate.cli.judge:app", "AI judges: run them over datasets"),
    "eval": LazyCommand("palate.cli.evals:eval_app", "Evaluate a candidate against a baseline"),
    "gate": LazyCommand("palate.cli.evals:gate_app", "Release gates registered before"),
    "card": LazyCommand("palate.cli.evals:card_command", "Write a Hugging Face model card"),
    "ledger": LazyCommand("palate.cli.ledger:app", "The provenance ledger"),
    "rubric": LazyCommand("palate.cli.rubric:app", "Rubrics: validate, version, compare"),
    "route": LazyCommand("palate.cli.route:app", "Trust-or-escalate routing"),
    "train": LazyCommand("palate.cli.train:app", "Train on the store's judgements"),
    "serve": LazyCommand("palate.cli.serve:serve_command", "Run the studio"),
    "demo": LazyCommand("palate.cli.demo:demo_command", "Run the taste gym"),
    "studio": LazyCommand("palate.cli.serve:app", "Manage the studio's accounts"),
    "generate": LazyCommand(
        "palate.cli.generate:generate_command", "Generate responses and store them"
    ),
    "loop": LazyCommand("palate.cli.loop:app", "The loop on a real model, one iteration at a time"),
    "saas": LazyCommand(
        "palate.cli.saas:app", "The SaaS harness: an agent runs a small real web business"
    ),
}


def palate_version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # 0.1 s: only for --version

    try:
        return version("palate")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def load_command(name: str) -> Command:
    """Import the command ``name`` and build its click command."""
    from palate.cli.group import load_command

    return load_command(name)


def __getattr__(name: str) -> Any:  # ``app``, the typer app, built on first use
    if name == "app":
        from palate.cli.group import app

        return app
    raise AttributeError(name)


def top_help(width: int = 80) -> str:
    """``palate --help`` as typer renders it, without importing typer or rich (a third of a
    second of every bare ``palate``)."""
    options = [("--version", "Print the version and exit."),
               ("--help", "Show this message and exit.")]  # fmt: skip
    commands = [(name, lazy.summary) for name, lazy in COMMANDS.items()]

    def box(title: str, rows: list[tuple[str, str]]) -> list[str]:
        first = max(len(name) for name, _ in rows)
        lines = [f" {name.ljust(first)}  {text}" for name, text in rows]
        inner = max(width - 2, *(len(line) + 1 for line in lines))
        top = f"╭─ {title} " + "─" * (inner - len(title) - 3) + "╮"
        return [top, *(f"│{line.ljust(inner)}│" for line in lines), "╰" + "─" * inner + "╯"]

    text = [
        "",
        " Usage: palate [OPTIONS] COMMAND [ARGS]...",
        "",
        f" {DESCRIPTION}",
        "",
        *box("Options", options),
        *box("Commands", commands),
        "",
    ]
    return "\n".join(text)


def user_error(exc: BaseException) -> PalateError | None:
    """The one-line error for an exception that is the user's or the environment's to fix;
    None for a bug (which keeps its traceback)."""
    if isinstance(exc, PalateError):
        return exc
    if isinstance(exc, OSError):  # a path that cannot be read or written, a full disk, ...
        where = f"{exc.filename}: " if exc.filename else ""
        return PalateError(f"{where}{exc.strerror or exc}")
    if "sqlalchemy" in sys.modules:  # errors the database raised while a command ran
        from sqlalchemy.exc import DBAPIError

        from palate.store import default_url
        from palate.store.engine import explain_database_error

        if isinstance(exc, DBAPIError):
            return explain_database_error(exc, _url_in_argv() or default_url())
    return None


def _url_in_argv() -> str | None:
    """The --db URL the command was given, for naming the database in an error."""
    args = sys.argv[1:]
    for k, arg in enumerate(args):
        if arg == "--db" and k + 1 < len(args):
            return args[k + 1]
        if arg.startswith("--db="):
            return arg.removeprefix("--db=")
    return None


def main() -> None:
    args = sys.argv[1:]
    if args in ([], ["--help"]):
        print(top_help())
        sys.exit(0 if args else 2)  # click's codes: asked for help, or no command given
    try:
        from palate.cli.group import app

        app()
    except Exception as exc:
        error = user_error(exc)
        if error is None:
            raise
        from rich.markup import escape

        from palate.cli.common import err_console

        message = escape(" ".join(str(error).split("\n")))
        err_console.print(f"[red]error:[/] {message}", soft_wrap=True)
        sys.exit(1)
