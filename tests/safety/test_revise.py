"""``palate revise`` against a scripted loopback model: pairs (revised over original) whose
provenance names the principle and the generator; a rerun is answered from the cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from palate.errors import InputError
from palate.ledger import Ledger
from palate.safety.constitution import load_constitution
from palate.schema import Comparison
from palate.store import Store
from palate.testing.loopback import LoopbackServer, Script
from tests.helpers import run_cli, run_json

CONSTITUTION = load_constitution("example")
BY_CRITIQUE = {p.critique_request: p.name for p in CONSTITUTION.principles}
BY_REVISION = {p.revision_request: p.name for p in CONSTITUTION.principles}


def reviser(messages: list[dict[str, Any]]) -> str:
    """Critiques naming the principle asked; revisions that rewrite the original answer
    (the second turn), except for one response it leaves as it was."""
    asked = str(messages[-1]["content"])
    original = str(messages[1]["content"])
    if asked in BY_CRITIQUE:
        return f"critique by {BY_CRITIQUE[asked]}: the answer could be better"
    assert asked in BY_REVISION, asked
    assert messages[-2]["content"].startswith(f"critique by {BY_REVISION[asked]}")
    return (
        original if original == "fine as it is" else f"{original} (revised, {BY_REVISION[asked]})"
    )


def test_revise_records_principle_and_generator_and_reruns_from_cache(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = tmp_path / "answers.jsonl"
    texts = [["short answer", "rude answer"], ["vague answer", "fine as it is"],
             ["hedged answer", "wrong answer"]]  # fmt: skip
    with rows.open("w") as fh:
        for i, (a, b) in enumerate(texts):
            fh.write(json.dumps({"kind": "comparison", "prompt": {"text": f"question {i}"},
                     "responses": [{"model": "m", "text": a}, {"model": "m", "text": b}],
                     "winner": 0, "judge": {"kind": "human", "name": "r"}}) + "\n")  # fmt: skip
    run_json(capsys, "import", str(rows), "--format", "jsonl", "--dataset", "d", "--db", store_url)
    with LoopbackServer(Script(respond=reviser)) as server:
        config = tmp_path / "reviser.yaml"
        config.write_text(f"name: rev\nkind: openai\nmodel: m2\nbase_url: {server.base_url}\n"
                          "api_key_env: null\n")  # fmt: skip
        args = ["revise", "--constitution", "example", "--dataset", "d", "--judge", str(config),
                "--out", "pairs", "--db", store_url]  # fmt: skip
        first = run_json(capsys, *args)
        assert server.stats.requests == 12  # a critique and a revision per response
        again = run_json(capsys, *args)
        assert server.stats.requests == 12
    assert (first["responses"], first["revised"], first["unchanged"]) == (6, 5, 1)
    assert (first["calls"], first["cache_hits"], first["added"]) == (12, 0, 5)
    assert (again["calls"], again["cache_hits"], again["added"]) == (0, 12, 0)
    assert again["by_principle"] == first["by_principle"]
    assert sum(first["by_principle"].values()) == 5

    with Store(store_url) as store:
        pairs = [r for r in store.iter_records("pairs") if isinstance(r, Comparison)]
        entries = [e for e in Ledger(store).entries() if e.record["activity"] == "synthetic-data"]
    assert len(pairs) == 5
    for pair in pairs:
        principle = pair.metadata["principle"]
        revised, original = pair.responses
        assert pair.winner == 0 and revised.text == f"{original.text} (revised, {principle})"
        assert pair.rationale is not None and pair.rationale.startswith(f"critique by {principle}")
        assert pair.judge.name == pair.metadata["generator"] == "rev"
        assert pair.metadata["constitution_sha256"] == CONSTITUTION.digest
    record = entries[0].record
    assert entries[0].id == first["record"]
    assert record["attributes"]["synthetic"] is True
    assert record["attributes"]["generator"]["model"] == "m2"
    assert record["attributes"]["by_principle"] == first["by_principle"]
    assert {u["kind"] for u in record["used"]} == {
        "dataset-rows",
        "constitution",
        "generator-config",
    }

    out = tmp_path / "trl.jsonl"
    code, _, err = run_cli(capsys, "export", "--dataset", "pairs", "--format", "trl", str(out),
                           "--db", store_url)  # fmt: skip
    assert code == 0, err
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert all("(revised, " in json.dumps(row["chosen"]) for row in exported)


def test_constitution_errors_name_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("name: c\nprinciples:\n  - name: p\n    critique_request: why\n")
    with pytest.raises(InputError, match=r"line 3.*principles\.0\.revision_request"):
        load_constitution(bad)
    bad.write_text(
        "name: c\nprinciples:\n"
        "  - {name: p, critique_request: a, revision_request: b}\n"
        "  - {name: p, critique_request: c, revision_request: d}\n"
    )
    with pytest.raises(InputError, match="appears twice"):
        load_constitution(bad)
