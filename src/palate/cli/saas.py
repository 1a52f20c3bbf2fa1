"""``palate saas``: run an episode with a scripted agent, replay its log, report on it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from palate.cli.common import DbOption, JsonOption, console, emit, open_store
from palate.errors import PalateError
from palate.ledger import EntityRef
from palate.saas.llm_agent import LlmRunOptions, load_agent_config, run_llm_episode, store_cache
from palate.saas.presets import PRESETS
from palate.saas.replay import replay
from palate.saas.report import write_report
from palate.saas.run import RunOptions, record_episode, run_episode

app = typer.Typer(help="The SaaS harness: an agent runs a small real web business.")


@app.command("run")
def run_command(
    agent: Annotated[
        str,
        typer.Option(
            "--agent",
            help="Scripted agent: idle, symptom, root-cause, breaker, greedy-pricer; or llm "
            "(a language model, configured by --agent-config).",
        ),
    ],
    seed: Annotated[int, typer.Option("--seed", help="Episode seed (fixes the market).")],
    out: Annotated[Path, typer.Option("--out", help="Directory for events.jsonl and summary.")],
    preset: Annotated[
        str, typer.Option("--preset", help=f"Episode size: {', '.join(PRESETS)}.")
    ] = "default",
    days: Annotated[
        int | None, typer.Option("--days", help="Days to run (default: the preset's).")
    ] = None,
    agent_config: Annotated[
        Path | None,
        typer.Option(
            "--agent-config",
            help="AGENT.yaml for --agent llm: endpoint, model, context budget, harness. "
            "Rerun after a kill to continue from OUT's last day.",
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run one episode; write DIR/events.jsonl and record its digest in the ledger."""
    if (agent == "llm") != (agent_config is not None):
        raise PalateError("--agent llm and --agent-config AGENT.yaml go together")
    with tempfile.TemporaryDirectory(prefix="palate-saas-") as root:
        if agent_config is not None:
            summary = _run_llm(agent_config, seed, preset, days, out, Path(root), db)
        else:
            summary = run_episode(RunOptions(agent, seed, preset, days), out, root=Path(root))
            record_episode(open_store(db, create=True), summary, preset)

    def render() -> None:
        console.print(
            f"{summary['agent']} seed {summary['seed']}: net worth "
            f"${summary['net_worth_cents'] / 100:,.2f} after {summary['days']} days, "
            f"{summary['customers_end']} customers, {summary['breaches']} breaches, "
            f"uptime {summary['uptime']:.0%}\ndigest {summary['digest']}"
        )
        if "derailment" in summary:
            flags = summary["derailment"]
            console.print(
                f"{summary['tool_errors']} tool errors, {flags['looping']} loops and "
                f"{flags['stalled']} stalls flagged, {summary['model_calls']} model calls "
                f"({summary['cache_hits']} from the cache)"
            )

    emit(as_json, summary, render)


def _run_llm(
    config_path: Path,
    seed: int,
    preset: str,
    days: int | None,
    out: Path,
    root: Path,
    db: str | None,
) -> dict[str, Any]:
    """An LLM agent's episode, its calls cached in the store, recorded with its config."""
    config = load_agent_config(config_path)
    store = open_store(db, create=True)
    options = LlmRunOptions(seed, preset, days)
    summary = run_llm_episode(config, options, out, root=root, cache=store_cache(store, config))
    used = [EntityRef(kind="saas-agent-config", id=config.model, hash=config.hash)]
    record_episode(store, summary, preset, used=used)
    return summary


@app.command("replay")
def replay_command(
    log: Annotated[Path, typer.Argument(help="An episode's events.jsonl.")],
    as_json: JsonOption = False,
) -> None:
    """Recompute the books from the log alone; print the digest and net worth."""
    result = replay(log)

    def render() -> None:
        console.print(
            f"replayed {result.events} events over {result.days} days: net worth "
            f"${result.net_worth_cents / 100:,.2f}\ndigest {result.digest}"
        )

    emit(as_json, result.to_json(), render)


@app.command("report")
def report_command(
    directory: Annotated[Path, typer.Argument(help="A run's output directory.")],
) -> None:
    """Write DIR/report.html: plots over days and the agent's actions."""
    console.print(f"wrote {write_report(directory)}")
