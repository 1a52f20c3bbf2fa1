"""The JSON API under /api: the same actions as the pages, for scripts and other front ends.

Log in with ``POST /api/login`` (the session cookie comes back, and the CSRF token in the
body); send that token as ``X-CSRF-Token`` with every write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from palate.store.studio import UserRow, name_key
from palate.studio.accounts import (
    MAX_PASSWORD,
    HashingPool,
    Role,
    add_user,
    check_password,
)
from palate.studio.judging import DraftIn, SkipIn, SubmissionIn, TaskView
from palate.studio.projects import ItemIn, ProjectIn, create_project, enqueue, export_project
from palate.studio.quality import Quality, label, quality
from palate.studio.review import (
    AdjudicationIn,
    ReviewIn,
    adjudicate,
    disagreements,
    review,
    review_queue,
)
from palate.studio.security import (
    ApiAdjudicator,
    ApiAdjudicatorWriter,
    ApiAdmin,
    ApiAdminWriter,
    ApiUser,
    ApiWriter,
    csrf_token,
    end_session,
    start_session,
)
from palate.studio.service import NotFound, Service, known_id
from palate.studio.throttle import LoginThrottle, LoginThrottled

router = APIRouter(prefix="/api", tags=["api"])

Id = Annotated[int, Path(description="Id; one that does not exist is 404.")]


def service(request: Request) -> Service:
    found: Service = request.app.state.service
    return found


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="User name.")
    password: str = Field(min_length=1, max_length=MAX_PASSWORD, description="Password.")


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current: str = Field(min_length=1, max_length=MAX_PASSWORD, description="Current password.")
    new: str = Field(min_length=1, max_length=MAX_PASSWORD, description="New password.")


class PasswordResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=MAX_PASSWORD, description="New password.")


class Ended(BaseModel):
    sessions: int = Field(description="Sessions ended.")


class Me(BaseModel):
    name: str = Field(description="User name.")
    role: str = Field(description="'admin', 'rater' or 'adjudicator'.")
    csrf_token: str = Field(description="Send as X-CSRF-Token with every write.")


class QueueEntry(BaseModel):
    project_id: int = Field(description="Project id.")
    project: str = Field(description="Project name.")
    open: int = Field(description="Tasks left for you.")
    total: int = Field(description="Tasks assigned to you.")


class NextTask(BaseModel):
    assignment_id: int | None = Field(description="Your next task, or None when done.")


class Saved(BaseModel):
    saved: bool = Field(description="False if the task was submitted meanwhile.")


class Submitted(BaseModel):
    submission_id: int = Field(description="The stored submission.")


class ProjectOut(BaseModel):
    id: int = Field(description="Project id.")
    name: str = Field(description="Project name.")
    dataset: str = Field(description="Source dataset.")
    rubric: str | None = Field(description="Rubric version.")
    overlap: int = Field(description="Raters per task.")


class Created(BaseModel):
    id: int = Field(description="Id of what was created.")


class Enqueued(BaseModel):
    tasks: list[int] = Field(description="Ids of the new tasks.")


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(min_length=1, max_length=200, description="Dataset to write into.")


class Exported(BaseModel):
    records: int = Field(description="Records newly added to the dataset.")


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="User name.")
    role: Role = Field(description="'admin', 'rater' or 'adjudicator'.")
    password: str = Field(min_length=1, max_length=MAX_PASSWORD, description="Initial password.")


class UserOut(BaseModel):
    id: int = Field(description="User id.")
    name: str = Field(description="User name.")
    role: str = Field(description="Role.")
    disabled: bool = Field(description="Disabled accounts cannot log in.")


class Feedback(BaseModel):
    """What a rater is shown once an answer is in (letters as the rater saw them)."""

    yours: str = Field(description="Your answer.")
    gold: str | None = Field(description="The gold answer, for gold and qualification items.")
    explanation: str | None = Field(description="Why the gold answer is right.")
    ai_verdict: str | None = Field(description="The AI judge's verdict, if the project has one.")
    ai_rationale: str | None = Field(description="The AI judge's reasons.")
    revisable_until: datetime | None = Field(description="Until when you may revise it.")
    qualified: bool | None = Field(description="Passed the qualification set (None: not yet).")


class JudgementOut(BaseModel):
    id: int = Field(description="Submission id.")
    task_id: int = Field(description="Task id.")
    item: str = Field(description="Prompt key.")
    rater: str = Field(description="Who judged.")
    label: str = Field(description="The answer, in data order.")
    critique: str = Field(description="The rater's critique.")
    review: str | None = Field(description="'accepted', 'rejected', or None.")


class DisputeOut(BaseModel):
    task_id: int = Field(description="Task id.")
    item: str = Field(description="Prompt key.")
    counts: dict[str, int] = Field(description="How many raters gave each answer (data order).")
    options: list[str] = Field(description="Labels an adjudicator may choose.")
    decision: str | None = Field(description="The adjudicated label, if decided.")
    decided_by: str | None = Field(description="The adjudicator.")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def check_login(request: Request, name: str, password: str) -> UserRow | None:
    """The user for a right name and password, throttled, hashed off the serving threads.

    Raises LoginThrottled (429) without checking the password once an account or address
    has had too many wrong logins; None for a wrong login.
    """
    throttle: LoginThrottle = request.app.state.throttle
    hashing: HashingPool = request.app.state.hashing
    account, address = name_key(name), client_address(request)
    wait = throttle.retry_after(account, address)
    if wait is not None:
        raise LoginThrottled(wait)
    user = await hashing.authenticate(service(request).studio, name, password)
    if user is None:
        throttle.failed(account, address)
    else:
        throttle.succeeded(account)
    return user


@router.post(
    "/login",
    response_model=Me,
    responses={401: {"description": "Wrong login."}, 429: {"description": "Throttled."}},
)
async def login(request: Request, body: LoginIn) -> Me:
    """Start a session; JSON bodies cannot be sent cross-site without CORS, so no token yet."""
    user = await check_login(request, body.name, body.password)
    if user is None:
        raise HTTPException(401, "wrong name or password")
    csrf = await run_in_threadpool(start_session, request, user)
    return Me(name=user.name, role=user.role, csrf_token=csrf)


@router.post("/logout", response_model=Saved)
def logout(request: Request, user: ApiWriter) -> Saved:
    end_session(request)
    return Saved(saved=True)


@router.post("/me/password", response_model=Me, responses={401: {}, 422: {}})
async def change_password(request: Request, user: ApiWriter, body: PasswordChangeIn) -> Me:
    """Change your password: every session of yours ends; this one is replaced by a new one."""
    if await check_login(request, user.name, body.current) is None:
        raise HTTPException(401, "the current password is wrong")
    check_password(body.new, user.name)
    new_hash = await request.app.state.hashing.hash(body.new)
    studio = service(request).studio
    await run_in_threadpool(studio.set_password, user.id, new_hash, end_sessions=True)
    csrf = await run_in_threadpool(start_session, request, user)
    return Me(name=user.name, role=user.role, csrf_token=csrf)


@router.get("/me", response_model=Me)
def me(request: Request, user: ApiUser) -> Me:
    return Me(name=user.name, role=user.role, csrf_token=csrf_token(request))


@router.get("/queue", response_model=list[QueueEntry])
def queue(request: Request, user: ApiUser) -> list[QueueEntry]:
    return [
        QueueEntry(project_id=i, project=n, open=o, total=t)
        for i, n, o, t in service(request).studio.open_counts(user.id)
    ]


@router.get("/tasks/next", response_model=NextTask)
def next_task(
    request: Request, user: ApiUser, project_id: Annotated[int | None, Query(ge=1)] = None
) -> NextTask:
    return NextTask(assignment_id=service(request).studio.next_assignment(user.id, project_id))


@router.get("/tasks/{assignment_id}", response_model=TaskView, responses={404: {}})
def get_task(request: Request, user: ApiUser, assignment_id: Id) -> TaskView:
    return service(request).view(user, assignment_id)


@router.put("/tasks/{assignment_id}/draft", response_model=Saved, responses={404: {}})
def save_draft(request: Request, user: ApiWriter, assignment_id: Id, body: DraftIn) -> Saved:
    draft = body.checked()
    return Saved(
        saved=service(request).save_draft(user, assignment_id, draft.fields, draft.active_ms)
    )


@router.post(
    "/tasks/{assignment_id}/submission",
    response_model=Submitted,
    status_code=201,
    responses={404: {}, 409: {"description": "Already submitted."}},
)
def submit(request: Request, user: ApiWriter, assignment_id: Id, body: SubmissionIn) -> Submitted:
    return Submitted(submission_id=service(request).submit(user, assignment_id, body))


@router.post(
    "/tasks/{assignment_id}/skip",
    response_model=Saved,
    status_code=201,
    responses={404: {}, 409: {"description": "Already submitted or skipped."}},
)
def skip(request: Request, user: ApiWriter, assignment_id: Id, body: SkipIn) -> Saved:
    """Skip a task ('unsure') or flag it ('problem'), with a note for the admins."""
    service(request).skip(user, assignment_id, body)
    return Saved(saved=True)


class SkipOut(BaseModel):
    item: str = Field(description="Prompt key.")
    task_id: int = Field(description="Task id.")
    rater: str = Field(description="Who skipped it.")
    reason: str = Field(description="'unsure' or 'problem'.")
    note: str = Field(description="The rater's note.")


@router.get("/projects/{project_id}/skips", response_model=list[SkipOut], responses={404: {}})
def project_skips(request: Request, user: ApiAdmin, project_id: Id) -> list[SkipOut]:
    """Tasks raters skipped or flagged, oldest first."""
    _project(request, project_id)
    return [
        SkipOut(item=k.item, task_id=k.task_id, rater=k.user, reason=k.reason, note=k.note)
        for k in service(request).studio.skips(project_id)
    ]


@router.get("/projects", response_model=list[ProjectOut])
def projects(request: Request, user: ApiAdmin) -> list[ProjectOut]:
    return [
        ProjectOut(id=p.id, name=p.name, dataset=p.dataset, rubric=p.rubric, overlap=p.overlap)
        for p in service(request).studio.projects()
    ]


@router.post("/projects", response_model=Created, status_code=201, responses={409: {}})
def new_project(request: Request, user: ApiAdminWriter, body: ProjectIn) -> Created:
    return Created(id=create_project(service(request).studio, body, user.id))


def _project(request: Request, project_id: int) -> None:
    if service(request).studio.project(known_id(project_id, "project")) is None:
        raise NotFound(f"no project {project_id}")


@router.get("/projects/{project_id}/quality", response_model=Quality, responses={404: {}})
def project_quality(request: Request, user: ApiAdmin, project_id: Id) -> Quality:
    _project(request, project_id)
    return quality(service(request).studio.submissions(project_id))


@router.post(
    "/projects/{project_id}/queue", response_model=Enqueued, status_code=201, responses={404: {}}
)
def enqueue_items(
    request: Request,
    user: ApiAdminWriter,
    project_id: Id,
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=1000)],
) -> Enqueued:
    """Send items for human judgement, at the front of the least loaded raters' queues."""
    _project(request, project_id)
    return Enqueued(tasks=enqueue(service(request).studio, project_id, items))


@router.post("/projects/{project_id}/export", response_model=Exported, responses={404: {}})
def export(request: Request, user: ApiAdminWriter, project_id: Id, body: ExportIn) -> Exported:
    _project(request, project_id)
    added = export_project(service(request).studio, project_id, body.dataset, f"studio:{user.name}")
    return Exported(records=added)


@router.get("/users", response_model=list[UserOut])
def users(request: Request, user: ApiAdmin) -> list[UserOut]:
    return [
        UserOut(id=u.id, name=u.name, role=u.role, disabled=u.disabled)
        for u in service(request).studio.users()
    ]


@router.post("/users", response_model=Created, status_code=201, responses={409: {}})
def new_user(request: Request, user: ApiAdminWriter, body: UserIn) -> Created:
    return Created(id=add_user(service(request).studio, body.name, body.role, body.password).id)


def _not_self(admin: UserRow, target: UserRow) -> None:
    if admin.id == target.id:
        raise HTTPException(409, "admins cannot lock themselves out; ask another admin")


@router.post("/users/{user_id}/disable", response_model=Ended, responses={404: {}, 409: {}})
def disable_user(request: Request, user: ApiAdminWriter, user_id: Id) -> Ended:
    """Disable an account: it cannot log in and its sessions end now."""
    svc = service(request)
    target = svc.user(user_id)
    _not_self(user, target)
    ended = svc.studio.end_sessions(target.id)
    svc.studio.set_disabled(target.id, True)
    return Ended(sessions=ended)


@router.post("/users/{user_id}/enable", response_model=Ended, responses={404: {}})
def enable_user(request: Request, user: ApiAdminWriter, user_id: Id) -> Ended:
    svc = service(request)
    svc.studio.set_disabled(svc.user(user_id).id, False)
    return Ended(sessions=0)


@router.delete("/users/{user_id}/sessions", response_model=Ended, responses={404: {}})
def end_user_sessions(request: Request, user: ApiAdminWriter, user_id: Id) -> Ended:
    """Log a user out everywhere (a lost laptop, a shared cookie)."""
    svc = service(request)
    return Ended(sessions=svc.studio.end_sessions(svc.user(user_id).id))


@router.post("/users/{user_id}/password", response_model=Ended, responses={404: {}, 422: {}})
async def reset_password(
    request: Request, user: ApiAdminWriter, user_id: Id, body: PasswordResetIn
) -> Ended:
    """Set a user's password (they forgot it); their sessions end."""
    svc = service(request)
    target = await run_in_threadpool(svc.user, user_id)
    check_password(body.password, target.name)
    new_hash = await request.app.state.hashing.hash(body.password)
    ended = await run_in_threadpool(svc.studio.end_sessions, target.id)
    await run_in_threadpool(svc.studio.set_password, target.id, new_hash, end_sessions=True)
    return Ended(sessions=ended)


@router.get("/tasks/{assignment_id}/feedback", response_model=Feedback, responses={404: {}})
def feedback(request: Request, user: ApiUser, assignment_id: Id) -> Feedback:
    """After answering: gold answer and explanation, the AI judge's verdict (never before)."""
    after = service(request).after(user, assignment_id)
    standing = after.qualification
    return Feedback(
        yours=after.yours,
        gold=after.gold,
        explanation=after.explanation,
        ai_verdict=after.ai_verdict,
        ai_rationale=after.ai_rationale,
        revisable_until=after.revisable_until,
        qualified=standing.passed if standing and standing.finished else None,
    )


@router.put(
    "/tasks/{assignment_id}/submission",
    response_model=Saved,
    responses={404: {}, 409: {"description": "The revision window has closed."}},
)
def revise(request: Request, user: ApiWriter, assignment_id: Id, body: SubmissionIn) -> Saved:
    """Replace your answer while the project's revision window is open."""
    service(request).revise(user, assignment_id, body)
    return Saved(saved=True)


@router.get("/projects/{project_id}/review", response_model=list[JudgementOut])
def project_review(request: Request, user: ApiAdmin, project_id: Id) -> list[JudgementOut]:
    """Judgements with critiques no admin has reviewed yet."""
    _project(request, project_id)
    return [
        JudgementOut(
            id=s.id,
            task_id=s.task_id,
            item=s.item,
            rater=s.user,
            label=label(s),
            critique=s.critique,
            review=s.review,
        )
        for s in review_queue(service(request).studio, project_id)
    ]


@router.post(
    "/projects/{project_id}/review/{submission_id}",
    response_model=Saved,
    responses={404: {}, 409: {"description": "Already reviewed."}},
)
def review_judgement(
    request: Request, user: ApiAdminWriter, project_id: Id, submission_id: Id, body: ReviewIn
) -> Saved:
    """Accept a judgement, or reject it with a reason (it leaves exports and agreement)."""
    _project(request, project_id)
    studio = service(request).studio
    known_id(submission_id, "judgement", big=True)
    if not any(s.id == submission_id for s in studio.submissions(project_id)):
        raise NotFound(f"no judgement {submission_id} in project {project_id}")
    review(studio, submission_id, body, user.id)
    return Saved(saved=True)


@router.get("/projects/{project_id}/disagreements", response_model=list[DisputeOut])
def project_disagreements(
    request: Request, user: ApiAdjudicator, project_id: Id
) -> list[DisputeOut]:
    """Items the raters disagree on, undecided first."""
    _project(request, project_id)
    return [
        DisputeOut(
            task_id=i.task_id,
            item=i.item,
            counts=i.counts,
            options=i.options(),
            decision=i.decision.label if i.decision else None,
            decided_by=i.decision.user if i.decision else None,
        )
        for i in disagreements(service(request).studio, project_id)
    ]


@router.post(
    "/projects/{project_id}/items/{task_id}/adjudication",
    response_model=Saved,
    status_code=201,
    responses={404: {}, 409: {"description": "Already adjudicated."}},
)
def adjudicate_item(
    request: Request,
    user: ApiAdjudicatorWriter,
    project_id: Id,
    task_id: Id,
    body: AdjudicationIn,
) -> Saved:
    """Settle a disputed item: the decision is stored as its own label, with provenance."""
    _project(request, project_id)
    known_id(task_id, "item", big=True)
    adjudicate(service(request).studio, project_id, task_id, body, user.id)
    return Saved(saved=True)
