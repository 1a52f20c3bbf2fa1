"""A studio set up for an expert team: a qualification set with explanations, an AI judge's
verdicts, an adjudicator, and projects of each task kind (shared by the team tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from palate.schema import Comparison, Prompt, Response, Source
from palate.store.studio import StudioStore
from palate.studio.projects import ProjectIn, create_project
from tests.studio.conftest import Studio, items, make_studio


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


def make_team(url: str, tmp: Path) -> Team:
    studio = make_studio(url, tmp, n_items=4, n_gold=1)
    store = studio.store.store
    store.add_records("qual", explained(2))
    store.add_records("ranked", ranked(3))
    store.add_records("ai", ai_verdicts(items(4)))
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
    return Team(studio, qualify, ranking, rubric)
