"""The ``palate`` typer app and its entry point.

User mistakes (``PalateError``) print one line and exit 1; usage errors exit 2 (click's rule);
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys

import typer

from palate.cli.common import err_console
from palate.cli.data import datasets_command, export_command, import_command
from palate.cli.demo import demo_command
from palate.cli.evals import card_command, eval_app, gate_app
from palate.cli.judge import app as judge_app
from palate.cli.ledger import app as ledger_app
from palate.cli.route import app as route_app
from palate.cli.rubric import app as rubric_app
from palate.cli.safety import data_app
from palate.cli.serve import app as studio_app
from palate.cli.serve import serve_command
from palate.cli.stats import app as stats_app
from palate.cli.train import app as train_app
from palate.errors import PalateError

app = typer.Typer(
    name="palate",
    help="Taste-driven post-training: judgements in, trustworthy scores and decisions out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("import")(import_command)
app.command("export")(export_command)
app.command("datasets")(datasets_command)
app.add_typer(data_app, name="data")
app.add_typer(stats_app, name="stats")
app.add_typer(judge_app, name="judge")
app.add_typer(eval_app, name="eval")
app.add_typer(gate_app, name="gate")
app.command("card")(card_command)
app.add_typer(ledger_app, name="ledger")
app.add_typer(rubric_app, name="rubric")
app.add_typer(route_app, name="route")
app.add_typer(train_app, name="train")
app.command("serve")(serve_command)
app.command("demo")(demo_command)
app.add_typer(studio_app, name="studio")


def main() -> None:
    try:
        app()
    except PalateError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
