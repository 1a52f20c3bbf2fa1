"""``palate data overlap``, ``palate safety …`` and ``palate revise``: contamination between
datasets, red-team runs, and critique-revision by a constitution."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from palate.cli.common import (
    OPEN_UNIT_INTERVAL,
    DbOption,
    JsonOption,
    checked_output,
    console,
    emit,
    open_store,
)
from palate.errors import PalateError

data_app = typer.Typer(help="Checks across datasets.")


@data_app.command("overlap")
def overlap_command(
    train: Annotated[str, typer.Option("--train", help="Training dataset.")],
    evaluation: Annotated[str, typer.Option("--eval", help="Evaluation dataset.")],
    ngram: Annotated[int, typer.Option("--ngram", help="Words per n-gram.", min=3)] = 8,
    embed: Annotated[
        bool,
        typer.Option("--embed/--no-embed", help="Also compare MiniLM embeddings (paraphrases)."),
    ] = True,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Evaluation prompts found in the training data: exactly (normalised), by long n-gram
    overlap, or as paraphrases (embedding similarity). Recorded in the ledger."""
    from palate.safety.contamination import record_overlap
    from palate.safety.overlap import OverlapConfig, dataset_overlap

    store = open_store(db)
    config = OverlapConfig(ngram=ngram, embed=embed)
    result = dataset_overlap(store, train, evaluation, config)
    document = result.to_json()
    record_overlap(store, train, evaluation, result)

    def render() -> None:
        console.print(
            f"{len(result.flagged)} of {result.n_eval} evaluation prompts found in "
            f"{result.n_train:,} training texts."
        )
        if result.flagged:
            table = Table("eval item", "train item", "kind", "score")
            for f in result.flagged:
                table.add_row(f.eval_item, f.train_item, f.kind, f"{f.score:.3f}")
            console.print(table)

    emit(as_json, document, render)


safety_app = typer.Typer(
    help="Red-team suites: attack success and over-refusal, measured and recorded.",
    no_args_is_help=True,
)


@safety_app.command("prompts")
def prompts_command(
    suite: Annotated[str, typer.Option("--suite", help="Suite YAML file or shipped name.")],
    out: Annotated[Path, typer.Argument(help="JSONL file of prompts for palate generate.")],
    as_json: JsonOption = False,
) -> None:
    """Write a suite's prompts as JSONL (id, prompt), for palate generate --prompts."""
    from palate.safety.suite import load_suite

    checked_output(out, "prompts file")
    loaded = load_suite(suite)
    lines = [json.dumps({"id": p.id, "prompt": p.text}) for p in loaded.prompts()]
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(out)
    document = {"suite": loaded.name, "suite_hash": loaded.digest, "prompts": len(lines)}
    emit(as_json, document, lambda: console.print(f"wrote {len(lines)} prompts to {out}"))


@safety_app.command("redteam")
def redteam_command(
    suite: Annotated[str, typer.Option("--suite", help="Suite YAML file or shipped name.")],
    dataset: Annotated[
        str, typer.Option("--dataset", help="Dataset of generations to the suite's prompts.")
    ],
    judge: Annotated[
        Path | None,
        typer.Option(
            "--judge",
            help="Pointwise judge config scoring the refusal rubric (default: refusal phrases).",
        ),
    ] = None,
    endpoint: Annotated[
        Path | None,
        typer.Option("--endpoint", help="Generate the responses first from this endpoint."),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Whose responses, when several models.")
    ] = None,
    alpha: Annotated[
        float,
        typer.Option("--alpha", parser=OPEN_UNIT_INTERVAL, help="Intervals at level 1 − alpha."),
    ] = 0.05,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Attack-success and over-refusal rates with Wilson intervals, overall and per category,
    recorded in the ledger for gates (gate check --redteam) and model cards."""
    from palate.safety.redteam import run_recorded_redteam
    from palate.safety.suite import load_suite

    loaded = load_suite(suite)
    store = open_store(db, create=endpoint is not None)
    if endpoint is not None:
        from palate.generate import EndpointGenerator, generate
        from palate.generate.endpoint import load_endpoint

        generator = EndpointGenerator(load_endpoint(endpoint))
        generate(store, generator, loaded.prompts(), dataset)
        model = model or generator.name
    pointwise = None
    if judge is not None:
        from palate.judges import PointwiseJudge, load

        built = load(judge)
        if not isinstance(built, PointwiseJudge):
            raise PalateError(f"judge {judge} cannot score single responses (not pointwise)")
        pointwise = built
    recorded = run_recorded_redteam(
        store, loaded, dataset, judge=pointwise, model=model, alpha=alpha
    )
    result = recorded.result

    def render() -> None:
        table = Table("metric", "rate %", "interval", "n", title=f"Red-team run {recorded.run}")
        for name, e in result.metrics.items():
            table.add_row(name, f"{e.value:.1f}", f"[{e.ci_low:.1f}, {e.ci_high:.1f}]", str(e.n))
        console.print(table)
        console.print(f"{len(result.findings)} findings; record #{recorded.entry.index}")

    emit(as_json, {"run": recorded.run, "record": recorded.entry.id, **result.to_json()}, render)


def revise_command(
    constitution: Annotated[
        str, typer.Option("--constitution", help="Constitution YAML file or shipped name.")
    ],
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset of responses to revise.")],
    judge: Annotated[
        Path, typer.Option("--judge", help="Config of the model that critiques and revises.")
    ],
    out: Annotated[str, typer.Option("--out", help="Dataset to store the pairs in.")],
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seeds each principle draw.")] = 0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Critique and revise responses by a constitution's principles: preference pairs (revised
    over original) naming the principle and generator, recorded as synthetic data."""
    from palate.safety.constitution import load_constitution
    from palate.safety.revise import revise

    loaded = load_constitution(constitution)
    result = revise(open_store(db), loaded, dataset, judge, out, seed=seed)

    def render() -> None:
        console.print(
            f"{result.revised} pairs from {result.responses} responses into {out} "
            f"({result.unchanged} unchanged, {result.failed} failed; {result.calls} calls, "
            f"{result.cache_hits} from the cache)"
        )

    emit(as_json, result.to_json(), render)
