"""Contamination must-hold: planted copies, edited copies and paraphrases of evaluation prompts
are flagged; unrelated prompts are not. Precision and recall on a set written for the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from palate.safety.overlap import Item, OverlapConfig, find_overlap, normalise, shingles
from palate.store import Store
from tests.helpers import run_json
from tests.safety.overlap_data import CLEAN_EVAL, PLANTED, UNRELATED, case_punct_edit

VARIANTS = ("exact", "edited", "inside", "paraphrase")


def _sets() -> tuple[list[Item], list[Item], dict[str, str]]:
    """Evaluation items, training items, and which eval item each planted variant copies."""
    evals = [Item(f"e{i}", text) for i, (text, _) in enumerate(PLANTED)]
    evals += [Item(f"clean{i}", text) for i, text in enumerate(CLEAN_EVAL)]
    train = [Item(f"u{i}", text) for i, text in enumerate(UNRELATED)]
    planted = {}
    for i, (text, paraphrase) in enumerate(PLANTED):
        variant = VARIANTS[i % len(VARIANTS)]
        copy = {
            "exact": text,
            "edited": case_punct_edit(text),
            "inside": f"Here is a question a user asked earlier today: {text} Answer it briefly.",
            "paraphrase": paraphrase,
        }[variant]
        train.append(Item(f"t{i}-{variant}", copy))
        planted[f"e{i}"] = variant
    return evals, train, planted


def _precision_recall(flagged: set[str], planted: set[str]) -> tuple[float, float]:
    true = len(flagged & planted)
    return true / max(len(flagged), 1), true / len(planted)


def test_normalise_folds_case_punctuation_and_space() -> None:
    assert normalise("  Hello,   WORLD!?  ") == "hello world"
    assert normalise(case_punct_edit(PLANTED[0][0])) == normalise(PLANTED[0][0])
    assert shingles("a b c", 4) == set()
    assert len(shingles("a b c d e", 3)) == 3


def test_lexical_checks_find_copies_and_leave_unrelated_prompts() -> None:
    evals, train, planted = _sets()
    result = find_overlap(evals, train, OverlapConfig(embed=False))
    kinds = {f.eval_item: f.kind for f in result.flagged}
    lexical = {e for e, v in planted.items() if v != "paraphrase"}
    assert lexical <= set(kinds) <= set(planted)  # nothing unrelated or clean is flagged
    for eval_item in lexical:
        expected = "ngram" if planted[eval_item] == "inside" else "exact"
        assert kinds[eval_item] == expected, eval_item
    by_id = {f.eval_item: f for f in result.flagged}
    assert all(f.train_item.startswith(f"t{f.eval_item[1:]}-") for f in by_id.values())
    assert result.n_train == len(train)


def test_embeddings_add_paraphrases_with_full_precision_and_recall() -> None:
    evals, train, planted = _sets()
    result = find_overlap(evals, train, OverlapConfig(embed=True, chunk=7))
    flagged = {f.eval_item for f in result.flagged}
    precision, recall = _precision_recall(flagged, set(planted))
    print(f"overlap on the written test set: precision {precision:.2f}, recall {recall:.2f}")
    assert (precision, recall) == (1.0, 1.0)
    paraphrased = [f for f in result.flagged if planted[f.eval_item] == "paraphrase"]
    by_embedding = [f for f in paraphrased if f.kind == "embedding"]
    assert by_embedding and all(f.score >= 0.85 for f in by_embedding)


def _write(path: Path, prompts: list[str]) -> Path:
    with path.open("w") as fh:
        for i, prompt in enumerate(prompts):
            row = {
                "kind": "comparison",
                "prompt": {"text": prompt},
                "responses": [{"model": "a", "text": f"answer {i}"}, {"model": "b", "text": "?"}],
                "winner": 0,
                "judge": {"kind": "human", "name": "r"},
            }
            fh.write(json.dumps(row) + "\n")
    return path


def test_cli_overlap_between_stored_datasets(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evals, train, planted = _sets()
    _write(tmp_path / "ev.jsonl", [e.text for e in evals])
    _write(tmp_path / "tr.jsonl", [t.text for t in train])
    for name in ("ev", "tr"):
        run_json(
            capsys,
            "import",
            str(tmp_path / f"{name}.jsonl"),
            "--format",
            "jsonl",
            "--db",
            store_url,
        )
    doc = run_json(
        capsys, "data", "overlap", "--train", "tr", "--eval", "ev", "--no-embed", "--db", store_url
    )
    texts = {f"ev/sha256:{_sha(e.text)}": e.id for e in evals}
    found = {texts[f["eval_item"]] for f in doc["flagged"]}
    assert {e for e, v in planted.items() if v != "paraphrase"} <= found <= set(planted)
    assert doc["n_flagged"] == len(found)
    assert all(f["train_item"].startswith("tr#") for f in doc["flagged"])
    store = Store(store_url)
    try:
        from palate.ledger import Ledger

        last = list(Ledger(store).entries())[-1]
        assert last.record["activity"] == "data-overlap"
    finally:
        store.close()


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:12]


def test_training_data_is_checked_against_evaluated_sets(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from palate.ledger import Ledger
    from palate.safety.contamination import check_training_data, registered_eval_sets

    evals, train, planted = _sets()
    _write(tmp_path / "ev.jsonl", [e.text for e in evals])
    _write(tmp_path / "tr.jsonl", [t.text for t in train])
    for name in ("ev", "tr"):
        run_json(capsys, "import", str(tmp_path / f"{name}.jsonl"), "--format", "jsonl",
                 "--db", store_url)  # fmt: skip
    store = Store(store_url)
    try:
        ledger = Ledger(store)
        assert check_training_data(store, "tr")["checked"] == []  # nothing evaluated yet
        ledger.append("evaluation", agent="test", used=[ledger.dataset_rows("ev")])
        assert registered_eval_sets(ledger) == ["ev"]
        summary = check_training_data(store, "tr")
    finally:
        store.close()
    assert summary["checked"] == ["ev"]
    lexical = sum(v != "paraphrase" for v in planted.values())
    assert lexical <= summary["n_flagged"] == summary["by_eval_set"]["ev"]["n_flagged"]
