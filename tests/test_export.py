"""Exports: canonical JSONL round-trips byte for byte; other formats report what they drop."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from palate.io import export_dataset, import_file
from palate.store import Store
from tests.helpers import run_json

ROUND_TRIP_FILES = [
    "alpacaeval/annotations/phi-2.json.gz",
    "arena/gpt-4-0125-preview.jsonl.gz",
    "crowd/temp.csv",
    "hh-rlhf/harmless-base-test.jsonl.gz",
]


@pytest.mark.parametrize("relative", ROUND_TRIP_FILES)
def test_canonical_jsonl_round_trip_is_byte_identical(
    store_url: str, shared_data: Path, tmp_path: Path, relative: str
) -> None:
    first_store = Store(store_url)
    import_file(first_store, shared_data / relative, dataset="d")
    first = tmp_path / "first.jsonl"
    export_dataset(first_store, "d", "jsonl", first)

    second_store = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    assert import_file(second_store, first).format == "jsonl"
    second = tmp_path / "second.jsonl"
    export_dataset(second_store, "first", "jsonl", second)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes().count(b"\n") == first_store.count("d")


def test_hh_rlhf_exports_back_to_the_original_dialogues(
    store_url: str, shared_data: Path, tmp_path: Path
) -> None:
    path = shared_data / "hh-rlhf/harmless-base-test.jsonl.gz"
    store = Store(store_url)
    import_file(store, path)
    report = export_dataset(store, "harmless-base-test", "trl", tmp_path / "hh.jsonl")
    assert report.written == 2312 and not report.dropped and not report.lost
    with gzip.open(path, "rt") as f:
        original = [json.loads(line) for line in f]
    exported = [json.loads(line) for line in (tmp_path / "hh.jsonl").open()]
    assert exported == original
    first = next(store.iter_records("harmless-base-test"))
    assert first.prompt.text.endswith("\n\nAssistant:")  # type: ignore[union-attr]


def test_trl_export_counts_what_it_cannot_hold(
    store_url: str, shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    annotations = shared_data / "alpacaeval/annotations/alpaca-7b.json.gz"
    with gzip.open(annotations, "rt") as f:
        prefs = [row["preference"] for row in json.load(f)]
    ties = sum(p == 1.5 for p in prefs)
    run_json(capsys, "import", str(annotations), "--db", store_url)
    report = run_json(
        capsys, "export", str(tmp_path / "t.jsonl"), "--dataset", "alpaca-7b", "--format", "trl",
        "--db", store_url,
    )  # fmt: skip
    assert report["written"] == len(prefs) - ties
    assert report["dropped"] == ({"tie": ties} if ties else {})
    assert report["lost"] == {"strength": len(prefs) - ties}
    rows = [json.loads(line) for line in (tmp_path / "t.jsonl").open()]
    assert all({"prompt", "chosen", "rejected"} <= row.keys() for row in rows)


def test_alpacaeval_export_reproduces_the_annotations(
    store_url: str, shared_data: Path, tmp_path: Path
) -> None:
    path = shared_data / "alpacaeval/annotations/vicuna-7b.json.gz"
    store = Store(store_url)
    import_file(store, path, dataset="v")
    export_dataset(store, "v", "alpacaeval", tmp_path / "v.json")
    with gzip.open(path, "rt") as f:
        original = json.load(f)
    assert json.loads((tmp_path / "v.json").read_text()) == original


def test_conversational_trl_round_trip(store_url: str, tmp_path: Path) -> None:
    rows = [
        {
            "prompt": [{"role": "user", "content": "Write about the moon."}],
            "chosen": [{"role": "assistant", "content": "Pale coin of night."}],
            "rejected": [{"role": "assistant", "content": "The moon is big."}],
        },
        {  # implicit prompt: the shared turns are split off and restored
            "chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hey"}],
            "rejected": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "."}],
            "id": 7,
        },
    ]
    path = tmp_path / "conv.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    store = Store(store_url)
    assert import_file(store, path).format == "trl"
    implicit = list(store.iter_records("conv"))[1]
    assert [m.content for m in implicit.prompt.messages or []] == ["Hi"]  # type: ignore[union-attr]
    report = export_dataset(store, "conv", "trl", tmp_path / "out.jsonl")
    assert report.written == 2
    assert [json.loads(line) for line in (tmp_path / "out.jsonl").open()] == rows


def test_hf_dataset_and_parquet_import(store_url: str, shared_data: Path, tmp_path: Path) -> None:
    store = Store(store_url)
    import_file(store, shared_data / "crowd/rte.csv", dataset="rte")
    export_dataset(store, "rte", "hf", tmp_path / "rte_hf")
    assert import_file(store, tmp_path / "rte_hf", dataset="rte").records == 0  # same records
    assert import_file(store, tmp_path / "rte_hf", dataset="rte2").records == 8000
    export_dataset(store, "rte2", "jsonl", tmp_path / "a.jsonl")
    export_dataset(store, "rte", "jsonl", tmp_path / "b.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()

    table = pa.table(
        {"prompt": ["p1", "p2"], "chosen": ["good", "fine"], "rejected": ["bad", "meh"]}
    )
    pq.write_table(table, tmp_path / "prefs.parquet")
    result = import_file(store, tmp_path / "prefs.parquet")
    assert (result.format, result.records) == ("hf", 2)
    assert [r.responses[0].text for r in store.iter_records("prefs")] == ["good", "fine"]  # type: ignore[union-attr]
