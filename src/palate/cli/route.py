"""``palate route …``: decide which judge verdicts may stand and which go to humans."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import typer
from rich.table import Table

from palate.cli.common import DbOption, JsonOption, console, emit, open_store, record_aggregation
from palate.errors import PalateError
from palate.routing.cascade import DEFAULT_MIN_ITEMS, calibrate_threshold
from palate.routing.verdicts import pair_verdicts

app = typer.Typer(help="Trust-or-escalate routing between judges and humans.",
                  no_args_is_help=True)  # fmt: skip

_COLUMNS = ["item", "model_a", "model_b", "outcome", "body"]


def _rows(store_rows: list[tuple[object, ...]], source: str) -> list[tuple[object, ...]]:
    return [row[1:] for row in store_rows if row[0] == source]


@app.command("calibrate")
def calibrate_command(
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset holding both sources.")],
    judge_source: Annotated[str, typer.Option("--judge-source", help="The judge's name.")],
    human_source: Annotated[str, typer.Option("--human-source", help="The humans' name.")],
    alpha: Annotated[
        float, typer.Option("--alpha", help="Tolerated disagreement on trusted items (1 − target).")
    ] = 0.15,
    delta: Annotated[
        float, typer.Option("--delta", help="Allowed chance that the guarantee fails.")
    ] = 0.1,
    calibration_fraction: Annotated[
        float,
        typer.Option("--calibration-fraction", help="Share of human-labelled items calibrated on."),
    ] = 0.5,
    ties: Annotated[
        Literal["count", "drop"],
        typer.Option(
            "--ties",
            help="'count': agreement is the same three-way outcome (win, loss, tie); 'drop': "
            "leave out battles the humans called a tie (MT-Bench's 'agreement without tie').",
        ),
    ] = "count",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the calibration split.")] = 0,
    min_items: Annotated[
        int,
        typer.Option("--min-items", help="Fewest calibration items a tested threshold holds."),
    ] = DEFAULT_MIN_ITEMS,
    grid: Annotated[
        int | None,
        typer.Option("--grid", help="Test at most this many thresholds (a coarse grid)."),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Certify a confidence threshold above which the judge agrees with humans at rate
    ≥ 1 − alpha with probability ≥ 1 − delta; list which other items may be trusted."""
    if not 0 < calibration_fraction < 1:
        raise PalateError(f"--calibration-fraction must lie in (0, 1), got {calibration_fraction}")
    store = open_store(db)
    rows = store.columns(dataset, ["source_name", *_COLUMNS], kind="comparison")
    judge_rows, human_rows = _rows(rows, judge_source), _rows(rows, human_source)
    for name, found in ((judge_source, judge_rows), (human_source, human_rows)):
        if not found:
            raise PalateError(f"dataset {dataset!r} has no pairwise verdicts by {name!r}")
    verdicts = pair_verdicts(judge_rows, human_rows, judge_source)
    usable = ~verdicts.human_tie if ties == "drop" else np.ones(len(verdicts.items), bool)
    labelled = np.flatnonzero(verdicts.labelled & usable)
    if labelled.size == 0:
        raise PalateError(f"no battle was judged by both {judge_source!r} and {human_source!r}")
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(labelled)[: round(calibration_fraction * labelled.size)]
    in_calibration = np.zeros(len(verdicts.items), dtype=np.bool_)
    in_calibration[chosen] = True
    calibration = calibrate_threshold(
        verdicts.confidence[chosen],
        verdicts.agree[chosen] == 1,
        alpha=alpha,
        delta=delta,
        min_items=min_items,
        grid=grid,
    )
    rest = ~in_calibration & usable
    trusted = calibration.trust(verdicts.confidence) & rest
    held_out = rest & verdicts.labelled
    n_held = int(held_out.sum())
    achieved = verdicts.agree[trusted & held_out]
    document = {
        "threshold": calibration.threshold,
        "coverage": float(trusted[rest].mean()) if rest.any() else 0.0,
        "agreement_trusted": float(achieved.mean()) if achieved.size else None,
        "n_calibration": calibration.n_calibration,
        "n_held_out": n_held,
        "held_out_coverage": float(trusted[held_out].mean()) if n_held else 0.0,
        "signal": verdicts.signal,
        "alpha": alpha,
        "delta": delta,
        "ties": ties,
        "calibration": calibration.to_json(),
        "items": [
            {"item": verdicts.items[k], "trusted": bool(trusted[k])} for k in np.flatnonzero(rest)
        ],
    }

    def render() -> None:
        out = Table("", "value", title=f"Trust {judge_source} at agreement ≥ {1 - alpha:g}")
        threshold = calibration.threshold
        out.add_row("confidence signal", verdicts.signal)
        out.add_row("threshold", "none (escalate all)" if threshold is None else f"{threshold:.4f}")
        out.add_row("calibration labels", str(calibration.n_calibration))
        out.add_row("coverage (not calibrated on)", f"{document['coverage']:.3f}")
        agreement = document["agreement_trusted"]
        shown = "" if agreement is None else f"{agreement:.3f}"
        out.add_row("held-out agreement on trusted", shown)
        console.print(out)

    options = {"judge_source": judge_source, "human_source": human_source, "alpha": alpha,
               "delta": delta, "calibration_fraction": calibration_fraction, "ties": ties,
               "seed": seed, "min_items": min_items, "grid": grid}  # fmt: skip
    record_aggregation(store, "route calibrate", [dataset], options, document)
    emit(as_json, document, render)
