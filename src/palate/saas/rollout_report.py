"""``OUT/report.html`` for a rollout: pass^k and the net-worth distribution over seeds, with
intervals, each episode's outcome and digest, and (once judged, see ``palate.saas.taste``)
how the judges' scores compare with what the money later said."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from palate.evals.html import figure_html, page, table_html
from palate.saas.events import write_atomic
from palate.saas.report import REPORT_FILE
from palate.saas.rollouts import Rollout, pass_k_table
from palate.saas.taste import TasteResult


def outcomes_figure(rollout: Rollout) -> Figure:
    """Left: pass^k against k with its interval; right: each seed's final net worth, the
    mean and its interval, and the starting cash (the bar)."""
    table = pass_k_table(rollout.passes)
    fig = Figure(figsize=(11, 3.6))
    left, right = fig.subplots(1, 2)
    ks = [p.k for p in table]
    left.plot(ks, [p.estimate for p in table], marker="o", color="#1b9e77")
    left.fill_between(ks, [p.ci_low for p in table], [p.ci_high for p in table], alpha=0.2,
                      color="#1b9e77")  # fmt: skip
    left.set(xlabel="k (episodes on fresh seeds)", ylabel="pass^k", ylim=(-0.02, 1.02))
    dollars = np.array([s["net_worth_cents"] / 100 for s in rollout.summaries])
    colours = ["#1b9e77" if ok else "#d95f02" for ok in rollout.passes]
    right.scatter(rollout.seeds, dollars, c=colours, zorder=3)
    right.axhline(rollout.starting_cash_cents / 100, color="#777", ls="--", lw=1)
    estimate = rollout.net_worth()
    if estimate is not None:
        right.axhline(estimate.value, color="#7570b3", lw=1)
        right.axhspan(estimate.ci_low, estimate.ci_high, color="#7570b3", alpha=0.15)
    right.set(xlabel="seed (green: passed)", ylabel="final net worth ($)")
    fig.tight_layout()
    return fig


def taste_figure(taste: TasteResult) -> Figure:
    fig = Figure(figsize=(11, 3.4))
    panels = fig.subplots(1, 2)
    for ax, kind, what, label in (
        (panels[0], "deploy", "deployed diffs", "incidents in the window after"),
        (panels[1], "reply", "ticket replies", "customer cancelled in the window"),
    ):
        items = [j for j in taste.judged if j.kind == kind and j.score is not None]
        trouble = [j.incidents_after if kind == "deploy" else int(bool(j.churned_after))
                   for j in items]  # fmt: skip
        ax.scatter([j.score for j in items], trouble, alpha=0.5, color="#1b9e77")
        if not items:
            ax.text(0.5, 0.5, f"no scored {what}", ha="center", transform=ax.transAxes)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if kind == "reply":
            ax.set_ylim(-0.1, 1.1)  # cancelled or not
        ax.set(xlabel=f"judged score of {what}", ylabel=label, xlim=(-0.05, 1.05))
    fig.tight_layout()
    return fig


def taste_sections(taste: TasteResult) -> list[tuple[str, str]]:
    correlations: list[list[object]] = [
        [name, c.n, f"{c.rho:+.2f}", f"[{c.ci_low:+.2f}, {c.ci_high:+.2f}]"]
        if c is not None
        else [name, "-", "undefined (too few items or no variation)", "-"]
        for name, c in taste.correlations().items()
    ]
    groups: list[list[object]] = [
        [g["kind"], g["judged"], g["n"],
         "-" if g["mean_trouble_after"] is None else f"{g['mean_trouble_after']:.2f}"]
        for g in taste.good_vs_poor()
    ]  # fmt: skip
    items: list[list[object]] = [
        [j.seed, j.kind, j.key, j.day, "unscored" if j.score is None else f"{j.score:.2f}",
         j.incidents_after, "-" if j.churned_after is None else j.churned_after]
        for j in taste.judged
    ]  # fmt: skip
    intro = (
        f"<p>Judge <code>{html.escape(taste.judge)}</code>; trouble counted over "
        f"{taste.window_days} days from the day of the work. A negative rank correlation "
        "means better-judged work was followed by less trouble.</p>"
    )
    return [
        (
            "Judged taste against what the money said",
            intro
            + table_html(["comparison", "items", "Spearman rho", "95% interval"], correlations)
            + table_html(["kind", "judged", "items", "mean trouble after"], groups)
            + figure_html(taste_figure(taste), "judged scores against later trouble"),
        ),
        (
            "Judged work",
            table_html(
                ["seed", "kind", "item", "day", "score", "incidents after", "churned"], items
            ),
        ),
    ]


def model_section(rollout: Rollout, model: dict[str, Any]) -> str:
    """An LLM agent's calls, errors and derailment, per episode."""
    intro = (
        f"<p>Model <code>{html.escape(model['model'])}</code>, agent config "
        f"<code>{model['agent_config_hash'][:16]}</code>: {model['model_calls']} calls made, "
        f"{model['cache_hits']} taken from the cache; {model['derailed_episodes']} of "
        f"{len(rollout.seeds)} episodes flagged as derailed.</p>"
    )
    rows: list[list[object]] = [
        [s["seed"], s["model_calls"], s["cache_hits"], s["model_errors"], s["tool_errors"],
         s["no_tool_call"], s["derailment"]["looping"], s["derailment"]["stalled"]]
        for s in rollout.summaries
    ]  # fmt: skip
    headers = ["seed", "model calls", "from cache", "model errors", "tool errors",
               "no tool call", "loops flagged", "stalls flagged"]  # fmt: skip
    return intro + table_html(headers, rows)


def write_rollout_report(out: Path) -> Path:
    """Write OUT/report.html from OUT/rollout.json (and OUT/taste.json, once judged)."""
    rollout = Rollout.load(out)
    estimate = rollout.net_worth()
    interval = "-" if estimate is None else f"[{estimate.ci_low:,.2f}, {estimate.ci_high:,.2f}]"
    overview = table_html(
        ["agent", "preset", "days", "seeds", "passed", "mean net worth ($)", "95% interval"],
        [
            [
                rollout.agent,
                rollout.preset,
                rollout.days or "preset's",
                len(rollout.seeds),
                f"{sum(rollout.passes)} / {len(rollout.passes)}",
                "-" if estimate is None else f"{estimate.value:,.2f}",
                interval,
            ]
        ],
    )
    rule = (
        "<p>An episode <b>passes</b> when it ends with net worth above the cash it started "
        "with, suffered no breach, and the service was up on its last day. pass^k is the chance "
        "that k episodes on fresh seeds all pass (unbiased estimate C(c,k)/C(n,k)); its "
        "interval is the Clopper-Pearson interval of the pass rate, to the power k.</p>"
    )
    pass_rows: list[list[object]] = [
        [p.k, f"{p.estimate:.3f}", f"[{p.ci_low:.3f}, {p.ci_high:.3f}]"]
        for p in pass_k_table(rollout.passes)
    ]
    episodes: list[list[object]] = [
        [s["seed"], f"{s['net_worth_cents'] / 100:,.2f}", s["breaches"], s["incidents"],
         "up" if s["up_at_end"] else "down", "pass" if ok else "fail", s["digest"]]
        for s, ok in zip(rollout.summaries, rollout.passes, strict=True)
    ]  # fmt: skip
    sections = [
        ("Rollout", overview + rule),
        ("Over seeds", figure_html(outcomes_figure(rollout), "pass^k and net worth over seeds")),
        ("pass^k", table_html(["k", "pass^k", "95% interval"], pass_rows)),
        (
            "Episodes",
            table_html(
                ["seed", "net worth ($)", "breaches", "incidents", "at end", "result", "digest"],
                episodes,
            ),
        ),
    ]
    model = rollout.model_use()
    if model is not None:
        sections.insert(3, ("The language model", model_section(rollout, model)))
    taste = TasteResult.load(out)
    if taste is not None:
        sections += taste_sections(taste)
    path = out / REPORT_FILE
    write_atomic(path, page(f"SaaS rollout: {rollout.agent}", sections).encode())
    return path
