"""``palate judge probe``: measure a judge's biases on a sample of a dataset's pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, cast

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
)
from palate.errors import InputError
from palate.judges.loading import load_pairwise
from palate.judges.probes import PROBES, ProbeName
from palate.judges.probing import probe


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
    result = probe(
        open_store(db), dataset, load_pairwise(judge_file), rubric=rubric_ref, probes=chosen,
        family=family, limit=limit, seed=seed, level=level,
    )  # fmt: skip

    def render() -> None:
        console.print(f"{result.pairs} pairs of {escape(dataset)}")
        console.print(escape(result.report.render_text()), soft_wrap=True)

    emit(as_json, result.to_json(), render)
