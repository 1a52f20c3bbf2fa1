"""``palate stats …``: thin commands over palate.stats, reading from the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import typer
from rich.table import Table

from palate.cli.common import (
    DbOption,
    JsonOption,
    console,
    emit,
    open_store,
    record_aggregation,
)
from palate.errors import StatsError
from palate.stats import data
from palate.stats.agreement import agreement_table
from palate.stats.bradley_terry import rank as rank_models
from palate.stats.difficulty_table import load_difficulty_table
from palate.stats.length_controlled import pin_difficulty_table, win_rate_table
from palate.stats.matching import match
from palate.stats.ppi import classical_mean, oriented_outcomes, ppi_bradley_terry, ppi_mean
from palate.stats.truth import ClassPrior, Method, infer_truth
from palate.stats.winrate import check_comparisons

app = typer.Typer(
    help="Win rates, rankings, truth inference, agreement, PPI.", no_args_is_help=True
)

DatasetOption = Annotated[str, typer.Option("--dataset", help="Dataset to analyse.")]


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
    pinned = None if difficulty_table is None else load_difficulty_table(difficulty_table)
    store = open_store(db)
    rows = data.against_baseline(store, dataset, baseline, length_controlled=length_controlled)
    if save_difficulty_table is not None:
        columns = check_comparisons(rows.models, rows.instructions, rows.preferences,
                                    rows.model_lengths, rows.baseline_lengths)  # fmt: skip
        pinned = pin_difficulty_table(columns, baseline=baseline, source=f"dataset {dataset}")
        pinned.save(save_difficulty_table)
    table = win_rate_table(
        rows.models,
        rows.instructions,
        rows.preferences,
        rows.model_lengths,
        rows.baseline_lengths,
        baseline=baseline,
        length_controlled=length_controlled,
        difficulty_by_row_number=difficulty_by == "row",
        difficulty_table=pinned,
    )

    def render() -> None:
        out = Table("model", "win rate", "± se", "LC win rate", "± se", "wins", "losses",
                    "draws", "n", "avg length", title=f"Win rates against {baseline}")  # fmt: skip
        for r in table:
            out.add_row(r.model, _fmt(r.win_rate), _fmt(r.standard_error),
                        _fmt(r.length_controlled_winrate), _fmt(r.lc_standard_error),
                        str(r.n_wins), str(r.n_wins_base), str(r.n_draws), str(r.n_total),
                        str(r.avg_length))  # fmt: skip
        console.print(out)

    document = {"baseline": baseline, "models": [r.to_json() for r in table]}
    options = {"baseline": baseline, "length_controlled": length_controlled,
               "difficulty_by": difficulty_by,
               "difficulty_table": None if pinned is None else pinned.source}  # fmt: skip
    record_aggregation(store, "stats winrate", [dataset], options, document)
    emit(as_json, document, render)


@app.command("rank")
def rank_command(
    dataset: DatasetOption,
    method: Annotated[
        Literal["bt", "davidson", "elo"], typer.Option("--method", help="Rating model.")
    ] = "bt",
    ci: Annotated[
        Literal["bootstrap", "sandwich"], typer.Option("--ci", help="How intervals are computed.")
    ] = "bootstrap",
    alpha: Annotated[float, typer.Option("--alpha", help="1 - confidence level.")] = 0.05,
    n_bootstrap: Annotated[int, typer.Option("--n-bootstrap", help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the bootstrap.")] = 0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rank models from pairwise comparisons, with confidence intervals (Arena's scale)."""
    store = open_store(db)
    pairs = data.pairwise(store, dataset)
    ranking = rank_models(
        pairs.model_a, pairs.model_b, pairs.outcome, pairs.names, method=method, ci=ci,
        alpha=alpha, n_bootstrap=n_bootstrap, rng=seed,
    )  # fmt: skip
    document = ranking.to_json()

    def render() -> None:
        level = round(100 * (1 - alpha))
        title = f"{method} scores, {ci} intervals, {len(pairs.outcome):,} comparisons"
        out = Table("rank", "model", "score", f"{level}% interval", title=title)
        for row in document["models"]:
            out.add_row(str(row["rank"]), row["model"], f"{row['score']:.1f}",
                        f"{row['ci_low']:.1f} – {row['ci_high']:.1f}")  # fmt: skip
        console.print(out)

    options = {"method": method, "ci": ci, "alpha": alpha, "n_bootstrap": n_bootstrap,
               "seed": seed}  # fmt: skip
    record_aggregation(store, "stats rank", [dataset], options, document)
    emit(as_json, document, render)


@app.command("ppi")
def ppi_command(
    human: Annotated[str, typer.Option("--human", help="Dataset of (few) human comparisons.")],
    judge: Annotated[str, typer.Option("--judge", help="Dataset of (many) judge comparisons.")],
    target: Annotated[
        Literal["winrate", "rank"], typer.Option("--target", help="What to estimate.")
    ] = "winrate",
    alpha: Annotated[float, typer.Option("--alpha", help="1 - confidence level.")] = 0.05,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Prediction-powered intervals: a few human labels plus many judge labels (PPI++)."""
    store = open_store(db)
    judged = data.pairwise(store, judge)
    matched = match(data.pairwise(store, human), judged)
    lab, unl = matched.labelled, matched.unlabelled
    y_hat = judged.outcome
    if target == "rank":
        result = ppi_bradley_terry(
            judged.model_a[lab], judged.model_b[lab], matched.human_outcome, y_hat[lab],
            judged.model_a[unl], judged.model_b[unl], y_hat[unl], matched.names, alpha=alpha,
        )  # fmt: skip
        document = result.to_json()
        rows = [(m["model"], m["score"], m["ci_low"], m["ci_high"]) for m in document["models"]]
        title = "PPI++ Bradley-Terry scores (Arena scale)"
    else:
        models, skipped = [], []
        for k, name in enumerate(matched.names):
            _, y = oriented_outcomes(k, judged.model_a[lab], judged.model_b[lab],
                                          matched.human_outcome)  # fmt: skip
            _, f = oriented_outcomes(k, judged.model_a[lab], judged.model_b[lab], y_hat[lab])
            _, f_u = oriented_outcomes(k, judged.model_a[unl], judged.model_b[unl],
                                            y_hat[unl])  # fmt: skip
            try:
                ppi, human_only = ppi_mean(y, f, f_u, alpha=alpha), classical_mean(y, alpha=alpha)
            except StatsError as exc:  # e.g. too few, or only wins, among its human labels
                skipped.append({"model": name, "reason": str(exc)})
                continue
            models.append({"model": name, **ppi.to_json(), "classical": human_only.to_json()})
        document = {"target": "winrate", "alpha": alpha, "models": models, "skipped": skipped}
        rows = [(m["model"], m["estimate"], m["ci_low"], m["ci_high"]) for m in models]
        title = "PPI++ win rate against the field"

    def render() -> None:
        out = Table("model", "estimate", f"{round(100 * (1 - alpha))}% interval", title=title)
        for name, estimate, low, high in rows:
            out.add_row(name, f"{estimate:.3f}", f"{low:.3f} – {high:.3f}")
        console.print(out)
        console.print(
            f"{len(lab):,} comparisons with human labels, {len(unl):,} judged only "
            f"(mean judge outcome {np.mean(y_hat):.3f})."
        )

    options = {"target": target, "alpha": alpha}
    record_aggregation(store, "stats ppi", [human, judge], options, document)
    emit(as_json, document, render)


@app.command("truth")
def truth_command(
    dataset: DatasetOption,
    method: Annotated[Method, typer.Option("--method", help="Truth inference method.")] = "ds",
    max_iter: Annotated[int, typer.Option("--max-iter", help="EM iterations at most.")] = 100,
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
    store = open_store(db)
    labels = data.labels(store, dataset)
    result = infer_truth(
        labels.items,
        labels.workers,
        labels.answers,
        method=method,
        max_iter=max_iter,
        class_prior=class_prior,
    )
    document = result.to_json()

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

    options = {"method": method, "max_iter": max_iter, "class_prior": class_prior}
    record_aggregation(store, "stats truth", [dataset], options, document)
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
    store = open_store(db)
    found = data.votes(store, dataset)
    wanted = {"humans": {("human", "human")}, "judges": {("judge", "judge")},
              "humans,judges": {("human", "judge"), ("judge", "human")}}[between]  # fmt: skip
    keep = [i for i, s in enumerate(found.sources) if found.kinds[s] in {k for k, _ in wanted}]
    if not keep:
        raise StatsError(f"dataset {dataset!r} has no judgements by {between}")
    rows = agreement_table(
        [found.items[i] for i in keep],
        [found.sources[i] for i in keep],
        [found.labels[i] for i in keep],
    )
    rows = [r for r in rows if (found.kinds[r.source_a], found.kinds[r.source_b]) in wanted]
    document = {"between": between, "pairs": [r.to_json() for r in rows]}

    def render() -> None:
        out = Table("source", "source", "items", "agreement", "w/o ties", "kappa",
                    title=f"Agreement between {between}")  # fmt: skip
        for r in sorted(rows, key=lambda r: -r.items)[:40]:
            out.add_row(r.source_a, r.source_b, str(r.items), _fmt(r.agreement, 3),
                        _fmt(r.agreement_without_ties, 3), _fmt(r.kappa, 3))  # fmt: skip
        console.print(out)

    record_aggregation(store, "stats agreement", [dataset], {"between": between}, document)
    emit(as_json, document, render)
