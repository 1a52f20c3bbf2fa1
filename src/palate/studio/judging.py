"""What a rater sees and sends: the blind view of a task, drafts, and checked submissions.

The view never carries model names or response ids, and shows the responses as "A", "B",
... in the assignment's presentation order; a submission is turned back into data order here.
Three kinds of task: pairwise (which of two is better), rubric (score one response on the
rubric's dimensions) and ranking (order k responses, best first).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from palate.errors import InputError
from palate.schema import Prompt, Response, Rubric
from palate.schema.outcome import graded_strength
from palate.store.studio import AssignmentRow, NewSubmission

MAX_CRITIQUE = 5000
MAX_DRAFT_FIELD = 6000
Shown = Literal["A", "B"]
LETTERS = "ABCDEFGH"
STRENGTH_LABELS = {1: "slightly", 2: "clearly", 3: "much"}


MUCH_BETTER = 3  # the top of the rater's "how much better" scale


class ShownResponse(BaseModel):
    """A response as the rater sees it: a letter and the text, nothing else."""

    label: str = Field(description="'A' (shown first), 'B', ...")
    text: str = Field(description="The response text (chat turns as 'role: content' lines).")


class TaskView(BaseModel):
    """One task, blind: no model names, no other rater's answers."""

    assignment_id: int = Field(description="The assignment to answer.")
    project: str = Field(description="Project name.")
    prompt: str = Field(description="The prompt text.")
    kind: str = Field(description="'pairwise', 'rubric' or 'ranking'.")
    responses: list[ShownResponse] = Field(description="In the order shown: A, B, ...")
    rubric: str | None = Field(description="Rubric version, if the project has one.")
    dimensions: dict[str, list[int]] = Field(description="Scale values of each dimension.")
    levels: dict[str, dict[int, str]] = Field(
        default_factory=dict, description="Per dimension, each scale value's label."
    )
    gold: bool = Field(default=False, description="A gold or qualification item.")
    error_tags: list[str] = Field(description="Error tags the rubric allows.")
    done: bool = Field(description="Already submitted.")
    draft: dict[str, str] = Field(description="The saved draft's form fields.")
    active_ms: int = Field(description="Time spent on the task so far, in milliseconds.")


class DraftIn(BaseModel):
    """A half-filled form, saved as the rater works."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, str] = Field(
        default_factory=dict, max_length=100, description="Form field name → value."
    )
    active_ms: int = Field(default=0, ge=0, le=7 * 24 * 3600 * 1000, description="Time so far.")

    def checked(self) -> DraftIn:
        for key, value in self.fields.items():
            if len(key) > 200 or len(value) > MAX_DRAFT_FIELD:
                raise InputError(f"draft field too long (max {MAX_DRAFT_FIELD})", field=key[:200])
        return self


class SkipIn(BaseModel):
    """Closing a task without an answer, and why (admins see the notes)."""

    model_config = ConfigDict(extra="forbid")

    reason: Literal["unsure", "problem"] = Field(
        description="'unsure': outside my expertise; 'problem': broken, unsafe or unanswerable."
    )
    note: str = Field(
        min_length=1, max_length=MAX_CRITIQUE, description="What is wrong, in a sentence."
    )


class SubmissionIn(BaseModel):
    """A rater's answer, in the order the responses were shown."""

    model_config = ConfigDict(extra="forbid")

    choice: Literal["A", "B", "tie"] | None = Field(
        default=None, description="Pairwise: which response is better, or a tie."
    )
    ranking: list[str] | None = Field(
        default=None, max_length=len(LETTERS), description="Ranking: shown labels, best first."
    )
    strength: int = Field(
        default=2,
        ge=1,
        le=MUCH_BETTER,
        description="How much better: 1 slightly, 2 clearly, 3 much.",
    )
    scores: dict[str, dict[Shown, int]] = Field(
        default_factory=dict, description="Per dimension, the score of A and/or B."
    )
    critique: str = Field(
        default="", max_length=MAX_CRITIQUE, description="Written critique (optional)."
    )
    error_tags: list[str] = Field(
        default_factory=list, max_length=100, description="Error tags from the rubric."
    )
    active_ms: int | None = Field(
        default=None, ge=0, description="Active time on the page, as the browser measured it."
    )


def text_of(response: Response | Prompt) -> str:
    if response.text is not None:
        return response.text
    return "\n\n".join(f"{m.role}: {m.content}" for m in response.messages or [])


def payload_parts(row: AssignmentRow) -> tuple[Prompt, list[Response]]:
    data: dict[str, Any] = json.loads(row.payload)
    return (
        Prompt.model_validate(data["prompt"]),
        [Response.model_validate(r) for r in data["responses"]],
    )


def display_order(row: AssignmentRow, count: int) -> list[int]:
    """Data indices in the order the rater sees them (A first)."""
    if row.shown is not None:
        return list(row.shown)
    order = list(range(count))
    return order[::-1] if row.swap else order


def task_view(row: AssignmentRow, rubric: Rubric | None, draft: tuple[str, int] | None) -> TaskView:
    prompt, responses = payload_parts(row)
    order = display_order(row, len(responses))
    return TaskView(
        assignment_id=row.id,
        project=row.project_name,
        prompt=text_of(prompt),
        kind=row.kind,
        responses=[
            ShownResponse(label=LETTERS[k], text=text_of(responses[i])) for k, i in enumerate(order)
        ],
        rubric=row.rubric,
        dimensions={d.name: d.values for d in rubric.dimensions} if rubric else {},
        levels={d.name: {lv.value: lv.label for lv in d.scale} for d in rubric.dimensions}
        if rubric
        else {},
        gold=row.gold is not None,
        error_tags=[t.name for t in rubric.error_taxonomy] if rubric else [],
        done=row.done,
        draft=json.loads(draft[0]) if draft else {},
        active_ms=draft[1] if draft else 0,
    )


def check(
    answer: SubmissionIn, row: AssignmentRow, rubric: Rubric | None, wall_s: float
) -> NewSubmission:
    """Validate an answer against the rubric and turn it into data order.

    Time spent is the browser's active time, capped by the wall time since the task was first
    opened (a client cannot claim more), or the wall time when the browser did not say.
    """
    dims = {d.name: d for d in rubric.dimensions} if rubric else {}
    count = len(json.loads(row.payload)["responses"])
    order = display_order(row, count)
    data_index = {LETTERS[k]: i for k, i in enumerate(order)}
    scores: dict[str, dict[str, int]] = {}
    for name, by_label in answer.scores.items():
        if name not in dims:
            known = ", ".join(dims) or "none: this project has no rubric"
            raise InputError(f"unknown dimension {name!r} (known: {known})", field="scores")
        values = dims[name].values
        for label, value in by_label.items():
            if label not in data_index:
                raise InputError(f"no response {label} in this task", field=f"scores.{name}")
            if value not in values:
                raise InputError(
                    f"score {value} for {name} ({label}) is not on its scale "
                    f"({min(values)} to {max(values)})",
                    field=f"scores.{name}.{label}",
                )
            scores.setdefault(name, {})[str(data_index[label])] = value
    allowed = {t.name for t in rubric.error_taxonomy} if rubric else set()
    unknown = sorted(set(answer.error_tags) - allowed)
    if unknown:
        raise InputError(f"unknown error tags: {', '.join(unknown)}", field="error_tags")
    ranking: list[int] | None = None
    strength: float | None = None
    if row.kind == "ranking":
        if answer.ranking is None or sorted(answer.ranking) != sorted(data_index):
            raise InputError(
                f"rank all {count} responses, best first ({', '.join(sorted(data_index))})",
                field="ranking",
            )
        ranking = [data_index[label] for label in answer.ranking]
        winner = ranking[0]
    elif row.kind == "rubric":
        if not scores:
            raise InputError("give at least one score", field="scores")
        winner = None
    elif answer.choice is None:
        raise InputError("choose A, B or tie", field="choice")
    else:
        winner = None if answer.choice == "tie" else data_index[answer.choice]
        strength = graded_strength(winner, answer.strength, top_grade=MUCH_BETTER)
    active_s = answer.active_ms / 1000 if answer.active_ms is not None else wall_s
    return NewSubmission(
        assignment_id=row.id,
        task_id=row.task_id,
        user_id=row.user_id,
        winner=winner,
        tie=row.kind == "pairwise" and winner is None,
        strength=strength,
        scores=json.dumps(scores, sort_keys=True),
        critique=answer.critique.strip(),
        error_tags=json.dumps(sorted(set(answer.error_tags))),
        time_spent_s=max(0.0, min(active_s, wall_s)),
        ranking=None if ranking is None else json.dumps(ranking),
    )


def from_form(form: dict[str, str], tags: list[str]) -> dict[str, Any]:
    """The HTML form's flat fields (``score:DIM:A``, ``tag:NAME``) as a SubmissionIn dict."""
    scores: dict[str, dict[str, str]] = {}
    for key, value in form.items():
        if key.startswith("score:") and value != "":
            _, dim, label = key.split(":", 2) if key.count(":") >= 2 else (key, key, "")
            scores.setdefault(dim, {})[label] = value
    data: dict[str, Any] = {
        "scores": scores,
        "critique": form.get("critique", ""),
        "error_tags": [t for t in tags if form.get(f"tag:{t}")]
        + [k[4:] for k in form if k.startswith("tag:") and k[4:] not in tags],
    }
    if form.get("choice"):
        data["choice"] = form["choice"]
    if form.get("ranking", "").strip():
        data["ranking"] = [p.strip() for p in form["ranking"].split(",") if p.strip()]
    if form.get("strength"):
        data["strength"] = form["strength"]
    if form.get("active_ms", "").isdigit():
        data["active_ms"] = int(form["active_ms"])
    return data
