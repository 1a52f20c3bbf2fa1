"""The HTML summary of one loop iteration: stages (ran or skipped, time, outputs), the
evaluation's figures and the gate's verdict, with a plot of where the time went."""

from __future__ import annotations

import json
from pathlib import Path

from matplotlib.figure import Figure

from palate.evals.html import figure_html, page, table_html
from palate.io.atomic import write_atomic
from palate.loop.run import LoopResult


def _time_plot(result: LoopResult) -> str:
    fig = Figure(figsize=(7, 3))
    ax = fig.add_subplot()
    names = [s.stage for s in result.stages]
    ax.barh(
        names,
        [s.seconds for s in result.stages],
        color=["C0" if s.ran else "C7" for s in result.stages],
    )
    ax.invert_yaxis()
    ax.set_xlabel("seconds (grey: skipped, finished before)")
    return figure_html(fig, "time per stage")


def write_summary(result: LoopResult, path: Path) -> Path:
    """Write the page atomically (a reader sees the old page or the whole new one)."""
    stages: list[list[object]] = [
        [
            s.stage,
            "ran" if s.ran else "skipped",
            f"{s.seconds:.2f}",
            s.fingerprint[:12],
            json.dumps({k: v for k, v in s.outputs.items() if k != "queue"}, default=str)[:300],
        ]
        for s in result.stages
    ]
    verdict = (
        f"<p><b>{result.verdict}</b></p><ul>"
        + "".join(f"<li>{r}</li>" for r in result.reasons)
        + "</ul>"
    )
    html = page(
        f"palate loop {result.loop}",
        [
            ("Gate verdict", verdict),
            (
                "Stages",
                table_html(["stage", "status", "seconds", "fingerprint", "outputs"], stages),
            ),
            ("Time", _time_plot(result)),
        ],
    )
    write_atomic(path, html)
    return path
