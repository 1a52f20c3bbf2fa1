"""Queries of the studio tables (palate.studio decides who may do what; this runs the SQL).

Every write is one transaction. Submitting inserts the submission, closes the assignment and
drops its draft together, and the unique constraint on ``assignment_id`` makes a repeated or
concurrent submission fail cleanly instead of being stored twice.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Integer, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from palate.errors import PalateError
from palate.store.store import Store
from palate.store.studio_tables import (
    studio_adjudications,
    studio_assignments,
    studio_drafts,
    studio_login_failures,
    studio_projects,
    studio_sessions,
    studio_settings,
    studio_skips,
    studio_submissions,
    studio_tasks,
    studio_users,
)


class AlreadyExists(PalateError):
    """A name (user, project) or an answer (submission) that must be unique is taken."""


def name_key(name: str) -> str:
    """What makes two user names the same: NFKC compatibility form, case folded."""
    return unicodedata.normalize("NFKC", name).casefold()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class UserRow:
    id: int = field(metadata={"help": "user id"})
    name: str = field(metadata={"help": "login name, also the rater name in exports"})
    role: str = field(metadata={"help": "'admin' or 'rater'"})
    password_hash: str = field(metadata={"help": "argon2id PHC string"})
    disabled: bool = field(default=False, metadata={"help": "an admin disabled the account"})


@dataclass(frozen=True)
class SessionRow:
    user: UserRow = field(metadata={"help": "whose session"})
    csrf: str = field(metadata={"help": "the session's CSRF token"})


@dataclass(frozen=True)
class ProjectRow:
    id: int = field(metadata={"help": "project id"})
    name: str = field(metadata={"help": "unique project name"})
    dataset: str = field(metadata={"help": "dataset the items came from"})
    gold_dataset: str | None = field(metadata={"help": "dataset of the gold answers"})
    rubric: str | None = field(metadata={"help": "rubric version, if any"})
    overlap: int = field(metadata={"help": "raters per non-gold task"})
    seed: int = field(metadata={"help": "seed of assignment, order and presentation"})
    created_at: datetime = field(metadata={"help": "when it was created"})
    kind: str = field(default="pairwise", metadata={"help": "'pairwise', 'rubric' or 'ranking'"})
    pass_mark: float | None = field(
        default=None, metadata={"help": "qualification share to pass, None: no qualification"}
    )
    revise_s: int = field(default=0, metadata={"help": "seconds a submission stays revisable"})


@dataclass(frozen=True)
class NewTask:
    item: str = field(metadata={"help": "prompt key, shared by judgements of the same item"})
    payload: str = field(metadata={"help": "JSON of the prompt and the two responses"})
    gold: str | None = field(metadata={"help": "'0', '1' or 'tie' for a gold task, else None"})
    source: str = field(metadata={"help": "'dataset', 'gold', 'qualify' or 'escalation'"})
    explanation: str | None = field(default=None, metadata={"help": "why the gold is right"})
    assist: str | None = field(default=None, metadata={"help": "JSON AI-judge verdict"})


@dataclass(frozen=True)
class NewAssignment:
    task: int = field(metadata={"help": "index into the tasks being added"})
    user_id: int = field(metadata={"help": "the rater"})
    position: int = field(metadata={"help": "place in the rater's queue, lowest first"})
    swap: bool = field(metadata={"help": "show responses[1] first"})
    shown: tuple[int, ...] | None = field(
        default=None, metadata={"help": "data indices in display order (ranking tasks)"}
    )


@dataclass(frozen=True)
class AssignmentRow:
    id: int = field(metadata={"help": "assignment id"})
    user_id: int = field(metadata={"help": "the rater it belongs to"})
    project_id: int = field(metadata={"help": "its project"})
    task_id: int = field(metadata={"help": "its task"})
    item: str = field(metadata={"help": "the task's prompt key"})
    payload: str = field(metadata={"help": "the task's JSON payload"})
    swap: bool = field(metadata={"help": "show responses[1] first"})
    done: bool = field(metadata={"help": "already submitted"})
    opened_at: datetime | None = field(metadata={"help": "first view"})
    rubric: str | None = field(metadata={"help": "the project's rubric version"})
    project_name: str = field(metadata={"help": "the project's name"})
    kind: str = field(default="pairwise", metadata={"help": "the project's task kind"})
    source: str = field(default="dataset", metadata={"help": "where the task came from"})
    gold: str | None = field(default=None, metadata={"help": "gold answer, data order"})
    explanation: str | None = field(default=None, metadata={"help": "why the gold is right"})
    assist: str | None = field(default=None, metadata={"help": "JSON AI-judge verdict"})
    shown: tuple[int, ...] | None = field(default=None, metadata={"help": "display order"})


@dataclass(frozen=True)
class NewSubmission:
    assignment_id: int = field(metadata={"help": "what is answered"})
    task_id: int = field(metadata={"help": "its task"})
    user_id: int = field(metadata={"help": "who answered"})
    winner: int | None = field(metadata={"help": "data-order winner, None for a tie"})
    tie: bool = field(metadata={"help": "neither was better"})
    strength: float | None = field(metadata={"help": "AlpacaEval preference in [1, 2]"})
    scores: str = field(metadata={"help": "JSON {dimension: {'0': int, '1': int}}"})
    critique: str = field(metadata={"help": "the rater's written critique"})
    error_tags: str = field(metadata={"help": "JSON list of error tags"})
    time_spent_s: float = field(metadata={"help": "active time on the task"})
    ranking: str | None = field(default=None, metadata={"help": "JSON data indices, best first"})


@dataclass(frozen=True)
class SubmissionRow:
    id: int = field(metadata={"help": "submission id"})
    task_id: int = field(metadata={"help": "the task"})
    item: str = field(metadata={"help": "the task's prompt key"})
    payload: str = field(metadata={"help": "the task's JSON payload"})
    gold: str | None = field(metadata={"help": "gold answer, if a gold task"})
    source: str = field(metadata={"help": "where the task came from"})
    user: str = field(metadata={"help": "rater name"})
    swap: bool = field(metadata={"help": "whether responses[1] was shown first"})
    winner: int | None = field(metadata={"help": "data-order winner"})
    tie: bool = field(metadata={"help": "a tie"})
    strength: float | None = field(metadata={"help": "AlpacaEval preference in [1, 2]"})
    scores: str = field(metadata={"help": "JSON scores"})
    critique: str = field(metadata={"help": "critique"})
    error_tags: str = field(metadata={"help": "JSON error tags"})
    time_spent_s: float = field(metadata={"help": "active seconds"})
    submitted_at: datetime = field(metadata={"help": "when"})
    ranking: str | None = field(default=None, metadata={"help": "JSON data indices, best first"})
    user_id: int = field(default=0, metadata={"help": "rater id"})
    assignment_id: int = field(default=0, metadata={"help": "the assignment answered"})
    review: str | None = field(default=None, metadata={"help": "'accepted', 'rejected' or None"})
    review_reason: str | None = field(default=None, metadata={"help": "why it was rejected"})
    revised_at: datetime | None = field(default=None, metadata={"help": "last revision"})
    assist: str | None = field(default=None, metadata={"help": "JSON AI-judge verdict"})


@dataclass(frozen=True)
class AdjudicationRow:
    task_id: int = field(metadata={"help": "the item decided"})
    user: str = field(metadata={"help": "adjudicator name"})
    label: str = field(metadata={"help": "decided label, data order"})
    rationale: str = field(metadata={"help": "why"})
    submissions: list[int] = field(metadata={"help": "submission ids it settled"})
    decided_at: datetime = field(metadata={"help": "when"})


@dataclass(frozen=True)
class SkipRow:
    item: str = field(metadata={"help": "the task's prompt key"})
    task_id: int = field(metadata={"help": "the task"})
    user: str = field(metadata={"help": "rater name"})
    reason: str = field(metadata={"help": "'unsure' or 'problem'"})
    note: str = field(metadata={"help": "the rater's explanation"})
    skipped_at: datetime = field(metadata={"help": "when"})


@dataclass(frozen=True)
class Progress:
    user: str = field(metadata={"help": "rater name"})
    assigned: int = field(metadata={"help": "assignments in the project"})
    done: int = field(metadata={"help": "of which submitted"})


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class StudioStore:
    """The studio's view of a store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    def _read(self) -> Connection:
        return self.engine.connect().execution_options(sqlite_begin="DEFERRED")

    # -- users -----------------------------------------------------------------------------

    def add_user(self, name: str, role: str, password_hash: str) -> UserRow:
        """Add an account; AlreadyExists if a name with the same key (case, width) exists."""
        row = {
            "name": name,
            "name_key": name_key(name),
            "role": role,
            "password_hash": password_hash,
            "created_at": _now(),
            "disabled": False,
        }
        try:
            with self.engine.begin() as conn:
                new_id = conn.execute(
                    insert(studio_users).values(row).returning(studio_users.c.id)
                ).scalar_one()
        except IntegrityError:
            raise AlreadyExists(f"a user named {name!r} already exists") from None
        return UserRow(int(new_id), name, role, password_hash)

    def set_password(self, user_id: int, password_hash: str, *, end_sessions: bool) -> None:
        """Store a new hash; ``end_sessions`` logs the user out everywhere in the same step."""
        with self.engine.begin() as conn:
            conn.execute(
                update(studio_users)
                .where(studio_users.c.id == user_id)
                .values(password_hash=password_hash)
            )
            if end_sessions:
                conn.execute(delete(studio_sessions).where(studio_sessions.c.user_id == user_id))

    def set_disabled(self, user_id: int, disabled: bool) -> None:
        """Disable (and log out everywhere) or re-enable an account."""
        with self.engine.begin() as conn:
            conn.execute(
                update(studio_users).where(studio_users.c.id == user_id).values(disabled=disabled)
            )
            if disabled:
                conn.execute(delete(studio_sessions).where(studio_sessions.c.user_id == user_id))

    def _users(self, *where: Any) -> list[UserRow]:
        c = studio_users.c
        query = (
            select(c.id, c.name, c.role, c.password_hash, c.disabled).where(*where).order_by(c.name)
        )
        with self._read() as conn:
            return [UserRow(int(i), n, r, h, bool(d)) for i, n, r, h, d in conn.execute(query)]

    def user(self, user_id: int) -> UserRow | None:
        found = self._users(studio_users.c.id == user_id)
        return found[0] if found else None

    def user_by_name(self, name: str) -> UserRow | None:
        """The account whose name has the same key as ``name`` (any case or width)."""
        found = self._users(studio_users.c.name_key == name_key(name))
        return found[0] if found else None

    def users(self, role: str | None = None) -> list[UserRow]:
        return self._users(*([studio_users.c.role == role] if role else []))

    # -- sessions --------------------------------------------------------------------------

    def open_session(self, user_id: int, token_hash: str, csrf: str, expires_at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(studio_sessions).values(
                    token_hash=token_hash,
                    user_id=user_id,
                    csrf=csrf,
                    created_at=_now(),
                    expires_at=expires_at,
                )
            )

    def session(self, token_hash: str, now: datetime) -> SessionRow | None:
        """The live session with this token hash and its enabled user, else None."""
        s, u = studio_sessions.c, studio_users.c
        query = (
            select(u.id, u.name, u.role, u.password_hash, s.csrf, s.expires_at)
            .select_from(studio_sessions.join(studio_users))
            .where(s.token_hash == token_hash, u.disabled.is_(False))
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None or _aware(row[5]) <= now:
            return None
        return SessionRow(UserRow(int(row[0]), row[1], row[2], row[3]), row[4])

    def end_session(self, token_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(studio_sessions).where(studio_sessions.c.token_hash == token_hash))

    def end_sessions(self, user_id: int) -> int:
        """Log a user out everywhere; the number of sessions ended."""
        with self.engine.begin() as conn:
            ended = conn.execute(
                delete(studio_sessions).where(studio_sessions.c.user_id == user_id)
            ).rowcount
        return int(ended)

    def end_expired_sessions(self, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(studio_sessions).where(studio_sessions.c.expires_at <= now))

    # -- wrong logins, shared by all server processes -------------------------------------

    def recent_failures(self, key: str, since: float, limit: int) -> list[float]:
        """Times of the latest ``limit`` failures of ``key`` after ``since``, newest first."""
        f = studio_login_failures.c
        query = select(f.at).where(f.key == key, f.at > since).order_by(f.at.desc()).limit(limit)
        with self._read() as conn:
            return [float(t) for t in conn.execute(query).scalars()]

    def add_failures(self, keys: Sequence[str], at: float, forget_before: float) -> None:
        """Record failures of ``keys``, dropping any that no longer count."""
        f = studio_login_failures.c
        with self.engine.begin() as conn:
            conn.execute(delete(studio_login_failures).where(f.at <= forget_before))
            conn.execute(insert(studio_login_failures), [{"key": k, "at": at} for k in keys])

    def clear_failures(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(studio_login_failures).where(studio_login_failures.c.key == key))

    # -- settings shared by all server processes ----------------------------------------------

    def setting(self, key: str, default: str) -> str:
        """The stored value of ``key``; the first caller stores ``default`` (race-free)."""
        c = studio_settings.c
        with self._read() as conn:
            found = conn.execute(select(c.value).where(c.key == key)).scalar()
        if found is not None:
            return str(found)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(studio_settings).values(key=key, value=default))
        except IntegrityError:  # another process stored it first: use theirs
            pass
        with self._read() as conn:
            return str(conn.execute(select(c.value).where(c.key == key)).scalar_one())

    # -- projects and tasks ----------------------------------------------------------------

    def create_project(
        self,
        *,
        name: str,
        dataset: str,
        gold_dataset: str | None,
        rubric: str | None,
        overlap: int,
        seed: int,
        created_by: int,
        tasks: Sequence[NewTask],
        assignments: Sequence[NewAssignment],
        kind: str = "pairwise",
        pass_mark: float | None = None,
        revise_s: int = 0,
    ) -> int:
        """Create a project with its tasks and assignments, all or nothing."""
        row = {
            "kind": kind,
            "pass_mark": pass_mark,
            "revise_s": revise_s,
            "name": name,
            "dataset": dataset,
            "gold_dataset": gold_dataset,
            "rubric": rubric,
            "overlap": overlap,
            "seed": seed,
            "created_by": created_by,
            "created_at": _now(),
        }
        try:
            with self.engine.begin() as conn:
                project_id = int(
                    conn.execute(
                        insert(studio_projects).values(row).returning(studio_projects.c.id)
                    ).scalar_one()
                )
                self._add_tasks(conn, project_id, tasks, assignments)
        except IntegrityError:
            raise AlreadyExists(f"a project named {name!r} already exists") from None
        return project_id

    def add_tasks(
        self, project_id: int, tasks: Sequence[NewTask], assignments: Sequence[NewAssignment]
    ) -> list[int]:
        with self.engine.begin() as conn:
            return self._add_tasks(conn, project_id, tasks, assignments)

    @staticmethod
    def _add_tasks(
        conn: Connection,
        project_id: int,
        tasks: Sequence[NewTask],
        assignments: Sequence[NewAssignment],
    ) -> list[int]:
        if not tasks:
            return []
        now = _now()
        rows = [
            {
                "project_id": project_id,
                "item": t.item,
                "payload": t.payload,
                "gold": t.gold,
                "source": t.source,
                "created_at": now,
                "explanation": t.explanation,
                "assist": t.assist,
            }
            for t in tasks
        ]
        ids = [
            int(i)
            for i in conn.execute(
                insert(studio_tasks).returning(studio_tasks.c.id, sort_by_parameter_order=True),
                rows,
            ).scalars()
        ]
        if assignments:
            conn.execute(
                insert(studio_assignments),
                [
                    {
                        "task_id": ids[a.task],
                        "user_id": a.user_id,
                        "position": a.position,
                        "swap": a.swap,
                        "shown": None if a.shown is None else json.dumps(list(a.shown)),
                        "done": False,
                    }
                    for a in assignments
                ],
            )
        return ids

    def projects(self) -> list[ProjectRow]:
        return self._projects()

    def project(self, project_id: int) -> ProjectRow | None:
        found = self._projects(studio_projects.c.id == project_id)
        return found[0] if found else None

    def _projects(self, *where: Any) -> list[ProjectRow]:
        c = studio_projects.c
        query = select(
            c.id,
            c.name,
            c.dataset,
            c.gold_dataset,
            c.rubric,
            c.overlap,
            c.seed,
            c.created_at,
            c.kind,
            c.pass_mark,
            c.revise_s,
        ).where(*where)
        with self._read() as conn:
            return [
                ProjectRow(int(i), n, d, g, r, int(o), int(s), _aware(t), k, pm, int(rv or 0))
                for i, n, d, g, r, o, s, t, k, pm, rv in conn.execute(query.order_by(c.id))
            ]

    def queue_state(self, project_id: int) -> dict[int, tuple[int, int]]:
        """Per rater with work in the project: (open assignments there, lowest position in
        their whole queue), so escalations can go to the least loaded, at the front."""
        a, t = studio_assignments.c, studio_tasks.c
        in_project = (
            select(a.user_id, func.sum(func.cast(a.done.is_(False), Integer)))
            .select_from(studio_assignments.join(studio_tasks))
            .where(t.project_id == project_id)
            .group_by(a.user_id)
        )
        with self._read() as conn:
            counts = {int(u): int(n or 0) for u, n in conn.execute(in_project)}
            lowest = (
                select(a.user_id, func.min(a.position))
                .where(a.user_id.in_(list(counts)))
                .group_by(a.user_id)
            )
            fronts = {int(u): int(p) for u, p in conn.execute(lowest)}
        return {u: (n, fronts[u]) for u, n in counts.items()}

    def progress(self, project_id: int) -> list[Progress]:
        a, t, u = studio_assignments.c, studio_tasks.c, studio_users.c
        query = (
            select(u.name, func.count(), func.sum(func.cast(a.done, Integer)))
            .select_from(studio_assignments.join(studio_tasks).join(studio_users))
            .where(t.project_id == project_id)
            .group_by(u.name)
            .order_by(u.name)
        )
        with self._read() as conn:
            return [Progress(n, int(k), int(d or 0)) for n, k, d in conn.execute(query)]

    # -- a rater's queue -------------------------------------------------------------------

    def next_assignment(self, user_id: int, project_id: int | None = None) -> int | None:
        a, t = studio_assignments.c, studio_tasks.c
        query = (
            select(a.id)
            .select_from(studio_assignments.join(studio_tasks))
            .where(a.user_id == user_id, a.done.is_(False))
            .order_by(a.position, a.id)
            .limit(1)
        )
        if project_id is not None:
            query = query.where(t.project_id == project_id)
        with self._read() as conn:
            found = conn.execute(query).scalar()
        return None if found is None else int(found)

    def open_counts(self, user_id: int) -> list[tuple[int, str, int, int]]:
        """(project id, name, open, total) of each project the rater has work in."""
        a, p = studio_assignments.c, studio_projects.c
        query = (
            select(p.id, p.name, func.count(), func.sum(func.cast(a.done, Integer)))
            .select_from(studio_assignments.join(studio_tasks).join(studio_projects))
            .where(a.user_id == user_id)
            .group_by(p.id, p.name)
            .order_by(p.id)
        )
        with self._read() as conn:
            return [(int(i), n, int(k) - int(d or 0), int(k)) for i, n, k, d in conn.execute(query)]

    def assignment(self, assignment_id: int) -> AssignmentRow | None:
        a, t, p = studio_assignments.c, studio_tasks.c, studio_projects.c
        query = (
            select(
                a.id,
                a.user_id,
                t.project_id,
                a.task_id,
                t.item,
                t.payload,
                a.swap,
                a.done,
                a.opened_at,
                p.rubric,
                p.name,
                p.kind,
                t.source,
                t.gold,
                t.explanation,
                t.assist,
                a.shown,
            )
            .select_from(studio_assignments.join(studio_tasks).join(studio_projects))
            .where(a.id == assignment_id)
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        i, u, pid, tid, item, payload, swap, done, opened, rubric, pname = row[:11]
        kind, source, gold, explanation, assist, shown = row[11:]
        return AssignmentRow(
            int(i),
            int(u),
            int(pid),
            int(tid),
            item,
            payload,
            bool(swap),
            bool(done),
            _aware(opened) if opened is not None else None,
            rubric,
            pname,
            kind,
            source,
            gold,
            explanation,
            assist,
            None if shown is None else tuple(json.loads(shown)),
        )

    def mark_opened(self, assignment_id: int) -> datetime:
        """Record the first view (later views keep it); return it."""
        a = studio_assignments.c
        with self.engine.begin() as conn:
            conn.execute(
                update(studio_assignments)
                .where(a.id == assignment_id, a.opened_at.is_(None))
                .values(opened_at=_now())
            )
            opened = conn.execute(select(a.opened_at).where(a.id == assignment_id)).scalar_one()
        return _aware(opened)

    # -- drafts and submissions ------------------------------------------------------------

    def save_draft(self, assignment_id: int, body: str, active_ms: int) -> bool:
        """Upsert the draft of an open assignment; False if it was submitted meanwhile."""
        d, a = studio_drafts.c, studio_assignments.c
        values = {"body": body, "active_ms": active_ms, "updated_at": _now()}
        with self.engine.begin() as conn:
            done = conn.execute(
                select(a.done).where(a.id == assignment_id).with_for_update()
            ).scalar()
            if done is None or done:
                return False
            changed = conn.execute(
                update(studio_drafts).where(d.assignment_id == assignment_id).values(values)
            ).rowcount
            if not changed:
                conn.execute(insert(studio_drafts).values(assignment_id=assignment_id, **values))
        return True

    def draft(self, assignment_id: int) -> tuple[str, int] | None:
        d = studio_drafts.c
        query = select(d.body, d.active_ms).where(d.assignment_id == assignment_id)
        with self._read() as conn:
            row = conn.execute(query).first()
        return None if row is None else (row[0], int(row[1]))

    def submit(self, sub: NewSubmission) -> int:
        """Store a submission exactly once; AlreadyExists if the assignment was answered."""
        a = studio_assignments.c
        row = {
            "assignment_id": sub.assignment_id,
            "task_id": sub.task_id,
            "user_id": sub.user_id,
            "winner": sub.winner,
            "tie": sub.tie,
            "strength": sub.strength,
            "scores": sub.scores,
            "critique": sub.critique,
            "error_tags": sub.error_tags,
            "time_spent_s": sub.time_spent_s,
            "ranking": sub.ranking,
            "submitted_at": _now(),
        }
        try:
            with self.engine.begin() as conn:
                closed = conn.execute(
                    update(studio_assignments)
                    .where(and_(a.id == sub.assignment_id, a.done.is_(False)))
                    .values(done=True)
                ).rowcount
                if not closed:
                    raise AlreadyExists("this task was already submitted")
                new_id = conn.execute(
                    insert(studio_submissions).values(row).returning(studio_submissions.c.id)
                ).scalar_one()
                conn.execute(
                    delete(studio_drafts).where(studio_drafts.c.assignment_id == sub.assignment_id)
                )
        except IntegrityError:
            raise AlreadyExists("this task was already submitted") from None
        return int(new_id)

    def skip(self, assignment_id: int, reason: str, note: str) -> None:
        """Close an open assignment without an answer, keeping why; AlreadyExists if it was
        answered or skipped already."""
        a = studio_assignments.c
        with self.engine.begin() as conn:
            closed = conn.execute(
                update(studio_assignments)
                .where(and_(a.id == assignment_id, a.done.is_(False)))
                .values(done=True)
            ).rowcount
            if not closed:
                raise AlreadyExists("this task was already submitted or skipped")
            conn.execute(
                insert(studio_skips).values(
                    assignment_id=assignment_id, reason=reason, note=note, skipped_at=_now()
                )
            )
            conn.execute(
                delete(studio_drafts).where(studio_drafts.c.assignment_id == assignment_id)
            )

    def skips(self, project_id: int) -> list[SkipRow]:
        k, a, t, u = studio_skips.c, studio_assignments.c, studio_tasks.c, studio_users.c
        query = (
            select(t.item, t.id, u.name, k.reason, k.note, k.skipped_at)
            .select_from(
                studio_skips.join(studio_assignments).join(studio_tasks).join(studio_users)
            )
            .where(t.project_id == project_id)
            .order_by(k.skipped_at, a.id)
        )
        with self._read() as conn:
            return [
                SkipRow(i, int(tid), n, r, note, _aware(at))
                for i, tid, n, r, note, at in conn.execute(query)
            ]

    def submissions(self, project_id: int, *where: Any) -> list[SubmissionRow]:
        """A project's submissions in id order (``where``: further conditions)."""
        s, t, u, a = studio_submissions.c, studio_tasks.c, studio_users.c, studio_assignments.c
        query = (
            select(
                s.id,
                s.task_id,
                t.item,
                t.payload,
                t.gold,
                t.source,
                u.name,
                a.swap,
                s.winner,
                s.tie,
                s.strength,
                s.scores,
                s.critique,
                s.error_tags,
                s.time_spent_s,
                s.submitted_at,
                s.ranking,
                s.user_id,
                s.assignment_id,
                s.review,
                s.review_reason,
                s.revised_at,
                t.assist,
            )
            .select_from(
                studio_submissions.join(studio_tasks, s.task_id == t.id)
                .join(studio_users, s.user_id == u.id)
                .join(studio_assignments, s.assignment_id == a.id)
            )
            .where(t.project_id == project_id, *where)
            .order_by(s.id)
        )
        with self._read() as conn:
            return [
                SubmissionRow(
                    int(r[0]),
                    int(r[1]),
                    r[2],
                    r[3],
                    r[4],
                    r[5],
                    r[6],
                    bool(r[7]),
                    None if r[8] is None else int(r[8]),
                    bool(r[9]),
                    None if r[10] is None else float(r[10]),
                    r[11],
                    r[12],
                    r[13],
                    float(r[14]),
                    _aware(r[15]),
                    r[16],
                    int(r[17]),
                    int(r[18]),
                    r[19],
                    r[20],
                    None if r[21] is None else _aware(r[21]),
                    r[22],
                )
                for r in conn.execute(query)
            ]

    def submission_of(self, assignment_id: int) -> SubmissionRow | None:
        """The answer to an assignment, if any."""
        project = (
            select(studio_tasks.c.project_id)
            .select_from(studio_assignments.join(studio_tasks))
            .where(studio_assignments.c.id == assignment_id)
        )
        with self._read() as conn:
            project_id = conn.execute(project).scalar()
        if project_id is None:
            return None
        found = self.submissions(
            int(project_id), studio_submissions.c.assignment_id == assignment_id
        )
        return found[0] if found else None

    def qualification(
        self, user_id: int, project_id: int
    ) -> list[tuple[int, str | None, bool, tuple[Any, ...] | None]]:
        """(assignment id, gold answer, closed, answer) of the rater's qualification items;
        the answer is (winner, tie, ranking, scores), None if skipped or still open."""
        a, t, s = studio_assignments.c, studio_tasks.c, studio_submissions.c
        query = (
            select(a.id, t.gold, a.done, s.id, s.winner, s.tie, s.ranking, s.scores)
            .select_from(
                studio_assignments.join(studio_tasks).outerjoin(
                    studio_submissions, s.assignment_id == a.id
                )
            )
            .where(a.user_id == user_id, t.project_id == project_id, t.source == "qualify")
            .order_by(a.position, a.id)
        )
        with self._read() as conn:
            return [
                (
                    int(r[0]),
                    r[1],
                    bool(r[2]),
                    None if r[3] is None else (r[4], bool(r[5]), r[6], r[7]),
                )
                for r in conn.execute(query)
            ]

    def revise(self, sub: NewSubmission, not_before: datetime) -> bool:
        """Replace the rater's answer if it was submitted after ``not_before`` and is not yet
        reviewed or adjudicated; False otherwise."""
        s = studio_submissions.c
        settled = select(studio_adjudications.c.task_id).where(
            studio_adjudications.c.task_id == sub.task_id
        )
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(studio_submissions)
                .where(
                    s.assignment_id == sub.assignment_id,
                    s.submitted_at >= not_before,
                    s.review.is_(None),
                    ~settled.exists(),
                )
                .values(
                    winner=sub.winner,
                    tie=sub.tie,
                    strength=sub.strength,
                    scores=sub.scores,
                    critique=sub.critique,
                    error_tags=sub.error_tags,
                    ranking=sub.ranking,
                    revised_at=_now(),
                )
            ).rowcount
        return bool(changed)

    def set_review(self, submission_id: int, verdict: str, reason: str, by: int) -> bool:
        """Record an admin's review of a submission; False if it was reviewed already."""
        s = studio_submissions.c
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(studio_submissions)
                .where(s.id == submission_id, s.review.is_(None))
                .values(review=verdict, review_reason=reason, reviewed_by=by, reviewed_at=_now())
            ).rowcount
        return bool(changed)

    def task_project(self, task_id: int) -> int | None:
        with self._read() as conn:
            found = conn.execute(
                select(studio_tasks.c.project_id).where(studio_tasks.c.id == task_id)
            ).scalar()
        return None if found is None else int(found)

    def adjudicate(
        self, task_id: int, user_id: int, label: str, rationale: str, submissions: list[int]
    ) -> None:
        """Store an adjudicator's label for an item, once (AlreadyExists after that)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(studio_adjudications).values(
                        task_id=task_id,
                        user_id=user_id,
                        label=label,
                        rationale=rationale,
                        submissions=json.dumps(sorted(submissions)),
                        decided_at=_now(),
                    )
                )
        except IntegrityError:
            raise AlreadyExists("this item was already adjudicated") from None

    def adjudications(self, project_id: int) -> dict[int, AdjudicationRow]:
        """The project's adjudicated items by task id."""
        j, t, u = studio_adjudications.c, studio_tasks.c, studio_users.c
        query = (
            select(j.task_id, u.name, j.label, j.rationale, j.submissions, j.decided_at)
            .select_from(
                studio_adjudications.join(studio_tasks).join(
                    studio_users, j.user_id == studio_users.c.id
                )
            )
            .where(t.project_id == project_id)
        )
        with self._read() as conn:
            return {
                int(i): AdjudicationRow(int(i), n, lab, why, json.loads(subs), _aware(at))
                for i, n, lab, why, subs, at in conn.execute(query)
            }

    def submission_count(self, project_id: int | None = None) -> int:
        t = studio_tasks.c
        query = select(func.count()).select_from(studio_submissions.join(studio_tasks))
        if project_id is not None:
            query = query.where(t.project_id == project_id)
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())
