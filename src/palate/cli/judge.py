"""``palate judge``: run AI judges over a dataset's pairs (``run``); other commands join here."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from palate.cli.common import DbOption, JsonOption, console, emit, err_console, open_store
from palate.cli.judge_probe import probe_command
from palate.errors import PalateError
from palate.judges.base import PairwiseJudge
from palate.judges.config import OpenAIJudgeConfig, config_hash, load_judge_config
from palate.judges.run import RunResult, open_judge, run_judge
from palate.judges.swap import SwapPolicy
from palate.ledger import EntityRef, Ledger
from palate.ledger.provenance import current_agent
from palate.loop.judging import judge_generation_pairs
from palate.rubric import load_rubric
from palate.schema import Rubric
from palate.store import Store
from palate.store.rubrics import load_rubric_version, save_rubric

app = typer.Typer(
    help="AI judges: run them over datasets, probe their biases.", no_args_is_help=True
)
app.command("probe")(probe_command)

_VERSION = re.compile(r"[0-9a-fA-F]{4,64}")


def _rubric(store: Store, ref: str | None) -> Rubric | None:
    """A rubric file (stored as a version on the way) or a stored version or prefix."""
    if ref is None:
        return None
    path = Path(ref)
    if path.exists() or not _VERSION.fullmatch(ref):
        rubric = load_rubric(path)
        save_rubric(store, rubric, path.read_text(encoding="utf-8"))
        return rubric
    return load_rubric_version(store, ref)


def generation_pairs(candidate: str, baseline: str | None) -> Callable[..., RunResult]:
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
    config = load_judge_config(judge_file)
    store = open_store(db)
    judge: PairwiseJudge
    if isinstance(config, OpenAIJudgeConfig):
        rubric = _rubric(store, rubric_ref or config.rubric)
        judge = open_judge(config, store, rubric=rubric, concurrency=concurrency)
        rubric_id = judge.rubric_version
        in_flight = judge.config.concurrency
    else:
        from palate.judges.reward_funcs import judge_from_config

        if rubric_ref is not None:
            raise PalateError(f"judge '{config.name}' of kind {config.kind} takes no rubric")
        built = judge_from_config(config)
        if not isinstance(built, PairwiseJudge):
            raise PalateError(f"judge '{config.name}' of kind {config.kind} is not pairwise")
        judge, rubric_id, in_flight = built, None, concurrency or 8
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
        run = run_judge if candidate is None else generation_pairs(candidate, baseline)
        result = run(
            store,
            dataset,
            judge,
            out=out,
            swap=swap,
            policy=policy,
            concurrency=2 * in_flight if swap else in_flight,
            replicates=replicates,
            rubric=rubric_id,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    ledger = Ledger(store)
    used = [ledger.dataset_rows(dataset)]
    used.append(EntityRef(kind="judge-config", id=config.name, hash=config_hash(config)))
    if rubric_id is not None:
        used.append(EntityRef(kind="rubric", id=rubric_id, hash=rubric_id))
    ledger.append(
        "judge-run",
        agent=current_agent(),
        used=used,
        generated=[ledger.dataset_rows(result.out)],
        attributes={
            "options": {"swap": swap, "policy": policy, "replicates": replicates},
            "result": result.to_json(),
        },
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
