"""Review and adjudication: an admin's queue of judgements with critiques (accept, or reject
with a reason), the items raters disagree on, an adjudicator's decision on each (a label of
its own, with who, when, why and which submissions it settled), and per-item and per-rater
views of the answers.

Rejected submissions stay stored but leave exports and agreement figures.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from palate.errors import InputError
from palate.store.studio import AdjudicationRow, AlreadyExists, StudioStore, SubmissionRow
from palate.studio.judging import MAX_CRITIQUE
from palate.studio.quality import label

PAIR_LABELS = ("0", "1", "tie")


class ReviewIn(BaseModel):
    """An admin's verdict on one judgement."""

    model_config = ConfigDict(extra="forbid")

    verdict: Literal["accepted", "rejected"] = Field(description="Keep it, or drop it.")
    reason: str = Field(default="", max_length=MAX_CRITIQUE, description="Why (to reject).")


class AdjudicationIn(BaseModel):
    """An adjudicator's decision on an item raters disagreed on."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(
        min_length=1, max_length=200, description="'0', '1', 'tie', or one of the rankings given."
    )
    rationale: str = Field(min_length=1, max_length=MAX_CRITIQUE, description="Why.")


@dataclass(frozen=True)
class ItemAnswers:
    """Every live answer on one item, and its adjudication if any."""

    task_id: int
    item: str
    payload: dict[str, object]
    answers: list[SubmissionRow]
    counts: dict[str, int]
    decision: AdjudicationRow | None

    @property
    def disputed(self) -> bool:
        return len(self.counts) > 1

    def options(self) -> list[str]:
        """Labels an adjudicator may choose: any pair outcome, else one of those given."""
        given = sorted(self.counts)
        if all(g in PAIR_LABELS for g in given):
            return list(PAIR_LABELS)
        return given


def review(studio: StudioStore, submission_id: int, verdict: ReviewIn, reviewer: int) -> None:
    """Accept or reject a submission once (a rejection needs a reason)."""
    reason = verdict.reason.strip()
    if verdict.verdict == "rejected" and not reason:
        raise InputError("say why the judgement is rejected", field="reason")
    if not studio.set_review(submission_id, verdict.verdict, reason, reviewer):
        raise AlreadyExists("this judgement was already reviewed")


def review_queue(studio: StudioStore, project_id: int) -> list[SubmissionRow]:
    """Judgements with a critique that no admin has reviewed yet, oldest first."""
    return [s for s in studio.submissions(project_id) if s.critique and s.review is None]


def items(studio: StudioStore, project_id: int) -> dict[int, ItemAnswers]:
    """Each answered item's live (not rejected) answers, by task id."""
    decisions = studio.adjudications(project_id)
    grouped: dict[int, list[SubmissionRow]] = {}
    for row in studio.submissions(project_id):
        if row.review != "rejected":
            grouped.setdefault(row.task_id, []).append(row)
    return {
        task: ItemAnswers(
            task_id=task,
            item=rows[0].item,
            payload=json.loads(rows[0].payload),
            answers=rows,
            counts=dict(Counter(label(r) for r in rows)),
            decision=decisions.get(task),
        )
        for task, rows in grouped.items()
    }


def disagreements(studio: StudioStore, project_id: int) -> list[ItemAnswers]:
    """Items whose raters gave different answers, undecided ones first."""
    found = [i for i in items(studio, project_id).values() if i.disputed]
    return sorted(found, key=lambda i: (i.decision is not None, i.task_id))


def adjudicate(
    studio: StudioStore, project_id: int, task_id: int, decision: AdjudicationIn, by: int
) -> None:
    """Store the adjudicator's label for a disputed item of the project."""
    found = items(studio, project_id).get(task_id)
    if found is None or not found.disputed:
        raise InputError("raters do not disagree on this item", field="task")
    if decision.label not in found.options():
        raise InputError(
            f"choose one of {', '.join(found.options())}, not {decision.label!r}", field="label"
        )
    studio.adjudicate(
        task_id, by, decision.label, decision.rationale.strip(), [r.id for r in found.answers]
    )


@dataclass(frozen=True)
class RaterAnswer:
    """One of a rater's answers, against gold and the other raters."""

    row: SubmissionRow
    label: str
    gold_right: bool | None
    with_majority: bool | None


def rater_answers(studio: StudioStore, project_id: int, user_id: int) -> list[RaterAnswer]:
    """A rater's answers, each marked right or wrong on gold items and with or against the
    majority of the other raters (None where there is no gold, or no other rater)."""
    out = []
    by_item = items(studio, project_id)
    for row in studio.submissions(project_id):
        if row.user_id != user_id:
            continue
        mine = label(row)
        others = [label(r) for r in by_item.get(row.task_id, _EMPTY).answers if r.id != row.id]
        top = Counter(others).most_common(1)
        out.append(
            RaterAnswer(
                row=row,
                label=mine,
                gold_right=None if row.gold is None else mine == row.gold,
                with_majority=(mine == top[0][0]) if top else None,
            )
        )
    return out


_EMPTY = ItemAnswers(0, "", {}, [], {}, None)
