"""Studio fixtures: a store with a small dataset, gold answers, a rubric and three accounts,
and clients logged in as each of them (real app, real store, no mocks)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import create_engine, select, text

from palate.rubric import example_rubric_path, load_rubric
from palate.schema import Comparison, Prompt, Response, Source
from palate.store import Store
from palate.store.rubrics import save_rubric
from palate.store.studio import StudioStore
from palate.store.studio_tables import studio_assignments, studio_users
from palate.studio import accounts, create_app
from palate.studio.accounts import add_user
from palate.studio.projects import ProjectIn, create_project

PASSWORD = "correct horse battery"


def _cheap_hasher() -> PasswordHash:
    """argon2id at its smallest cost: the tests check logic, not hashing strength (the
    recommended cost takes ~0.3 s a login on a shared core, and they log in hundreds of times)."""
    return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),))


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_hasher", functools.cache(_cheap_hasher))
        accounts._dummy_hash.cache_clear()
        yield
    accounts._dummy_hash.cache_clear()


MODELS = ("model-secret-alpha", "model-secret-beta")


def items(n: int, *, prefix: str = "poem", judged: bool = False) -> list[Comparison]:
    """n comparisons of two named models' poems (the names a rater must never see)."""
    judge = Source(kind="human", name="expert")
    return [
        Comparison(
            prompt=Prompt(id=f"{prefix}-{i}", text=f"Write a short poem about the moon, #{i}."),
            responses=[
                Response(model=MODELS[0], text=f"Silver lamp {i} over the quiet sea."),
                Response(model=MODELS[1], text=f"The moon {i} is a big rock in the sky."),
            ],
            winner=i % 2 if judged else None,
            tie=not judged,
            judge=judge,
        )
        for i in range(n)
    ]


@dataclass
class Studio:
    url: str
    app: FastAPI
    store: StudioStore
    rubric: str
    project: int

    def client(self, name: str | None = None) -> TestClient:
        """A client, logged in as ``name`` through the login form when given."""
        client = TestClient(self.app, follow_redirects=False)
        if name is not None:
            login(client, name)
        return client


def assignments_of(studio: Studio, name: str) -> list[int]:
    """Ids of a rater's assignments, in queue order."""
    a, u = studio_assignments.c, studio_users.c
    query = (
        select(a.id)
        .select_from(studio_assignments.join(studio_users))
        .where(u.name == name)
        .order_by(a.position)
    )
    with studio.store.engine.connect() as conn:
        return [int(i) for i in conn.execute(query).scalars()]


def csrf_of(client: TestClient) -> str:
    page = client.get("/login" if "palate_session" not in client.cookies else "/api/me")
    if page.headers["content-type"].startswith("application/json"):
        return str(page.json()["csrf_token"])
    return page.text.split('name="csrf-token" content="')[1].split('"')[0]


def login(client: TestClient, name: str, password: str = PASSWORD) -> None:
    token = client.get("/login").text.split('name="csrf-token" content="')[1].split('"')[0]
    answer = client.post("/login", data={"name": name, "password": password, "csrf_token": token})
    assert answer.status_code == 303, answer.text


def make_studio(url: str, tmp: Path, *, n_items: int = 6, n_gold: int = 2) -> Studio:
    store = Store(url)
    store.add_records("poems", items(n_items))
    store.add_records("gold", items(n_gold, prefix="gold", judged=True))
    version = save_rubric(store, load_rubric(example_rubric_path("moon-poems")))
    studio = StudioStore(store)
    admin = add_user(studio, "admin", "admin", PASSWORD)
    for name in ("ann", "bob", "cat"):  # one argon2 hash for all: each costs ~0.2 s
        studio.add_user(name, "rater", admin.password_hash)
    spec = ProjectIn(
        name="moon", dataset="poems", rubric=version, gold_dataset="gold", overlap=2, seed=7
    )
    project = create_project(studio, spec, admin.id)
    app = create_app(url)
    return Studio(url, app, StudioStore(app.state.store), version, project)


@pytest.fixture
def studio(store_url: str, tmp_path: Path) -> Iterator[Studio]:
    """A fresh studio on each backend."""
    made = make_studio(store_url, tmp_path)
    yield made
    made.store.store.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_studio(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Studio]:
    """One studio per backend for a whole module, for tests that only read or that check
    their own changes (setting one up costs about a second)."""
    tmp = tmp_path_factory.mktemp("studio")
    if request.param == "sqlite":
        made = make_studio(f"sqlite:///{tmp / 'studio.db'}", tmp)
        yield made
        made.store.store.close()
        return
    server = request.getfixturevalue("postgres_server")
    schema = f"palate_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        made = make_studio(f"{server}?options=-csearch_path%3D{schema}", tmp)
        yield made
        made.store.store.close()
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture
def sqlite_studio(tmp_path: Path) -> Iterator[Studio]:
    made = make_studio(f"sqlite:///{tmp_path / 'studio.db'}", tmp_path)
    yield made
    made.store.store.close()
