"""``palate loop run LOOP.yaml [--resume]``: one iteration of the loop, with progress per stage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from palate.cli.common import DbOption, JsonOption, console, emit, err_console, open_store

app = typer.Typer(help="The loop on a real model, one iteration at a time.", no_args_is_help=True)


@app.command("run")
def run_command(
    loop_file: Annotated[Path, typer.Argument(help="The loop file (YAML).")],
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip stages finished with the same inputs.")
    ] = False,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            help="Ray cluster (auto, ray://HOST:PORT, local) to generate and run local judges "
            "on: one actor per GPU, the same outputs.",
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Generate, judge, route, label, infer truth, train, generate, evaluate and gate."""
    from palate.loop import LoopRunner, load_loop
    from palate.loop.run import STAGES
    from palate.loop.summary import write_summary

    config = load_loop(loop_file)
    store = open_store(db, create=True)
    try:
        with Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console,
            disable=as_json,
        ) as bar:
            tasks: dict[str, TaskID] = {s: bar.add_task(s, total=None) for s in STAGES}

            def progress(stage: str, done: int, total: int) -> None:
                bar.update(tasks[stage], completed=done, total=total)

            result = LoopRunner(config, store, resume=resume, progress=progress, ray=ray).run()
        result.summary = write_summary(result, config.work_dir / f"{config.name}-summary.html")
    finally:
        store.close()

    def render() -> None:
        ran = sum(s.ran for s in result.stages)
        console.print(
            f"loop {result.loop}: [bold]{result.verdict}[/] ({ran} stages ran, "
            f"{len(result.stages) - ran} skipped); summary {result.summary}"
        )
        for reason in result.reasons:
            console.print(f"  {reason}", highlight=False)

    emit(as_json, result.to_json(), render)
