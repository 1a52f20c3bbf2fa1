"""Rubric versions round-trip through the store and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from palate.errors import PalateError
from palate.rubric import example_rubric_path, load_rubric, rubric_version
from palate.store import Store
from palate.store.rubrics import (
    list_rubrics,
    load_rubric_version,
    rubric_body,
    rubric_source,
    save_rubric,
)
from tests.helpers import run_cli, run_json


def test_store_round_trip(store_url: str) -> None:
    store = Store(store_url)
    try:
        versions = {}
        for name in ("moon-poems", "helpful-answers"):
            path = example_rubric_path(name)  # type: ignore[arg-type]
            rubric = load_rubric(path)
            version = save_rubric(store, rubric, path.read_text())
            assert version == rubric_version(rubric)
            assert save_rubric(store, rubric, None) == version  # idempotent
            body = rubric_body(store, version)
            assert body is not None and hashlib.sha256(body).hexdigest() == version
            assert load_rubric_version(store, version[:8]) == rubric
            assert rubric_source(store, version) == path.read_text()  # first source kept
            versions[name] = version
        assert sorted(r.version for r in list_rubrics(store)) == sorted(versions.values())
        assert rubric_body(store, "0" * 64) is None
        firsts = {v[0] for v in versions.values()}
        unknown = next(c for c in "0123456789abcdef" if c not in firsts)
        with pytest.raises(PalateError, match="no stored rubric version"):
            load_rubric_version(store, unknown)
        with pytest.raises(PalateError, match="not a rubric version"):
            load_rubric_version(store, "moon%")
    finally:
        store.close()


def test_ambiguous_prefix(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    rubric = load_rubric(example_rubric_path("moon-poems"))
    first_digit: dict[str, str] = {}
    for i in range(100):  # 17 versions always share a first hex digit; far fewer usually do
        version = save_rubric(store, rubric.model_copy(update={"name": f"moon-{i}"}))
        if version[0] in first_digit:
            break
        first_digit[version[0]] = version
    with pytest.raises(PalateError, match="ambiguous"):
        load_rubric_version(store, version[0])
    store.close()


def test_cli_add_show_list_diff(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    path = example_rubric_path("moon-poems")
    added = run_json(capsys, "rubric", "add", str(path), "--db", store_url)
    assert added["name"] == "moon-poems" and added["new"] is True
    version = added["version"]
    assert run_json(capsys, "rubric", "add", str(path), "--db", store_url)["new"] is False

    shown = run_json(capsys, "rubric", "show", version[:10], "--db", store_url)
    copy = tmp_path / "copy.json"
    copy.write_text(json.dumps(shown))
    again = run_json(capsys, "rubric", "add", str(copy), "--db", store_url)
    assert again == {"version": version, "name": "moon-poems", "new": False}

    edited = tmp_path / "edited.yaml"
    edited.write_text(path.read_text().replace("weight: 0.75", "weight: 2"))
    diff = run_json(capsys, "rubric", "diff", version, str(edited), "--db", store_url)
    assert diff["a"] == version and diff["same"] is False
    assert diff["changes"] == [
        {"kind": "changed", "path": "dimensions[concision].weight", "before": 0.75, "after": 2.0}
    ]
    assert "-  weight: 0.75\n+  weight: 2.0" in diff["text_diff"]

    listed = run_json(capsys, "rubric", "list", "--db", store_url)
    assert [(r["version"], r["name"]) for r in listed["rubrics"]] == [(version, "moon-poems")]

    code, out, _err = run_cli(capsys, "rubric", "show", version, "--db", store_url)
    assert code == 0 and "emotional_turn" in out and version in out
    code, _out, err = run_cli(capsys, "rubric", "show", "abcdef12", "--db", store_url)
    assert code == 1 and "no stored rubric version" in err and "Traceback" not in err
