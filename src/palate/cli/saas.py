"""``palate saas``: run an episode with a scripted agent, replay its log, report on it, and
export episodes as training data.

The harness loads inside each command: ``palate saas run --help`` imports neither numpy nor
matplotlib."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from palate.cli.common import DbOption, JsonOption, console, emit, open_store
from palate.errors import PalateError
from palate.saas.presets import PRESETS

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
    from palate.saas.run import RunOptions, record_episode, run_episode

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
    from palate.ledger import EntityRef
    from palate.saas.llm_agent import LlmRunOptions, load_agent_config, run_llm_episode, store_cache
    from palate.saas.run import record_episode

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
    from palate.saas.replay import replay

    result = replay(log)

    def render() -> None:
        console.print(
            f"replayed {result.events} events over {result.days} days: net worth "
            f"${result.net_worth_cents / 100:,.2f}\ndigest {result.digest}"
        )

    emit(as_json, result.to_json(), render)


@app.command("report")
def report_command(
    directory: Annotated[Path, typer.Argument(help="A run's or a rollout's output directory.")],
) -> None:
    """Write DIR/report.html: plots over days and the agent's actions (for a rollout: pass^k,
    net worth over seeds and, once judged, taste)."""
    from palate.saas.report import write_report
    from palate.saas.rollout_report import write_rollout_report
    from palate.saas.rollouts import ROLLOUT_FILE

    if (directory / ROLLOUT_FILE).is_file():
        console.print(f"wrote {write_rollout_report(directory)}")
    else:
        console.print(f"wrote {write_report(directory)}")


@app.command("rollout")
def rollout_command(
    agent: Annotated[str, typer.Option("--agent", help="The agent (see palate saas run).")],
    seeds: Annotated[str, typer.Option("--seeds", help="Seeds: 0-7, 1,4,9 or a mix.")],
    out: Annotated[Path, typer.Option("--out", help="Directory: seed-N/ per episode, report.")],
    preset: Annotated[
        str, typer.Option("--preset", help=f"Episode size: {', '.join(PRESETS)}.")
    ] = "default",
    days: Annotated[
        int | None, typer.Option("--days", help="Days to run (default: the preset's).")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Episodes at a time (local processes).")
    ] = 1,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray", help="Run on Ray: a cluster address (auto, ray://HOST:10001) or 'local'."
        ),
    ] = None,
    agent_config: Annotated[
        Path | None,
        typer.Option(
            "--agent-config",
            help="AGENT.yaml for --agent llm. Its calls are cached in --db, which every worker "
            "opens (on a Ray cluster, use a database they all reach).",
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run an agent on many seeds; write each episode, pass^k and net worth with intervals."""
    from palate.saas.agents import agent as agent_by_name
    from palate.saas.llm_agent import load_agent_config
    from palate.saas.rollout_report import write_rollout_report
    from palate.saas.rollouts import (
        on_ray,
        parse_seeds,
        processes,
        record_rollout,
        run_rollout,
        serial,
    )
    from palate.saas.run import RunOptions

    if (agent == "llm") != (agent_config is not None):
        raise PalateError("--agent llm and --agent-config AGENT.yaml go together")
    chosen = parse_seeds(seeds)
    if agent_config is not None:
        config = load_agent_config(agent_config)
        url = _absolute(open_store(db, create=True).url)  # each worker opens it itself
        base = RunOptions(agent, 0, preset, days, agent_config=config, cache_url=url)
    else:
        agent_by_name(agent)  # an unknown agent fails before any episode starts
        base = RunOptions(agent, 0, preset, days)
    if ray is not None:
        runner, mode = on_ray(ray, workers), "ray"
    elif workers > 1:
        runner, mode = processes(workers), "processes"
    else:
        runner, mode = serial, "serial"
    rollout = run_rollout(base, chosen, out, runner, mode)
    record_rollout(open_store(db, create=True), rollout)
    report = write_rollout_report(out)
    result = rollout.to_json()

    def render() -> None:
        net = result["net_worth_dollars"]
        mean = ""
        if net is not None:
            mean = f"; mean net worth ${net['value']:,.2f} "
            mean += f"[{net['ci_low']:,.2f}, {net['ci_high']:,.2f}]"
        console.print(
            f"{agent}: {result['passed']} of {len(rollout.seeds)} seeds passed{mean}\n"
            f"wrote {report}"
        )

    emit(as_json, result, render)


def _absolute(url: str) -> str:
    """A SQLite URL with an absolute path: workers (Ray's) may run in another directory."""
    from palate.store.engine import sqlite_path

    path = sqlite_path(url)
    return url if path is None else f"sqlite:///{path.resolve()}"


@app.command("taste")
def taste_command(
    directory: Annotated[Path, typer.Argument(help="A run's or a rollout's output directory.")],
    judge: Annotated[
        Path, typer.Option("--judge", help="Judge config (YAML) of a judge that scores.")
    ],
    window: Annotated[
        int, typer.Option("--window", min=1, help="Days after the work in which trouble counts.")
    ] = 3,
    escalate_below: Annotated[
        float | None,
        typer.Option(
            "--escalate-below",
            min=0,
            max=1,
            help="Send work scored below this (0 to 1), or unscored, to the studio: a rubric "
            "project per episode and kind.",
        ),
    ] = None,
    studio_admin: Annotated[
        str | None, typer.Option("--studio-admin", help="The studio admin creating projects.")
    ] = None,
    raters: Annotated[
        str | None, typer.Option("--raters", help="Studio raters, a,b (default: every rater).")
    ] = None,
    overlap: Annotated[
        int, typer.Option("--overlap", min=1, max=50, help="Raters per escalated item.")
    ] = 1,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Judge every deployed diff and ticket reply; store the ratings; compare with the money."""
    from palate.saas.rollout_report import write_rollout_report
    from palate.saas.rollouts import ROLLOUT_FILE
    from palate.saas.taste import Escalation, judge_directory

    if (escalate_below is None) != (studio_admin is None):
        raise PalateError("--escalate-below and --studio-admin go together")
    escalation = None
    if escalate_below is not None and studio_admin is not None:
        names = tuple(n.strip() for n in (raters or "").split(",") if n.strip())
        escalation = Escalation(escalate_below, studio_admin, names, overlap)
    result = judge_directory(open_store(db, create=True), directory, judge, window, escalation)
    if (directory / ROLLOUT_FILE).is_file():
        write_rollout_report(directory)
    data = result.to_json()

    def render() -> None:
        console.print(
            f"judged {len(result.judged)} pieces of work ({data['unscored']} unscored) into "
            f"{len(result.datasets)} datasets"
        )
        if data["studio_projects"]:
            escalated = sum(j.project is not None for j in result.judged)
            console.print(
                f"escalated {escalated} to studio projects: {', '.join(data['studio_projects'])}"
            )
        for name, c in data["correlations"].items():
            rho = (
                "undefined"
                if c is None
                else (f"{c['rho']:+.2f} [{c['ci_low']:+.2f}, {c['ci_high']:+.2f}] over {c['n']}")
            )
            console.print(f"{name}: {rho}")

    emit(as_json, data, render)


@app.command("export")
def export_command(
    logs: Annotated[list[Path], typer.Argument(help="Episode logs (events.jsonl).")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="samples (per day, with reward-to-go), trl (conversational tool calling), "
            "pairs (preferences between rollouts of the same seed).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The JSON-lines file to write.")],
    gamma: Annotated[
        float, typer.Option("--gamma", help="Per-day discount of the reward-to-go (samples).")
    ] = 1.0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export episodes as training data; record the episodes' digests in the ledger."""
    from palate.saas.training import export_episodes

    result = export_episodes(logs, fmt, out, store=open_store(db, create=True), gamma=gamma)

    def render() -> None:
        left = ", ".join(f"{n} {k}" for k, n in result.left_out.items())
        console.print(
            f"wrote {result.rows} {result.format} rows from {len(result.episodes)} episodes "
            f"to {result.path}" + (f" (left out: {left})" if left else "")
        )

    emit(as_json, result.to_json(), render)
