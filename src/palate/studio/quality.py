"""Rater quality and agreement: gold accuracy, agreement with the other raters (MT-Bench
definition, via ``palate.stats.agreement``), speed, and the dashboard's plots.

Labels are in data order ("0", "1", "tie"), so presentation swaps do not affect agreement.
"""

from __future__ import annotations

import base64
import io
import json
import statistics
from collections import defaultdict
from collections.abc import Sequence

from matplotlib.figure import Figure
from pydantic import BaseModel, Field

from palate.errors import StatsError
from palate.stats.agreement import PairAgreement, agreement_table, krippendorff_alpha
from palate.store.studio import SubmissionRow


class RaterQuality(BaseModel):
    """How one rater is doing on a project."""

    rater: str = Field(description="Rater name.")
    submitted: int = Field(description="Submissions.")
    gold: int = Field(description="Gold items answered.")
    gold_accuracy: float | None = Field(description="Share of gold items answered right.")
    agreement: float | None = Field(description="Agreement with other raters' votes (pooled).")
    pairs: int = Field(description="Vote pairs behind the agreement figure.")
    median_seconds: float | None = Field(description="Median active seconds per task.")


class PairRow(BaseModel):
    """Agreement of two raters on the items both judged."""

    rater_a: str = Field(description="First rater.")
    rater_b: str = Field(description="Second rater.")
    items: int = Field(description="Items both judged.")
    agreement: float = Field(description="Share of agreeing vote pairs, ties agree with ties.")
    kappa: float | None = Field(description="Cohen's kappa (None when undefined).")


class Quality(BaseModel):
    """A project's quality report."""

    raters: list[RaterQuality] = Field(description="Per rater.")
    pairs: list[PairRow] = Field(description="Per pair of raters.")
    alpha: float | None = Field(description="Krippendorff's alpha (nominal) over all items.")
    submissions: int = Field(description="Submissions in the project.")


def answer_label(winner: int | None, tie: bool, ranking: str | None, scores: str) -> str:
    """An answer as one comparable value in data order: '0', '1' or 'tie' for a pair, the
    ranking ('2,0,1') for a ranking, the scores' JSON for rubric scoring."""
    if ranking:
        return ",".join(map(str, json.loads(ranking)))
    if winner is None and not tie:
        return scores
    return "tie" if tie else str(winner)


def label(row: SubmissionRow) -> str:
    return answer_label(row.winner, row.tie, row.ranking, row.scores)


def quality(rows: Sequence[SubmissionRow]) -> Quality:
    """Per-rater and per-pair figures of a project's submissions (rejected ones left out)."""
    rows = [r for r in rows if r.review != "rejected"]
    table: list[PairAgreement] = []
    alpha: float | None = None
    if rows:
        items = [str(r.task_id) for r in rows]  # the unit judged: one prompt and pair
        try:
            table = agreement_table(items, [r.user for r in rows], [label(r) for r in rows])
        except StatsError:
            table = []
        try:
            alpha = krippendorff_alpha(items, [label(r) for r in rows])
        except StatsError:
            alpha = None
    pairs = [p for p in table if p.source_a != p.source_b]
    agree: dict[str, float] = defaultdict(float)
    counted: dict[str, int] = defaultdict(int)
    for p in pairs:
        for who in (p.source_a, p.source_b):
            agree[who] += p.agreement * p.pairs
            counted[who] += p.pairs
    by_rater: dict[str, list[SubmissionRow]] = defaultdict(list)
    for r in rows:
        by_rater[r.user].append(r)
    raters = []
    for name, mine in sorted(by_rater.items()):
        gold = [r for r in mine if r.gold is not None]
        raters.append(
            RaterQuality(
                rater=name,
                submitted=len(mine),
                gold=len(gold),
                gold_accuracy=(sum(label(r) == r.gold for r in gold) / len(gold) if gold else None),
                agreement=agree[name] / counted[name] if counted[name] else None,
                pairs=counted[name],
                median_seconds=statistics.median(r.time_spent_s for r in mine),
            )
        )
    return Quality(
        raters=raters,
        pairs=[
            PairRow(
                rater_a=p.source_a,
                rater_b=p.source_b,
                items=p.items,
                agreement=p.agreement,
                kappa=p.kappa,
            )
            for p in pairs
        ],
        alpha=alpha,
        submissions=len(rows),
    )


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def plots(report: Quality) -> dict[str, str]:
    """Base64 PNGs: the rater × rater agreement matrix, gold accuracy, and speed.

    Rater names are user input: they are drawn as plain text (``parse_math=False``), never as
    mathtext, whose parser a name like ``$\\frac{...}$`` could make fail or work hard.
    """
    names = [r.rater for r in report.raters]
    positions = list(range(len(names)))
    out: dict[str, str] = {}
    if names:
        index = {n: i for i, n in enumerate(names)}
        matrix = [[float("nan")] * len(names) for _ in names]
        for p in report.pairs:
            a, b = index[p.rater_a], index[p.rater_b]
            matrix[a][b] = matrix[b][a] = p.agreement
        fig = Figure(figsize=(1.2 + 0.6 * len(names), 1 + 0.6 * len(names)))
        ax = fig.subplots()
        image = ax.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
        ax.set_xticks(positions, names, rotation=45, ha="right", parse_math=False)
        ax.set_yticks(positions, names, parse_math=False)
        ax.set_title("Agreement between raters")
        fig.colorbar(image, ax=ax)
        out["agreement"] = _png(fig)

        fig = Figure(figsize=(5, 3))
        ax = fig.subplots()
        ax.bar(positions, [r.gold_accuracy or 0.0 for r in report.raters], color="#3b7dd8")
        ax.set_xticks(positions, names, rotation=45, parse_math=False)
        ax.set_ylim(0, 1)
        ax.set_ylabel("gold accuracy")
        out["gold"] = _png(fig)

        fig = Figure(figsize=(5, 3))
        ax = fig.subplots()
        ax.bar(positions, [r.median_seconds or 0.0 for r in report.raters], color="#d8843b")
        ax.set_xticks(positions, names, rotation=45, parse_math=False)
        ax.set_ylabel("median seconds per task")
        out["speed"] = _png(fig)
    return out
