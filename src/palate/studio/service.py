"""The actions both front ends share (pages and the JSON API), with their authorisation.

A rater reaches an assignment only if it is theirs; anything else is "not found", the same
answer as for an id that does not exist, so ids of other raters' work reveal nothing. In a
project with a qualification set, real tasks stay closed until the rater has passed it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from palate.errors import PalateError
from palate.rubric import render_rater_instructions
from palate.schema import Rubric
from palate.store.rubrics import load_rubric_version
from palate.store.studio import AlreadyExists, AssignmentRow, StudioStore, SubmissionRow, UserRow
from palate.studio.judging import (
    LETTERS,
    SkipIn,
    SubmissionIn,
    TaskView,
    check,
    display_order,
    task_view,
)
from palate.studio.quality import answer_label, label


class NotFound(PalateError):
    """No such thing, or not yours."""


class NotQualified(PalateError):
    """The rater has not (or not yet) passed the project's qualification set."""


@dataclass(frozen=True)
class Qualification:
    """Where a rater stands with a project's qualification set."""

    items: int
    answered: int
    correct: int
    pass_mark: float

    @property
    def finished(self) -> bool:
        return self.answered == self.items

    @property
    def passed(self) -> bool:
        return self.finished and self.correct >= self.pass_mark * self.items


@dataclass(frozen=True)
class AfterView:
    """What a rater sees once an answer is in: their answer, and for gold items the gold
    answer and its explanation, and where the project has one the AI judge's verdict."""

    assignment_id: int
    project_id: int
    source: str
    yours: str
    gold: str | None
    explanation: str | None
    ai_verdict: str | None
    ai_rationale: str | None
    ai_judge: str | None
    revisable_until: datetime | None
    qualification: Qualification | None


def shown_label(value: str, row: AssignmentRow) -> str:
    """A data-order label ('0', '1,0,2', 'tie') in the letters this rater saw."""
    if value == "tie" or value.startswith("{"):
        return value
    count = len(json.loads(row.payload)["responses"])
    letter = {i: LETTERS[k] for k, i in enumerate(display_order(row, count))}
    return " > ".join(letter[int(i)] for i in value.split(","))


MAX_SMALL_ID = 2**31 - 1  # users and projects: INTEGER columns
MAX_BIG_ID = 2**63 - 1  # tasks and assignments: BIGINT columns


def known_id(value: int, what: str, *, big: bool = False) -> int:
    """``value`` if a row could have it, else NotFound (a URL's id never reaches SQL unchecked,
    where a too-large one would be a database error rather than "not found")."""
    if not 1 <= value <= (MAX_BIG_ID if big else MAX_SMALL_ID):
        raise NotFound(f"no {what} {value}")
    return value


class Service:
    """Studio actions over one store, with a cache of rubrics (immutable by version)."""

    def __init__(self, studio: StudioStore) -> None:
        self.studio = studio
        self.rubric = lru_cache(maxsize=64)(self._load_rubric)
        self.instructions = lru_cache(maxsize=64)(self._instructions)
        self.qualified: set[tuple[int, int]] = set()  # (rater, project) known to have passed

    def _load_rubric(self, version: str | None) -> Rubric | None:
        return load_rubric_version(self.studio.store, version) if version else None

    def _instructions(self, version: str | None) -> str:
        rubric = self.rubric(version)
        return render_rater_instructions(rubric) if rubric else ""

    def own_assignment(self, user: UserRow, assignment_id: int) -> AssignmentRow:
        if not 1 <= assignment_id <= MAX_BIG_ID:
            raise NotFound(f"no task {assignment_id} in your queue")
        row = self.studio.assignment(assignment_id)
        if row is None or row.user_id != user.id:
            raise NotFound(f"no task {assignment_id} in your queue")
        return row

    def qualification(self, user_id: int, project_id: int) -> Qualification | None:
        """The rater's standing on the project's qualification set; None if it has none."""
        project = self.studio.project(project_id)
        if project is None or project.pass_mark is None:
            return None
        items = self.studio.qualification(user_id, project_id)
        correct = sum(
            answer is not None and answer_label(*answer) == gold
            for _aid, gold, _closed, answer in items
        )
        answered = sum(closed for _aid, _gold, closed, _answer in items)
        return Qualification(len(items), answered, correct, project.pass_mark)

    def gate(self, user: UserRow, row: AssignmentRow) -> None:
        """NotQualified unless the task is a qualification item or the rater has passed
        (remembered once passed: the qualification set of a project never changes)."""
        if row.source == "qualify" or (user.id, row.project_id) in self.qualified:
            return
        standing = self.qualification(user.id, row.project_id)
        if standing is None or standing.passed:
            self.qualified.add((user.id, row.project_id))
            return
        if standing.finished:
            raise NotQualified(
                f"you answered {standing.correct} of {standing.items} qualification items "
                f"right (needed {standing.pass_mark:.0%}): ask an admin before going on"
            )
        raise NotQualified("finish the qualification items first")

    def view(self, user: UserRow, assignment_id: int) -> TaskView:
        row = self.own_assignment(user, assignment_id)
        self.gate(user, row)
        if not row.done and row.opened_at is None:
            self.studio.mark_opened(row.id)
        draft = None if row.done else self.studio.draft(row.id)
        return task_view(row, self.rubric(row.rubric), draft)

    def user(self, user_id: int) -> UserRow:
        found = self.studio.user(known_id(user_id, "user"))
        if found is None:
            raise NotFound(f"no user {user_id}")
        return found

    def submit(self, user: UserRow, assignment_id: int, answer: SubmissionIn) -> int:
        """Check and store an answer exactly once (AlreadyExists on a repeat)."""
        row = self.own_assignment(user, assignment_id)
        self.gate(user, row)
        opened = row.opened_at or self.studio.mark_opened(row.id)
        wall_s = (datetime.now(UTC) - opened).total_seconds()
        return self.studio.submit(check(answer, row, self.rubric(row.rubric), wall_s))

    def revisable_until(self, row: AssignmentRow, sub: SubmissionRow) -> datetime | None:
        """Until when the rater may still change this answer (None: not any more). Never for
        gold items, whose answer the rater has seen by then."""
        if row.gold is not None:
            return None
        project = self.studio.project(row.project_id)
        if project is None or not project.revise_s or sub.review is not None:
            return None
        until = sub.submitted_at + timedelta(seconds=project.revise_s)
        return until if until > datetime.now(UTC) else None

    def revise(self, user: UserRow, assignment_id: int, answer: SubmissionIn) -> None:
        """Replace an answer within the project's revision window (AlreadyExists after it)."""
        row = self.own_assignment(user, assignment_id)
        sub = self.studio.submission_of(row.id)
        if sub is None:
            raise NotFound(f"no answer to task {assignment_id} yet")
        project = self.studio.project(row.project_id)
        if project is None or self.revisable_until(row, sub) is None:
            raise AlreadyExists("this task was already submitted (no longer revisable)")
        checked = check(answer, row, self.rubric(row.rubric), sub.time_spent_s)
        not_before = datetime.now(UTC) - timedelta(seconds=project.revise_s)
        if not self.studio.revise(checked, not_before):
            raise AlreadyExists("this task was already submitted (no longer revisable)")

    def after(self, user: UserRow, assignment_id: int) -> AfterView:
        """The feedback shown once a task is answered (gold and AI verdicts only now)."""
        row = self.own_assignment(user, assignment_id)
        sub = self.studio.submission_of(row.id)
        if sub is None:
            raise NotFound(f"no answer to task {assignment_id} yet")
        assist = json.loads(row.assist) if row.assist else None
        return AfterView(
            assignment_id=row.id,
            project_id=row.project_id,
            source=row.source,
            yours=shown_label(label(sub), row),
            gold=None if row.gold is None else shown_label(row.gold, row),
            explanation=row.explanation if row.gold is not None else None,
            ai_verdict=shown_label(assist["verdict"], row) if assist else None,
            ai_rationale=assist["rationale"] if assist else None,
            ai_judge=assist["judge"] if assist else None,
            revisable_until=self.revisable_until(row, sub),
            qualification=self.qualification(user.id, row.project_id)
            if row.source == "qualify"
            else None,
        )

    def has_feedback(self, user: UserRow, assignment_id: int) -> bool:
        """Whether the rater should see the after-answer page (gold, AI verdict, revision)."""
        row = self.own_assignment(user, assignment_id)
        if row.gold is not None or row.assist:
            return True
        project = self.studio.project(row.project_id)
        return bool(project and project.revise_s)

    def skip(self, user: UserRow, assignment_id: int, skip: SkipIn) -> None:
        """Close one of the rater's open tasks without an answer (AlreadyExists if closed)."""
        row = self.own_assignment(user, assignment_id)
        self.studio.skip(row.id, skip.reason, skip.note.strip() or skip.reason)

    def save_draft(
        self, user: UserRow, assignment_id: int, fields: dict[str, str], active_ms: int
    ) -> bool:
        row = self.own_assignment(user, assignment_id)
        return self.studio.save_draft(row.id, json.dumps(fields, sort_keys=True), active_ms)
