"""Hardening for the open network, on SQLite and PostgreSQL: revocable sessions, admin account
controls, login throttling off the serving threads, body limits, NUL refusal, security
headers, cookie and secret settings, ids out of range, and name and password rules."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from palate.errors import InputError, PalateError
from palate.store.studio import AlreadyExists
from palate.studio import create_app
from palate.studio.accounts import add_user, check_password
from palate.studio.app import SECRET_ENV, session_secret
from palate.studio.quality import PairRow, Quality, RaterQuality, plots
from palate.studio.throttle import LoginThrottle
from tests.helpers import run_cli
from tests.studio.conftest import PASSWORD, Studio, assignments_of, csrf_of

NEW_PASSWORD = "lunar tide umbrella 42"


def _api_login(client: TestClient, name: str, password: str = PASSWORD) -> dict[str, str]:
    answer = client.post("/api/login", json={"name": name, "password": password})
    assert answer.status_code == 200, answer.text
    return {"X-CSRF-Token": answer.json()["csrf_token"]}


def _copy(studio: Studio, client: TestClient) -> TestClient:
    """A second client holding a copy of ``client``'s session cookie (a stolen cookie)."""
    other = studio.client()
    other.cookies.set("palate_session", client.cookies["palate_session"])
    return other


def _user_id(studio: Studio, name: str) -> int:
    found = studio.store.user_by_name(name)
    assert found is not None
    return found.id


# -- sessions and admin controls ------------------------------------------------------------


def test_logout_ends_the_session_for_every_copy_of_the_cookie(shared_studio: Studio) -> None:
    studio = shared_studio
    ann = studio.client("ann")
    stolen = _copy(studio, ann)
    assert stolen.get("/api/me").json()["name"] == "ann"
    assert ann.post("/logout", data={"csrf_token": csrf_of(ann)}).status_code == 303
    assert stolen.get("/api/me").status_code == 401
    assert stolen.get("/").headers["location"] == "/login"


def test_admin_disables_enables_ends_sessions_and_resets_passwords(studio: Studio) -> None:
    admin = studio.client()
    admin_headers = _api_login(admin, "admin")
    bob_id = _user_id(studio, "bob")
    bob = studio.client()
    _api_login(bob, "bob")
    stolen = _copy(studio, bob)

    ended = admin.delete(f"/api/users/{bob_id}/sessions", headers=admin_headers)
    assert ended.status_code == 200 and ended.json()["sessions"] == 1
    assert bob.get("/api/me").status_code == 401 and stolen.get("/api/me").status_code == 401

    _api_login(bob, "bob")
    assert admin.post(f"/api/users/{bob_id}/disable", headers=admin_headers).status_code == 200
    assert bob.get("/api/me").status_code == 401
    refused = studio.client().post("/api/login", json={"name": "bob", "password": PASSWORD})
    assert refused.status_code == 401
    listed = {u["name"]: u["disabled"] for u in admin.get("/api/users").json()}
    assert listed["bob"] is True and listed["ann"] is False
    assert admin.post(f"/api/users/{bob_id}/enable", headers=admin_headers).status_code == 200
    _api_login(bob, "bob")

    weak = admin.post(
        f"/api/users/{bob_id}/password", json={"password": "password123"}, headers=admin_headers
    )
    assert weak.status_code == 422 and weak.json()["field"] == "password"
    assert bob.get("/api/me").status_code == 200  # a refused reset changes nothing
    reset = admin.post(
        f"/api/users/{bob_id}/password", json={"password": NEW_PASSWORD}, headers=admin_headers
    )
    assert reset.status_code == 200 and reset.json()["sessions"] == 1
    assert bob.get("/api/me").status_code == 401
    old = studio.client().post("/api/login", json={"name": "bob", "password": PASSWORD})
    assert old.status_code == 401
    _api_login(studio.client(), "bob", NEW_PASSWORD)

    # An admin cannot lock themselves out; unknown and out-of-range users are 404.
    own = _user_id(studio, "admin")
    assert admin.post(f"/api/users/{own}/disable", headers=admin_headers).status_code == 409
    assert admin.post("/api/users/999999/disable", headers=admin_headers).status_code == 404
    huge = admin.delete(f"/api/users/{2**70}/sessions", headers=admin_headers)
    assert huge.status_code == 404
    # The same controls through the admin page's forms.
    page = studio.client("admin")
    token = csrf_of(page)
    cat = studio.client("cat")
    form = page.post(f"/admin/users/{_user_id(studio, 'cat')}/disable", data={"csrf_token": token})
    assert form.status_code == 303 and cat.get("/api/me").status_code == 401
    assert "(disabled)" in page.get("/admin").text


def test_password_change_ends_other_sessions_and_keeps_this_one(studio: Studio) -> None:
    ann = studio.client()
    headers = _api_login(ann, "ann")
    laptop = studio.client()
    _api_login(laptop, "ann")
    wrong = ann.post(
        "/api/me/password", json={"current": "not it", "new": NEW_PASSWORD}, headers=headers
    )
    assert wrong.status_code == 401
    changed = ann.post(
        "/api/me/password", json={"current": PASSWORD, "new": NEW_PASSWORD}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    assert laptop.get("/api/me").status_code == 401
    assert ann.get("/api/me").json()["csrf_token"] == changed.json()["csrf_token"]
    _api_login(studio.client(), "ann", NEW_PASSWORD)


# -- login throttling and the hashing pool --------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_wrong_logins_are_throttled_per_account_and_per_address(sqlite_studio: Studio) -> None:
    clock = Clock()
    throttle = LoginThrottle(per_account=3, per_address=5, window_s=60, clock=clock)
    app = create_app(sqlite_studio.url, throttle=throttle)
    client = TestClient(app)
    for _ in range(3):
        assert (
            client.post("/api/login", json={"name": "ann", "password": "guess"}).status_code == 401
        )
    # Now even the right password is refused, without being checked, until the window passes.
    blocked = client.post("/api/login", json={"name": "ANN", "password": PASSWORD})
    assert blocked.status_code == 429 and blocked.headers["retry-after"] == "60"
    assert "too many wrong logins" in blocked.json()["detail"]
    clock.now += 30
    assert client.post("/api/login", json={"name": "ann", "password": PASSWORD}).status_code == 429
    clock.now += 31
    assert client.post("/api/login", json={"name": "ann", "password": PASSWORD}).status_code == 200
    # Per address: five failures spread over accounts (none at its own limit) block it.
    for name in ("bob", "bob", "cat", "cat", "admin"):
        assert client.post("/api/login", json={"name": name, "password": "x"}).status_code == 401
    page = client.post(
        "/login", data={"name": "admin", "password": PASSWORD, "csrf_token": csrf_of(client)}
    )
    assert page.status_code == 429 and "too many wrong logins" in page.text
    clock.now += 61
    assert (
        client.post("/api/login", json={"name": "admin", "password": PASSWORD}).status_code == 200
    )
    app.state.store.close()


def test_wrong_logins_count_across_server_processes(sqlite_studio: Studio) -> None:
    """Two apps on one store (as two worker processes are) share the failure counts."""
    apps = [create_app(sqlite_studio.url, throttle=LoginThrottle(per_account=4)) for _ in "ab"]
    clients = [TestClient(app) for app in apps]
    for n in range(4):
        wrong = clients[n % 2].post("/api/login", json={"name": "bob", "password": "guess"})
        assert wrong.status_code == 401
    for client in clients:
        refused = client.post("/api/login", json={"name": "bob", "password": PASSWORD})
        assert refused.status_code == 429
    for app in apps:
        app.state.store.close()


def test_a_saturated_login_pool_does_not_stop_raters(sqlite_studio: Studio) -> None:
    """With every password-hashing thread busy and its queue full, raters' pages and
    submissions are still served, and further logins are told to retry (503)."""
    studio = sqlite_studio
    app = studio.app
    rater = studio.client()
    headers = _api_login(rater, "ann")
    aid = assignments_of(studio, "ann")[0]
    release = threading.Event()
    hashing = app.state.hashing
    busy = [hashing._pool.submit(release.wait) for _ in range(2)]  # both workers
    taken = 0
    while hashing._slots.acquire(blocking=False):  # fill the queue
        taken += 1
    try:
        with ThreadPoolExecutor(1) as pool:
            served = pool.submit(rater.get, f"/api/tasks/{aid}")
            assert served.result(timeout=20).status_code == 200
            sent = pool.submit(
                rater.post, f"/api/tasks/{aid}/submission", json={"choice": "A"}, headers=headers
            )
            assert sent.result(timeout=20).status_code == 201
        busy_login = studio.client().post("/api/login", json={"name": "bob", "password": PASSWORD})
        assert busy_login.status_code == 503 and busy_login.headers["retry-after"] == "5"
    finally:
        for _ in range(taken):
            hashing._slots.release()
        release.set()
    for job in busy:
        job.result(timeout=20)
    _api_login(studio.client(), "bob")


# -- bodies, NUL, ids -------------------------------------------------------------------------


def test_oversized_bodies_are_refused_before_parsing(shared_studio: Studio) -> None:
    studio = shared_studio
    client = studio.client()
    big = b'{"name": "ann", "password": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    answer = client.post("/api/login", content=big, headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "limited to" in answer.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
        for _ in range(64):
            yield b"name=ann&password=" + b"y" * 65536

    streamed = client.post(
        "/login", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert streamed.status_code == 413
    lying = client.post("/api/login", content=b"{}", headers={"content-length": "nonsense"})
    assert lying.status_code in (400, 413)


def test_nul_characters_are_refused_with_422_and_store_nothing(shared_studio: Studio) -> None:
    studio = shared_studio
    client = studio.client("cat")
    token = csrf_of(client)
    headers = {"X-CSRF-Token": token}
    aid = assignments_of(studio, "cat")[-1]
    before = studio.store.submission_count()
    sent = client.post(
        f"/api/tasks/{aid}/submission",
        json={"choice": "A", "critique": "bad\u0000byte"},
        headers=headers,
    )
    assert sent.status_code == 422 and "NUL" in sent.json()["detail"]
    draft = client.put(
        f"/api/tasks/{aid}/draft", json={"fields": {"critique": "a\x00b"}}, headers=headers
    )
    assert draft.status_code == 422
    form = client.post(
        f"/task/{aid}", data={"csrf_token": token, "choice": "A", "critique": "\x00"}
    )
    assert form.status_code == 422
    assert client.get(f"/task/{aid}?project=%00").status_code == 422
    login = studio.client().post("/api/login", json={"name": "ann\u0000", "password": "x"})
    assert login.status_code == 422
    assert studio.store.submission_count() == before and studio.store.draft(aid) is None
    # An escaped backslash followed by "u0000" is ordinary text, not a NUL.
    fine = client.put(
        f"/api/tasks/{aid}/draft", json={"fields": {"critique": "\\u0000"}}, headers=headers
    )
    assert fine.status_code == 200


def test_out_of_range_ids_are_404(shared_studio: Studio) -> None:
    studio = shared_studio
    admin, rater = studio.client("admin"), studio.client("ann")
    headers = {"X-CSRF-Token": csrf_of(rater)}
    for big in (2**31, 2**63, 2**80):
        assert rater.get(f"/api/tasks/{big}").status_code == 404
        assert rater.get(f"/task/{big}").status_code == 404
        put = rater.put(f"/api/tasks/{big}/draft", json={"fields": {}}, headers=headers)
        assert put.status_code == 404
        assert admin.get(f"/api/projects/{big}/quality").status_code == 404
        assert admin.get(f"/admin/projects/{big}").status_code == 404
        assert admin.get(f"/admin/projects/{big}/agreement").status_code == 404
    assert rater.get("/api/tasks/0").status_code == 404
    assert rater.get("/api/tasks/-5").status_code == 404
    bad_timer = rater.post(
        f"/task/{assignments_of(studio, 'ann')[0]}",
        data={"csrf_token": headers["X-CSRF-Token"], "choice": "Z", "active_ms": "9" * 40},
    )
    assert bad_timer.status_code == 422


# -- headers, cookies, secrets ---------------------------------------------------------------


def test_pages_carry_security_headers_and_no_inline_script(shared_studio: Studio) -> None:
    studio = shared_studio
    rater, admin = studio.client("ann"), studio.client("admin")
    aid = assignments_of(studio, "ann")[0]
    pages = {
        "/login": studio.client().get("/login"),
        "/": rater.get("/"),
        "/task": rater.get(f"/task/{aid}"),
        "/admin": admin.get("/admin"),
        "/project": admin.get(f"/admin/projects/{studio.project}"),
        "/agreement": admin.get(f"/admin/projects/{studio.project}/agreement"),
        "/api/docs": studio.client().get("/api/docs"),
    }
    for name, page in pages.items():
        assert page.status_code == 200, name
        csp = page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["cache-control"] == "no-store", name
        for script in re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S):
            attributes, body = script
            assert body.strip() == "", f"inline script on {name}"
            source = re.search(r'src="([^"]+)"', attributes)
            assert source and source.group(1).startswith("/static/"), (name, attributes)
            assert studio.client().get(source.group(1)).status_code == 200
        assert not re.search(r"\son[a-z]+\s*=", page.text), f"inline handler on {name}"
    assert "/static/swagger/swagger-ui-bundle.js" in pages["/api/docs"].text
    assert "cache-control" not in studio.client().get("/static/studio.css").headers


def test_cookies_are_secure_only_when_served_over_https(sqlite_studio: Studio) -> None:
    plain = TestClient(sqlite_studio.app).get("/login").headers["set-cookie"].lower()
    assert "secure" not in plain
    app = create_app(sqlite_studio.url, https=True)
    answer = TestClient(app, base_url="https://testserver").get("/login")
    assert "; secure" in answer.headers["set-cookie"].lower()
    assert answer.headers["strict-transport-security"].startswith("max-age=")
    app.state.store.close()


def test_weak_secrets_are_refused_and_a_generated_one_is_kept(
    sqlite_studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = sqlite_studio.url
    for weak in ("test-secret", "a" * 64, "password" * 5):
        with pytest.raises(PalateError, match=SECRET_ENV):
            create_app(url, secret_key=weak)
        monkeypatch.setenv(SECRET_ENV, weak)
        with pytest.raises(PalateError, match="too weak"):
            create_app(url)
    monkeypatch.delenv(SECRET_ENV)
    kept = session_secret(sqlite_studio.store, None)
    assert len(kept) >= 32 and session_secret(sqlite_studio.store, None) == kept
    # A restart (a new app on the same store) keeps everyone logged in.
    before = sqlite_studio.client("ann")
    restarted = create_app(url)
    after = TestClient(restarted)
    after.cookies.set("palate_session", before.cookies["palate_session"])
    assert after.get("/api/me").json()["name"] == "ann"
    restarted.state.store.close()


def test_serve_refuses_a_weak_secret_with_a_clear_message(
    sqlite_studio: Studio, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(SECRET_ENV, "short")
    code, out, err = run_cli(capsys, "serve", "--db", sqlite_studio.url)
    assert code == 1
    assert "too weak" in out + err and "Traceback" not in out + err


# -- names, passwords, plots -------------------------------------------------------------------


def test_user_names_are_normalised_and_unique_without_case(shared_studio: Studio) -> None:
    studio = shared_studio.store
    for same in ("ANN", "Ann", "\uff41\uff4e\uff4e"):  # full-width "ann"
        with pytest.raises(AlreadyExists):
            studio.add_user(same, "rater", "hash")
    for bad in ("an\u200bn", "ann\u202e", "a b", "tab\tname", "", "x" * 101):
        with pytest.raises(InputError, match="user name"):
            add_user(studio, bad, "rater", NEW_PASSWORD)
    client = shared_studio.client()
    assert (
        client.post("/api/login", json={"name": "ANN", "password": PASSWORD}).json()["name"]
        == "ann"
    )


def test_password_policy_refuses_short_and_common_passwords() -> None:
    for weak in ("short", "password123", "qwertyuiop", "aaaaaaaaaaaaaa", "dragon12345"):
        with pytest.raises(InputError):
            check_password(weak)
    with pytest.raises(InputError):
        check_password("frederick2024", "frederick")  # the user's own name
    check_password(NEW_PASSWORD)
    check_password("y" * 5 + NEW_PASSWORD * 20)  # long passphrases are fine


def test_rater_names_are_never_parsed_as_mathtext() -> None:
    names = ["$\\frac{1}{$", "$^$", "a_b$c"]
    report = Quality(
        raters=[
            RaterQuality(
                rater=n,
                submitted=3,
                gold=1,
                gold_accuracy=0.5,
                agreement=0.5,
                pairs=2,
                median_seconds=4.0,
            )
            for n in names
        ],
        pairs=[PairRow(rater_a=names[0], rater_b=names[1], items=2, agreement=0.5, kappa=None)],
        alpha=None,
        submissions=9,
    )
    drawn = plots(report)
    assert set(drawn) == {"agreement", "gold", "speed"} and all(
        len(p) > 100 for p in drawn.values()
    )


# -- several server processes on one store ---------------------------------------------------


def test_two_servers_on_one_store_share_sessions_drafts_and_logout(shared_studio: Studio) -> None:
    """Two apps on one store stand for two worker processes behind one address (or a server
    before and after a restart): a session and a draft made on one are there on the other,
    and logging out on one ends the session on both."""
    first = shared_studio.client()
    headers = _api_login(first, "bob")
    second_app = create_app(shared_studio.url)
    second = TestClient(second_app)
    second.cookies.set("palate_session", first.cookies["palate_session"])
    aid = assignments_of(shared_studio, "bob")[-1]
    saved = first.put(
        f"/api/tasks/{aid}/draft",
        json={"fields": {"critique": "half-written"}, "active_ms": 4200},
        headers=headers,
    )
    assert saved.status_code == 200
    view = second.get(f"/api/tasks/{aid}").json()
    assert view["draft"] == {"critique": "half-written"} and view["active_ms"] == 4200
    assert second.get("/api/me").json()["csrf_token"] == headers["X-CSRF-Token"]
    assert second.post("/api/logout", headers=headers).status_code == 200
    assert first.get("/api/me").status_code == 401
    second_app.state.store.close()
