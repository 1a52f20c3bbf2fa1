"""``palate judge``: run AI judges over a dataset's pairs (``run``); other commands join here."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from palate.cli.common import DbOption, JsonOption, console, emit, err_console, open_store
from palate.cli.judge_probe import probe_command
from palate.judges.loading import load_pairwise
from palate.judges.run import JudgeRunResult, run
from palate.judges.swap import SwapPolicy
from palate.loop.judging import judge_generation_pairs

app = typer.Typer(
    help="AI judges: run them over datasets, probe their biases.", no_args_is_help=True
)
app.command("probe")(probe_command)


def generation_pairs(candidate: str, baseline: str | None) -> Callable[..., JudgeRunResult]:
    """``judge_generation_pairs`` for one candidate and baseline (both options needed)."""
    if baseline is None:
        raise typer.BadParameter("--candidate needs --baseline")
    return functools.partial(judge_generation_pairs, candidate=candidate, baseline=baseline)


@app.command("run")
def run_command(
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset whose pairs to judge.")],
    judge_file: Annotated[Path, typer.Option("--judge", help="Judge config (YAML).")],
    rubric_ref: Annotated[
        str | None,
        typer.Option(
            "--rubric",
            help="Rubric file or stored version (prefix); default: the config's, else a "
            "generic overall-quality rubric.",
        ),
    ] = None,
    swap: Annotated[
        bool, typer.Option("--swap", help="Judge both presentation orders of every pair.")
    ] = False,
    policy: Annotated[
        SwapPolicy,
        typer.Option("--policy", help="With --swap, what an order-inconsistent pair becomes."),
    ] = "tie",
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", min=1, help="Requests in flight (default: the config's)."),
    ] = None,
    replicates: Annotated[
        int, typer.Option("--replicates", min=1, help="Judgements per pair (own seeds).")
    ] = 1,
    out: Annotated[
        str | None,
        typer.Option("--out", help="Output dataset (default: DATASET.JUDGE_NAME)."),
    ] = None,
    candidate: Annotated[
        str | None,
        typer.Option("--candidate", help="In a dataset of generations: this model's responses..."),
    ] = None,
    baseline: Annotated[
        str | None, typer.Option("--baseline", help="...against this model's, paired by prompt.")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Judge the first two responses of each distinct (item, model pair) in a dataset; a
    killed run started again reuses every completed call."""
    judge = load_pairwise(judge_file, concurrency=concurrency)
    store = open_store(db)
    with Progress(
        TextColumn("judging"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=as_json or not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("judging", total=None)
        judging = run if candidate is None else generation_pairs(candidate, baseline)
        result = judging(
            store,
            dataset,
            judge,
            rubric=rubric_ref,
            swap=swap,
            policy=policy,
            out=out,
            concurrency=concurrency,
            replicates=replicates,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )

    def render() -> None:
        console.print(
            f"Judged [bold]{result.requested}[/] pairs of {escape(dataset)} with "
            f"[bold]{escape(result.judge)}[/]: {result.scored} scored, {result.unscored} "
            f"unscored; {result.calls} calls, {result.cache_hits} from the cache. "
            f"Wrote {result.added} new records to [bold]{escape(result.out)}[/].",
            soft_wrap=True,
        )

    emit(as_json, result.to_json(), render)
