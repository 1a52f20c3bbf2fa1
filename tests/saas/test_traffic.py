"""The customers' and attackers' scenarios against the real product: each planted defect
shows in the shipped version, and every scenario passes once the reference fixes ship."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from palate.saas.defects import DEFECTS
from palate.saas.traffic import BLOCKED, BREACH, DOWN, ERROR, OK, SCENARIOS, SLOW, WRONG, Traffic
from palate.saas.workspace import Workspace

SHIPPED = {
    "notes": OK,
    "search": OK,
    "pages": WRONG,
    "export_unicode": ERROR,
    "unicode_tags": ERROR,
    "collab": WRONG,
    "big_list": WRONG,  # page 1 is empty until the pagination bug is fixed
    "idor": BREACH,
    "idor_export": BREACH,
    "inject_sort": BREACH,
    "inject_search": BREACH,
}


def test_scenarios_find_the_planted_defects_and_pass_once_fixed(tmp_path: Path) -> None:
    workspace = Workspace.create(tmp_path / "ws", seed=5)
    traffic = Traffic()
    try:
        assert traffic.run(SCENARIOS["notes"], 0).verdict == DOWN  # nothing deployed yet
        assert workspace.deploy().ok
        traffic.service = workspace
        seen = {name: traffic.run(scenario, 0) for name, scenario in SCENARIOS.items()}
        assert {name: o.verdict for name, o in seen.items()} == SHIPPED
        assert all(o.work > 0 for o in seen.values())
        assert "answered 500" in seen["export_unicode"].detail

        for defect in DEFECTS:
            workspace.apply_diff(defect.fix_patch)
        assert workspace.deploy().ok
        fixed = {name: traffic.run(scenario, 1).verdict for name, scenario in SCENARIOS.items()}
        assert fixed == {
            name: BLOCKED if scenario.attack else OK for name, scenario in SCENARIOS.items()
        }
    finally:
        workspace.stop()


def test_big_list_work_grows_with_data_until_the_n_plus_one_is_fixed(tmp_path: Path) -> None:
    """Slowness is counted work: the shipped listing does a query per note on the page."""
    workspace = Workspace.create(tmp_path / "ws", seed=6)
    try:
        by_id = {d.id: d for d in DEFECTS}
        workspace.apply_diff(by_id["pagination-offset"].fix_patch)
        assert workspace.deploy().ok
        traffic = Traffic()
        traffic.service = workspace
        works = [traffic.run(SCENARIOS["big_list"], day).work for day in range(6)]
        assert works[-1] >= works[1] + 6  # two more notes listed per day, a query each
        tight = replace(SCENARIOS["big_list"], work_budget=works[-1])
        assert traffic.run(tight, 6).verdict == SLOW  # the data grew again: over the budget
        workspace.apply_diff(by_id["n-plus-one"].fix_patch)
        assert workspace.deploy().ok
        assert traffic.run(tight, 7).verdict == OK
        assert traffic.run(SCENARIOS["big_list"], 8).work < works[-1] - 6
    finally:
        workspace.stop()
