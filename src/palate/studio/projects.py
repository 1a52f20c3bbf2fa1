"""Projects: tasks from a dataset (and gold answers from another), blind assignment with
overlap and randomised order, escalation queues, and export of the results as records.

Randomness is explicit: one ``numpy.random.Generator`` seeded by the project's seed decides
who gets which task, each rater's order, and which response is shown first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from palate.errors import InputError, PalateError
from palate.ledger import EntityRef, Ledger
from palate.schema import Comparison, Prompt, Rating, Response, Source
from palate.store import Store
from palate.store.rubrics import resolve_version
from palate.store.studio import NewAssignment, NewTask, StudioStore, SubmissionRow

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


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


def _payload(prompt: Prompt, first: Response, second: Response) -> str:
    data = {
        "prompt": prompt.model_dump(mode="json", exclude_none=True),
        "responses": [r.model_dump(mode="json", exclude_none=True) for r in (first, second)],
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


def collect_tasks(
    store: Store, dataset: str, *, gold: bool, limit: int | None = None
) -> list[NewTask]:
    """One task per distinct (prompt, first two responses) of the dataset's comparisons;
    for a gold dataset only judged ones, with their outcome as the gold answer."""
    tasks: list[NewTask] = []
    seen: set[str] = set()
    for record in store.iter_records(dataset):
        if not isinstance(record, Comparison):
            continue
        first, second = record.responses[0], record.responses[1]
        answer = _outcome(record)
        if not (_shown(first) and _shown(second)) or (gold and answer is None):
            continue
        payload = _payload(record.prompt, first, second)
        digest = hashlib.sha256(payload.encode()).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        tasks.append(
            NewTask(
                item=record.prompt.key,
                payload=payload,
                gold=answer if gold else None,
                source="gold" if gold else "dataset",
            )
        )
        if limit is not None and len(tasks) >= limit:
            break
    if not tasks:
        what = "judged comparisons" if gold else "comparisons"
        raise InputError(
            f"dataset {dataset!r} has no {what} of two responses with text", field="dataset"
        )
    return tasks


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
    """Build a project's tasks and assignments and store them in one transaction."""
    store = studio.store
    rubric = resolve_version(store, spec.rubric) if spec.rubric else None
    known = {d.name for d in store.datasets()}
    for field, name in (("dataset", spec.dataset), ("gold_dataset", spec.gold_dataset)):
        if name is not None and name not in known:
            raise InputError(f"no dataset named {name!r}", field=field)
    everyone = {u.name: u.id for u in studio.users(role="rater")}
    names = spec.raters if spec.raters else sorted(everyone)
    unknown = [n for n in names if n not in everyone]
    if unknown:
        raise InputError(f"not raters: {', '.join(unknown)}", field="raters")
    if not names:
        raise InputError("there are no raters yet: add some first", field="raters")
    tasks = collect_tasks(store, spec.dataset, gold=False, limit=spec.max_items)
    if spec.gold_dataset:
        tasks += collect_tasks(store, spec.gold_dataset, gold=True)
    rng = np.random.default_rng(spec.seed)
    assignments = plan(tasks, [everyone[n] for n in sorted(set(names))], spec.overlap, rng)
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
    )


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
    row: SubmissionRow, *, project: str, rubric: str | None
) -> list[Comparison | Rating]:
    """A submission as canonical records: the comparison, and a rating per score given."""
    payload: dict[str, Any] = json.loads(row.payload)
    prompt = Prompt.model_validate(payload["prompt"])
    responses = [Response.model_validate(r) for r in payload["responses"]]
    rater = Source(kind="human", name=row.user)
    when: datetime = row.submitted_at
    meta = {
        "project": project,
        "task": row.task_id,
        "task_source": row.source,
        "gold": row.gold,
        "time_spent_s": round(row.time_spent_s, 3),
    }
    records: list[Comparison | Rating] = [
        Comparison(
            prompt=prompt,
            responses=responses,
            winner=row.winner,
            tie=row.tie,
            strength=row.strength,
            judge=rater,
            rubric=rubric,
            presentation_order=[1, 0] if row.swap else [0, 1],
            rationale=row.critique or None,
            error_tags=json.loads(row.error_tags),
            timestamp=when,
            metadata=meta,
        )
    ]
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


def export_project(studio: StudioStore, project_id: int, dataset: str, agent: str) -> int:
    """Write the project's submissions into a dataset (idempotent); record it in the ledger."""
    project = studio.project(project_id)
    if project is None:
        raise PalateError(f"no project {project_id}")
    records = [
        record
        for row in studio.submissions(project_id)
        for record in to_records(row, project=project.name, rubric=project.rubric)
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
