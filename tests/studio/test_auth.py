"""Authorisation: sessions, roles, CSRF, and blindness, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute

from palate.studio import api, pages
from tests.studio.conftest import MODELS, Studio, assignments_of, csrf_of

OPEN_ROUTES = {"/login", "/health", "/api/login"}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_no_route_works_without_a_session(shared_studio: Studio) -> None:
    studio = shared_studio
    client = studio.client()
    checked = 0
    for route in [*api.router.routes, *pages.router.routes]:
        if not isinstance(route, APIRoute) or route.path in OPEN_ROUTES:
            continue
        for method in route.methods:
            answer = client.request(method, _concrete(route.path), json={})
            if route.path.startswith("/api/"):
                assert answer.status_code == 401, (method, route.path, answer.text)
            else:
                # Pages send you to log in; posted forms without a session's token are refused.
                assert answer.status_code in (303, 403), (method, route.path)
                if answer.status_code == 303:
                    assert answer.headers["location"] == "/login"
            checked += 1
    assert checked >= 20
    assert client.get("/health").json() == {"ok": True}


def test_rater_cannot_touch_another_raters_tasks(shared_studio: Studio) -> None:
    studio = shared_studio
    ann, bob = studio.client("ann"), studio.client("bob")
    bobs = assignments_of(studio, "bob")
    anns = set(assignments_of(studio, "ann"))
    foreign = next(a for a in bobs if a not in anns)
    before = studio.store.submission_count()
    token = csrf_of(ann)
    headers = {"X-CSRF-Token": token}
    assert ann.get(f"/api/tasks/{foreign}").status_code == 404
    assert ann.get(f"/task/{foreign}").status_code == 404
    put = ann.put(f"/api/tasks/{foreign}/draft", json={"fields": {"choice": "A"}}, headers=headers)
    assert put.status_code == 404
    sent = ann.post(f"/api/tasks/{foreign}/submission", json={"choice": "A"}, headers=headers)
    assert sent.status_code == 404
    form = ann.post(f"/task/{foreign}", data={"choice": "A", "csrf_token": token})
    assert form.status_code == 404
    assert studio.store.submission_count() == before
    assert studio.store.draft(foreign) is None
    # The same id is fine for its owner.
    assert bob.get(f"/api/tasks/{foreign}").status_code == 200


def test_rater_cannot_reach_admin_pages_or_routes(shared_studio: Studio) -> None:
    studio = shared_studio
    ann = studio.client("ann")
    headers = {"X-CSRF-Token": csrf_of(ann)}
    for path in (
        "/admin",
        f"/admin/projects/{studio.project}",
        f"/admin/projects/{studio.project}/agreement",
    ):
        assert ann.get(path).status_code == 403, path
    for path in ("/api/projects", "/api/users", f"/api/projects/{studio.project}/quality"):
        assert ann.get(path).status_code == 403, path
    created = ann.post(
        "/api/users", json={"name": "eve", "role": "admin", "password": "x" * 10}, headers=headers
    )
    assert created.status_code == 403
    assert studio.store.user_by_name("eve") is None
    export = ann.post(
        f"/api/projects/{studio.project}/export", json={"dataset": "x"}, headers=headers
    )
    assert export.status_code == 403
    admin = studio.client("admin")
    assert admin.get(f"/admin/projects/{studio.project}/agreement").status_code == 200


def test_raters_never_see_model_names_or_others_answers(shared_studio: Studio) -> None:
    studio = shared_studio
    bob = studio.client("bob")
    bob_token = csrf_of(bob)
    for aid in assignments_of(studio, "bob"):
        bob.post(
            f"/api/tasks/{aid}/submission",
            json={"choice": "A", "critique": "BOB-SECRET-CRITIQUE"},
            headers={"X-CSRF-Token": bob_token},
        )
    ann = studio.client("ann")
    pages = [ann.get("/").text, ann.get("/api/queue").text]
    for aid in assignments_of(studio, "ann"):
        pages += [ann.get(f"/task/{aid}").text, ann.get(f"/api/tasks/{aid}").text]
    assert len(pages) > 4
    for text in pages:
        for model in MODELS:
            assert model not in text
        assert "BOB-SECRET-CRITIQUE" not in text
        assert "model-secret" not in text


def test_forms_and_writes_without_valid_csrf_are_refused(shared_studio: Studio) -> None:
    studio = shared_studio
    ann = studio.client("ann")
    aid = assignments_of(studio, "ann")[0]
    before = studio.store.submission_count()
    for data in ({"choice": "A"}, {"choice": "A", "csrf_token": "forged"}):
        answer = ann.post(f"/task/{aid}", data=data)
        assert answer.status_code == 403
        assert "security token" in answer.text
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        put = ann.put(f"/api/tasks/{aid}/draft", json={"fields": {"a": "b"}}, headers=headers)
        assert put.status_code == 403
        post = ann.post(f"/api/tasks/{aid}/submission", json={"choice": "A"}, headers=headers)
        assert post.status_code == 403
    assert ann.post("/logout", data={}).status_code == 403
    assert studio.store.submission_count() == before and studio.store.draft(aid) is None
    # A login form without the token is refused too (login CSRF).
    fresh = studio.client()
    refused = fresh.post("/login", data={"name": "ann", "password": "correct horse battery"})
    assert refused.status_code == 403
    assert fresh.get("/api/me").status_code == 401


def test_login_rotates_session_and_logout_ends_it(shared_studio: Studio) -> None:
    studio = shared_studio
    client = studio.client()
    before = csrf_of(client)
    wrong = client.post("/login", data={"name": "ann", "password": "nope", "csrf_token": before})
    assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
    client.post(
        "/login", data={"name": "ann", "password": "correct horse battery", "csrf_token": before}
    )
    after = csrf_of(client)
    assert after != before
    cookie = client.cookies.get("palate_session")
    assert cookie
    assert client.get("/api/me").json()["name"] == "ann"
    assert client.post("/logout", data={"csrf_token": after}).headers["location"] == "/login"
    assert client.get("/api/me").status_code == 401
    assert client.get("/").headers["location"] == "/login"


def test_session_cookie_is_httponly_and_samesite(shared_studio: Studio) -> None:
    studio = shared_studio
    client = studio.client()
    answer = client.get("/login")
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
