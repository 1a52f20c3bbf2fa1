"""A studio set up for an expert team: a qualification set with explanations, an AI judge's
verdicts, an adjudicator, and projects of each task kind (shared by the team tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from palate.schema import Comparison, Prompt, Response, Source
from palate.store.studio import StudioStore
from palate.store.studio_tables import studio_assignments, studio_tasks
from palate.studio.projects import ProjectIn, create_project
from tests.studio.conftest import Studio, csrf_of, items, make_studio


def explained(n: int) -> list[Comparison]:
    """Judged items whose rationale explains the gold answer."""
    return [
        c.model_copy(update={"rationale": f"Response {c.winner} keeps the metre, #{i}."})
        for i, c in enumerate(items(n, prefix="qual", judged=True))
    ]


def ranked(n: int, k: int = 3) -> list[Comparison]:
    return [
        Comparison(
            prompt=Prompt(id=f"rank-{i}", text=f"Name a **colour**, #{i}."),
            responses=[Response(model=f"m{j}", text=f"Colour {j} of item {i}") for j in range(k)],
            tie=True,
            judge=Source(kind="human", name="seed"),
        )
        for i in range(n)
    ]


LONG = (
    "## A careful answer\n\n"
    + "The tide rises twice a day because the moon pulls the near ocean. " * 12
    + "\n\n```python\ndef tide(hour: float) -> float:\n    return 2 * hour\n```\n"
)


def long_pair() -> list[Comparison]:
    """One item with long, similar Markdown answers (a diff helps) and a code block."""
    return [
        Comparison(
            prompt=Prompt(id="long-0", text="Explain the tides, with code."),
            responses=[
                Response(model="m0", text=LONG),
                Response(model="m1", text=LONG.replace("twice a day", "once a day", 1)),
            ],
            tie=True,
            judge=Source(kind="human", name="seed"),
        )
    ]


def ai_verdicts(records: list[Comparison]) -> list[Comparison]:
    judge = Source(kind="judge", name="judge-gpt")
    return [
        r.model_copy(update={"winner": 1, "tie": False, "judge": judge, "rationale": "B rhymes."})
        for r in records
    ]


@dataclass
class Team:
    studio: Studio
    qualify: int  # pairwise project with a qualification set and an AI judge
    ranking: int
    rubric: int
    long: int  # one long Markdown pair, for display checks


def make_team(url: str, tmp: Path) -> Team:
    studio = make_studio(url, tmp, n_items=4, n_gold=1)
    store = studio.store.store
    store.add_records("qual", explained(2))
    store.add_records("ranked", ranked(3))
    store.add_records("ai", ai_verdicts(items(4)))
    store.add_records("long", long_pair())
    owner = StudioStore(store)
    admin = owner.user_by_name("admin")
    assert admin is not None
    owner.add_user("judy", "adjudicator", admin.password_hash)
    qualify = create_project(
        owner,
        ProjectIn(
            name="onboarded",
            dataset="poems",
            qualification_dataset="qual",
            pass_mark=1.0,
            assist_dataset="ai",
            revise_minutes=10,
            raters=["ann", "bob"],
            overlap=2,
            seed=3,
        ),
        admin.id,
    )
    ranking = create_project(
        owner,
        ProjectIn(name="ranks", dataset="ranked", kind="ranking", raters=["cat"], overlap=1),
        admin.id,
    )
    rubric = create_project(
        owner,
        ProjectIn(
            name="scores",
            dataset="poems",
            kind="rubric",
            rubric=studio.rubric,
            raters=["cat"],
            overlap=1,
            max_items=2,
        ),
        admin.id,
    )
    long = create_project(
        owner, ProjectIn(name="long", dataset="long", raters=["cat"], overlap=1), admin.id
    )
    return Team(studio, qualify, ranking, rubric, long)


def api_headers(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": csrf_of(client)}


def letter(owner: StudioStore, aid: int, data_label: str) -> str:
    row = owner.assignment(aid)
    assert row is not None
    if data_label == "tie":
        return "tie"
    shown_first = 1 if row.swap else 0
    return "A" if int(data_label) == shown_first else "B"


def answer_qualification(team: Team, client: TestClient, name: str, *, right: bool) -> None:
    owner = team.studio.store
    user = owner.user_by_name(name)
    assert user is not None
    for aid, gold, done, _answer in owner.qualification(user.id, team.qualify):
        assert gold in ("0", "1")
        if done:
            continue
        wanted = gold if right else str(1 - int(gold))
        answer = {"choice": letter(owner, aid, wanted)}
        sent = client.post(f"/api/tasks/{aid}/submission", json=answer, headers=api_headers(client))
        assert sent.status_code == 201, sent.text
        after = client.get(f"/task/{aid}/after")
        assert after.status_code == 200
        assert 'id="gold-feedback"' in after.text and "keeps the metre" in after.text


def disagree(team: Team) -> tuple[int, list[int]]:
    """ann and bob qualify, then answer one shared task differently: (task, submission ids)."""
    owner = team.studio.store
    clients = {n: team.studio.client(n) for n in ("ann", "bob")}
    for name, client in clients.items():
        answer_qualification(team, client, name, right=True)
    ids = {n: owner.user_by_name(n).id for n in clients}  # type: ignore[union-attr]
    a, t = studio_assignments.c, studio_tasks.c
    with owner.engine.connect() as conn:
        rows = conn.execute(
            select(a.task_id, a.user_id, a.id)
            .select_from(studio_assignments.join(studio_tasks))
            .where(t.project_id == team.qualify, t.source == "dataset")
        ).all()
    by_task: dict[int, dict[int, int]] = {}
    for task, user, aid in rows:
        by_task.setdefault(int(task), {})[int(user)] = int(aid)
    task, mine = next((k, v) for k, v in by_task.items() if len(v) == 2)
    subs = []
    for name, data_label in (("ann", "0"), ("bob", "1")):
        aid = mine[ids[name]]
        answer = {"choice": letter(owner, aid, data_label), "critique": f"{name} says"}
        sent = clients[name].post(
            f"/api/tasks/{aid}/submission", json=answer, headers=api_headers(clients[name])
        )
        assert sent.status_code == 201
        subs.append(int(sent.json()["submission_id"]))
    return task, subs
