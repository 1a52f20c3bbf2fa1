"""Projects: tasks from a dataset (and gold answers from another), blind assignment with
overlap and randomised order, escalation queues, and export of the results as records.

Randomness is explicit: one ``numpy.random.Generator`` seeded by the project's seed decides
who gets which task, each rater's order, and which response is shown first.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from palate.errors import InputError, PalateError
from palate.ledger import EntityRef, Ledger
from palate.schema import Comparison, Prompt, Rating, Response, Source
from palate.store import Store
from palate.store.rubrics import resolve_version
from palate.store.studio import (
    AdjudicationRow,
    NewAssignment,
    NewTask,
    StudioStore,
    SubmissionRow,
)

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
Kind = Literal["pairwise", "rubric", "ranking"]
MAX_RANKED = 8


class ProjectIn(BaseModel):
    """What an admin gives to create a project."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="Unique project name.")
    dataset: str = Field(min_length=1, max_length=200, description="Dataset of comparisons.")
    rubric: str | None = Field(
        default=None, max_length=64, description="Rubric version or unique prefix (optional)."
    )
    gold_dataset: str | None = Field(
        default=None,
        max_length=200,
        description="Dataset whose judged comparisons are gold items, shown to every rater.",
    )
    raters: list[str] | None = Field(
        default=None, max_length=1000, description="Rater names (default: every rater)."
    )
    overlap: int = Field(default=2, ge=1, le=50, description="Raters per non-gold task.")
    max_items: int | None = Field(
        default=None, ge=1, le=100_000, description="Use at most this many items."
    )
    seed: int = Field(default=0, ge=0, le=2**62, description="Seed of assignment and order.")
    kind: Kind = Field(
        default="pairwise",
        description="'pairwise': pick the better of two; 'rubric': score one response on the "
        "rubric; 'ranking': order all of an item's responses (2 to 8), best first.",
    )
    qualification_dataset: str | None = Field(
        default=None,
        max_length=200,
        description="Dataset of judged items (rationale = explanation) every rater must pass "
        "before real tasks; each answer is followed by the gold answer and its explanation.",
    )
    pass_mark: float = Field(
        default=0.8, ge=0, le=1, description="Share of qualification items to get right."
    )
    revise_minutes: int = Field(
        default=0, ge=0, le=7 * 24 * 60, description="Minutes a rater may revise an answer."
    )
    assist_dataset: str | None = Field(
        default=None,
        max_length=200,
        description="Dataset of an AI judge's verdicts on the same items, shown to the rater "
        "only after they answer (both are kept).",
    )


class ResponseIn(BaseModel):
    """One response of an escalated item."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, max_length=200, description="System that wrote it.")
    text: str = Field(max_length=100_000, description="The response text.")


class ItemIn(BaseModel):
    """An item sent for human judgement (e.g. a judge's escalation)."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, max_length=500, description="Stable prompt id.")
    prompt: str = Field(min_length=1, max_length=100_000, description="The prompt text.")
    responses: list[ResponseIn] = Field(
        min_length=2, max_length=2, description="The two responses to compare."
    )


def _payload(prompt: Prompt, *responses: Response) -> str:
    data = {
        "prompt": prompt.model_dump(mode="json", exclude_none=True),
        "responses": [r.model_dump(mode="json", exclude_none=True) for r in responses],
    }
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _shown(response: Response) -> bool:
    return bool(response.text) or bool(response.messages)


def _outcome(record: Comparison) -> str | None:
    if record.tie:
        return "tie"
    if record.winner in (0, 1):
        return str(record.winner)
    return None


def _label(record: Comparison, kind: str) -> str | None:
    """The record's outcome as a studio label (data order), None if it has none."""
    if kind == "ranking":
        return ",".join(map(str, record.ranking)) if record.ranking else None
    return _outcome(record)


def collect_tasks(
    store: Store,
    dataset: str,
    *,
    gold: bool,
    limit: int | None = None,
    kind: str = "pairwise",
    source: str | None = None,
) -> list[NewTask]:
    """One task per distinct (prompt, responses) of the dataset's comparisons: the first two
    for pairwise, all of them for ranking, each alone for rubric scoring. For a gold dataset
    only judged ones, with their outcome as the gold answer and rationale as explanation."""
    tasks: list[NewTask] = []
    seen: set[str] = set()
    for record in store.iter_records(dataset):
        if not isinstance(record, Comparison):
            continue
        answer = _label(record, kind)
        if gold and answer is None:
            continue
        if kind == "rubric":
            groups = [[r] for r in record.responses]
        elif kind == "ranking":
            groups = [list(record.responses[:MAX_RANKED])]
        else:
            groups = [list(record.responses[:2])]
        for shown in groups:
            if not all(_shown(r) for r in shown):
                continue
            payload = _payload(record.prompt, *shown)
            digest = hashlib.sha256(payload.encode()).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            tasks.append(
                NewTask(
                    item=record.prompt.key,
                    payload=payload,
                    gold=answer if gold else None,
                    source=source or ("gold" if gold else "dataset"),
                    explanation=record.rationale if gold else None,
                )
            )
        if limit is not None and len(tasks) >= limit:
            break
    if not tasks:
        what = "judged comparisons" if gold else "comparisons"
        raise InputError(
            f"dataset {dataset!r} has no {what} with response texts for {kind} tasks",
            field="dataset",
        )
    return tasks[:limit] if limit is not None else tasks


def with_assist(store: Store, dataset: str, tasks: list[NewTask]) -> list[NewTask]:
    """Attach an AI judge's verdict and rationale to the tasks it judged (same payload)."""
    verdicts: dict[str, str] = {}
    for record in store.iter_records(dataset):
        if not isinstance(record, Comparison) or _outcome(record) is None:
            continue
        payload = _payload(record.prompt, *record.responses[:2])
        verdicts[payload] = json.dumps(
            {
                "judge": record.judge.name,
                "verdict": _outcome(record),
                "rationale": record.rationale or "",
            }
        )
    return [dataclasses.replace(t, assist=verdicts.get(t.payload)) for t in tasks]


def plan(
    tasks: Sequence[NewTask],
    raters: Sequence[int],
    overlap: int,
    rng: np.random.Generator,
    *,
    load: dict[int, int] | None = None,
    start: dict[int, int] | None = None,
    step: int = 1,
) -> list[NewAssignment]:
    """Give each task to ``overlap`` raters (gold tasks to all), least loaded first with random
    tie-breaks, then shuffle each rater's tasks into positions counting from ``start`` by
    ``step`` (``-1`` puts escalations in front of a queue), each shown in a random order."""
    if overlap > len(raters):
        raise InputError(
            f"overlap {overlap} needs at least that many raters (have {len(raters)})",
            field="overlap",
        )
    counts = dict.fromkeys(raters, 0) | (load or {})
    mine: dict[int, list[int]] = {r: [] for r in raters}
    for index in rng.permutation(len(tasks)):
        if tasks[index].gold is not None:
            chosen = list(raters)
        else:
            noise = rng.random(len(raters))
            chosen = sorted(raters, key=lambda r: (counts[r], noise[raters.index(r)]))[:overlap]
        for rater in chosen:
            counts[rater] += 1
            mine[rater].append(int(index))
    assignments: list[NewAssignment] = []
    for rater, indices in mine.items():
        first = (start or {}).get(rater, 0)
        for k, index in enumerate(rng.permutation(indices)):
            assignments.append(
                NewAssignment(
                    task=int(index),
                    user_id=rater,
                    position=first + step * k,
                    swap=bool(rng.integers(2)),
                )
            )
    return assignments


def create_project(studio: StudioStore, spec: ProjectIn, created_by: int) -> int:
    """Build a project's tasks and assignments and store them in one transaction.

    Qualification items go to every rater at the front of their queue; the others follow
    ``plan``. Ranking tasks get a random display order per rater.
    """
    store = studio.store
    rubric = resolve_version(store, spec.rubric) if spec.rubric else None
    if spec.kind == "rubric" and rubric is None:
        raise InputError("rubric scoring needs a rubric", field="rubric")
    known = {d.name for d in store.datasets()}
    for field, name in (
        ("dataset", spec.dataset),
        ("gold_dataset", spec.gold_dataset),
        ("qualification_dataset", spec.qualification_dataset),
        ("assist_dataset", spec.assist_dataset),
    ):
        if name is not None and name not in known:
            raise InputError(f"no dataset named {name!r}", field=field)
    everyone = {u.name: u.id for u in studio.users(role="rater")}
    names = spec.raters if spec.raters else sorted(everyone)
    unknown = [n for n in names if n not in everyone]
    if unknown:
        raise InputError(f"not raters: {', '.join(unknown)}", field="raters")
    if not names:
        raise InputError("there are no raters yet: add some first", field="raters")
    tasks = collect_tasks(store, spec.dataset, gold=False, limit=spec.max_items, kind=spec.kind)
    if spec.gold_dataset:
        tasks += collect_tasks(store, spec.gold_dataset, gold=True, kind=spec.kind)
    if spec.assist_dataset:
        tasks = with_assist(store, spec.assist_dataset, tasks)
    rng = np.random.default_rng(spec.seed)
    raters = [everyone[n] for n in sorted(set(names))]
    assignments = plan(tasks, raters, spec.overlap, rng)
    if spec.qualification_dataset:
        qualify = collect_tasks(
            store, spec.qualification_dataset, gold=True, kind=spec.kind, source="qualify"
        )
        first = {r: -len(qualify) for r in raters}
        assignments += [
            dataclasses.replace(a, task=a.task + len(tasks))
            for a in plan(qualify, raters, 1, rng, start=first)
        ]
        tasks += qualify
    if spec.kind == "ranking":
        assignments = [
            dataclasses.replace(a, shown=_order(tasks[a.task], rng)) for a in assignments
        ]
    return studio.create_project(
        name=spec.name,
        dataset=spec.dataset,
        gold_dataset=spec.gold_dataset,
        rubric=rubric,
        overlap=spec.overlap,
        seed=spec.seed,
        created_by=created_by,
        tasks=tasks,
        assignments=assignments,
        kind=spec.kind,
        pass_mark=spec.pass_mark if spec.qualification_dataset else None,
        revise_s=spec.revise_minutes * 60,
    )


def _order(task: NewTask, rng: np.random.Generator) -> tuple[int, ...]:
    count = len(json.loads(task.payload)["responses"])
    return tuple(int(i) for i in rng.permutation(count))


def enqueue(studio: StudioStore, project_id: int, items: Sequence[ItemIn]) -> list[int]:
    """Add items to a project at the front of its least loaded raters' queues."""
    project = studio.project(project_id)
    if project is None:
        raise PalateError(f"no project {project_id}")
    state = studio.queue_state(project_id)
    tasks = [
        NewTask(
            item=item.id or item.prompt,
            payload=_payload(
                Prompt(id=item.id, text=item.prompt),
                *(Response(model=r.model, text=r.text) for r in item.responses),
            ),
            gold=None,
            source="escalation",
        )
        for item in items
    ]
    # A fresh stream per batch: seeded by the project and how many tasks it already has.
    rng = np.random.default_rng([project.seed, sum(n for n, _ in state.values()), len(items)])
    raters = sorted(state)
    assignments = plan(
        tasks,
        raters,
        min(project.overlap, len(raters)),
        rng,
        load={u: n for u, (n, _) in state.items()},
        start={u: front - 1 for u, (_, front) in state.items()},
        step=-1,
    )
    return studio.add_tasks(project_id, tasks, assignments)


def to_records(
    row: SubmissionRow, *, project: str, rubric: str | None, kind: str = "pairwise"
) -> list[Comparison | Rating]:
    """A submission as canonical records: the comparison (none for rubric scoring), and a
    rating per score given. An AI judge's verdict shown after answering goes in metadata."""
    payload: dict[str, Any] = json.loads(row.payload)
    prompt = Prompt.model_validate(payload["prompt"])
    responses = [Response.model_validate(r) for r in payload["responses"]]
    rater = Source(kind="human", name=row.user)
    when: datetime = row.submitted_at
    meta: dict[str, Any] = {
        "project": project,
        "task": row.task_id,
        "task_source": row.source,
        "gold": row.gold,
        "time_spent_s": round(row.time_spent_s, 3),
    }
    if row.assist:
        meta["ai_judge"] = json.loads(row.assist)
    records: list[Comparison | Rating] = []
    if kind != "rubric":
        ranking = json.loads(row.ranking) if row.ranking else None
        records.append(
            Comparison(
                prompt=prompt,
                responses=responses,
                winner=row.winner,
                tie=row.tie,
                strength=row.strength if kind == "pairwise" else None,
                ranking=ranking,
                judge=rater,
                rubric=rubric,
                presentation_order=None if ranking else [1, 0] if row.swap else [0, 1],
                rationale=row.critique or None,
                error_tags=json.loads(row.error_tags),
                timestamp=when,
                metadata=meta,
            )
        )
    scores: dict[str, dict[str, int]] = json.loads(row.scores)
    for dimension, by_response in sorted(scores.items()):
        for index, value in sorted(by_response.items()):
            records.append(
                Rating(
                    item=row.item,
                    prompt=prompt,
                    response=responses[int(index)],
                    score=value,
                    rater=rater,
                    rubric=rubric,
                    dimension=dimension,
                    timestamp=when,
                    metadata=meta,
                )
            )
    return records


def adjudicated_record(
    decision: AdjudicationRow, payload: str, *, project: str, rubric: str | None
) -> Comparison:
    """An adjudicator's decision as its own comparison, with where it came from."""
    data: dict[str, Any] = json.loads(payload)
    responses = [Response.model_validate(r) for r in data["responses"]]
    label = decision.label
    ranking = [int(i) for i in label.split(",")] if "," in label else None
    winner = None if label == "tie" else ranking[0] if ranking else int(label)
    return Comparison(
        prompt=Prompt.model_validate(data["prompt"]),
        responses=responses,
        winner=winner,
        tie=label == "tie",
        ranking=ranking,
        judge=Source(kind="human", name=decision.user),
        rubric=rubric,
        rationale=decision.rationale,
        timestamp=decision.decided_at,
        metadata={
            "project": project,
            "task": decision.task_id,
            "adjudication": True,
            "settles_submissions": decision.submissions,
        },
    )


def export_project(studio: StudioStore, project_id: int, dataset: str, agent: str) -> int:
    """Write the project's submissions into a dataset (idempotent); record it in the ledger."""
    project = studio.project(project_id)
    if project is None:
        raise PalateError(f"no project {project_id}")
    rows = [r for r in studio.submissions(project_id) if r.review != "rejected"]
    records: list[Comparison | Rating] = [
        record
        for row in rows
        for record in to_records(
            row, project=project.name, rubric=project.rubric, kind=project.kind
        )
    ]
    payloads = {r.task_id: r.payload for r in rows}
    records += [
        adjudicated_record(d, payloads[d.task_id], project=project.name, rubric=project.rubric)
        for d in studio.adjudications(project_id).values()
        if d.task_id in payloads
    ]
    if not records:
        raise InputError("nothing to export yet: no submissions", field="project")
    ledger = Ledger(studio.store)
    used = (
        [EntityRef(kind="rubric", id=project.rubric, hash=project.rubric)] if project.rubric else []
    )
    added, _rows = ledger.add_records(
        dataset,
        records,
        activity="studio-export",
        agent=agent,
        used=used,
        attributes=lambda added: {
            "project": project.name,
            "records": len(records),
            "added": added,
        },
    )
    return added
