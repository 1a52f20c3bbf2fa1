"""Card sections from the ledger: every figure equals the record it names (parsed back), and a
card built after a revocation says so."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest

from palate.ledger import EntityRef, Ledger
from palate.store import Store
from tests.helpers import run_cli, run_json

BASELINE = "gpt4_1106_preview"
CKPT = "ab" * 32
FIGURE = re.compile(
    r"^- (?P<label>.+?): (?P<value>.+) \(record #(?P<index>\d+), `(?P<id>[0-9a-f]+)`\)$"
)


def _expected(label: str, record: dict[str, Any]) -> Any:
    """What the named record says the figure is."""
    attrs = record.get("attributes", {})
    if label == "method":
        return record["activity"].removeprefix("train-")
    if label in ("seed", "training rows"):
        return attrs[label.replace(" ", "_")]
    if label == "config sha256":
        return next(u["hash"] for u in record["used"] if u["kind"] == "train-config")
    if label == "data set":
        return next(
            u["id"].rpartition("#")[0] for u in record["used"] if u["kind"] == "dataset-rows"
        )
    if label.startswith("rows imported into"):
        return attrs["added"]
    if label.startswith("licence of"):
        return attrs["license"]
    if label.startswith("source of"):
        return attrs["source"]
    if label == "human judgements in the evaluation":
        return attrs["result"]["counts"]["human_labels"]
    if label == "evaluation sets checked at training time":
        return ", ".join(attrs["contamination"]["checked"])
    if label == "evaluation prompts found in the training data":
        return attrs["contamination"]["n_flagged"]
    if label.startswith("prompts of"):
        return attrs["n_flagged"]
    if re.fullmatch(r"record #\d+ was revoked", label):
        return attrs["reason"]
    raise AssertionError(f"unknown figure {label!r}")


def _figures(card: str) -> list[re.Match[str]]:
    return [m for line in card.splitlines() if (m := FIGURE.match(line))]


def _check(card: str, url: str) -> dict[str, str]:
    store = Store(url)
    try:
        entries = list(Ledger(store).entries())
    finally:
        store.close()
    seen = {}
    for m in _figures(card):
        entry = entries[int(m["index"])]
        assert entry.id == m["id"]
        assert m["value"] == str(_expected(m["label"], entry.record)), m.group(0)
        seen[m["label"]] = m["value"]
    return seen


def test_card_sections_equal_their_ledger_records_and_show_revocations(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("PALATE_KEY_DIR", str(tmp_path / "keys"))
    url = f"sqlite:///{tmp_path / 'card.db'}"
    path = shared_data / "alpacaeval/annotations/claude-2.1.json.gz"
    with gzip.open(path, "rt") as f:
        rows = json.load(f)
    candidate = str(rows[0]["generator_2"])
    run_json(capsys, "import", str(path), "--dataset", "alpaca", "--license", "cc-by-nc-4.0",
             "--source", "https://github.com/tatsu-lab/alpaca_eval", "--db", url)  # fmt: skip
    train = tmp_path / "tr.jsonl"
    with train.open("w") as fh:
        for i, row in enumerate(
            rows[:30] + [{"instruction": f"unrelated question {i}"} for i in range(5)]
        ):
            fh.write(json.dumps({"kind": "comparison", "prompt": {"text": row["instruction"]},
                     "responses": [{"text": "a"}, {"text": f"b{i}"}], "winner": 0,
                     "judge": {"kind": "human", "name": "r"}}) + "\n")  # fmt: skip
    run_json(capsys, "import", str(train), "--format", "jsonl", "--license", "mit", "--db", url)
    policy = tmp_path / "clean.yaml"
    policy.write_text("name: clean\nno_contamination: true\ncriteria:\n"
                      "  - {metric: win_rate, at_least: 0}\n")  # fmt: skip
    run_json(capsys, "gate", "register", str(policy), "--db", url)
    run = run_json(capsys, "eval", "run", "--candidate", candidate, "--baseline", BASELINE,
                   "--set", "alpaca", "--candidate-hash", CKPT, "--n-bootstrap", "200",
                   "--db", url)["run"]  # fmt: skip
    overlap = run_json(capsys, "data", "overlap", "--train", "tr", "--eval", "alpaca",
                       "--no-embed", "--db", url)  # fmt: skip
    # the 30 copied instructions, and AlpacaEval's templated prompts sharing most 8-grams
    # with a copied one ("I like to host guests at my home ..."), never the 5 unrelated
    assert overlap["n_flagged"] >= 30
    assert sum(f["kind"] == "exact" for f in overlap["flagged"]) == 30
    from palate.safety.contamination import check_training_data

    store = Store(url)
    try:
        ledger = Ledger(store)
        train_entry = ledger.append(
            "train-sft",
            agent="palate train",
            used=[
                ledger.dataset_rows("tr"),
                EntityRef(kind="train-config", id="r1", hash="cd" * 32),
            ],
            generated=[EntityRef(kind="checkpoint", id="out/ckpt", hash=CKPT)],
            attributes={"run": "r1", "seed": 7, "training_rows": 35,
                        "contamination": check_training_data(store, "tr")},
        )  # fmt: skip
    finally:
        store.close()

    gate = run_json(capsys, "gate", "check", "--policy", "clean", "--eval", run, "--db", url)
    assert gate["verdict"] == "fail" and any("contamination" in r for r in gate["reasons"])

    card_path = tmp_path / "README.md"
    code, _, err = run_cli(
        capsys, "card", "--model", "claude-2.1", "--eval", run, str(card_path), "--db", url
    )
    assert code == 0, err
    card = card_path.read_text()
    for section in ("Training recipe", "Human labour", "Safety", "Contamination", "Revocations"):
        assert f"## {section}" in card
    seen = _check(card, url)
    assert seen["licence of alpaca"] == "cc-by-nc-4.0" and seen["licence of tr"] == "mit"
    flagged = str(overlap["n_flagged"])
    assert seen["seed"] == "7" and seen["evaluation prompts found in the training data"] == flagged
    assert seen["prompts of alpaca found in tr"] == flagged
    assert "No record this card cites has been revoked." in card

    revoked = run_json(capsys, "ledger", "revoke", f"#{train_entry.index}",
                       "--reason", "trained on a leaked eval split", "--db", url)  # fmt: skip
    assert revoked["revokes"]["index"] == train_entry.index
    code, _, err = run_cli(
        capsys, "card", "--model", "claude-2.1", "--eval", run, str(card_path), "--db", url
    )
    assert code == 0, err
    card = card_path.read_text()
    seen = _check(card, url)
    assert seen[f"record #{train_entry.index} was revoked"] == "trained on a leaked eval split"
    assert "cites were revoked" in card
    code, _, err = run_cli(capsys, "ledger", "revoke", "#0", "--reason", " ", "--db", url)
    assert code == 1 and "--reason" in err
