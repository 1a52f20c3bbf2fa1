"""``palate judge probe``: measure a judge's biases on a sample of a dataset's pairs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, cast

import numpy as np
import typer
from rich.markup import escape

from palate.cli.common import (
    SEED_MAX,
    DbOption,
    FiniteFloat,
    JsonOption,
    console,
    emit,
    open_store,
    record_aggregation,
)
from palate.errors import InputError, PalateError
from palate.judges.base import PairTask, PairwiseJudge
from palate.judges.config import OpenAIJudgeConfig, load_judge_config
from palate.judges.probes import PROBES, ProbeName, run_probes
from palate.schema import Comparison


def _sample(
    store_records: list[Comparison], limit: int, seed: int
) -> tuple[list[PairTask], list[float | None]]:
    """Up to ``limit`` pairs with text, drawn with ``seed``; their recorded outcomes are the
    reference the self-preference probe compares against."""
    usable = [
        r
        for r in store_records
        if len(r.responses) == 2 and all(x.text is not None for x in r.responses)
    ]
    if len(usable) > limit:
        keep = np.sort(np.random.default_rng(seed).choice(len(usable), limit, replace=False))
        usable = [usable[i] for i in keep]
    tasks = [PairTask(prompt=r.prompt, responses=(r.responses[0], r.responses[1])) for r in usable]
    return tasks, [r.score_for_first() for r in usable]


def probe_command(
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset whose pairs to probe on.")],
    judge_file: Annotated[Path, typer.Option("--judge", help="Judge config (YAML).")],
    rubric_ref: Annotated[
        str | None,
        typer.Option("--rubric", help="Rubric file or stored version (OpenAI judges only)."),
    ] = None,
    probes: Annotated[
        list[str] | None,
        typer.Option(
            "--probe", help=f"Probe to run (repeatable; default all of {', '.join(PROBES)})."
        ),
    ] = None,
    family: Annotated[
        str | None,
        typer.Option(
            "--family",
            help="The judge's model family (a prefix of generator names) for self-preference.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Pairs to sample at most.")] = 50,
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=SEED_MAX, help="Seed of the pair sample.")
    ] = 0,
    level: Annotated[
        float, typer.Option("--level", parser=FiniteFloat(0.5, 0.999), help="Confidence level.")
    ] = 0.95,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run bias probes (position, verbosity, length, self-preference, sycophancy) and report
    each effect with its interval and whether it is detected."""
    chosen: list[ProbeName] = []
    for name in probes or PROBES:
        if name not in PROBES:
            raise InputError(f"unknown probe '{name}' (use {', '.join(PROBES)})", field="--probe")
        chosen.append(cast(ProbeName, name))
    config = load_judge_config(judge_file)
    store = open_store(db)
    judge: PairwiseJudge
    if isinstance(config, OpenAIJudgeConfig):
        from palate.cli.judge import _rubric  # lazily: judge.py registers this command
        from palate.judges.run import open_judge

        judge = open_judge(config, store, rubric=_rubric(store, rubric_ref or config.rubric))
    else:
        from palate.judges.reward_funcs import judge_from_config

        built = judge_from_config(config)
        if not isinstance(built, PairwiseJudge):
            raise PalateError(f"judge '{config.name}' of kind {config.kind} is not pairwise")
        judge = built
    records = [r for r in store.iter_records(dataset) if isinstance(r, Comparison)]
    tasks, reference = _sample(records, limit, seed)
    if not tasks:
        raise InputError(f"dataset '{dataset}' has no pairs with response texts", field="--dataset")
    report = asyncio.run(
        run_probes(judge, tasks, probes=chosen, family=family, reference=reference, level=level)
    )
    document = {"dataset": dataset, "pairs": len(tasks), **report.to_dict()}
    options = {"probes": chosen, "family": family, "limit": limit, "seed": seed, "level": level}
    record_aggregation(store, "judge-probe", [dataset], {"judge": config.name, **options}, document)

    def render() -> None:
        console.print(f"{len(tasks)} pairs of {escape(dataset)}")
        console.print(escape(report.render_text()), soft_wrap=True)

    emit(as_json, document, render)
