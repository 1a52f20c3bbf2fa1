"""The product's planted defects, their reference and symptom fixes, and the feature patches,
each checked over real HTTP against a deployed, contained service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from palate.saas.defects import DEFECTS, FEATURES, Defect, Probe
from palate.saas.workspace import Workspace


def _deployed(root: Path, patches: list[str]) -> Workspace:
    ws = Workspace.create(root, seed=3)
    for patch in patches:
        ws.apply_diff(patch)
    result = ws.deploy()
    assert result.ok, result.reason
    return ws


def _probe(ws: Workspace, name: str) -> Probe:
    return Probe(ws.request, name.replace("/", "-"))


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = _deployed(tmp_path_factory.mktemp("clean") / "ws", [])
    yield ws
    ws.stop()


def test_every_defect_shows_on_the_shipped_product(clean: Workspace) -> None:
    shown = {v.id: v.shows(_probe(clean, v.id)) for d in DEFECTS for v in d.variants}
    assert shown == dict.fromkeys(shown, True)
    assert clean.logs().count("UnicodeEncodeError") == 2  # the crashes are logged for the agent


def test_no_feature_works_on_the_shipped_product(clean: Workspace) -> None:
    assert not any(f.works(_probe(clean, f.id)) for f in FEATURES)


def test_catalogue_covers_what_the_issue_asks() -> None:
    kinds = [d.kind for d in DEFECTS]
    assert {"crash", "wrong-result", "lost-update", "slow"} <= set(kinds)
    assert kinds.count("security") >= 2
    assert sum(len(d.variants) > 1 for d in DEFECTS) >= 2
    assert len(FEATURES) >= 6


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.id)
def test_reference_fix_removes_every_variant(defect: Defect, tmp_path: Path) -> None:
    ws = _deployed(tmp_path / "ws", [defect.fix_patch])
    try:
        assert [v.shows(_probe(ws, v.id)) for v in defect.variants] == [False] * len(
            defect.variants
        )
    finally:
        ws.stop()


@pytest.mark.parametrize("defect", [d for d in DEFECTS if len(d.variants) > 1], ids=lambda d: d.id)
def test_symptom_patch_fixes_only_the_first_variant(defect: Defect, tmp_path: Path) -> None:
    ws = _deployed(tmp_path / "ws", [defect.symptom_patch])
    try:
        shown = [v.shows(_probe(ws, v.id)) for v in defect.variants]
        assert shown == [False] + [True] * (len(defect.variants) - 1)
    finally:
        ws.stop()


def test_all_patches_together_fix_everything_and_ship_every_feature(tmp_path: Path) -> None:
    patches = [d.fix_patch for d in DEFECTS] + [f.patch for f in FEATURES]
    ws = _deployed(tmp_path / "ws", patches)
    try:
        assert not any(v.shows(_probe(ws, v.id)) for d in DEFECTS for v in d.variants)
        assert all(f.works(_probe(ws, f.id)) for f in FEATURES)
        tests = ws.run_tests()
        assert tests.ok, tests.output
    finally:
        ws.stop()
    # the patches do not depend on their order
    reverse = Workspace.create(tmp_path / "reverse", seed=3)
    for patch in reversed(patches):
        reverse.apply_diff(patch)
    assert reverse.read("teamnotes/handlers/notes.py") == ws.read("teamnotes/handlers/notes.py")
