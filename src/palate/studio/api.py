"""The JSON API under /api: the same actions as the pages, for scripts and other front ends.

Log in with ``POST /api/login`` (the session cookie comes back, and the CSRF token in the
body); send that token as ``X-CSRF-Token`` with every write.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from palate.studio.accounts import Role, add_user, authenticate
from palate.studio.judging import DraftIn, SubmissionIn, TaskView
from palate.studio.projects import ItemIn, ProjectIn, create_project, enqueue, export_project
from palate.studio.quality import Quality, quality
from palate.studio.security import (
    ApiAdmin,
    ApiAdminWriter,
    ApiUser,
    ApiWriter,
    csrf_token,
    start_session,
)
from palate.studio.service import NotFound, Service

router = APIRouter(prefix="/api", tags=["api"])

Id = Annotated[int, Path(ge=1, le=2**62)]


def service(request: Request) -> Service:
    found: Service = request.app.state.service
    return found


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="User name.")
    password: str = Field(min_length=1, max_length=1000, description="Password.")


class Me(BaseModel):
    name: str = Field(description="User name.")
    role: str = Field(description="'admin' or 'rater'.")
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
    role: Role = Field(description="'admin' or 'rater'.")
    password: str = Field(min_length=8, max_length=1000, description="Initial password.")


class UserOut(BaseModel):
    name: str = Field(description="User name.")
    role: str = Field(description="Role.")


@router.post("/login", response_model=Me, responses={401: {"description": "Wrong login."}})
def login(request: Request, body: LoginIn) -> Me:
    """Start a session; JSON bodies cannot be sent cross-site without CORS, so no token yet."""
    user = authenticate(service(request).studio, body.name, body.password)
    if user is None:
        raise HTTPException(401, "wrong name or password")
    return Me(name=user.name, role=user.role, csrf_token=start_session(request, user))


@router.post("/logout", response_model=Saved)
def logout(request: Request, user: ApiWriter) -> Saved:
    request.session.clear()
    return Saved(saved=True)


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
    if service(request).studio.project(project_id) is None:
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
    return [UserOut(name=u.name, role=u.role) for u in service(request).studio.users()]


@router.post("/users", response_model=Created, status_code=201, responses={409: {}})
def new_user(request: Request, user: ApiAdminWriter, body: UserIn) -> Created:
    return Created(id=add_user(service(request).studio, body.name, body.role, body.password).id)
