"""The HTML report of an evaluation (and optionally a regression comparison)."""

from __future__ import annotations

from matplotlib.figure import Figure

from palate.evals.evaluation import EvalResult
from palate.evals.html import figure_html, page, table_html
from palate.evals.interval import Estimate
from palate.evals.regression import Regression


def _forest(estimates: dict[str, Estimate], title: str, reference: float | None) -> Figure:
    fig = Figure(figsize=(6.5, 0.5 + 0.45 * len(estimates)))
    ax = fig.subplots()
    names = list(estimates)
    for y, name in enumerate(names):
        e = estimates[name]
        ax.plot([e.ci_low, e.ci_high], [y, y], color="#4c72b0", lw=2)
        ax.plot(e.value, y, "o", color="#4c72b0")
    if reference is not None:
        ax.axvline(reference, color="#999", ls="--", lw=1)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_title(title)
    return fig


def eval_report(result: EvalResult, run: str, regression: Regression | None = None) -> str:
    spec = result.spec
    level = f"{100 * (1 - spec.alpha):g}%"
    rows = [
        [name, f"{e.value:.2f}", f"[{e.ci_low:.2f}, {e.ci_high:.2f}]", e.n]
        for name, e in result.metrics.items()
    ]
    sections = [
        (
            "Summary",
            f"<p>{spec.candidate} against {spec.baseline} on <code>{spec.dataset}</code>; "
            f"evaluation <code>{run}</code>, checkpoint <code>{spec.candidate_hash}</code>, "
            f"outputs <code>{result.outputs_hash[:16]}</code>. Intervals: {level}, paired "
            "bootstrap over prompts.</p>"
            + table_html(["metric", "value", f"{level} interval", "n"], rows)
            + table_html(["count", "value"], [[k, v] for k, v in result.counts.items()]),
        ),
        (
            "Win rates",
            figure_html(
                _forest(result.metrics, f"Against {spec.baseline} (percent)", 50.0), "win rates"
            ),
        ),
    ]
    if result.dimensions:
        sections.append(
            (
                "Rubric dimensions",
                figure_html(_forest(result.dimensions, "Mean score", None), "dimension scores"),
            )
        )
    if result.error_tags:
        sections.append(
            (
                "Error taxonomy",
                table_html(["tag", "count"], [[k, v] for k, v in result.error_tags.items()]),
            )
        )
    if regression is not None:
        d = regression.difference
        sections.append(
            (
                f"Regression: {regression.after} against {regression.before}",
                f"<p>Mean change {d.value:+.2f} points [{d.ci_low:+.2f}, {d.ci_high:+.2f}]; "
                f"Wilcoxon p = {regression.wilcoxon_p}; improved {regression.improved}, "
                f"regressed {regression.regressed}, unchanged {regression.unchanged}.</p>"
                + table_html(
                    ["prompt", "before", "after", "change"],
                    [
                        [c.item[:80], f"{c.before:.2f}", f"{c.after:.2f}", f"{c.delta:+.2f}"]
                        for c in regression.largest
                    ],
                ),
            )
        )
    return page(f"Evaluation {run}", sections)
