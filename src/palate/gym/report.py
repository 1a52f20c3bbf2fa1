"""The demo's HTML report: one self-contained page, its plots inline, and the key plot also
written as a PNG (the README shows it).

Plots: the Goodhart curve (proxy score and gold win rate against KL from the start, both
arms), gold win rate against the start per round with intervals, judge and rater agreement
with expert truth, human labels spent and the reward-hacking alarm's evidence per round;
then sample poems from the start and each arm.
"""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from palate.evals.html import figure_html, page, table_html
from palate.io.atomic import write_atomic

COLOURS = {"checkbox": "#d95f02", "anchored": "#1b9e77"}
LABELS = {"checkbox": "checkbox-only", "anchored": "anchored (palate)"}


def _series(summary: dict[str, Any], arm: str, key: str) -> list[Any]:
    return [r[key] for r in summary["arms"][arm]["rounds"]]


def goodhart_figure(summary: dict[str, Any]) -> Figure:
    """Proxy score and gold win rate against KL from the start: the proxy climbs for both
    kinds of training, gold follows only for the anchored arm."""
    fig = Figure(figsize=(10, 3.8))
    proxy_ax, gold_ax = fig.subplots(1, 2)
    for arm in ("checkbox", "anchored"):
        kl = [0.0, *_series(summary, arm, "kl_from_start")]
        start_proxy = summary["start"]["proxy_score"]
        proxy = [start_proxy, *_series(summary, arm, "proxy_score")]
        gold = [0.5, *(g["estimate"] for g in _series(summary, arm, "gold_win_rate"))]
        low = [0.5, *(g["ci_low"] for g in _series(summary, arm, "gold_win_rate"))]
        high = [0.5, *(g["ci_high"] for g in _series(summary, arm, "gold_win_rate"))]
        style = {"color": COLOURS[arm], "label": LABELS[arm], "marker": "o"}
        proxy_ax.plot(kl, proxy, **style)
        gold_ax.plot(kl, gold, **style)
        gold_ax.fill_between(kl, low, high, color=COLOURS[arm], alpha=0.2)
    proxy_ax.set(
        xlabel="KL from the starting policy (nats)",
        ylabel="checkbox score (proxy)",
        title="What the checkbox judge sees",
    )
    gold_ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    gold_ax.set(
        xlabel="KL from the starting policy (nats)",
        ylabel="gold win rate vs start",
        ylim=(0, 1),
        title="What the experts want (95% intervals)",
    )
    gold_ax.legend(loc="center right")
    fig.tight_layout()
    return fig


def rounds_figure(summary: dict[str, Any]) -> Figure:
    """Gold win rate against the start per round, with intervals; and the alarm's evidence."""
    fig = Figure(figsize=(10, 3.6))
    win_ax, alarm_ax = fig.subplots(1, 2)
    for arm in ("checkbox", "anchored"):
        rounds = _series(summary, arm, "round")
        gold = _series(summary, arm, "gold_win_rate")
        est = [g["estimate"] for g in gold]
        err = [
            [g["estimate"] - g["ci_low"] for g in gold],
            [g["ci_high"] - g["estimate"] for g in gold],
        ]
        win_ax.errorbar(rounds, est, yerr=err, color=COLOURS[arm], label=LABELS[arm], marker="o")
        alarm = _series(summary, arm, "alarm")
        alarm_ax.semilogy(
            rounds,
            [a["e_value"] for a in alarm],
            color=COLOURS[arm],
            marker="o",
            label=LABELS[arm],
        )
        fired = summary["arms"][arm]["alarm_round"]
        if fired is not None:
            alarm_ax.axvline(fired, color=COLOURS[arm], ls=":", lw=1)
    win_ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    win_ax.set(xlabel="round", ylabel="gold win rate vs start", ylim=(0, 1))
    win_ax.legend()
    alarm_ax.axhline(1 / summary["alarm"]["false_alarm_level"], color="black", lw=0.8, ls="--")
    alarm_ax.set(
        xlabel="round",
        ylabel="evidence of proxy − human gap (e-value)",
        title="Reward-hacking alarm (fires at the dashed line)",
    )
    fig.tight_layout()
    return fig


def agreement_figure(summary: dict[str, Any]) -> Figure:
    """Each judge's agreement with the auditing expert on audited pairs (new policy vs start,
    drawn at random), per arm; and each expert's accuracy as
    truth inference estimated it (careless raters, hidden from the loop, in red)."""
    fig = Figure(figsize=(10, 3.6))
    judge_ax, expert_ax = fig.subplots(1, 2)
    judges = summary["agreement"]["judges_vs_audit_experts"]
    names = list(judges["anchored"])
    for k, arm in enumerate(("checkbox", "anchored")):
        judge_ax.barh(
            [i + 0.4 * k for i in range(len(names))],
            [judges[arm][n] for n in names],
            height=0.4,
            color=COLOURS[arm],
            label=f"on {LABELS[arm]} poems",
        )
    judge_ax.set_yticks([i + 0.2 for i in range(len(names))], names)
    judge_ax.axvline(0.5, color="grey", lw=0.8, ls="--")
    judge_ax.legend(fontsize=8)
    judge_ax.set(xlim=(0, 1), xlabel="agreement with an expert (audited pairs)", title="Judges")
    experts = [e for e in summary["agreement"]["experts"] if e["accuracy"] is not None]
    expert_ax.bar(
        range(len(experts)),
        [e["accuracy"] for e in experts],
        color=["#e7298a" if e["careless"] else "#66a61e" for e in experts],
    )
    expert_ax.set(
        ylim=(0, 1),
        xlabel="expert",
        ylabel="estimated accuracy (Dawid-Skene)",
        title="Experts (red: careless, unknown to the loop)",
    )
    fig.tight_layout()
    return fig


def _labels_table(summary: dict[str, Any]) -> str:
    rows = []
    for arm in ("checkbox", "anchored"):
        a = summary["arms"][arm]
        last = a["rounds"][-1]
        gold = last["gold_win_rate"]
        rows.append(
            [
                LABELS[arm],
                f"{gold['estimate']:.1%} [{gold['ci_low']:.1%}, {gold['ci_high']:.1%}]",
                f"{a['proxy_score_start_to_end'][0]:.1f} → {a['proxy_score_start_to_end'][1]:.1f}",
                f"{last['kl_from_start']:.2f}",
                a["human_labels"],
                f"{sum(r['routed_pairs'] for r in a['rounds'])} of "
                f"{sum(r['train_pairs'] for r in a['rounds'])}",
                "round " + str(a["alarm_round"]) if a["alarm_fired"] else "no",
            ]
        )
    header = [
        "arm",
        "gold win rate vs start (final)",
        "proxy score (first → last round)",
        "KL from start",
        "human labels spent",
        "pairs routed to experts",
        "reward-hacking alarm",
    ]
    return table_html(header, rows)


def _poems(samples: dict[str, list[str]]) -> str:
    cells = []
    for name in ("start", "checkbox", "anchored"):
        poems = "".join(
            f"<pre style='white-space:pre-wrap'>{html.escape(p)}</pre>" for p in samples[name]
        )
        title = "start" if name == "start" else LABELS[name]
        cells.append(f"<div style='flex:1;padding:0 8px'><h3>{title}</h3>{poems}</div>")
    return f"<div style='display:flex'>{''.join(cells)}</div>"


def _checks(summary: dict[str, Any]) -> str:
    rows = [
        [name.replace("_", " "), "yes" if ok else "NO"] for name, ok in summary["checks"].items()
    ]
    return table_html(["claim", "holds"], rows)


def write_report(summary: dict[str, Any], samples: dict[str, list[str]], out: Path) -> Path:
    """Write ``report.html`` and ``goodhart.png`` into ``out``; return the report's path."""
    goodhart = goodhart_figure(summary)
    buffer = io.BytesIO()
    goodhart.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    write_atomic(out / "goodhart.png", buffer.getvalue())
    intro = (
        "<p>Two arms start from the same policy and seed. <b>checkbox-only</b> trains on a "
        "cheap judge that ticks boxes (mentions the moon, rhymes, length, keyword count). "
        "<b>anchored</b> is palate's loop: a panel with a reward model fitted on expert labels, "
        "uncertain pairs routed to simulated experts, their labels aggregated by truth "
        "inference. Gold is the hidden mean preference of the expert population.</p>"
        f"<p>Seed {summary['seed']}; rubric <code>{summary['rubric'][:12]}</code>; "
        f"ledger {'verifies' if summary['ledger']['ok'] else 'DOES NOT verify'} "
        f"({summary['ledger']['records_added']} records added by this run).</p>"
    )
    sections = [
        ("What happened", intro + _labels_table(summary) + _checks(summary)),
        ("The Goodhart curve", figure_html(goodhart, "proxy and gold against KL")),
        (
            "Win rate against the start, and the alarm",
            figure_html(rounds_figure(summary), "rounds"),
        ),
        ("Rater and judge agreement", figure_html(agreement_figure(summary), "agreement")),
        ("Sample poems (typical, not best)", _poems(samples)),
    ]
    path = out / "report.html"
    write_atomic(path, page("palate taste gym", sections))
    return path
