"""``palate saas``: run an episode with a scripted agent, replay its log, report on it, and
export episodes as training data."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from palate.cli.common import DbOption, JsonOption, console, emit, open_store
from palate.saas.presets import PRESETS
from palate.saas.replay import replay
from palate.saas.report import write_report
from palate.saas.run import RunOptions, record_episode, run_episode

app = typer.Typer(help="The SaaS harness: an agent runs a small real web business.")


@app.command("run")
def run_command(
    agent: Annotated[
        str,
        typer.Option(
            "--agent", help="Scripted agent: idle, symptom, root-cause, breaker, greedy-pricer."
        ),
    ],
    seed: Annotated[int, typer.Option("--seed", help="Episode seed (fixes the market).")],
    out: Annotated[Path, typer.Option("--out", help="Directory for events.jsonl and summary.")],
    preset: Annotated[
        str, typer.Option("--preset", help=f"Episode size: {', '.join(PRESETS)}.")
    ] = "default",
    days: Annotated[
        int | None, typer.Option("--days", help="Days to run (default: the preset's).")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run one episode; write DIR/events.jsonl and record its digest in the ledger."""
    with tempfile.TemporaryDirectory(prefix="palate-saas-") as root:
        summary = run_episode(RunOptions(agent, seed, preset, days), out, root=Path(root))
    record_episode(open_store(db, create=True), summary, preset)

    def render() -> None:
        console.print(
            f"{summary['agent']} seed {summary['seed']}: net worth "
            f"${summary['net_worth_cents'] / 100:,.2f} after {summary['days']} days, "
            f"{summary['customers_end']} customers, {summary['breaches']} breaches, "
            f"uptime {summary['uptime']:.0%}\ndigest {summary['digest']}"
        )

    emit(as_json, summary, render)


@app.command("replay")
def replay_command(
    log: Annotated[Path, typer.Argument(help="An episode's events.jsonl.")],
    as_json: JsonOption = False,
) -> None:
    """Recompute the books from the log alone; print the digest and net worth."""
    result = replay(log)

    def render() -> None:
        console.print(
            f"replayed {result.events} events over {result.days} days: net worth "
            f"${result.net_worth_cents / 100:,.2f}\ndigest {result.digest}"
        )

    emit(as_json, result.to_json(), render)


@app.command("report")
def report_command(
    directory: Annotated[Path, typer.Argument(help="A run's output directory.")],
) -> None:
    """Write DIR/report.html: plots over days and the agent's actions."""
    console.print(f"wrote {write_report(directory)}")


@app.command("export")
def export_command(
    logs: Annotated[list[Path], typer.Argument(help="Episode logs (events.jsonl).")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="samples (per day, with reward-to-go), trl (conversational tool calling), "
            "pairs (preferences between rollouts of the same seed).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The JSON-lines file to write.")],
    gamma: Annotated[
        float, typer.Option("--gamma", help="Per-day discount of the reward-to-go (samples).")
    ] = 1.0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export episodes as training data; record the episodes' digests in the ledger."""
    from palate.saas.training import export_episodes

    result = export_episodes(logs, fmt, out, store=open_store(db, create=True), gamma=gamma)

    def render() -> None:
        left = ", ".join(f"{n} {k}" for k, n in result.left_out.items())
        console.print(
            f"wrote {result.rows} {result.format} rows from {len(result.episodes)} episodes "
            f"to {result.path}" + (f" (left out: {left})" if left else "")
        )

    emit(as_json, result.to_json(), render)
