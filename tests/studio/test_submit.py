"""Answering tasks: bad input is refused with a clear message and stores nothing, a
submission is stored exactly once (also under concurrent double submission), drafts survive,
and exports, escalations, assignment and quality figures are right."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from palate.ledger import Ledger
from palate.schema import Comparison, Rating
from palate.store.studio_tables import studio_assignments, studio_tasks
from palate.studio.quality import quality
from tests.studio.conftest import MODELS, Studio, assignments_of, csrf_of


def _api(studio: Studio, name: str) -> tuple[object, dict[str, str]]:
    client = studio.client(name)
    return client, {"X-CSRF-Token": csrf_of(client)}


def test_bad_input_gets_a_clear_message_and_stores_nothing(shared_studio: Studio) -> None:
    studio = shared_studio
    client = studio.client("cat")
    headers = {"X-CSRF-Token": csrf_of(client)}
    aid = assignments_of(studio, "cat")[0]
    dim = client.get(f"/api/tasks/{aid}").json()["dimensions"]
    name, values = next(iter(dim.items()))
    before = studio.store.submission_count()
    cases = [
        ({"choice": "A", "critique": "x" * 5001}, "critique", "5000"),
        ({"choice": "A", "scores": {name: {"A": max(values) + 1}}}, "scores", "not on its scale"),
        ({"choice": "A", "scores": {"nonsense": {"A": 1}}}, "scores", "unknown dimension"),
        ({"choice": "A", "error_tags": ["no-such-tag"]}, "error_tags", "unknown error tags"),
        ({"choice": "C"}, "choice", ""),
        ({"choice": "A", "strength": 9}, "strength", ""),
    ]
    url = f"/api/tasks/{aid}/submission"
    for body, field, text in cases:
        answer = client.post(url, json=body, headers=headers)
        assert answer.status_code == 422, body
        assert field in answer.text and text in answer.text, answer.text
    unknown = client.post("/api/tasks/999999/submission", json={"choice": "A"}, headers=headers)
    assert unknown.status_code == 404 and "no task 999999" in unknown.json()["detail"]
    assert client.get("/task/999999").status_code == 404

    # The same through the form: the page says what is wrong and keeps what was typed.
    token = headers["X-CSRF-Token"]
    form = {"csrf_token": token, "choice": "B", "critique": "y" * 5001}
    page = client.post(f"/task/{aid}", data=form)
    assert page.status_code == 422 and "critique" in page.text and "5000" in page.text
    assert "y" * 100 in page.text
    form = {"csrf_token": token, "choice": "B", f"score:{name}:A": str(max(values) + 5)}
    page = client.post(f"/task/{aid}", data=form)
    assert page.status_code == 422 and "not on its scale" in page.text
    assert studio.store.submission_count() == before

    # A good answer, then the same again: stored once, the repeat told so.
    first = client.post(url, json={"choice": "tie"}, headers=headers)
    assert first.status_code == 201
    again = client.post(url, json={"choice": "A"}, headers=headers)
    assert again.status_code == 409 and "already submitted" in again.json()["detail"]
    page = client.post(f"/task/{aid}", data={"csrf_token": token, "choice": "A"})
    assert page.status_code == 409 and "already submitted" in page.text
    assert studio.store.submission_count() == before + 1
    stored = [
        s for s in studio.store.submissions(studio.project) if s.task_id == first_task(studio, aid)
    ]
    assert len(stored) == 1 and stored[0].tie


def first_task(studio: Studio, aid: int) -> int:
    row = studio.store.assignment(aid)
    assert row is not None
    return row.task_id


def test_concurrent_double_submission_is_stored_once(studio: Studio) -> None:
    client = studio.client("ann")
    headers = {"X-CSRF-Token": csrf_of(client)}
    aid = assignments_of(studio, "ann")[0]
    url = f"/api/tasks/{aid}/submission"
    with ThreadPoolExecutor(8) as pool:
        codes = list(
            pool.map(
                lambda _: client.post(url, json={"choice": "B"}, headers=headers).status_code,
                range(8),
            )
        )
    assert Counter(codes) == {201: 1, 409: 7}
    assert studio.store.submission_count(studio.project) == 1


def test_draft_survives_and_is_dropped_on_submit(shared_studio: Studio) -> None:
    studio = shared_studio
    client = studio.client("bob")
    headers = {"X-CSRF-Token": csrf_of(client)}
    aid = assignments_of(studio, "bob")[-1]
    fields = {"choice": "B", "critique": "half a thought", "strength": "3"}
    saved = client.put(
        f"/api/tasks/{aid}/draft", json={"fields": fields, "active_ms": 4000}, headers=headers
    )
    assert saved.json() == {"saved": True}
    view = client.get(f"/api/tasks/{aid}").json()
    assert view["draft"] == fields and view["active_ms"] == 4000
    page = client.get(f"/task/{aid}").text
    assert "half a thought" in page and 'value="B" id="choice-B" checked' in page
    too_big = client.put(
        f"/api/tasks/{aid}/draft", json={"fields": {"critique": "z" * 7000}}, headers=headers
    )
    assert too_big.status_code == 422
    assert client.get(f"/api/tasks/{aid}").json()["draft"] == fields
    done = client.post(
        f"/api/tasks/{aid}/submission", json={"choice": "B", "active_ms": 10**9}, headers=headers
    )
    assert done.status_code == 201
    assert studio.store.draft(aid) is None
    late = client.put(f"/api/tasks/{aid}/draft", json={"fields": fields}, headers=headers)
    assert late.json() == {"saved": False}
    row = next(
        s for s in studio.store.submissions(studio.project) if s.id == done.json()["submission_id"]
    )
    # The browser claimed 10^9 ms; time spent is capped by the wall time since first view.
    assert 0 <= row.time_spent_s < 60


def test_assignment_overlap_gold_order_and_presentation(shared_studio: Studio) -> None:
    studio = shared_studio
    a, t = studio_assignments.c, studio_tasks.c
    query = (
        select(t.id, t.gold, a.user_id, a.position, a.swap)
        .select_from(studio_assignments.join(studio_tasks))
        .where(t.project_id == studio.project)
    )
    with studio.store.engine.connect() as conn:
        rows = conn.execute(query).all()
    per_task = Counter(r[0] for r in rows)
    gold = {r[0] for r in rows if r[1] is not None}
    raters = {r[2] for r in rows}
    assert len(raters) == 3 and len(gold) == 2
    for task, n in per_task.items():
        assert n == (3 if task in gold else 2)
    loads = Counter(r[2] for r in rows)
    assert max(loads.values()) - min(loads.values()) <= 1  # balanced
    orders = {u: [r[0] for r in sorted(rows, key=lambda r: r[3]) if r[2] == u] for u in raters}
    assert len({tuple(o) for o in orders.values()}) == 3  # each rater has an order of their own
    assert {r[4] for r in rows} == {True, False}  # both presentation orders occur


def test_choice_maps_back_to_data_order_and_exports_records(studio: Studio) -> None:
    client = studio.client("ann")
    headers = {"X-CSRF-Token": csrf_of(client)}
    view_of = {}
    for aid in assignments_of(studio, "ann"):
        view = client.get(f"/api/tasks/{aid}").json()
        view_of[aid] = view
        dims = view["dimensions"]
        body = {
            "choice": "A",
            "strength": 3,
            "scores": {name: {"A": max(v), "B": min(v)} for name, v in list(dims.items())[:1]},
            "critique": "A sings.",
            "error_tags": view["error_tags"][:1],
        }
        assert (
            client.post(f"/api/tasks/{aid}/submission", json=body, headers=headers).status_code
            == 201
        )
    admin = studio.client("admin")
    admin_headers = {"X-CSRF-Token": csrf_of(admin)}
    url = f"/api/projects/{studio.project}/export"
    added = admin.post(url, json={"dataset": "judged"}, headers=admin_headers).json()["records"]
    records = list(studio.store.store.iter_records("judged"))
    comparisons = [r for r in records if isinstance(r, Comparison)]
    ratings = [r for r in records if isinstance(r, Rating)]
    assert added == len(records) == len(comparisons) * 3
    for c in comparisons:
        assert c.judge.kind == "human" and c.judge.name == "ann"
        assert [r.model for r in c.responses] == list(MODELS)
        # "A" was whichever response was shown first: data index presentation_order[0].
        assert c.presentation_order is not None
        assert c.winner == c.presentation_order[0]
        assert c.strength == (1.0 if c.winner == 0 else 2.0)
        assert c.rationale == "A sings." and len(c.error_tags) == 1 and c.rubric == studio.rubric
    for r in ratings:
        assert r.rater.name == "ann" and r.response is not None and r.score is not None
    top = [r for r in ratings if r.score == max(x.score or 0 for x in ratings)]
    comparison_of = {c.prompt.key: c for c in comparisons}
    for r in top:  # the top score went to the chosen (first shown) response
        c = comparison_of[r.item]
        assert r.response == c.responses[c.winner or 0]
    again = admin.post(url, json={"dataset": "judged"}, headers=admin_headers).json()
    assert again["records"] == 0  # idempotent
    exports = [
        e.record
        for e in Ledger(studio.store.store).entries()
        if e.record.get("activity") == "studio-export"
    ]
    assert len(exports) == 2 and "judged" in json.dumps(exports[0]["generated"])


def test_escalations_go_to_the_front_of_least_loaded_queues(shared_studio: Studio) -> None:
    studio = shared_studio
    admin = studio.client("admin")
    headers = {"X-CSRF-Token": csrf_of(admin)}
    item = {
        "prompt": "Escalated: which poem?",
        "responses": [
            {"model": "judge-unsure-1", "text": "one"},
            {"model": "judge-unsure-2", "text": "two"},
        ],
    }
    made = admin.post(f"/api/projects/{studio.project}/queue", json=[item], headers=headers)
    assert made.status_code == 201
    task = made.json()["tasks"][0]
    owners = []
    for name in ("ann", "bob", "cat"):
        client = studio.client(name)
        aid = client.get("/api/tasks/next").json()["assignment_id"]
        view = client.get(f"/api/tasks/{aid}").json()
        if view["prompt"] == "Escalated: which poem?":
            owners.append(name)
            assert "judge-unsure" not in json.dumps(view)
    assert len(owners) == 2  # the project's overlap
    bad = admin.post(
        f"/api/projects/{studio.project}/queue", json=[{"prompt": "x"}], headers=headers
    )
    assert bad.status_code == 422
    assert task > 0


def test_quality_figures_match_a_hand_count(studio: Studio) -> None:
    # ann answers every gold item right ("0" or "1" as the gold says); bob always picks data
    # response 0; agreement between them is then the share of shared tasks where ann's answer
    # (always the gold answer, or response 1 elsewhere) equals 0.
    for name in ("ann", "bob"):
        client = studio.client(name)
        headers = {"X-CSRF-Token": csrf_of(client)}
        for aid in assignments_of(studio, name):
            row = studio.store.assignment(aid)
            assert row is not None
            with studio.store.engine.connect() as conn:
                gold = conn.execute(
                    select(studio_tasks.c.gold).where(studio_tasks.c.id == row.task_id)
                ).scalar()
            want = int(gold) if name == "ann" and gold is not None else (1 if name == "ann" else 0)
            shown = "A" if (want == 0) != row.swap else "B"
            client.post(f"/api/tasks/{aid}/submission", json={"choice": shown}, headers=headers)
    rows = studio.store.submissions(studio.project)
    report = quality(rows)
    by = {r.rater: r for r in report.raters}
    assert by["ann"].gold_accuracy == 1.0
    gold_rows = [r for r in rows if r.user == "bob" and r.gold is not None]
    assert by["bob"].gold_accuracy == sum(r.gold == "0" for r in gold_rows) / len(gold_rows)
    ann = {r.task_id: r.winner for r in rows if r.user == "ann"}
    bob = {r.task_id: r.winner for r in rows if r.user == "bob"}
    shared = sorted(set(ann) & set(bob))
    expected = sum(ann[t] == bob[t] for t in shared) / len(shared)
    pair = next(p for p in report.pairs if {p.rater_a, p.rater_b} == {"ann", "bob"})
    assert pair.items == len(shared) and abs(pair.agreement - expected) < 1e-12
    admin = studio.client("admin")
    api = admin.get(f"/api/projects/{studio.project}/quality").json()
    assert api["raters"][0]["rater"] == "ann" and api["raters"][0]["gold_accuracy"] == 1.0
    page = admin.get(f"/admin/projects/{studio.project}/agreement")
    assert page.status_code == 200 and page.text.count("data:image/png;base64,") == 3
