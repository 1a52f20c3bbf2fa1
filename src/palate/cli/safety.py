"""``palate data overlap``: contamination between training and evaluation datasets."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from palate.cli.common import DbOption, JsonOption, console, emit, open_store
from palate.safety.contamination import record_overlap
from palate.safety.overlap import OverlapConfig, dataset_overlap

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
