from conftest import Client


def test_health_and_plans(client: Client) -> None:
    assert client.request("GET", "/health") == (200, {"ok": True})
    status, plans = client.request("GET", "/plans")
    assert status == 200 and [p["name"] for p in plans] == ["free", "pro", "team"]


def test_signup_gives_a_working_token(client: Client) -> None:
    token = client.signup("ada@example.com")
    status, me = client.request("GET", "/me", token=token)
    assert status == 200 and me["email"] == "ada@example.com" and me["plan"] == "pro"


def test_bad_signups_and_tokens_are_refused(client: Client) -> None:
    assert client.request("POST", "/signup", {"email": "nope"})[0] == 400
    assert client.request("POST", "/signup", {"email": "a@b.co", "plan": "gold"})[0] == 400
    client.signup("a@b.co")
    assert client.request("POST", "/signup", {"email": "A@b.co"})[0] == 409
    assert client.request("GET", "/me")[0] == 401
    assert client.request("GET", "/me", token="1.forged")[0] == 401


def test_free_plan_limits_workspaces(client: Client) -> None:
    token = client.signup("f@example.com", plan="free")
    client.workspace(token)
    assert client.request("POST", "/workspaces", {"name": "two"}, token)[0] == 402
    assert client.request("PUT", "/me/plan", {"plan": "pro"}, token)[0] == 200
    client.workspace(token, "two")
