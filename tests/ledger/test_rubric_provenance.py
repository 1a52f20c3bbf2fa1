"""A stored rubric is on the record: changing its text afterwards fails `ledger verify`."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from palate.rubric import example_rubric_path
from palate.store import Store
from tests.helpers import run_cli, run_json


def test_rubric_add_is_recorded_and_tampering_its_text_is_caught(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = ["--key-dir", str(tmp_path / "keys")]
    added = run_json(capsys, "rubric", "add", str(example_rubric_path("moon-poems")),
                     "--db", store_url)  # fmt: skip
    assert added["new"] is True
    verified = run_json(capsys, "ledger", "verify", *keys, "--db", store_url)
    assert verified["ok"] is True and verified["records"] == 1
    # Adding the same rubric again records nothing new.
    run_json(capsys, "rubric", "add", str(example_rubric_path("moon-poems")), "--db", store_url)
    assert run_json(capsys, "ledger", "verify", *keys, "--db", store_url)["records"] == 1

    store = Store(store_url)
    with store.engine.begin() as conn:
        body = conn.execute(text("SELECT body FROM rubrics")).scalar_one()
        edited = str(body).replace("moon", "sun", 1)
        conn.execute(text("UPDATE rubrics SET body = :b"), {"b": edited})
    store.close()
    code, _, err = run_cli(capsys, "ledger", "verify", *keys, "--db", store_url)
    assert code == 1
    assert "0" in err and "rubric" in err and "Traceback" not in err
