from conftest import Client


def test_note_round_trip(client: Client) -> None:
    token = client.signup("ada@example.com")
    ws = client.workspace(token)
    note = client.note(token, ws, "Plan", "ship it", tags=["work", "q3"])
    status, got = client.request("GET", f"/notes/{note['id']}", token=token)
    assert status == 200
    assert (got["title"], got["body"], got["tags"], got["version"]) == (
        "Plan",
        "ship it",
        ["work", "q3"],
        1,
    )


def test_update_bumps_version(client: Client) -> None:
    token = client.signup("ada@example.com")
    ws = client.workspace(token)
    note = client.note(token, ws, "Plan", "v1")
    status, got = client.request("PUT", f"/notes/{note['id']}", {"body": "v2"}, token)
    assert status == 200 and got["body"] == "v2" and got["version"] == 2 and got["title"] == "Plan"


def test_members_share_a_workspace_and_strangers_do_not(client: Client) -> None:
    owner = client.signup("owner@example.com")
    member = client.signup("member@example.com")
    stranger = client.signup("stranger@example.com")
    ws = client.workspace(owner)
    assert (
        client.request("POST", f"/workspaces/{ws}/members", {"email": "member@example.com"}, owner)[
            0
        ]
        == 201
    )
    note = client.note(member, ws, "From the member")
    assert client.request("GET", f"/notes?workspace_id={ws}", token=owner)[1]["total"] == 1
    assert client.request("GET", f"/notes?workspace_id={ws}", token=stranger)[0] == 404
    assert client.request("PUT", f"/notes/{note['id']}", {"body": "x"}, stranger)[0] == 404
    assert (
        client.request(
            "POST", f"/workspaces/{ws}/members", {"email": "stranger@example.com"}, member
        )[0]
        == 403
    )


def test_delete(client: Client) -> None:
    token = client.signup("ada@example.com")
    ws = client.workspace(token)
    note = client.note(token, ws, "Gone soon")
    assert client.request("DELETE", f"/notes/{note['id']}", token=token)[0] == 200
    assert client.request("GET", f"/notes/{note['id']}", token=token)[0] == 404


def test_list_sorts_by_title(client: Client) -> None:
    token = client.signup("ada@example.com")
    ws = client.workspace(token)
    for title in ("b", "c", "a"):
        client.note(token, ws, title)
    status, page = client.request(
        "GET", f"/notes?workspace_id={ws}&sort=-title&per_page=50", token=token
    )
    assert status == 200 and page["total"] == 3


def test_validation(client: Client) -> None:
    token = client.signup("ada@example.com")
    ws = client.workspace(token)
    assert client.request("POST", "/notes", {"workspace_id": ws, "title": 3}, token)[0] == 400
    assert client.request("POST", "/notes", {"workspace_id": "1", "title": "x"}, token)[0] == 400
    assert (
        client.request("POST", "/notes", {"workspace_id": ws, "title": "x", "tags": [""]}, token)[0]
        == 400
    )
    assert client.request("GET", "/notes/abc", token=token)[0] == 404
    assert client.request("PATCH", "/notes/1", token=token)[0] == 405
    assert client.request("GET", "/nowhere")[0] == 404
