"""``palate eval …``, ``palate gate …`` and ``palate card``: release decisions on the record."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from palate.cli.common import (
    MAX_BOOTSTRAP,
    OPEN_UNIT_INTERVAL,
    SEED_MAX,
    DbOption,
    JsonOption,
    checked_output,
    console,
    emit,
    open_store,
)
from palate.evals import EvalSpec, compare, load_policy
from palate.evals.card import CardInput, model_card
from palate.evals.ledgered import check_gate, find_eval, register_policy, run_recorded_eval
from palate.evals.report import eval_report
from palate.io.atomic import write_atomic
from palate.ledger import Ledger

eval_app = typer.Typer(help="Evaluate a candidate against a baseline.", no_args_is_help=True)
gate_app = typer.Typer(help="Release gates registered before the evaluation.", no_args_is_help=True)

AlphaOption = Annotated[
    float,
    typer.Option("--alpha", parser=OPEN_UNIT_INTERVAL, help="Intervals at level 1 − alpha."),
]
SeedOption = Annotated[int, typer.Option("--seed", min=0, max=SEED_MAX, help="Bootstrap seed.")]


ReportOption = Annotated[
    Path | None, typer.Option("--report", help="Write an HTML report with plots here.")
]


@eval_app.command("run")
def eval_run_command(
    candidate: Annotated[str, typer.Option("--candidate", help="Candidate model/checkpoint name.")],
    baseline: Annotated[str, typer.Option("--baseline", help="Baseline model/checkpoint name.")],
    eval_set: Annotated[str, typer.Option("--set", help="Dataset of judged comparisons.")],
    candidate_hash: Annotated[
        str | None,
        typer.Option("--candidate-hash", help="Content hash of the candidate checkpoint."),
    ] = None,
    length_controlled: Annotated[
        bool,
        typer.Option(
            "--length-controlled/--no-length-controlled",
            help="Also AlpacaEval's length-controlled win rate (needs response texts).",
        ),
    ] = True,
    alpha: AlphaOption = 0.05,
    n_bootstrap: Annotated[
        int, typer.Option("--n-bootstrap", min=2, max=MAX_BOOTSTRAP, help="Replicates.")
    ] = 2000,
    seed: SeedOption = 0,
    report: ReportOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Evaluate, recording a start record before and the result after, in the ledger."""
    if report is not None:
        checked_output(report, "report")
    store = open_store(db)
    spec = EvalSpec(
        dataset=eval_set,
        candidate=candidate,
        baseline=baseline,
        candidate_hash=candidate_hash,
        alpha=alpha,
        n_bootstrap=n_bootstrap,
        seed=seed,
        length_controlled=length_controlled,
    )
    recorded = run_recorded_eval(store, Ledger(store), spec)
    if report is not None:
        write_atomic(report, eval_report(recorded.result, recorded.run))

    def render() -> None:
        table = Table("metric", "value", "interval", "n", title=f"Evaluation {recorded.run}")
        for name, e in {**recorded.result.metrics, **recorded.result.dimensions}.items():
            table.add_row(name, f"{e.value:.2f}", f"[{e.ci_low:.2f}, {e.ci_high:.2f}]", str(e.n))
        console.print(table)

    emit(as_json, {"run": recorded.run, **recorded.result.to_json()}, render)


@eval_app.command("compare")
def eval_compare_command(
    before: Annotated[str, typer.Option("--before", help="The earlier checkpoint's name.")],
    after: Annotated[str, typer.Option("--after", help="The later checkpoint's name.")],
    baseline: Annotated[str, typer.Option("--baseline", help="Baseline both were judged against.")],
    eval_set: Annotated[str, typer.Option("--set", help="Dataset of judged comparisons.")],
    top: Annotated[int, typer.Option("--top", min=1, help="Largest changes to list.")] = 10,
    alpha: AlphaOption = 0.05,
    seed: SeedOption = 0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Paired regression comparison of two checkpoints, prompt by prompt."""
    result = compare(open_store(db), eval_set, before, after, baseline, alpha=alpha, seed=seed,
                     top=top)  # fmt: skip

    def render() -> None:
        d = result.difference
        console.print(
            f"{after} vs {before}: {d.value:+.2f} points [{d.ci_low:+.2f}, {d.ci_high:+.2f}], "
            f"Wilcoxon p={result.wilcoxon_p}, improved {result.improved}, regressed "
            f"{result.regressed}, unchanged {result.unchanged}"
        )
        table = Table("prompt", "before", "after", "change", title="Largest changes")
        for c in result.largest:
            table.add_row(c.item[:60], f"{c.before:.2f}", f"{c.after:.2f}", f"{c.delta:+.2f}")
        console.print(table)

    emit(as_json, result.to_json(), render)


@eval_app.command("report")
def eval_report_command(
    run: Annotated[str, typer.Argument(help="Evaluation id, e.g. eval-1a2b3c4d5e6f.")],
    out: Annotated[Path, typer.Argument(help="HTML file to write.")],
    db: DbOption = None,
) -> None:
    """Write the HTML report of a recorded evaluation."""
    checked_output(out, "report")
    result, _, _ = find_eval(Ledger(open_store(db)), run)
    write_atomic(out, eval_report(result, run))
    console.print(f"wrote {out}")


@gate_app.command("register")
def gate_register_command(
    policy_file: Annotated[Path, typer.Argument(help="Gate policy YAML.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a gate policy in the ledger (before the evaluation it will judge)."""
    policy = load_policy(policy_file)
    entry = register_policy(Ledger(open_store(db, create=True)), policy)
    emit(
        as_json,
        {"policy": policy.name, "record": entry.id, "index": entry.index},
        lambda: console.print(f"registered gate {policy.name!r} as record #{entry.index}"),
    )


@gate_app.command("check")
def gate_check_command(
    policy: Annotated[str, typer.Option("--policy", help="Registered policy name.")],
    run: Annotated[str | None, typer.Option("--eval", help="Evaluation id.")] = None,
    redteam: Annotated[
        str | None, typer.Option("--redteam", help="Red-team run id (palate safety redteam).")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """The gate's verdict: pass, fail or inconclusive (an interval that straddles never passes)."""
    checked = check_gate(Ledger(open_store(db)), policy, run, redteam=redteam)

    def render() -> None:
        colour = {"pass": "green", "fail": "red", "inconclusive": "yellow"}[
            checked.decision.verdict
        ]
        verdict = checked.decision.verdict
        outputs = (checked.outputs_hash or "none")[:16]
        console.print(f"[{colour}]{verdict}[/] (checkpoint {checked.checkpoint_hash}, "
                      f"outputs {outputs})")  # fmt: skip
        for reason in checked.decision.reasons:
            console.print(f"  - {reason}")

    emit(as_json, checked.to_json(), render)


def card_command(
    model_name: Annotated[str, typer.Option("--model", help="Model name for the card.")],
    runs: Annotated[list[str], typer.Option("--eval", help="Evaluation id(s) to report.")],
    out: Annotated[Path, typer.Argument(help="README.md to write.")],
    license_id: Annotated[str | None, typer.Option("--license", help="SPDX license id.")] = None,
    base_model: Annotated[str | None, typer.Option("--base-model", help="Base model.")] = None,
    db: DbOption = None,
) -> None:
    """Write a Hugging Face model card whose figures trace to ledger records."""
    checked_output(out, "model card")
    text = model_card(
        Ledger(open_store(db)),
        CardInput(model_name=model_name, runs=runs, license=license_id, base_model=base_model),
    )
    write_atomic(out, text)
    console.print(f"wrote {out}")
