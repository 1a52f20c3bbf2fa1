"""``palate saas report DIR``: one self-contained HTML page about an episode, from its log.

Plots over days: net worth, revenue, paying customers, uptime, incidents, breaches and open
tickets, with the agent's actions (deploys, price changes, replies, file edits) marked on the
timeline, then a table of those actions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from palate.errors import InputError
from palate.evals.html import figure_html, page, table_html
from palate.saas.events import Event, read_log, write_atomic
from palate.saas.run import EVENTS_FILE, SUMMARY_FILE

REPORT_FILE = "report.html"
QUIET_TOOLS = frozenset({"end_day", "read_tickets", "read_billing", "read_metrics", "read_logs"})
"""Calls that change nothing; left off the timeline."""


def days_of(events: list[Event]) -> list[dict[str, Any]]:
    return [e.data for e in events if e.kind == "day"]


def actions_of(events: list[Event]) -> list[Event]:
    return [e for e in events if e.kind == "action" and e.data["tool"] not in QUIET_TOOLS]


def timeline_figure(days: list[dict[str, Any]], actions: list[Event]) -> Figure:
    x = [d["day"] for d in days]
    counters = [d["counters"] for d in days]
    panels: list[tuple[str, list[float]]] = [
        ("net worth ($)", [d["net_worth_cents"] / 100 for d in days]),
        ("revenue to date ($)", [d["revenue_cents"] / 100 for d in days]),
        ("paying customers", [d["customers"] for d in days]),
        ("uptime to date", [c["up_days"] / c["days"] for c in counters]),
        ("incidents per day", [d["incidents"] for d in days]),
        ("breaches per day", [d["breaches"] for d in days]),
        ("open tickets", [d["open_tickets"] for d in days]),
    ]
    fig = Figure(figsize=(11, 2.0 * len(panels)))
    axes = fig.subplots(len(panels), 1, sharex=True)
    action_days = sorted({e.day for e in actions})
    for ax, (label, values) in zip(axes, panels, strict=True):
        ax.plot(x, values, marker=".", color="#1b9e77")
        ax.set_ylabel(label, rotation=0, ha="right", va="center")
        for day in action_days:
            ax.axvline(day, color="#d95f02", alpha=0.25, lw=1)
    axes[-1].set_xlabel("day (orange lines: days the agent changed something)")
    fig.tight_layout()
    return fig


def write_report(directory: Path) -> Path:
    """Write DIR/report.html from DIR/events.jsonl; return its path."""
    events = read_log(directory / EVENTS_FILE)
    days = days_of(events)
    if not days:
        raise InputError("the log has no closed day to report", file=str(directory / EVENTS_FILE))
    start = events[0].data
    actions = actions_of(events)
    last = days[-1]
    overview = table_html(
        ["preset", "seed", "days", "net worth ($)", "customers", "breaches", "digest"],
        [
            [
                start.get("preset"),
                start.get("seed"),
                len(days),
                f"{last['net_worth_cents'] / 100:,.2f}",
                last["customers"],
                last["counters"]["breaches"],
                events[-1].hash,
            ]
        ],
    )
    action_rows: list[list[object]] = [
        [e.day, e.data["tool"], "ok" if e.data["ok"] else "error", _brief(e.data.get("args"))]
        for e in actions
    ]
    sections = [
        ("Episode", overview),
        ("Over the days", figure_html(timeline_figure(days, actions), "episode timeline")),
        ("The agent's actions", table_html(["day", "tool", "result", "arguments"], action_rows)),
    ]
    sections.extend(_llm_agent_sections(directory / SUMMARY_FILE))
    path = directory / REPORT_FILE
    write_atomic(path, page("SaaS episode", sections).encode())
    return path


def _llm_agent_sections(summary_path: Path) -> list[tuple[str, str]]:
    """An LLM agent's tool errors, model calls, harness versions and derailment flags."""
    if not summary_path.exists():
        return []
    summary = json.loads(summary_path.read_text())
    if "derailment" not in summary:
        return []
    derailment = summary["derailment"]
    overview = table_html(
        ["model", "tool errors", "answers without a tool call", "model calls", "from the cache",
         "failed requests", "harness versions", "loops", "stalls"],
        [[summary["model"], summary["tool_errors"], summary["no_tool_call"],
          summary["model_calls"], summary["cache_hits"], summary["model_errors"],
          len(summary["harness_versions"]), derailment["looping"], derailment["stalled"]]],
    )  # fmt: skip
    flags = table_html(
        ["day", "derailment", "detail"],
        [[f["day"], f["kind"], f["detail"]] for f in derailment["flags"]],
    )
    return [("The language-model agent", overview), ("Derailment flags", flags)]


def _brief(args: Any) -> str:
    text = str(args)
    return text if len(text) <= 120 else text[:117] + "..."
