"""The expert-team pages in chromium against ``palate serve``: onboarding blocks a rater who
fails the qualification set, calibration shows the gold answer and its explanation, an
adjudicator settles a disagreement, a reviewer rejects a judgement, and a ranking task is
done by keyboard alone. Each page is photographed at desktop and phone width into
``$PALATE_TEST_OUTPUT`` (default ``test-output/``, ignored by git), and on a phone no page
may scroll sideways."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from palate.store.studio import StudioStore
from palate.studio.projects import ProjectIn, create_project
from tests.studio.conftest import PASSWORD
from tests.studio.serving import chromium_path, serving
from tests.studio.teams import Team, disagree, letter, make_team

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
OUTPUT = Path(os.environ.get("PALATE_TEST_OUTPUT", "test-output")) / "studio-teams"
SCRIPT_ERRORS: list[str] = []


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Team, str, int]]:
    """The team studio, plus an onboarding project for two new raters (dan and eve)."""
    tmp = tmp_path_factory.mktemp("teams-browser")
    team = make_team(f"sqlite:///{tmp / 'studio.db'}", tmp)
    owner = team.studio.store
    admin = owner.user_by_name("admin")
    assert admin is not None
    for name in ("dan", "eve"):
        owner.add_user(name, "rater", admin.password_hash)
    onboarding = create_project(
        owner,
        ProjectIn(
            name="onboarding",
            dataset="poems",
            qualification_dataset="qual",
            pass_mark=1.0,
            raters=["dan", "eve"],
            overlap=1,
        ),
        admin.id,
    )
    try:
        with serving(team.studio.url) as base:
            yield team, base, onboarding
    finally:
        team.studio.store.store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(path), headless=True)
        yield launched
        launched.close()


def _page(browser: object, base: str, name: str) -> object:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: SCRIPT_ERRORS.append(str(error)))
    page.goto(f"{base}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def shoot(page: object, name: str) -> None:
    """Screenshots at each width; on a phone, the page must not scroll sideways; no script
    may have failed on any page so far."""
    assert not SCRIPT_ERRORS
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})  # type: ignore[attr-defined]
        path = OUTPUT / f"{name}-{size}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        assert path.stat().st_size > 1000
        if size == "phone":
            wide = page.evaluate(  # type: ignore[attr-defined]
                "document.documentElement.scrollWidth - window.innerWidth"
            )
            assert wide <= 1, f"{name} scrolls sideways on a phone by {wide}px"
    page.set_viewport_size({"width": 1280, "height": 800})  # type: ignore[attr-defined]


def _answer_gold(page: object, owner: StudioStore, *, right: bool) -> int:
    aid = int(page.get_attribute("form#judge", "data-assignment"))  # type: ignore[attr-defined]
    row = owner.assignment(aid)
    assert row is not None and row.gold in ("0", "1")
    wanted = row.gold if right else str(1 - int(row.gold))
    page.click(f"#choice-{letter(owner, aid, wanted)}")  # type: ignore[attr-defined]
    page.click("#submit")  # type: ignore[attr-defined]
    page.wait_for_url(f"**/task/{aid}/after**")  # type: ignore[attr-defined]
    return aid


def test_onboarding_blocks_a_failed_rater_and_calibration_explains(
    browser: object, served: tuple[Team, str, int]
) -> None:
    from playwright.sync_api import expect

    team, base, onboarding = served
    owner = team.studio.store
    eve = _page(browser, base, "eve")
    shoot(eve, "home")
    eve.goto(f"{base}/next?project={onboarding}")  # type: ignore[attr-defined]
    eve.wait_for_selector("form#judge")  # type: ignore[attr-defined]
    assert "calibration item" in eve.content()  # type: ignore[attr-defined]
    shoot(eve, "task-qualification")
    for n in range(2):
        _answer_gold(eve, owner, right=True)
        expect(eve.locator("#gold-feedback")).to_contain_text("keeps the metre")  # type: ignore[attr-defined]
        if n == 0:
            shoot(eve, "calibration-feedback")
        eve.click("#next")  # type: ignore[attr-defined]
    eve.wait_for_selector("form#judge")  # type: ignore[attr-defined]
    aid = int(eve.get_attribute("form#judge", "data-assignment"))  # type: ignore[attr-defined]
    assert owner.assignment(aid).source == "dataset"  # type: ignore[union-attr]
    eve.close()  # type: ignore[attr-defined]

    dan = _page(browser, base, "dan")
    dan.goto(f"{base}/next?project={onboarding}")  # type: ignore[attr-defined]
    for _ in range(2):
        dan.wait_for_selector("form#judge")  # type: ignore[attr-defined]
        _answer_gold(dan, owner, right=False)
        dan.click("#next")  # type: ignore[attr-defined]
    expect(dan.locator("main")).to_contain_text("0 of 2 qualification items right")  # type: ignore[attr-defined]
    shoot(dan, "not-qualified")
    dan_id = owner.user_by_name("dan").id  # type: ignore[union-attr]
    real = owner.next_assignment(dan_id, onboarding)
    assert real is not None
    response = dan.goto(f"{base}/task/{real}")  # type: ignore[attr-defined]
    assert response.status == 403 and "form#judge" not in dan.content()  # type: ignore[attr-defined]
    assert not [
        s for s in owner.submissions(onboarding) if s.user == "dan" and s.source == "dataset"
    ]
    dan.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def disputed(served: tuple[Team, str, int]) -> tuple[int, list[int]]:
    return disagree(served[0])


def test_adjudicator_resolves_a_disagreement(
    browser: object, served: tuple[Team, str, int], disputed: tuple[int, list[int]]
) -> None:
    team, base, _ = served
    task, subs = disputed
    judy = _page(browser, base, "judy")
    judy.goto(f"{base}/adjudicate")  # type: ignore[attr-defined]
    shoot(judy, "adjudication-list")
    judy.click(f"a[href='/adjudicate/{team.qualify}/{task}']")  # type: ignore[attr-defined]
    judy.wait_for_selector("form#adjudicate")  # type: ignore[attr-defined]
    shoot(judy, "adjudication-item")
    judy.check("#label-tie")  # type: ignore[attr-defined]
    judy.fill("#rationale", "Both scan equally well.")  # type: ignore[attr-defined]
    judy.click("#decide")  # type: ignore[attr-defined]
    judy.wait_for_url(f"{base}/adjudicate")  # type: ignore[attr-defined]
    decision = team.studio.store.adjudications(team.qualify)[task]
    assert (decision.user, decision.label, decision.rationale) == (
        "judy",
        "tie",
        "Both scan equally well.",
    )
    assert sorted(decision.submissions) == sorted(subs)
    judy.close()  # type: ignore[attr-defined]


def test_reviewer_rejects_a_judgement(
    browser: object, served: tuple[Team, str, int], disputed: tuple[int, list[int]]
) -> None:
    team, base, _ = served
    task, subs = disputed
    admin = _page(browser, base, "admin")
    admin.goto(f"{base}/admin/projects/{team.qualify}")  # type: ignore[attr-defined]
    shoot(admin, "project")
    admin.goto(f"{base}/admin/projects/{team.qualify}/items/{task}")  # type: ignore[attr-defined]
    shoot(admin, "item-answers")
    ann_id = team.studio.store.user_by_name("ann").id  # type: ignore[union-attr]
    admin.goto(f"{base}/admin/projects/{team.qualify}/raters/{ann_id}")  # type: ignore[attr-defined]
    shoot(admin, "rater-drilldown")
    admin.goto(f"{base}/admin/projects/{team.qualify}")  # type: ignore[attr-defined]
    admin.click("#review-link")  # type: ignore[attr-defined]
    admin.wait_for_url("**/review")  # type: ignore[attr-defined]
    shoot(admin, "review-queue")
    item = admin.locator(f"#review-{subs[1]}")  # type: ignore[attr-defined]
    item.locator("input[value=rejected]").check()
    item.locator("input[name=reason]").fill("Critique does not match the choice.")
    item.locator("button[type=submit]").click()
    admin.wait_for_selector(f"#review-{subs[0]}")  # type: ignore[attr-defined]
    assert admin.locator(f"#review-{subs[1]}").count() == 0  # type: ignore[attr-defined]
    rows = {s.id: s for s in team.studio.store.submissions(team.qualify)}
    assert rows[subs[1]].review == "rejected"
    assert rows[subs[1]].review_reason == "Critique does not match the choice."
    assert rows[subs[0]].review is None
    admin.close()  # type: ignore[attr-defined]


def test_ranking_task_completed_by_keyboard(browser: object, served: tuple[Team, str, int]) -> None:
    from playwright.sync_api import expect

    team, base, _ = served
    owner = team.studio.store
    cat = _page(browser, base, "cat")
    cat.goto(f"{base}/next?project={team.ranking}")  # type: ignore[attr-defined]
    cat.wait_for_selector("form#judge[data-kind=ranking]")  # type: ignore[attr-defined]
    aid = int(cat.get_attribute("form#judge", "data-assignment"))  # type: ignore[attr-defined]
    cat.keyboard.press("?")  # type: ignore[attr-defined]
    expect(cat.locator("#keys")).to_have_attribute("open", "")  # type: ignore[attr-defined]
    for key in ("c", "a", "a", "b"):  # a repeated letter is ignored
        cat.keyboard.press(key)  # type: ignore[attr-defined]
    expect(cat.locator("#ranking")).to_have_value("C,A,B")  # type: ignore[attr-defined]
    shoot(cat, "task-ranking")
    cat.keyboard.press("Enter")  # type: ignore[attr-defined]
    cat.wait_for_url(lambda url: f"/task/{aid}" not in url)  # type: ignore[attr-defined]
    row = owner.assignment(aid)
    sub = owner.submission_of(aid)
    assert row is not None and row.shown is not None and sub is not None and sub.ranking
    assert json.loads(sub.ranking) == [row.shown[2], row.shown[0], row.shown[1]]
    cat.goto(f"{base}/next?project={team.rubric}")  # type: ignore[attr-defined]
    cat.wait_for_selector("form#judge[data-kind=rubric]")  # type: ignore[attr-defined]
    shoot(cat, "task-rubric")
    cat.close()  # type: ignore[attr-defined]


def test_long_markdown_pair_shows_diff_code_and_controls_in_view(
    browser: object, served: tuple[Team, str, int]
) -> None:
    team, base, _ = served
    cat = _page(browser, base, "cat")
    cat.goto(f"{base}/next?project={team.long}")  # type: ignore[attr-defined]
    cat.wait_for_selector("form#judge")  # type: ignore[attr-defined]
    assert cat.locator(".response h2").count() == 2  # type: ignore[attr-defined]
    assert cat.locator(".md pre code .k").count() >= 2  # type: ignore[attr-defined]
    cat.click("#diff summary")  # type: ignore[attr-defined]
    changed = {cat.locator(f"#diff {tag}").first.inner_text() for tag in ("del", "ins")}  # type: ignore[attr-defined]
    assert changed == {"twice", "once"}
    shoot(cat, "task-long")
    for width, height in SIZES.values():
        cat.set_viewport_size({"width": width, "height": height})  # type: ignore[attr-defined]
        for scroll in (0, 10_000):
            cat.evaluate(f"window.scrollTo(0, {scroll})")  # type: ignore[attr-defined]
            box = cat.locator("#submit").bounding_box()  # type: ignore[attr-defined]
            assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height
    cat.set_viewport_size({"width": 1280, "height": 800})  # type: ignore[attr-defined]
    cat.keyboard.press("b")  # type: ignore[attr-defined]
    cat.keyboard.press("Enter")  # type: ignore[attr-defined]
    cat.wait_for_url(lambda url: "/task/" not in url)  # type: ignore[attr-defined]
    (sub,) = team.studio.store.submissions(team.long)
    assert sub.winner is not None
    cat.close()  # type: ignore[attr-defined]
