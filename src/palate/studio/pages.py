"""Server-rendered pages: login, the rater's queue and task page, and the admin pages.

Forms post back here with the session's CSRF token in a hidden field; the task page saves
drafts through the JSON API as the rater works (see static/studio.js).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from palate.errors import InputError
from palate.store.rubrics import RubricInfo, list_rubrics
from palate.store.studio import UserRow
from palate.studio.accounts import add_user, check_password, hash_password
from palate.studio.api import check_login
from palate.studio.content import diff, markdown
from palate.studio.judging import (
    LETTERS,
    STRENGTH_LABELS,
    DraftIn,
    SkipIn,
    SubmissionIn,
    TaskView,
    display_order,
    from_form,
)
from palate.studio.projects import ProjectIn, create_project, export_project
from palate.studio.quality import label, plots, quality
from palate.studio.review import (
    AdjudicationIn,
    ReviewIn,
    adjudicate,
    disagreements,
    items,
    rater_answers,
    review,
    review_queue,
)
from palate.studio.security import (
    PageAdjudicator,
    PageAdmin,
    PageUser,
    csrf_token,
    csrf_valid,
    end_session,
    session_user,
    start_session,
)
from palate.studio.service import NotFound, Service, known_id

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["answer"] = label  # a submission's answer, in data order
router = APIRouter(include_in_schema=False)


class CsrfFailed(Exception):
    """A form came without the session's CSRF token."""


async def checked_form(request: Request) -> dict[str, str]:
    """The posted form's text fields, once its CSRF token is checked."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not csrf_valid(request, fields.pop("csrf_token", None)):
        raise CsrfFailed
    return fields


Form = Annotated[dict[str, str], Depends(checked_form)]


def service(request: Request) -> Service:
    found: Service = request.app.state.service
    return found


def render(
    request: Request, name: str, user: UserRow | None, status: int = 200, **context: Any
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        name,
        {"user": user, "csrf": csrf_token(request), **context},
        status_code=status,
    )


def message(
    request: Request, user: UserRow | None, status: int, title: str, text: str
) -> HTMLResponse:
    return render(request, "message.html", user, status, title=title, text=text)


def _input_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "form"
    return f"{where}: {first['msg']}"


# -- sessions -------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request) -> Response:
    user = session_user(request)
    if user is not None:
        return RedirectResponse("/admin" if user.role == "admin" else "/", 303)
    return render(request, "login.html", None)


@router.post("/login")
async def login(request: Request, form: Form) -> Response:
    user = await check_login(request, form.get("name", ""), form.get("password", ""))
    if user is None:
        return await run_in_threadpool(
            render, request, "login.html", None, 401, error="Wrong name or password."
        )
    await run_in_threadpool(start_session, request, user)
    return RedirectResponse("/admin" if user.role == "admin" else "/", 303)


@router.post("/logout")
def logout(request: Request, user: PageUser, form: Form) -> Response:
    end_session(request)
    return RedirectResponse("/login", 303)


# -- raters ---------------------------------------------------------------------------------


@router.get("/")
def home(request: Request, user: PageUser) -> Response:
    queue = service(request).studio.open_counts(user.id)
    return render(request, "home.html", user, queue=queue)


@router.get("/next")
def next_task(
    request: Request, user: PageUser, project: Annotated[int | None, Query(ge=1)] = None
) -> Response:
    found = service(request).studio.next_assignment(user.id, project)
    if found is None:
        return render(request, "done.html", user)
    suffix = f"?project={project}" if project else ""
    return RedirectResponse(f"/task/{found}{suffix}", 303)


def _answer_fields(svc: Service, user: UserRow, assignment_id: int) -> dict[str, str] | None:
    """The form fields of the rater's answer, in the letters they saw, to revise it; None
    if there is no answer or its revision window has closed."""
    row = svc.own_assignment(user, assignment_id)
    sub = svc.studio.submission_of(row.id)
    if sub is None or svc.revisable_until(row, sub) is None:
        return None
    count = len(json.loads(row.payload)["responses"])
    letter = {i: LETTERS[k] for k, i in enumerate(display_order(row, count))}
    fields = {"critique": sub.critique}
    if sub.ranking:
        fields["ranking"] = ",".join(letter[i] for i in json.loads(sub.ranking))
    elif sub.tie:
        fields["choice"] = "tie"
    elif sub.winner is not None:
        fields["choice"] = letter[sub.winner]
        if sub.strength is not None:
            fields["strength"] = str(round(abs(sub.strength - 1.5) * 6))
    for dim, by_index in json.loads(sub.scores).items():
        for index, value in by_index.items():
            fields[f"score:{dim}:{letter[int(index)]}"] = str(value)
    return fields


def _task_page(
    request: Request, user: UserRow, assignment_id: int, project: int | None, **extra: Any
) -> HTMLResponse:
    svc = service(request)
    view = svc.view(user, assignment_id)
    revising = False
    if view.done:
        answer = _answer_fields(svc, user, assignment_id)
        if answer is None:
            return message(
                request, user, 409, "Already submitted", "This task was already submitted."
            )
        view = view.model_copy(update={"draft": answer})
        revising = True
    return render(
        request,
        "task.html",
        user,
        extra.pop("status", 200),
        task=view,
        project=project,
        revising=revising,
        strengths=STRENGTH_LABELS,
        instructions=Markup(svc.instructions(view.rubric)),  # the rubric escapes its text
        shown=_shown(view),
        progress=_progress(svc, user, assignment_id),
        **extra,
    )


def _shown(view: TaskView) -> dict[str, Any]:
    """The task's texts as safe HTML, and a diff of a long, similar pair."""
    texts = [r.text for r in view.responses]
    return {
        "prompt": markdown(view.prompt),
        "responses": [(r.label, markdown(r.text)) for r in view.responses],
        "diff": diff(*texts) if len(texts) == 2 else None,
    }


def _progress(svc: Service, user: UserRow, assignment_id: int) -> tuple[int, int]:
    """(this task's number, tasks in the project) for the rater."""
    project_id = svc.own_assignment(user, assignment_id).project_id
    for pid, _name, left, total in svc.studio.open_counts(user.id):
        if pid == project_id:
            return total - left + 1, total
    return 1, 1


@router.get("/task/{assignment_id}")
def task_page(
    request: Request,
    user: PageUser,
    assignment_id: int,
    project: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    return _task_page(request, user, assignment_id, project)


@router.post("/task/{assignment_id}")
def submit_task(
    request: Request,
    user: PageUser,
    form: Form,
    assignment_id: int,
    project: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    svc = service(request)
    row = svc.own_assignment(user, assignment_id)
    rubric = svc.rubric(row.rubric)
    tags = [t.name for t in rubric.error_taxonomy] if rubric else []
    suffix = f"?project={project}" if project else ""
    try:
        answer = SubmissionIn.model_validate(from_form(form, tags))
        if row.done:
            svc.revise(user, assignment_id, answer)
            return RedirectResponse(f"/task/{assignment_id}/after{suffix}", 303)
        svc.submit(user, assignment_id, answer)
    except (ValidationError, InputError) as exc:
        text = _input_message(exc) if isinstance(exc, ValidationError) else str(exc)
        if not row.done:
            _keep_draft(svc, user, assignment_id, form)
        elif _answer_fields(svc, user, assignment_id) is None:
            raise
        return _task_page(request, user, assignment_id, project, error=text, status=422)
    if svc.has_feedback(user, assignment_id):
        return RedirectResponse(f"/task/{assignment_id}/after{suffix}", 303)
    return RedirectResponse(f"/next{suffix}", 303)


@router.get("/task/{assignment_id}/after")
def after_task(
    request: Request,
    user: PageUser,
    assignment_id: int,
    project: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """After answering: the gold answer and explanation (calibration), the AI judge's verdict
    (never before answering), and a way to revise while the window is open."""
    after = service(request).after(user, assignment_id)
    return render(request, "after.html", user, after=after, project=project)


@router.post("/task/{assignment_id}/skip")
def skip_task(
    request: Request,
    user: PageUser,
    form: Form,
    assignment_id: int,
    project: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    svc = service(request)
    svc.gate(user, svc.own_assignment(user, assignment_id))
    try:
        skip = SkipIn.model_validate(
            {"reason": form.get("reason", ""), "note": form.get("note", "").strip()}
        )
    except ValidationError as exc:
        return _task_page(
            request, user, assignment_id, project, error=_input_message(exc), status=422
        )
    svc.skip(user, assignment_id, skip)
    suffix = f"?project={project}" if project else ""
    return RedirectResponse(f"/next{suffix}", 303)


def _keep_draft(svc: Service, user: UserRow, assignment_id: int, form: dict[str, str]) -> None:
    """Save what was typed, checked as the draft API checks it (skipped if it fails)."""
    fields = {k: v for k, v in form.items() if k != "active_ms"}
    active = form.get("active_ms", "")
    try:
        draft = DraftIn(fields=fields, active_ms=int(active) if active.isdigit() else 0).checked()
    except (ValidationError, InputError):
        return
    svc.save_draft(user, assignment_id, draft.fields, draft.active_ms)


# -- admins ---------------------------------------------------------------------------------


@router.get("/admin")
def admin_home(request: Request, user: PageAdmin, error: str | None = None) -> Response:
    studio = service(request).studio
    return render(
        request,
        "admin.html",
        user,
        422 if error else 200,
        projects=studio.projects(),
        users=studio.users(),
        datasets=studio.store.datasets(),
        rubrics=_rubrics(request),
        error=error,
    )


def _rubrics(request: Request) -> list[RubricInfo]:
    return list_rubrics(service(request).studio.store)


@router.post("/admin/projects")
def admin_new_project(request: Request, user: PageAdmin, form: Form) -> Response:
    data: dict[str, Any] = {k: v for k, v in form.items() if v != "" and k != "raters"}
    if form.get("raters", "").strip():
        data["raters"] = [n for n in form["raters"].replace(",", " ").split() if n]
    try:
        project_id = create_project(
            service(request).studio, ProjectIn.model_validate(data), user.id
        )
    except ValidationError as exc:
        return admin_home(request, user, error=_input_message(exc))
    except InputError as exc:
        return admin_home(request, user, error=str(exc))
    return RedirectResponse(f"/admin/projects/{project_id}", 303)


@router.post("/admin/users")
def admin_new_user(request: Request, user: PageAdmin, form: Form) -> Response:
    try:
        add_user(
            service(request).studio,
            form.get("name", ""),
            form.get("role", ""),
            form.get("password", ""),
        )
    except InputError as exc:
        return admin_home(request, user, error=str(exc))
    return RedirectResponse("/admin", 303)


def _other_user(request: Request, admin: UserRow, user_id: int) -> UserRow:
    target = service(request).user(user_id)
    if target.id == admin.id:
        raise InputError("admins cannot lock themselves out; ask another admin", field="user")
    return target


@router.post("/admin/users/{user_id}/{action}")
def admin_user_action(
    request: Request, user: PageAdmin, form: Form, user_id: int, action: str
) -> Response:
    """Disable, enable, log out everywhere, or reset the password of another account."""
    studio = service(request).studio
    target = _other_user(request, user, user_id)
    if action == "disable":
        studio.set_disabled(target.id, True)
    elif action == "enable":
        studio.set_disabled(target.id, False)
    elif action == "end-sessions":
        studio.end_sessions(target.id)
    elif action == "password":
        password = form.get("password", "")
        try:
            check_password(password, target.name)
        except InputError as exc:
            return admin_home(request, user, error=str(exc))
        studio.set_password(target.id, hash_password(password), end_sessions=True)
    else:
        raise NotFound(f"no action {action!r}")
    return RedirectResponse("/admin", 303)


def _project_or_404(request: Request, project_id: int) -> Any:
    project = service(request).studio.project(known_id(project_id, "project"))
    if project is None:
        raise NotFound(f"no project {project_id}")
    return project


@router.get("/admin/projects/{project_id}")
def admin_project(
    request: Request, user: PageAdmin, project_id: int, exported: int | None = None
) -> Response:
    studio = service(request).studio
    project = _project_or_404(request, project_id)
    return render(
        request,
        "project.html",
        user,
        project=project,
        progress=studio.progress(project_id),
        skips=studio.skips(project_id),
        report=quality(studio.submissions(project_id)),
        exported=exported,
        disputed=disagreements(studio, project_id),
        raters={u.name: u.id for u in studio.users()},
        to_review=len(review_queue(studio, project_id)),
    )


@router.get("/admin/projects/{project_id}/agreement")
def admin_agreement(request: Request, user: PageAdmin, project_id: int) -> Response:
    project = _project_or_404(request, project_id)
    report = quality(service(request).studio.submissions(project_id))
    return render(
        request, "agreement.html", user, project=project, report=report, plots=plots(report)
    )


@router.post("/admin/projects/{project_id}/export")
def admin_export(request: Request, user: PageAdmin, form: Form, project_id: int) -> Response:
    _project_or_404(request, project_id)
    dataset = form.get("dataset", "").strip()
    if not dataset:
        raise InputError("give a dataset name to export into", field="dataset")
    added = export_project(service(request).studio, project_id, dataset, f"studio:{user.name}")
    return RedirectResponse(f"/admin/projects/{project_id}?exported={added}", 303)


# -- review and adjudication ---------------------------------------------------------------


@router.get("/admin/projects/{project_id}/review")
def admin_review(
    request: Request, user: PageAdmin, project_id: int, error: str | None = None
) -> Response:
    """Judgements with critiques, waiting for an admin to accept or reject them."""
    project = _project_or_404(request, project_id)
    queue = review_queue(service(request).studio, project_id)
    return render(
        request, "review.html", user, 422 if error else 200, project=project, queue=queue,
        error=error,
    )  # fmt: skip


@router.post("/admin/projects/{project_id}/review/{submission_id}")
def admin_review_one(
    request: Request, user: PageAdmin, form: Form, project_id: int, submission_id: int
) -> Response:
    _project_or_404(request, project_id)
    studio = service(request).studio
    if not any(s.id == submission_id for s in studio.submissions(project_id)):
        raise NotFound(f"no judgement {submission_id} in this project")
    try:
        verdict = ReviewIn(verdict=form.get("verdict", ""), reason=form.get("reason", ""))
        review(studio, submission_id, verdict, user.id)
    except ValidationError as exc:
        return admin_review(request, user, project_id, error=_input_message(exc))
    except InputError as exc:
        return admin_review(request, user, project_id, error=str(exc))
    return RedirectResponse(f"/admin/projects/{project_id}/review", 303)


@router.get("/admin/projects/{project_id}/items/{task_id}")
def admin_item(request: Request, user: PageAdmin, project_id: int, task_id: int) -> Response:
    """Every answer on one item, side by side, and its adjudication."""
    project = _project_or_404(request, project_id)
    found = items(service(request).studio, project_id).get(known_id(task_id, "item", big=True))
    if found is None:
        raise NotFound(f"no answered item {task_id} in this project")
    return render(request, "item.html", user, project=project, entry=found)


@router.get("/admin/projects/{project_id}/raters/{user_id}")
def admin_rater(request: Request, user: PageAdmin, project_id: int, user_id: int) -> Response:
    """One rater's answers against gold and the other raters."""
    project = _project_or_404(request, project_id)
    rater = service(request).user(user_id)
    answers = rater_answers(service(request).studio, project_id, rater.id)
    return render(request, "rater.html", user, project=project, rater=rater, answers=answers)


@router.get("/adjudicate")
def adjudicate_home(request: Request, user: PageAdjudicator) -> Response:
    """Projects with items the raters disagree on."""
    studio = service(request).studio
    open_items = [
        (p, [i for i in disagreements(studio, p.id) if i.decision is None])
        for p in studio.projects()
    ]
    return render(request, "adjudicate.html", user, projects=open_items)


@router.get("/adjudicate/{project_id}/{task_id}")
def adjudicate_item(
    request: Request, user: PageAdjudicator, project_id: int, task_id: int, error: str = ""
) -> Response:
    project = _project_or_404(request, project_id)
    found = items(service(request).studio, project_id).get(known_id(task_id, "item", big=True))
    if found is None or not found.disputed:
        raise NotFound(f"no disputed item {task_id} in this project")
    payload: dict[str, Any] = found.payload
    responses = [markdown(str(r.get("text") or "")) for r in payload["responses"]]
    return render(
        request,
        "adjudicate_item.html",
        user,
        422 if error else 200,
        project=project,
        entry=found,
        prompt=markdown(str(payload["prompt"].get("text") or "")),
        responses=responses,
        error=error,
    )


@router.post("/adjudicate/{project_id}/{task_id}")
def adjudicate_post(
    request: Request, user: PageAdjudicator, form: Form, project_id: int, task_id: int
) -> Response:
    _project_or_404(request, project_id)
    try:
        decision = AdjudicationIn(
            label=form.get("label", ""), rationale=form.get("rationale", "").strip()
        )
        adjudicate(
            service(request).studio,
            project_id,
            known_id(task_id, "item", big=True),
            decision,
            user.id,
        )
    except ValidationError as exc:
        return adjudicate_item(request, user, project_id, task_id, error=_input_message(exc))
    except InputError as exc:
        return adjudicate_item(request, user, project_id, task_id, error=str(exc))
    return RedirectResponse("/adjudicate", 303)
