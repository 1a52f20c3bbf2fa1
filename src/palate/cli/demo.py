"""``palate demo``: the taste gym end to end, with an HTML report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from palate.cli.common import SEED_MAX, DbOption, JsonOption, console, emit, err_console, open_store


def demo_command(
    quick: Annotated[
        bool, typer.Option("--quick", help="The same loop, smaller (about a quarter of the time).")
    ] = False,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for summary.json, report.html and goodhart.png.")
    ] = Path("demo-out"),
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=SEED_MAX, help="Seed of the whole run.")
    ] = 0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run the taste gym: a checkbox-trained arm games its judge while the anchored arm learns
    what simulated experts want. Without --db the store is OUT/demo.db, made afresh."""
    from palate.gym import GymConfig, run_demo  # torch loads only when the demo runs

    config = GymConfig.quick(seed) if quick else GymConfig(seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    if db is None:
        (out / "demo.db").unlink(missing_ok=True)
        db = f"sqlite:///{out / 'demo.db'}"
    store = open_store(db, create=True)
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} rounds"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=as_json or not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("starting", total=config.rounds)
        result = run_demo(
            config,
            store,
            out,
            progress=lambda stage, done, total: bar.update(
                task, description=stage, completed=done, total=total
            ),
        )
    elapsed = time.perf_counter() - started

    def render() -> None:
        summary = result.summary
        table = Table(title=f"palate taste gym (seed {seed}{', quick' if quick else ''})")
        for column in ("arm", "gold win rate vs start", "proxy score", "human labels", "alarm"):
            table.add_column(column)
        for arm in ("checkbox", "anchored"):
            a = summary["arms"][arm]
            gold = a["final_gold_win_rate"]
            first, last = a["proxy_score_start_to_end"]
            table.add_row(
                arm,
                f"{gold['estimate']:.1%} [{gold['ci_low']:.1%}, {gold['ci_high']:.1%}]",
                f"{first:.1f} → {last:.1f}",
                str(a["human_labels"]),
                f"fired in round {a['alarm_round']}" if a["alarm_fired"] else "quiet",
            )
        console.print(table)
        for claim, ok in summary["checks"].items():
            mark = "[green]✓[/]" if ok else "[red]✗[/]"
            console.print(f"{mark} {claim.replace('_', ' ')}")
        stages = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
        console.print(f"{elapsed:.0f}s ({stages})")
        console.print(f"Report: {out / 'report.html'}")

    emit(as_json, result.summary, render)
