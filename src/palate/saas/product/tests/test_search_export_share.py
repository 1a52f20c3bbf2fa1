from conftest import Client


def test_search_finds_title_and_body_case_insensitively(client: Client) -> None:
    token = client.signup("ada@example.com")
    ws = client.workspace(token)
    a = client.note(token, ws, "Budget review", "numbers")
    b = client.note(token, ws, "Offsite", "discuss the BUDGET")
    client.note(token, ws, "Lunch", "pizza")
    status, found = client.request("GET", f"/search?workspace_id={ws}&q=budget", token=token)
    assert status == 200
    assert [r["id"] for r in found["results"]] == [b["id"], a["id"]]


def test_export_lists_every_note_with_its_tags(client: Client) -> None:
    token = client.signup("ada@example.com")
    ws = client.workspace(token)
    client.note(token, ws, "Weekly Plan!", "x", tags=["ops"])
    client.note(token, ws, "Notes", "y")
    status, export = client.request("GET", f"/export?workspace_id={ws}", token=token)
    assert status == 200
    assert [f["file"] for f in export["files"]] == ["weekly-plan-1.md", "notes-2.md"]
    assert export["files"][0]["tags"] == ["ops"]


def test_share_links_are_stable_and_public(client: Client) -> None:
    token = client.signup("ada@example.com")
    ws = client.workspace(token)
    note = client.note(token, ws, "Public", "hello")
    status, share = client.request("POST", "/share", {"note_id": note["id"]}, token)
    again = client.request("POST", "/share", {"note_id": note["id"]}, token)[1]
    assert status == 201 and share == again
    assert client.request("GET", share["path"]) == (
        200,
        {"title": "Public", "body": "hello", "tags": []},
    )
    assert client.request("GET", "/shared/nope")[0] == 404
