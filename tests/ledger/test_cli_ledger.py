"""``palate ledger ...`` and the record ``palate import`` appends, end to end."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from palate.ledger import standalone_proof
from palate.store import Store
from tests.helpers import run_cli, run_json


@pytest.fixture(autouse=True)
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PALATE_KEY_DIR", str(tmp_path / "keys"))
    return tmp_path / "keys"


def test_import_is_recorded_and_verifies(
    capsys: pytest.CaptureFixture[str], store_url: str, shared_data: Path, tmp_path: Path
) -> None:
    crowd = shared_data / "crowd/temp.csv"
    assert run_json(capsys, "import", str(crowd), "--db", store_url)["records"] == 4620
    assert run_json(capsys, "ledger", "verify", "--db", store_url) == {
        **run_json(capsys, "ledger", "verify", "--db", store_url),
        "ok": True,
        "records": 1,
        "first_bad": None,
    }
    shown = run_json(capsys, "ledger", "show", "--db", store_url)
    record = shown["entries"][0]["record"]
    assert record["activity"] == "import"
    assert record["used"][0]["hash"] == hashlib.sha256(crowd.read_bytes()).hexdigest()
    assert record["generated"][0]["id"].startswith("temp#0..")
    derived = shown["entries"][0]["prov"]["wasDerivedFrom"][0]
    assert derived["prov:usedEntity"].startswith(f"palate:file/{crowd}#")

    signed = run_json(capsys, "ledger", "checkpoint", "--db", store_url)
    assert signed["size"] == 1
    code, out, err = run_cli(capsys, "ledger", "proof", "0", "--db", store_url)
    assert code == 0, err
    proof = tmp_path / "proof.json"
    proof.write_text(out)
    # The standalone verifier runs as a plain script, with no palate on its path.
    script = Path(standalone_proof.__file__)
    checked = subprocess.run([sys.executable, "-I", str(script), str(proof)], text=True,
                             capture_output=True)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr

    with Store(store_url).engine.begin() as conn:  # a label quietly changed
        conn.execute(text("UPDATE records SET label = label || 'x' WHERE id = 10"))
    code, out, err = run_cli(capsys, "ledger", "verify", "--db", store_url, "--json")
    assert code == 1
    assert json.loads(out)["first_bad"] == "0"
    assert "record 0" in err and "column differs" in err and len(err.strip().splitlines()) == 1


def test_unknown_record_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    Store(f"sqlite:///{tmp_path}/x.db").close()  # an empty store (a missing one is refused)
    code, _out, err = run_cli(capsys, "ledger", "proof", "7", "--db", f"sqlite:///{tmp_path}/x.db")
    assert code == 1 and "no record 7" in err
    code, _out, err = run_cli(capsys, "ledger", "checkpoint", "--db", f"sqlite:///{tmp_path}/x.db")
    assert code == 1 and "empty" in err
