"""Tables of the studio: accounts, projects, tasks, who does which task, drafts, submissions.

A task's payload (prompt and responses, model names included) lives only here and in exports;
the web layer decides what a rater may see. ``studio_submissions.assignment_id`` is unique, so
an assignment is answered exactly once however many times the form is sent.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from palate.store.tables import metadata

_ID = BigInteger().with_variant(Integer, "sqlite")

studio_users = Table(
    "studio_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # 'admin' | 'rater'
    Column("password_hash", Text, nullable=False),  # pwdlib argon2id, PHC string
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled", Boolean, nullable=False, server_default=false()),  # cannot log in
    # NFKC + casefold of the name: "Ann" and "ａｎｎ" are the same account name.
    Column("name_key", String(100), nullable=False),
    UniqueConstraint("name_key", name="uq_studio_users_name_key"),
)

# Server-side sessions: the cookie holds a random token, the table its SHA-256, so logging
# out, an admin, or a password change ends a session for every copy of the cookie.
studio_sessions = Table(
    "studio_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("studio_users.id"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
Index("ix_studio_sessions_user", studio_sessions.c.user_id)

# Values every server process must share, such as the generated cookie-signing secret.
studio_settings = Table(
    "studio_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

studio_projects = Table(
    "studio_projects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("dataset", String(200), nullable=False),  # where the items came from
    Column("gold_dataset", String(200)),  # where the gold answers came from, if any
    Column("rubric", String(64)),  # rubric version, or None for a plain preference task
    Column("overlap", Integer, nullable=False),  # raters per (non-gold) task
    Column("seed", BigInteger, nullable=False),  # assignment, order and presentation seed
    Column("created_by", Integer, ForeignKey("studio_users.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # 0008: what raters do ('pairwise', 'rubric': score one response, 'ranking': order k),
    # the share of qualification items a rater must get right before real tasks (None: no
    # qualification), and how long after submitting a rater may still revise (0: never).
    Column("kind", String(16), nullable=False, server_default="pairwise"),
    Column("pass_mark", Float),
    Column("revise_s", Integer, nullable=False, server_default="0"),
)

studio_tasks = Table(
    "studio_tasks",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("project_id", Integer, ForeignKey("studio_projects.id"), nullable=False),
    Column("item", Text, nullable=False),  # the prompt key, for agreement across raters
    Column("payload", Text, nullable=False),  # JSON: {"prompt": Prompt, "responses": [2]}
    Column("gold", String(8)),  # gold answer in data order: '0', '1' or 'tie'; None if not gold
    # 'dataset' | 'gold' | 'qualify' (gold items of the qualification set) | 'escalation'
    Column("source", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("explanation", Text),  # 0008: why the gold answer is right (shown after answering)
    Column("assist", Text),  # 0008: JSON of an AI judge's verdict, shown only after answering
)
Index("ix_studio_tasks_project", studio_tasks.c.project_id)

studio_assignments = Table(
    "studio_assignments",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("task_id", BigInteger, ForeignKey("studio_tasks.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("studio_users.id"), nullable=False),
    Column("position", BigInteger, nullable=False),  # place in the rater's queue, lowest first
    Column("swap", Boolean, nullable=False),  # shown as (responses[1], responses[0])
    Column("shown", Text),  # 0008: JSON order of data indices shown, for ranking tasks
    Column("opened_at", DateTime(timezone=True)),  # first time the rater saw it
    Column("done", Boolean, nullable=False),
    UniqueConstraint("task_id", "user_id", name="uq_studio_assignment_task_user"),
)
Index(
    "ix_studio_assignments_queue",
    studio_assignments.c.user_id,
    studio_assignments.c.done,
    studio_assignments.c.position,
)

studio_drafts = Table(
    "studio_drafts",
    metadata,
    Column("assignment_id", BigInteger, ForeignKey("studio_assignments.id"), primary_key=True),
    Column("body", Text, nullable=False),  # JSON of the half-filled form
    Column("active_ms", BigInteger, nullable=False),  # time spent on the page so far
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

studio_submissions = Table(
    "studio_submissions",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("assignment_id", BigInteger, ForeignKey("studio_assignments.id"), nullable=False),
    Column("task_id", BigInteger, ForeignKey("studio_tasks.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("studio_users.id"), nullable=False),
    Column("winner", SmallInteger),  # in data order (0 = responses[0]); None for a tie
    Column("tie", Boolean, nullable=False),
    Column("strength", Float),  # AlpacaEval scale, pairs only: 1 = responses[0] fully
    Column("scores", Text, nullable=False),  # JSON: {dimension: {"0": int, "1": int}}
    Column("critique", Text, nullable=False),
    Column("error_tags", Text, nullable=False),  # JSON list
    Column("time_spent_s", Float, nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("ranking", Text),  # 0008: JSON data indices, best first (ranking tasks)
    Column("revised_at", DateTime(timezone=True)),  # 0008: last revision by the rater
    # 0008: an admin's review: 'accepted' or 'rejected' (with a reason); None until reviewed.
    Column("review", String(16)),
    Column("review_reason", Text),
    Column(
        "reviewed_by",
        Integer,
        ForeignKey("studio_users.id", name="fk_studio_submissions_reviewed_by"),
    ),
    Column("reviewed_at", DateTime(timezone=True)),
    UniqueConstraint("assignment_id", name="uq_studio_submission_assignment"),
)
Index("ix_studio_submissions_task", studio_submissions.c.task_id)

# An adjudicator's decision on an item the raters disagreed on: a label of its own, with
# provenance (who, when, why, and which submissions it settled).
studio_adjudications = Table(
    "studio_adjudications",
    metadata,
    Column("task_id", BigInteger, ForeignKey("studio_tasks.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("studio_users.id"), nullable=False),
    Column("label", String(200), nullable=False),  # in data order, like a submission's label
    Column("rationale", Text, nullable=False),
    Column("submissions", Text, nullable=False),  # JSON list of the submission ids weighed
    Column("decided_at", DateTime(timezone=True), nullable=False),
)

# A task the rater closed without an answer: 'unsure' (outside their expertise) or 'problem'
# (broken, unsafe or unanswerable content: a flag for the admins), with the rater's note.
studio_skips = Table(
    "studio_skips",
    metadata,
    Column("assignment_id", BigInteger, ForeignKey("studio_assignments.id"), primary_key=True),
    Column("reason", String(16), nullable=False),
    Column("note", Text, nullable=False),
    Column("skipped_at", DateTime(timezone=True), nullable=False),
)

# Wrong logins, by "a:<account key>" and "i:<address>", at clock seconds: kept in the store so
# that every server process counts the same failures (0008).
studio_login_failures = Table(
    "studio_login_failures",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("key", String(200), nullable=False),
    Column("at", Float, nullable=False),
)
Index("ix_studio_login_failures_key", studio_login_failures.c.key, studio_login_failures.c.at)
Index("ix_studio_login_failures_at", studio_login_failures.c.at)
