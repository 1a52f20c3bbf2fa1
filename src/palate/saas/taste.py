"""Judged taste: every change an agent deployed and every ticket reply it wrote, judged by a
rubric judge, stored as ratings linked to the episode, and set against what the money later
said.

Both are read from the episode's log alone: a deployed change is the edits (patches, file
writes) made since the previous deploy, a reply is the ``reply_ticket`` call with the ticket
it answers (its text is recomputed by feeding the log's inputs to a fresh economy, as replay
does). Diffs are judged with the ``code-review`` rubric and replies with ``support-reply``.
The ratings go to one dataset per episode (named after agent, seed and digest) with the
ledger record that accounts for them, in one transaction; an LLM judge's calls are cached in
the store, so judging again makes no call twice.

Escalation (optional): work the judge scored below a threshold, or could not score, goes to
people in the studio as a rubric-scoring project per episode and kind (the kind's rubric),
named after the episode's dataset and the threshold so a rerun finds the project it made. The
ledger record of the episode's ratings names its projects, and the raters' exported ratings
keep the item id (``DIGEST12:KEY``) and the project, so each answer leads back to the episode.

What the money later said: the incidents in the ``window`` days from the day a change went
live (its own day's traffic already meets it), and for a reply whether that customer
cancelled within the window. A Spearman rank correlation with a bootstrap interval says
whether the judge's better scores preceded fewer of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import orjson
from scipy import stats

from palate.errors import InputError, PalateError
from palate.judges import JudgeResources, PointTask, PointwiseJudge, load
from palate.judges.openai_judge import OpenAIJudge
from palate.ledger import EntityRef, Ledger
from palate.ledger.provenance import current_agent
from palate.rubric import rubric_version
from palate.rubric.resolve import resolve_rubric
from palate.saas.episode import INPUT_KINDS, Config, apply, new_economy
from palate.saas.events import Event, read_log, write_atomic
from palate.saas.run import EVENTS_FILE, SUMMARY_FILE
from palate.schema import Prompt, Rating, Response, Rubric
from palate.store import Store
from palate.store.studio import AlreadyExists, NewTask, StudioStore

TASTE_FILE = "taste.json"
RUBRICS = {"deploy": "code-review", "reply": "support-reply"}
EDIT_TOOLS = ("apply_patch", "write_file", "patch_file")
Kind = Literal["deploy", "reply"]


@dataclass(frozen=True)
class Work:
    """One piece of the agent's work to judge."""

    kind: Kind
    day: int
    key: str
    prompt: str
    text: str
    customer: int | None = None
    """For a reply: the customer whose ticket it answers."""


def _edit_text(tool: str, args: Any) -> str:
    if not isinstance(args, dict):
        return str(args)
    if tool == "apply_patch":
        return str(args.get("diff", ""))
    path = args.get("path", "?")
    if tool == "write_file":
        return f"*** whole new content of {path}:\n{args.get('content', '')}"
    old = "".join(f"-{line}\n" for line in str(args.get("old", "")).splitlines())
    new = "".join(f"+{line}\n" for line in str(args.get("new", "")).splitlines())
    return f"--- a/{path}\n+++ b/{path}\n{old}{new}"


def deployed_changes(events: Sequence[Event]) -> list[Work]:
    """Each deploy the agent asked for, with the edits made since the previous one."""
    found: list[Work] = []
    pending: list[str] = []
    asked: Event | None = None
    for event in events:
        if event.kind == "action" and event.data["ok"]:
            tool = event.data["tool"]
            if tool in EDIT_TOOLS:
                pending.append(_edit_text(tool, event.data["args"]))
            asked = event if tool == "deploy" else None
        elif event.kind == "deploy" and asked is not None and pending:
            version = int(event.data["version"])
            args = asked.data["args"] if isinstance(asked.data["args"], dict) else {}
            started = "started" if event.data["ok"] else "FAILED TO START"
            prompt = (
                f"A change deployed on day {event.day} to a small team-notes web product in "
                f"production (version {version}, commit message {args.get('message', '')!r}; "
                f"it {started}). Review the change."
            )
            found.append(Work("deploy", event.day, f"deploy-v{version}", prompt,
                              "\n".join(pending)))  # fmt: skip
            pending, asked = [], None
    return found


def ticket_replies(events: Sequence[Event]) -> list[Work]:
    """Each accepted reply to a ticket, with the ticket it answers."""
    start = events[0].data
    economy = new_economy(
        Config(start["preset"], int(start["seed"]), int(start["days"]), tuple(start["features"]))
    )
    found: list[Work] = []
    for event in events:
        if event.kind not in INPUT_KINDS:
            continue
        apply(economy, event.day, event.kind, event.data)
        data = event.data
        if event.kind == "action" and data["tool"] == "reply_ticket" and data["ok"]:
            if not data["result"].get("ok"):
                continue
            ticket = economy.tickets[int(data["args"]["ticket_id"])]
            prompt = (
                f"Support ticket #{ticket.id} from a paying customer of a team-notes web "
                f"product, opened on day {ticket.day} (topic: {ticket.topic}):\n{ticket.text}"
            )
            key = f"reply-t{ticket.id}-{event.index}"
            found.append(
                Work("reply", event.day, key, prompt, str(data["args"]["text"]), ticket.customer)
            )
    return found


@dataclass(frozen=True)
class Judged:
    """A judged piece of work and what followed it."""

    seed: int
    digest: str
    kind: Kind
    key: str
    day: int
    score: float | None
    """The rubric-weighted mean of its dimension scores, each scaled to [0, 1]; None when any
    dimension is unscored."""
    incidents_after: int
    churned_after: bool | None
    """For a reply: whether that customer cancelled within the window."""
    project: str | None = None
    """The studio project it was escalated to, if it was."""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def combined_score(ratings: Sequence[Rating], rubric: Rubric | None) -> float | None:
    """The weighted mean of the ratings' scores scaled to [0, 1] by their dimensions' scales
    (a plain mean without a rubric); None if any is unscored."""
    if not ratings or any(r.score is None for r in ratings):
        return None
    if rubric is None:
        return float(np.mean([r.score for r in ratings]))
    total = weight = 0.0
    for rating in ratings:
        dim = rubric.dimension(rating.dimension or "")
        values = [level.value for level in dim.scale]
        low, high = min(values), max(values)
        total += dim.weight * (float(rating.score or 0.0) - low) / (high - low)
        weight += dim.weight
    return total / weight


def _aftermath(events: Sequence[Event], work: Work, window: int) -> tuple[int, bool | None]:
    days = range(work.day, work.day + window)
    incidents = sum(int(e.data["incidents"]) for e in events if e.kind == "day" and e.day in days)
    if work.customer is None:
        return incidents, None
    churned = any(
        e.kind == "churn" and e.day in days and e.data["customer"] == work.customer for e in events
    )
    return incidents, churned


@dataclass(frozen=True)
class Correlation:
    """Spearman's rho between judged scores and later trouble, with a bootstrap interval."""

    rho: float
    ci_low: float
    ci_high: float
    n: int

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def spearman(
    scores: Sequence[float], trouble: Sequence[float], resamples: int = 2000, seed: int = 0
) -> Correlation | None:
    """Rank correlation with a percentile bootstrap over items; None when it is undefined
    (fewer than three items, or no variation on either side)."""
    x, y = np.asarray(scores, dtype=float), np.asarray(trouble, dtype=float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    rho = float(stats.spearmanr(x, y).statistic)
    rng = np.random.default_rng(seed)
    draws = []
    for pick in rng.integers(0, len(x), size=(resamples, len(x))):
        if np.ptp(x[pick]) > 0 and np.ptp(y[pick]) > 0:
            draws.append(stats.spearmanr(x[pick], y[pick]).statistic)
    low, high = np.quantile(draws, [0.025, 0.975])
    return Correlation(rho, float(low), float(high), len(x))


@dataclass(frozen=True)
class TasteResult:
    """Every judged piece of work of the episodes in a directory, and how scores compare with
    later incidents (diffs) and cancellations (replies)."""

    judge: str
    window_days: int
    datasets: list[str]
    judged: list[Judged]

    def _scored(self, kind: Kind) -> list[Judged]:
        return [j for j in self.judged if j.kind == kind and j.score is not None]

    def correlations(self) -> dict[str, Correlation | None]:
        diffs, replies = self._scored("deploy"), self._scored("reply")
        return {
            "deploy_score_vs_incidents": spearman(
                [j.score or 0.0 for j in diffs], [j.incidents_after for j in diffs]
            ),
            "reply_score_vs_churn": spearman(
                [j.score or 0.0 for j in replies], [float(bool(j.churned_after)) for j in replies]
            ),
        }

    def good_vs_poor(self) -> list[dict[str, Any]]:
        """Judged-good (score at least 0.5) against judged-poor work: how many, and the mean
        trouble that followed (incidents for diffs, cancellations for replies)."""
        rows = []
        for kind in ("deploy", "reply"):
            for label, keep in (("good", True), ("poor", False)):
                group = [j for j in self._scored(kind) if ((j.score or 0.0) >= 0.5) == keep]
                trouble = [
                    j.incidents_after if kind == "deploy" else float(bool(j.churned_after))
                    for j in group
                ]
                rows.append(
                    {
                        "kind": kind,
                        "judged": label,
                        "n": len(group),
                        "mean_trouble_after": float(np.mean(trouble)) if trouble else None,
                    }
                )
        return rows

    def to_json(self) -> dict[str, Any]:
        return {
            "judge": self.judge,
            "window_days": self.window_days,
            "datasets": self.datasets,
            "studio_projects": sorted({j.project for j in self.judged if j.project}),
            "unscored": sum(j.score is None for j in self.judged),
            "correlations": {
                k: None if c is None else c.to_json() for k, c in self.correlations().items()
            },
            "good_vs_poor": self.good_vs_poor(),
            "judged": [j.to_json() for j in self.judged],
        }

    @classmethod
    def load(cls, directory: Path) -> TasteResult | None:
        path = directory / TASTE_FILE
        if not path.is_file():
            return None
        data = orjson.loads(path.read_bytes())
        return cls(
            data["judge"],
            data["window_days"],
            data["datasets"],
            [Judged(**j) for j in data["judged"]],
        )


@dataclass(frozen=True)
class Escalation:
    """Send work scored below ``below`` (or unscored: the judge failed, a person must look) to
    ``overlap`` of ``raters`` (default: every rater) in a project created by ``admin``."""

    below: float
    admin: str
    raters: tuple[str, ...] = ()
    overlap: int = 1

    def wants(self, score: float | None) -> bool:
        return score is None or score < self.below

    def project_name(self, dataset: str, kind: Kind) -> str:
        return f"{dataset}.{kind}.below-{self.below:g}"


@dataclass(frozen=True)
class _Escalator:
    """An escalation with its studio admin and raters, checked before any judging."""

    spec: Escalation
    studio: StudioStore
    admin: int
    raters: list[int]

    @classmethod
    def check(cls, store: Store, spec: Escalation) -> _Escalator:
        studio = StudioStore(store)
        admin = studio.user_by_name(spec.admin)
        if admin is None or admin.role != "admin":
            raise InputError(f"no studio admin named {spec.admin!r}", field="--studio-admin")
        everyone = {u.name: u.id for u in studio.users(role="rater")}
        names = sorted(set(spec.raters or everyone))
        unknown = [n for n in names if n not in everyone]
        if unknown:
            raise InputError(f"not studio raters: {', '.join(unknown)}", field="--raters")
        if len(names) < spec.overlap:
            raise InputError(
                f"--overlap {spec.overlap} needs that many raters (have {len(names)})",
                field="--overlap",
            )
        return cls(spec, studio, admin.id, [everyone[n] for n in names])

    def send(
        self, project: str, dataset: str, kind: Kind, items: list[tuple[Prompt, Response]]
    ) -> None:
        """A project scoring each item alone on the kind's rubric; kept as it is if a run on
        the same episode and threshold made it before."""
        from palate.studio.projects import plan  # here: importing the studio loads its web app

        shipped = resolve_rubric(self.studio.store, RUBRICS[kind])
        assert shipped is not None  # a shipped rubric's name always resolves
        tasks = [
            NewTask(prompt.key, _payload(prompt, response), None, source="escalation")
            for prompt, response in items
        ]
        assignments = plan(tasks, self.raters, self.spec.overlap, np.random.default_rng(0))
        with contextlib.suppress(AlreadyExists):
            self.studio.create_project(
                name=project,
                dataset=dataset,
                gold_dataset=None,
                rubric=rubric_version(shipped),
                overlap=self.spec.overlap,
                seed=0,
                created_by=self.admin,
                tasks=tasks,
                assignments=assignments,
                kind="rubric",
            )


def _payload(prompt: Prompt, response: Response) -> str:
    """A studio task's content, as the studio's own projects write it."""
    data = {
        "prompt": prompt.model_dump(mode="json", exclude_none=True),
        "responses": [response.model_dump(mode="json", exclude_none=True)],
    }
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def episode_logs(directory: Path) -> list[Path]:
    """The event logs of a run directory (its own) or a rollout directory (one per seed)."""
    if (directory / EVENTS_FILE).is_file():
        return [directory / EVENTS_FILE]
    logs = sorted(
        directory.glob(f"seed-*/{EVENTS_FILE}"), key=lambda p: int(p.parent.name.split("-")[1])
    )
    if not logs:
        raise InputError(
            "no episode logs (events.jsonl, or seed-*/events.jsonl)", file=str(directory)
        )
    return logs


def dataset_name(agent: str, seed: int, digest: str) -> str:
    return f"saas.{agent}.seed-{seed}.{digest[:12]}"


async def _judge_all(
    judge: PointwiseJudge, store: Store, work: list[tuple[Work, Prompt, Response]]
) -> list[tuple[list[Rating], Rubric | None]]:
    """Judge diffs, then replies, each kind under its own rubric."""
    results: dict[int, tuple[list[Rating], Rubric | None]] = {}
    for kind, rubric_name in RUBRICS.items():
        rubric = None
        if isinstance(judge, OpenAIJudge):
            judge.use(store, resolve_rubric(store, rubric_name))
            rubric = judge.rubric
        indexes = [i for i, (w, _, _) in enumerate(work) if w.kind == kind]
        version = judge.rubric_version if isinstance(judge, OpenAIJudge) else None
        ratings = await asyncio.gather(
            *(judge.judge_point(PointTask(work[i][1], work[i][2], rubric=version)) for i in indexes)
        )
        results.update({i: (r, rubric) for i, r in zip(indexes, ratings, strict=True)})
    return [results[i] for i in range(len(work))]


def judge_directory(
    store: Store,
    directory: Path,
    judge_source: str | Path | dict[str, Any],
    window: int = 3,
    escalation: Escalation | None = None,
) -> TasteResult:
    """Judge every episode under ``directory``; store the ratings (one dataset per episode,
    each with its ledger record); escalate low scores to the studio if asked; write
    DIRECTORY/taste.json; return the result."""
    if window < 1:
        raise PalateError(f"--window must be at least 1 day, got {window}")
    logs = episode_logs(directory)
    escalator = None if escalation is None else _Escalator.check(store, escalation)
    judge = load(judge_source)
    if not isinstance(judge, PointwiseJudge):
        raise PalateError(f"judge '{judge.source.name}' cannot score one response on a rubric")
    result = asyncio.run(_judge_logs(store, logs, judge, window, escalator))
    write_atomic(directory / TASTE_FILE, orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2))
    return result


async def _judge_logs(
    store: Store,
    logs: list[Path],
    judge: PointwiseJudge,
    window: int,
    escalator: _Escalator | None,
) -> TasteResult:
    judged: list[Judged] = []
    datasets: list[str] = []
    try:
        for log in logs:
            events = read_log(log)
            start, digest = events[0].data, events[-1].hash
            agent = _agent_of(log)
            seed = int(start["seed"])
            work = deployed_changes(events) + ticket_replies(events)
            tasks = [
                (
                    w,
                    Prompt(id=f"{digest[:12]}:{w.key}", text=w.prompt),
                    Response(model=agent, text=w.text),
                )
                for w in work
            ]
            name = dataset_name(agent, seed, digest)
            ratings = []
            escalated: dict[str, tuple[Kind, list[tuple[Prompt, Response]]]] = {}
            for (w, prompt, response), (rated, rubric) in zip(
                tasks, await _judge_all(judge, store, tasks), strict=True
            ):
                meta = {"episode": digest, "agent": agent, "seed": seed, "day": w.day,
                        "kind": w.kind}  # fmt: skip
                ratings += [r.model_copy(update={"metadata": meta}) for r in rated]
                incidents, churned = _aftermath(events, w, window)
                score = combined_score(rated, rubric)
                project = None
                if escalator is not None and escalator.spec.wants(score):
                    project = escalator.spec.project_name(name, w.kind)
                    escalated.setdefault(project, (w.kind, []))[1].append((prompt, response))
                judged.append(
                    Judged(seed, digest, w.kind, w.key, w.day, score, incidents, churned, project)
                )
            if ratings:
                _store(store, name, ratings, judge, agent, start["preset"], seed, digest,
                       sorted(escalated))  # fmt: skip
                datasets.append(name)
            if escalator is not None:
                for project, (kind, items) in escalated.items():
                    escalator.send(project, name, kind, items)
    finally:
        if isinstance(judge, JudgeResources):
            await judge.aclose()
    return TasteResult(judge.source.name, window, datasets, judged)


def _agent_of(log: Path) -> str:
    summary = log.parent / SUMMARY_FILE
    try:
        return str(orjson.loads(summary.read_bytes())["agent"])
    except (OSError, orjson.JSONDecodeError, KeyError) as exc:
        raise InputError(f"no episode summary: {exc}", file=str(summary)) from exc


def _store(
    store: Store,
    name: str,
    ratings: list[Rating],
    judge: PointwiseJudge,
    agent: str,
    preset_name: str,
    seed: int,
    digest: str,
    projects: list[str],
) -> None:
    """The ratings and the ledger record that links them to the episode (and names the
    studio projects its low-scored work went to), in one transaction."""
    version = judge.source.version or judge.source.name
    used = [
        EntityRef(kind="saas-episode", id=f"{agent}:{preset_name}:{seed}", hash=digest),
        EntityRef(kind="judge-config", id=judge.source.name, hash=version),
    ]
    used += [
        EntityRef(kind="rubric", id=rubric, hash=rubric)
        for rubric in sorted({r.rubric for r in ratings if r.rubric})
    ]
    Ledger(store).add_records(
        name,
        ratings,
        activity="saas.taste",
        agent=current_agent(),
        used=used,
        attributes=lambda added: {
            "judge": judge.source.name,
            "episode": digest,
            "studio_projects": projects,
            "added": added,
        },
    )
