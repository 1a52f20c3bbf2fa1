"""The actions both front ends share (pages and the JSON API), with their authorisation.

A rater reaches an assignment only if it is theirs; anything else is "not found", the same
answer as for an id that does not exist, so ids of other raters' work reveal nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache

from palate.errors import PalateError
from palate.rubric import render_rater_instructions
from palate.schema import Rubric
from palate.store.rubrics import load_rubric_version
from palate.store.studio import AssignmentRow, StudioStore, UserRow
from palate.studio.judging import SkipIn, SubmissionIn, TaskView, check, task_view


class NotFound(PalateError):
    """No such thing, or not yours."""


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

    def view(self, user: UserRow, assignment_id: int) -> TaskView:
        row = self.own_assignment(user, assignment_id)
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
        opened = row.opened_at or self.studio.mark_opened(row.id)
        wall_s = (datetime.now(UTC) - opened).total_seconds()
        return self.studio.submit(check(answer, row, self.rubric(row.rubric), wall_s))

    def skip(self, user: UserRow, assignment_id: int, skip: SkipIn) -> None:
        """Close one of the rater's open tasks without an answer (AlreadyExists if closed)."""
        row = self.own_assignment(user, assignment_id)
        self.studio.skip(row.id, skip.reason, skip.note.strip() or skip.reason)

    def save_draft(
        self, user: UserRow, assignment_id: int, fields: dict[str, str], active_ms: int
    ) -> bool:
        row = self.own_assignment(user, assignment_id)
        return self.studio.save_draft(row.id, json.dumps(fields, sort_keys=True), active_ms)
