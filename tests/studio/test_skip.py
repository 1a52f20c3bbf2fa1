"""Skipping or flagging a task with a reason: the task leaves the queue without an answer,
the draft goes, admins see the note, and a skipped task cannot also be answered."""

from __future__ import annotations

from tests.studio.conftest import Studio, assignments_of, csrf_of


def test_skip_and_flag_leave_the_queue_and_reach_the_admins(shared_studio: Studio) -> None:
    studio = shared_studio
    rater = studio.client("ann")
    token = csrf_of(rater)
    headers = {"X-CSRF-Token": token}
    first, second, third = assignments_of(studio, "ann")[-3:]
    before = studio.store.submission_count()
    rater.put(f"/api/tasks/{first}/draft", json={"fields": {"critique": "x"}}, headers=headers)

    no_note = rater.post(f"/api/tasks/{first}/skip", json={"reason": "unsure"}, headers=headers)
    assert no_note.status_code == 422 and "note" in no_note.text
    wrong = rater.post(
        f"/api/tasks/{first}/skip", json={"reason": "bored", "note": "n"}, headers=headers
    )
    assert wrong.status_code == 422 and "reason" in wrong.text
    skipped = rater.post(
        f"/api/tasks/{first}/skip",
        json={"reason": "unsure", "note": "I do not know Finnish poetry"},
        headers=headers,
    )
    assert skipped.status_code == 201
    assert studio.store.draft(first) is None
    again = rater.post(
        f"/api/tasks/{first}/skip", json={"reason": "unsure", "note": "again"}, headers=headers
    )
    assert again.status_code == 409
    answer = rater.post(f"/api/tasks/{first}/submission", json={"choice": "A"}, headers=headers)
    assert answer.status_code == 409

    # Through the task page's form: an empty note is refused on the page, a full one skips.
    page = rater.post(f"/task/{second}/skip", data={"csrf_token": token, "reason": "problem"})
    assert page.status_code == 422 and "note" in page.text
    flagged = rater.post(
        f"/task/{second}/skip",
        data={"csrf_token": token, "reason": "problem", "note": "Response B is cut off"},
    )
    assert flagged.status_code == 303
    assert _closed(studio, first) and _closed(studio, second) and not _closed(studio, third)
    assert studio.store.submission_count() == before

    # Another rater cannot skip ann's task; admins see both notes, raters cannot.
    bob = studio.client("bob")
    foreign = bob.post(
        f"/api/tasks/{third}/skip",
        json={"reason": "unsure", "note": "n"},
        headers={"X-CSRF-Token": csrf_of(bob)},
    )
    assert foreign.status_code == 404
    assert rater.get(f"/api/projects/{studio.project}/skips").status_code == 403
    admin = studio.client("admin")
    listed = admin.get(f"/api/projects/{studio.project}/skips").json()
    mine = [(k["reason"], k["note"]) for k in listed if k["rater"] == "ann"]
    assert ("unsure", "I do not know Finnish poetry") in mine
    assert ("problem", "Response B is cut off") in mine
    assert "Response B is cut off" in admin.get(f"/admin/projects/{studio.project}").text


def _closed(studio: Studio, assignment_id: int) -> bool:
    found = studio.store.assignment(assignment_id)
    assert found is not None
    return found.done
