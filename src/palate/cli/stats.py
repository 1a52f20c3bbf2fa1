"""``palate stats …``: thin commands over palate.stats, reading from the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from palate.cli.common import (
    MAX_BOOTSTRAP,
    OPEN_UNIT_INTERVAL,
    PRIOR_STRENGTH,
    SEED_MAX,
    DbOption,
    JsonOption,
    console,
    emit,
    open_store,
)
from palate.stats import reports
from palate.stats.truth import ClassPrior, Method

app = typer.Typer(
    help="Win rates, rankings, truth inference, agreement, PPI.", no_args_is_help=True
)

DatasetOption = Annotated[str, typer.Option("--dataset", help="Dataset to analyse.")]
AlphaOption = Annotated[
    float, typer.Option("--alpha", parser=OPEN_UNIT_INTERVAL, help="1 - confidence level.")
]


def _fmt(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


@app.command("winrate")
def winrate_command(
    dataset: DatasetOption,
    baseline: Annotated[str, typer.Option("--baseline", help="The model everyone is compared to.")],
    length_controlled: Annotated[
        bool, typer.Option("--length-controlled", help="Also AlpacaEval's length-controlled rate.")
    ] = False,
    difficulty_by: Annotated[
        Literal["row", "instruction"],
        typer.Option(
            "--difficulty-by",
            help="How LC aligns instruction difficulty: 'row' (position in each model's "
            "annotations) as AlpacaEval's published figures do, or 'instruction' (by prompt), "
            "which differs from them only when annotations are missing.",
        ),
    ] = "row",
    difficulty_table: Annotated[
        Path | None,
        typer.Option(
            "--difficulty-table",
            help="Pinned instruction difficulties for LC (JSON from --save-difficulty-table, "
            "or AlpacaEval's instruction_difficulty.csv): figures then ignore other models.",
        ),
    ] = None,
    save_difficulty_table: Annotated[
        Path | None,
        typer.Option(
            "--save-difficulty-table",
            help="Fit the LC instruction difficulties on this dataset and write them here.",
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Win rate of each model against a baseline, exactly as AlpacaEval computes it."""
    if (difficulty_table or save_difficulty_table) and not length_controlled:
        raise typer.BadParameter("difficulty tables need --length-controlled")
    result = reports.win_rates(
        open_store(db), dataset, baseline, length_controlled=length_controlled,
        difficulty_by=difficulty_by, difficulty_table=difficulty_table,
        save_difficulty_table=save_difficulty_table,
    )  # fmt: skip
    table = result.models

    def render() -> None:
        out = Table("model", "win rate", "± se", "LC win rate", "± se", "wins", "losses",
                    "draws", "n", "avg length", title=f"Win rates against {baseline}")  # fmt: skip
        for r in table:
            out.add_row(r.model, _fmt(r.win_rate), _fmt(r.standard_error),
                        _fmt(r.length_controlled_winrate), _fmt(r.lc_standard_error),
                        str(r.n_wins), str(r.n_wins_base), str(r.n_draws), str(r.n_total),
                        str(r.avg_length))  # fmt: skip
        console.print(out)

    emit(as_json, result.to_json(), render)


@app.command("rank")
def rank_command(
    dataset: DatasetOption,
    method: Annotated[
        Literal["bt", "davidson", "elo"], typer.Option("--method", help="Rating model.")
    ] = "bt",
    ci: Annotated[
        Literal["bootstrap", "sandwich"], typer.Option("--ci", help="How intervals are computed.")
    ] = "bootstrap",
    alpha: AlphaOption = 0.05,
    n_bootstrap: Annotated[
        int,
        typer.Option("--n-bootstrap", min=2, max=MAX_BOOTSTRAP, help="Bootstrap resamples."),
    ] = 1000,
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=SEED_MAX, help="Seed for the bootstrap.")
    ] = 0,
    l2: Annotated[
        float,
        typer.Option(
            "--l2",
            parser=PRIOR_STRENGTH,
            help="Strength of a Gaussian prior on log-strengths: finite, shrunken scores "
            "when some model never loses or the comparison graph is split.",
        ),
    ] = 0.0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rank models from pairwise comparisons, with confidence intervals (Arena's scale)."""
    result = reports.rank(
        open_store(db), dataset, method=method, ci=ci, alpha=alpha, n_bootstrap=n_bootstrap,
        seed=seed, l2=l2,
    )  # fmt: skip
    document = result.to_json()

    def render() -> None:
        level = round(100 * (1 - alpha))
        title = f"{method} scores, {ci} intervals, {result.comparisons:,} comparisons"
        out = Table("rank", "model", "score", f"{level}% interval", title=title)
        for row in document["models"]:
            out.add_row(str(row["rank"]), row["model"], f"{row['score']:.1f}",
                        f"{row['ci_low']:.1f} – {row['ci_high']:.1f}")  # fmt: skip
        console.print(out)

    emit(as_json, document, render)


@app.command("ppi")
def ppi_command(
    human: Annotated[str, typer.Option("--human", help="Dataset of (few) human comparisons.")],
    judge: Annotated[str, typer.Option("--judge", help="Dataset of (many) judge comparisons.")],
    target: Annotated[
        Literal["winrate", "rank"], typer.Option("--target", help="What to estimate.")
    ] = "winrate",
    alpha: AlphaOption = 0.05,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Prediction-powered intervals: a few human labels plus many judge labels (PPI++)."""
    result = reports.ppi(open_store(db), human, judge, target=target, alpha=alpha)
    title = {"rank": "PPI++ Bradley-Terry scores (Arena scale)",
             "winrate": "PPI++ win rate against the field"}[target]  # fmt: skip

    def render() -> None:
        out = Table("model", "estimate", f"{round(100 * (1 - alpha))}% interval", title=title)
        for name, estimate, low, high in result.estimates():
            out.add_row(name, f"{estimate:.3f}", f"{low:.3f} – {high:.3f}")
        console.print(out)
        console.print(
            f"{result.labelled:,} comparisons with human labels, {result.unlabelled:,} judged "
            f"only (mean judge outcome {result.mean_judge_outcome:.3f})."
        )

    emit(as_json, result.to_json(), render)


@app.command("truth")
def truth_command(
    dataset: DatasetOption,
    method: Annotated[Method, typer.Option("--method", help="Truth inference method.")] = "ds",
    max_iter: Annotated[
        int, typer.Option("--max-iter", min=1, max=100_000, help="EM iterations at most.")
    ] = 100,
    class_prior: Annotated[
        ClassPrior,
        typer.Option(
            "--class-prior",
            help="MACE's class prior: 'uniform' (MACE's own), or 'majority-vote' / 'estimated' "
            "for strongly imbalanced classes, where the uniform prior loses to majority vote.",
        ),
    ] = "uniform",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Infer each item's true label from crowd labels (majority vote, Dawid-Skene, ...)."""
    if class_prior != "uniform" and method != "mace":
        raise typer.BadParameter("--class-prior applies to --method mace only")
    document = reports.truth(
        open_store(db), dataset, method=method, max_iter=max_iter, class_prior=class_prior
    ).to_json()

    def render() -> None:
        out = Table("item", "label", "confidence", title=f"Inferred labels ({method})")
        for row in document["items"][:50]:
            out.add_row(row["item"], row["label"], f"{row['confidence']:.3f}")
        console.print(out)
        if len(document["items"]) > 50:
            console.print(f"... {len(document['items']) - 50} more items (use --json)")
        workers = sorted(document["workers"], key=lambda w: w["accuracy"])
        console.print(
            f"{len(workers)} workers; least accurate: "
            + ", ".join(f"{w['worker']} {w['accuracy']:.2f}" for w in workers[:5])
        )

    emit(as_json, document, render)


@app.command("agreement")
def agreement_command(
    dataset: DatasetOption,
    between: Annotated[
        Literal["humans", "judges", "humans,judges"],
        typer.Option(
            "--between",
            help="Whose agreement: within humans, within judges, or judges against humans.",
        ),
    ] = "humans",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Agreement on shared items, with and without ties (MT-Bench style) and Cohen's kappa."""
    result = reports.agreement(open_store(db), dataset, between=between)

    def render() -> None:
        out = Table("source", "source", "items", "agreement", "w/o ties", "kappa",
                    title=f"Agreement between {between}")  # fmt: skip
        for r in sorted(result.pairs, key=lambda r: -r.items)[:40]:
            out.add_row(r.source_a, r.source_b, str(r.items), _fmt(r.agreement, 3),
                        _fmt(r.agreement_without_ties, 3), _fmt(r.kappa, 3))  # fmt: skip
        console.print(out)

    emit(as_json, result.to_json(), render)
