"""``palate route …``: decide which judge verdicts may stand and which go to humans."""

from __future__ import annotations

from typing import Annotated, Literal

import typer
from rich.table import Table

from palate.cli.common import (
    OPEN_UNIT_INTERVAL,
    SEED_MAX,
    DbOption,
    JsonOption,
    console,
    emit,
    open_store,
)
from palate.routing.calibration import calibrate
from palate.routing.cascade import DEFAULT_MIN_ITEMS

app = typer.Typer(help="Trust-or-escalate routing between judges and humans.",
                  no_args_is_help=True)  # fmt: skip


@app.command("calibrate")
def calibrate_command(
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset holding both sources.")],
    judge_source: Annotated[str, typer.Option("--judge-source", help="The judge's name.")],
    human_source: Annotated[str, typer.Option("--human-source", help="The humans' name.")],
    alpha: Annotated[
        float,
        typer.Option(
            "--alpha",
            parser=OPEN_UNIT_INTERVAL,
            help="Tolerated disagreement on trusted items (1 − target).",
        ),
    ] = 0.15,
    delta: Annotated[
        float,
        typer.Option(
            "--delta",
            parser=OPEN_UNIT_INTERVAL,
            help="Allowed chance that the guarantee fails.",
        ),
    ] = 0.1,
    calibration_fraction: Annotated[
        float,
        typer.Option(
            "--calibration-fraction",
            parser=OPEN_UNIT_INTERVAL,
            help="Share of human-labelled items calibrated on.",
        ),
    ] = 0.5,
    ties: Annotated[
        Literal["count", "drop"],
        typer.Option(
            "--ties",
            help="'count': agreement is the same three-way outcome (win, loss, tie); 'drop': "
            "leave out battles the humans called a tie (MT-Bench's 'agreement without tie').",
        ),
    ] = "count",
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=SEED_MAX, help="Seed of the calibration split.")
    ] = 0,
    min_items: Annotated[
        int,
        typer.Option(
            "--min-items", min=1, help="Fewest calibration items a tested threshold holds."
        ),
    ] = DEFAULT_MIN_ITEMS,
    grid: Annotated[
        int | None,
        typer.Option("--grid", min=1, help="Test at most this many thresholds (a coarse grid)."),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Certify a confidence threshold above which the judge agrees with humans at rate
    ≥ 1 − alpha with probability ≥ 1 − delta; list which other items may be trusted."""
    result = calibrate(
        open_store(db), dataset, judge_source=judge_source, human_source=human_source,
        alpha=alpha, delta=delta, calibration_fraction=calibration_fraction, ties=ties, seed=seed,
        min_items=min_items, grid=grid,
    )  # fmt: skip
    document = result.to_json()

    def render() -> None:
        out = Table("", "value", title=f"Trust {judge_source} at agreement ≥ {1 - alpha:g}")
        threshold = result.threshold
        out.add_row("confidence signal", document["signal"])
        out.add_row("threshold", "none (escalate all)" if threshold is None else f"{threshold:.4f}")
        out.add_row("calibration labels", str(document["n_calibration"]))
        out.add_row("coverage (not calibrated on)", f"{document['coverage']:.3f}")
        agreement = document["agreement_trusted"]
        shown = "" if agreement is None else f"{agreement:.3f}"
        out.add_row("held-out agreement on trusted", shown)
        console.print(out)

    emit(as_json, document, render)
