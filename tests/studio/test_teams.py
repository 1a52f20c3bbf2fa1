"""Expert-team features through the real app on SQLite and PostgreSQL: qualification blocks
real tasks until passed, calibration feedback and the AI judge's verdict appear only after
answering, answers can be revised within the window, admins review, adjudicators settle
disagreements (stored with provenance and exported), and ranking and rubric tasks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, insert, select

from palate.schema import Comparison, Rating
from palate.store import Store, migrate
from palate.store.studio import StudioStore
from palate.store.studio_tables import (
    studio_assignments,
    studio_projects,
    studio_submissions,
    studio_tasks,
    studio_users,
)
from palate.studio.content import diff, markdown
from palate.studio.projects import export_project
from tests.studio.conftest import csrf_of
from tests.studio.teams import Team, answer_qualification, api_headers, disagree, make_team


@pytest.fixture
def team(store_url: str, tmp_path: Path) -> Iterator[Team]:
    made = make_team(store_url, tmp_path)
    yield made
    made.studio.store.store.close()


def test_qualification_gates_real_tasks_and_calibration_explains(team: Team) -> None:
    owner = team.studio.store
    ann, bob = team.studio.client("ann"), team.studio.client("bob")
    ann_id = owner.user_by_name("ann").id  # type: ignore[union-attr]
    first = owner.next_assignment(ann_id, team.qualify)
    assert first is not None and owner.assignment(first).source == "qualify"  # type: ignore[union-attr]
    # Any real task of ann's is refused before she qualifies, by page and API alike.
    a, t = studio_assignments.c, studio_tasks.c
    with owner.engine.connect() as conn:
        real = [
            int(i)
            for i in conn.execute(
                select(a.id)
                .select_from(studio_assignments.join(studio_tasks))
                .where(a.user_id == ann_id, t.project_id == team.qualify, t.source != "qualify")
            ).scalars()
        ]
    assert real
    assert ann.get(f"/task/{real[0]}").status_code == 403
    refused = ann.post(
        f"/api/tasks/{real[0]}/submission", json={"choice": "A"}, headers=api_headers(ann)
    )
    assert refused.status_code == 403 and "qualification" in refused.json()["detail"]

    answer_qualification(team, ann, "ann", right=True)
    answer_qualification(team, bob, "bob", right=False)
    assert ann.get(f"/task/{real[0]}").status_code == 200
    page = bob.get(f"/next?project={team.qualify}", follow_redirects=True)
    assert page.status_code == 403 and "0 of 2 qualification items right" in page.text
    # Having seen the gold answers, bob may not revise his way through (the window is open).
    bob_id = owner.user_by_name("bob").id  # type: ignore[union-attr]
    first_gold = owner.qualification(bob_id, team.qualify)[0][0]
    retry = bob.put(f"/api/tasks/{first_gold}/submission", json={"choice": "A"},
                    headers=api_headers(bob))  # fmt: skip
    assert retry.status_code == 409
    assert 'id="revise"' not in bob.get(f"/task/{first_gold}/after").text


def test_ai_verdict_only_after_answering_and_revision_window(team: Team) -> None:
    owner = team.studio.store
    ann = team.studio.client("ann")
    answer_qualification(team, ann, "ann", right=True)
    aid = owner.next_assignment(owner.user_by_name("ann").id, team.qualify)  # type: ignore[union-attr]
    assert aid is not None
    before = ann.get(f"/task/{aid}")
    assert before.status_code == 200 and "judge-gpt" not in before.text
    assert "B rhymes" not in ann.get(f"/api/tasks/{aid}").text
    token = csrf_of(ann)
    sent = ann.post(f"/task/{aid}", data={"csrf_token": token, "choice": "A", "critique": "x"})
    assert sent.status_code == 303 and sent.headers["location"].startswith(f"/task/{aid}/after")
    after = ann.get(f"/task/{aid}/after")
    assert "judge-gpt" in after.text and "B rhymes" in after.text and 'id="revise"' in after.text
    # Revise within the window: the page comes back filled in, and the new answer replaces it.
    again = ann.get(f"/task/{aid}")
    assert again.status_code == 200 and 'id="revising"' in again.text
    revised = ann.post(f"/task/{aid}", data={"csrf_token": token, "choice": "tie"})
    assert revised.status_code == 303
    sub = owner.submission_of(aid)
    assert sub is not None and sub.tie and sub.revised_at is not None
    records = export_project(owner, team.qualify, "out", "test")
    assert records >= 1
    exported = [r for r in owner.store.iter_records("out") if isinstance(r, Comparison)]
    assert any(r.metadata.get("ai_judge", {}).get("judge") == "judge-gpt" for r in exported)


def test_adjudicator_settles_a_disagreement_with_provenance(team: Team) -> None:
    owner = team.studio.store
    task, subs = disagree(team)
    admin = team.studio.client("admin")
    project_page = admin.get(f"/admin/projects/{team.qualify}")
    assert f"/admin/projects/{team.qualify}/items/{task}" in project_page.text
    item = admin.get(f"/admin/projects/{team.qualify}/items/{task}")
    assert "ann says" in item.text and "bob says" in item.text
    ann_id = owner.user_by_name("ann").id  # type: ignore[union-attr]
    drill = admin.get(f"/admin/projects/{team.qualify}/raters/{ann_id}")
    assert drill.status_code == 200 and "against" in drill.text and "right" in drill.text

    ann = team.studio.client("ann")
    assert ann.get("/adjudicate").status_code == 403  # raters may not adjudicate
    judy = team.studio.client("judy")
    listing = judy.get("/adjudicate")
    assert f"/adjudicate/{team.qualify}/{task}" in listing.text
    token = csrf_of(judy)
    wrong = judy.post(
        f"/adjudicate/{team.qualify}/{task}",
        data={"csrf_token": token, "label": "7", "rationale": "hmm"},
    )
    assert wrong.status_code == 422 and "choose one of" in wrong.text
    done = judy.post(
        f"/adjudicate/{team.qualify}/{task}",
        data={"csrf_token": token, "label": "1", "rationale": "B scans better"},
    )
    assert done.status_code == 303
    decision = owner.adjudications(team.qualify)[task]
    assert (decision.user, decision.label, sorted(decision.submissions)) == (
        "judy",
        "1",
        sorted(subs),
    )
    again = judy.post(
        f"/adjudicate/{team.qualify}/{task}",
        data={"csrf_token": token, "label": "0", "rationale": "changed my mind"},
    )
    assert again.status_code == 409
    export_project(owner, team.qualify, "settled", "test")
    settled = [
        r
        for r in owner.store.iter_records("settled")
        if isinstance(r, Comparison) and r.metadata.get("adjudication")
    ]
    assert len(settled) == 1 and settled[0].winner == 1 and settled[0].judge.name == "judy"
    assert sorted(settled[0].metadata["settles_submissions"]) == sorted(subs)


def test_reviewer_rejects_a_judgement_which_leaves_the_export(team: Team) -> None:
    owner = team.studio.store
    _task, subs = disagree(team)
    admin = team.studio.client("admin")
    queue = admin.get(f"/admin/projects/{team.qualify}/review")
    assert "ann says" in queue.text and "bob says" in queue.text
    token = csrf_of(admin)
    url = f"/admin/projects/{team.qualify}/review/{subs[1]}"
    no_reason = admin.post(url, data={"csrf_token": token, "verdict": "rejected"})
    assert no_reason.status_code == 422 and "say why" in no_reason.text
    rejected = admin.post(
        url, data={"csrf_token": token, "verdict": "rejected", "reason": "ignored the rubric"}
    )
    assert rejected.status_code == 303
    accepted = admin.post(
        f"/admin/projects/{team.qualify}/review/{subs[0]}",
        data={"csrf_token": token, "verdict": "accepted"},
    )
    assert accepted.status_code == 303
    assert "Nothing to review" in admin.get(f"/admin/projects/{team.qualify}/review").text
    rows = {s.id: s for s in owner.submissions(team.qualify)}
    assert rows[subs[1]].review == "rejected"
    assert rows[subs[1]].review_reason == "ignored the rubric"
    export_project(owner, team.qualify, "reviewed", "test")
    critiques = {
        r.rationale for r in owner.store.iter_records("reviewed") if isinstance(r, Comparison)
    }
    assert "ann says" in critiques and "bob says" not in critiques


def test_ranking_and_rubric_tasks_map_back_to_data_order(team: Team) -> None:
    owner = team.studio.store
    cat = team.studio.client("cat")
    cat_id = owner.user_by_name("cat").id  # type: ignore[union-attr]
    aid = owner.next_assignment(cat_id, team.ranking)
    assert aid is not None
    view = cat.get(f"/api/tasks/{aid}").json()
    assert view["kind"] == "ranking" and [r["label"] for r in view["responses"]] == list("ABC")
    assert "model" not in json.dumps(view["responses"])
    headers = api_headers(cat)
    bad = cat.post(f"/api/tasks/{aid}/submission", json={"ranking": ["A", "B"]}, headers=headers)
    assert bad.status_code == 422 and "rank all 3" in bad.json()["detail"]
    sent = cat.post(
        f"/api/tasks/{aid}/submission", json={"ranking": ["C", "A", "B"]}, headers=headers
    )
    assert sent.status_code == 201
    row = owner.assignment(aid)
    assert row is not None and row.shown is not None
    expected = [row.shown[2], row.shown[0], row.shown[1]]
    export_project(owner, team.ranking, "ranked-out", "test")
    (record,) = [r for r in owner.store.iter_records("ranked-out") if isinstance(r, Comparison)]
    assert record.ranking == expected and record.winner == expected[0]

    aid = owner.next_assignment(cat_id, team.rubric)
    assert aid is not None
    view = cat.get(f"/api/tasks/{aid}").json()
    assert view["kind"] == "rubric" and len(view["responses"]) == 1
    dim = next(iter(view["dimensions"]))
    assert view["levels"][dim]  # score levels are labelled
    empty = cat.post(f"/api/tasks/{aid}/submission", json={}, headers=headers)
    assert empty.status_code == 422
    top = max(view["dimensions"][dim])
    sent = cat.post(
        f"/api/tasks/{aid}/submission", json={"scores": {dim: {"A": top}}}, headers=headers
    )
    assert sent.status_code == 201
    export_project(owner, team.rubric, "scored", "test")
    out = list(owner.store.iter_records("scored"))
    assert [type(r) for r in out] == [Rating] and out[0].score == top  # type: ignore[union-attr]


def test_markdown_is_safe_and_diff_marks_changes() -> None:
    html = str(markdown("**bold** <script>alert(1)</script> [x](javascript:alert(1))"))
    assert "<strong>bold</strong>" in html and "<script>" not in html
    assert 'href="javascript:' not in html
    code = str(markdown("```python\ndef f():\n    return 1\n```"))
    assert 'class="k"' in code  # highlighted by Pygments, with classes not styles
    base = "The moon is a lamp over the sea. " * 20
    marked = str(diff(base, base.replace("lamp", "coin", 1)))
    assert "<del>lamp</del><ins>coin</ins>" in marked
    assert diff("short", "shorter") is None
    assert diff("a" * 500, "z" * 500) is None


def test_a_store_from_before_0008_reads_as_plain_pairwise(store_url: str) -> None:
    """A store at 0007 holding a project and an answer, opened by this version: the project
    reads as pairwise with no qualification or revision, and its answer is intact."""
    now = datetime.now(UTC)
    engine = create_engine(store_url)
    with engine.connect() as conn:
        command.upgrade(migrate._config(conn), "0007")
        conn.commit()
    with engine.begin() as conn:  # rows as 0007 wrote them: none of the new columns
        conn.execute(insert(studio_users).values(id=1, name="ann", name_key="ann", role="rater",
                     password_hash="x", created_at=now, disabled=False))  # fmt: skip
        conn.execute(insert(studio_projects).values(id=1, name="old", dataset="d", overlap=1,
                     seed=0, created_by=1, created_at=now))  # fmt: skip
        payload = json.dumps({"prompt": {"text": "p"}, "responses": [{"text": "a"}, {"text": "b"}]})
        conn.execute(insert(studio_tasks).values(id=1, project_id=1, item="p", payload=payload,
                     source="dataset", created_at=now))  # fmt: skip
        conn.execute(insert(studio_assignments).values(id=1, task_id=1, user_id=1, position=0,
                     swap=False, done=True))  # fmt: skip
        conn.execute(insert(studio_submissions).values(assignment_id=1, task_id=1, user_id=1,
                     winner=0, tie=False, strength=1.2, scores="{}", critique="", error_tags="[]",
                     time_spent_s=3.0, submitted_at=now))  # fmt: skip
    engine.dispose()
    owner = StudioStore(Store(store_url))  # brings it to the current schema
    project = owner.project(1)
    assert project is not None
    assert (project.kind, project.pass_mark, project.revise_s) == ("pairwise", None, 0)
    (row,) = owner.submissions(1)
    assert (row.winner, row.strength, row.review, row.ranking) == (0, 1.2, None, None)
    assert export_project(owner, 1, "after-upgrade", "test") == 1
    owner.store.close()


def test_the_api_offers_the_same_team_actions(team: Team) -> None:
    owner = team.studio.store
    task, subs = disagree(team)
    ann = team.studio.client("ann")
    ann_id = owner.user_by_name("ann").id  # type: ignore[union-attr]
    aid = next(s.assignment_id for s in owner.submissions(team.qualify) if s.id == subs[0])
    seen = ann.get(f"/api/tasks/{aid}/feedback").json()
    assert seen["ai_verdict"] in ("A", "B") and seen["revisable_until"] is not None
    revised = ann.put(
        f"/api/tasks/{aid}/submission",
        json={"choice": "tie", "critique": "ann says, again"},
        headers=api_headers(ann),
    )
    assert revised.status_code == 200 and owner.submission_of(aid).tie  # type: ignore[union-attr]
    (qualify_aid, *_rest) = [a for a, *_ in owner.qualification(ann_id, team.qualify)]
    assert ann.get(f"/api/tasks/{qualify_aid}/feedback").json()["qualified"] is True

    judy = team.studio.client("judy")
    (dispute,) = judy.get(f"/api/projects/{team.qualify}/disagreements").json()
    assert dispute["task_id"] == task and dispute["decision"] is None
    assert ann.get(f"/api/projects/{team.qualify}/disagreements").status_code == 403
    url = f"/api/projects/{team.qualify}/items/{task}/adjudication"
    body = {"label": "1", "rationale": "B scans"}
    assert judy.post(url, json=body, headers=api_headers(judy)).status_code == 201
    assert judy.post(url, json=body, headers=api_headers(judy)).status_code == 409
    assert owner.adjudications(team.qualify)[task].user == "judy"

    admin = team.studio.client("admin")
    queue = admin.get(f"/api/projects/{team.qualify}/review").json()
    assert {j["id"] for j in queue} == set(subs)
    url = f"/api/projects/{team.qualify}/review/{subs[1]}"
    no_reason = admin.post(url, json={"verdict": "rejected"}, headers=api_headers(admin))
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    rejected = admin.post(
        url, json={"verdict": "rejected", "reason": "off topic"}, headers=api_headers(admin)
    )
    assert rejected.status_code == 200
    assert (
        admin.post(url, json={"verdict": "accepted"}, headers=api_headers(admin)).status_code == 409
    )
    assert admin.post(
        f"/api/projects/{team.qualify}/review/999999", json={"verdict": "accepted"},
        headers=api_headers(admin),
    ).status_code == 404  # fmt: skip
