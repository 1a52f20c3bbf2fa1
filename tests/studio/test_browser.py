"""End to end in a real browser: Playwright drives Debian's /usr/bin/chromium against
``palate serve`` running in a subprocess (one browser and one server for the module)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.studio.conftest import PASSWORD, Studio, assignments_of, make_studio
from tests.studio.serving import chromium_path, serving

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def chromium() -> Path:
    return chromium_path()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Studio, str]]:
    tmp = tmp_path_factory.mktemp("browser")
    studio = make_studio(f"sqlite:///{tmp / 'studio.db'}", tmp, n_items=15)
    try:
        with serving(studio.url) as base:
            yield studio, base
    finally:
        studio.store.store.close()


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(chromium), headless=True)
        yield launched
        launched.close()


def _login(page: object, base: str, name: str) -> None:
    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.fill("input[name=name]", name)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


def test_rater_judges_ten_tasks_by_mouse_and_keyboard(
    browser: object, served: tuple[Studio, str]
) -> None:
    from playwright.sync_api import expect

    studio, base = served
    page = browser.new_page()  # type: ignore[attr-defined]
    _login(page, base, "ann")
    page.click("text=Start judging")
    mine = assignments_of(studio, "ann")
    assert len(mine) >= 10
    expected: dict[int, str] = {}
    for n in range(10):
        page.wait_for_selector("form#judge")
        aid = int(page.get_attribute("form#judge", "data-assignment"))
        assert "model-secret" not in page.content()
        if n < 5:  # by mouse
            page.click("#choice-A")
            page.click("#strength-3")
            page.select_option("select[aria-label='imagery A']", index=1)
            page.fill("#critique", f"mouse {n}")
            page.click("#submit")
            expected[aid] = "A"
        elif n == 5:  # by keyboard, reloading half-way: the draft survives
            page.keyboard.press("b")
            page.keyboard.press("1")
            page.keyboard.press("c")
            page.keyboard.type("half-way thought")
            page.keyboard.press("Escape")
            expect(page.locator("#draft-status")).to_have_text("Draft saved", timeout=5000)
            page.reload()
            expect(page.locator("#choice-B")).to_be_checked()
            expect(page.locator("#strength-1")).to_be_checked()
            expect(page.locator("#critique")).to_have_value("half-way thought")
            page.keyboard.press("Enter")
            expected[aid] = "B"
        else:  # keyboard only
            key = "t" if n % 2 else "a"
            page.keyboard.press(key)
            page.keyboard.press("Control+Enter")
            expected[aid] = {"t": "tie", "a": "A"}[key]
        page.wait_for_url(lambda url, aid=aid: not url.split("?")[0].endswith(f"/task/{aid}"))
        if "/after" in page.url:  # a gold item: the calibration feedback comes first
            assert page.locator("#gold-feedback").count() == 1
            page.click("#next")
    rows = {s.task_id: s for s in studio.store.submissions(studio.project) if s.user == "ann"}
    assert len(rows) == 10
    for aid, choice in expected.items():
        row = studio.store.assignment(aid)
        assert row is not None and row.done
        got = rows[row.task_id]
        if choice == "tie":
            assert got.tie
        else:
            shown_first = 1 if row.swap else 0
            assert got.winner == (shown_first if choice == "A" else 1 - shown_first)
    halfway = [r for r in rows.values() if r.critique == "half-way thought"]
    assert len(halfway) == 1 and halfway[0].strength == pytest.approx(
        1.5 + (1 / 6) * (1 if halfway[0].winner == 1 else -1)
    )
    assert all(r.time_spent_s > 0 for r in rows.values())
    page.click("#logout")
    page.wait_for_url(f"{base}/login")
    page.goto(f"{base}/")
    assert page.url == f"{base}/login"
    page.close()


def test_admin_creates_a_project_and_sees_agreement(
    browser: object, served: tuple[Studio, str]
) -> None:
    studio, base = served
    page = browser.new_page()  # type: ignore[attr-defined]
    _login(page, base, "admin")
    page.wait_for_url(f"{base}/admin")
    page.fill("#new-project input[name=name]", "second-round")
    page.select_option("#new-project select[name=dataset]", "poems")
    page.select_option("#new-project select[name=rubric]", studio.rubric)
    page.fill("#new-project input[name=overlap]", "3")
    page.click("#new-project button[type=submit]")
    page.wait_for_url("**/admin/projects/*")
    assert "second-round" in page.content()
    created = [p for p in studio.store.projects() if p.name == "second-round"]
    assert len(created) == 1 and created[0].overlap == 3 and created[0].rubric == studio.rubric
    page.goto(f"{base}/admin/projects/{studio.project}")
    page.click("text=Agreement dashboard")
    page.wait_for_selector("h1:has-text('Agreement')")
    assert page.locator("#plot-agreement").count() == 1
    page.close()
