"""Importing the shared data: counts, idempotence, and all-or-nothing on bad input.

Every test here runs on SQLite and on PostgreSQL (the ``store_url`` fixture).
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from palate.io import import_file
from palate.io.importing import IN_CHILD_FROM
from palate.store import Store
from tests.helpers import fingerprint, run_cli, run_json

ALPACAEVAL_FILES = 13


def test_alpacaeval_imports_805_and_reimport_adds_none(
    store_url: str, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(shared_data / "alpacaeval/annotations/alpaca-7b.json.gz")
    first = run_json(capsys, "import", path, "--db", store_url)
    assert first == {"dataset": "alpaca-7b", "format": "alpacaeval", "records": 805, "read": 805}
    again = run_json(capsys, "import", path, "--db", store_url)
    assert again["records"] == 0
    listed = run_json(capsys, "datasets", "--db", store_url)
    assert listed == {"datasets": [{"name": "alpaca-7b", "records": 805}]}


def _expected_rows(path: Path) -> int:
    """Rows in a shared file, counted independently of palate's readers."""
    if path.suffix == ".csv":
        return sum(1 for _ in path.open()) - 1
    with gzip.open(path, "rt") as f:
        if path.name.endswith(".json.gz"):
            return len(json.load(f))
        return sum(1 for line in f if line.strip())


def test_every_shared_file_imports(store_url: str, shared_data: Path) -> None:
    files = sorted((shared_data / "alpacaeval/annotations").glob("*.json.gz"))
    assert len(files) == ALPACAEVAL_FILES
    files += sorted((shared_data / "arena").glob("*.jsonl.gz"))
    files += sorted((shared_data / "crowd").glob("*.csv"))
    files.append(shared_data / "hh-rlhf/harmless-base-test.jsonl.gz")
    store = Store(store_url)
    expected_formats = {"annotations": "alpacaeval", "arena": "arena", "crowd": "crowd-csv",
                        "hh-rlhf": "trl"}  # fmt: skip
    for path in files:
        result = import_file(store, path)
        assert result.format == expected_formats[path.parent.name], path
        assert result.records == result.read == _expected_rows(path), path
    counts = {d.name: d.records for d in store.datasets()}
    assert counts["human"] == counts["gpt-4-0125-preview"] == 26919
    assert counts["rte"] == 8000 and counts["harmless-base-test"] == 2312


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def _arena_lines(shared_data: Path, n: int) -> list[str]:
    with gzip.open(shared_data / "arena/human.jsonl.gz", "rt") as f:
        return [next(f) for _ in range(n)]


@pytest.mark.parametrize(
    ("bad_line", "where"),
    [
        ('{"model_a": "x", "model_b": "y", "winner": "model_a", "question_id": 1\n', "line 301"),
        ('{"model_a": "x", "winner": "model_a", "question_id": "q"}\n', "field 'model_b'"),
        (
            '{"model_a": 7, "model_b": "y", "winner": "tie", "question_id": "q"}\n',
            "field 'model_a'",
        ),
        (
            '{"model_a": "x", "model_b": "y", "winner": "model_c", "question_id": "q"}\n',
            "field 'winner'",
        ),
    ],
    ids=["bad-json", "missing-field", "wrong-type", "unknown-winner"],
)
def test_one_malformed_record_rejects_the_whole_file(
    store_url: str,
    shared_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    bad_line: str,
    where: str,
) -> None:
    run_json(capsys, "import", str(shared_data / "crowd/temp.csv"), "--db", store_url)
    before = fingerprint(store_url)
    lines = _arena_lines(shared_data, 600)
    lines[300] = bad_line  # line 301
    bad = _write(tmp_path / "battles.jsonl", "".join(lines))
    code, out, err = run_cli(capsys, "import", str(bad), "--db", store_url, "--dataset", "temp")
    assert code == 1
    assert "battles.jsonl" in err and "line 301" in err and where in err
    assert "Traceback" not in err and out == ""
    assert fingerprint(store_url) == before


def _truncated_gzip(shared_data: Path, tmp_path: Path) -> Path:
    data = (shared_data / "arena/human.jsonl.gz").read_bytes()
    return _write(tmp_path / "cut.jsonl.gz", data[: len(data) // 2])


@pytest.mark.parametrize("case", ["empty", "binary", "truncated-gzip", "not-found", "blank-lines"])
def test_unreadable_files_are_rejected(
    store_url: str,
    shared_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    run_json(capsys, "import", str(shared_data / "crowd/temp.csv"), "--db", store_url)
    before = fingerprint(store_url)
    path = {
        "empty": lambda: _write(tmp_path / "empty.jsonl", ""),
        "binary": lambda: _write(tmp_path / "blob.jsonl", bytes(range(256)) * 8),
        "truncated-gzip": lambda: _truncated_gzip(shared_data, tmp_path),
        "not-found": lambda: tmp_path / "missing.jsonl",
        "blank-lines": lambda: _write(tmp_path / "blank.jsonl", "\n\n  \n"),
    }[case]()
    code, _out, err = run_cli(
        capsys, "import", str(path), "--db", store_url, "--format", "arena", "--dataset", "temp"
    )
    assert code == 1, err
    assert path.name in err and "Traceback" not in err
    assert fingerprint(store_url) == before


def test_alpacaeval_error_names_the_line_in_a_pretty_printed_array(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = {"instruction": "i", "output_1": "a", "generator_1": "base", "output_2": "b",
            "generator_2": "m", "annotator": "j", "preference": 1.5}  # fmt: skip
    rows = [good, good | {"instruction": "j"}, good | {"instruction": "k", "preference": 3.0}]
    path = _write(tmp_path / "ann.json", json.dumps(rows, indent=2))
    code, _out, err = run_cli(capsys, "import", str(path), "--db", store_url)
    assert code == 1
    start = json.dumps(rows, indent=2).splitlines().index("  {", 19) + 1  # the third object
    assert f"line {start}" in err and "field 'preference'" in err, err
    assert fingerprint(store_url)[0] == {}


def test_missing_preference_is_stored_unscored_not_as_a_tie(store_url: str, tmp_path: Path) -> None:
    row = {"instruction": "i", "output_1": "a", "generator_1": "base", "output_2": "b",
           "generator_2": "m", "annotator": "j", "preference": None}  # fmt: skip
    path = _write(tmp_path / "ann.json", json.dumps([row, row | {"preference": 1.5}]))
    store = Store(store_url)
    import_file(store, path, dataset="d")
    first, second = store.iter_records("d")
    assert first.unscored is not None and first.unscored.reason == "no preference given"
    assert not first.tie and second.tie  # type: ignore[union-attr]
    scored = store.columns("d", ["outcome"], kind="comparison")
    assert scored == [(0.5,)]


def test_unknown_dataset_is_a_clear_error(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Store(store_url).close()  # a store that exists (a missing one is refused as such)
    code, _out, err = run_cli(
        capsys, "export", str(tmp_path / "x.jsonl"), "--dataset", "nope", "--db", store_url
    )
    assert code == 1 and "no dataset named 'nope'" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _out, _err = run_cli(capsys, "import", str(tmp_path / "x"), "--format", "nonsense")
    assert code == 2
    code, _out, _err = run_cli(capsys, "datasets", "--no-such-option")
    assert code == 2


def test_copied_file_under_other_name_adds_nothing(store_url: str, shared_data: Path,
                                                   tmp_path: Path) -> None:  # fmt: skip
    src = shared_data / "crowd/temp.csv"
    copy = tmp_path / "copy.csv"
    shutil.copy(src, copy)
    store = Store(store_url)
    assert import_file(store, src, dataset="t").records == 4620
    assert import_file(store, copy, dataset="t").records == 0


def test_repeats_within_one_file_are_stored_once(store_url: str, tmp_path: Path) -> None:
    battle = {"model_a": "x", "model_b": "y", "winner": "model_a", "question_id": "q1"}
    other = battle | {"winner": "tie"}
    path = tmp_path / "repeats.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [battle, other, battle, battle]))
    store = Store(store_url)
    assert import_file(store, path, judged_by="crowd").records == 2  # a new dataset
    more = tmp_path / "more.jsonl"
    third = battle | {"winner": "model_b"}
    more.write_text("".join(json.dumps(r) + "\n" for r in [third, battle, third]))
    assert import_file(store, more, dataset="repeats", judged_by="crowd").records == 1
    assert store.count("repeats") == 3


def _battles(n: int) -> list[str]:
    row = {"model_a": "m", "model_b": "n", "winner": "model_a", "note": "x" * 60}
    return [json.dumps({"question_id": f"q{i}", **row}) + "\n" for i in range(n)]


def test_large_files_keep_file_order_through_the_reading_processes(
    store_url: str, tmp_path: Path
) -> None:
    # over IN_CHILD_FROM bytes, so the rows are built in forked children, stripe by stripe
    lines = _battles(13_000)
    path = _write(tmp_path / "big.jsonl", "".join(lines))
    assert path.stat().st_size > IN_CHILD_FROM
    store = Store(store_url)
    result = import_file(store, path)
    assert result.records == result.read == 13_000
    assert [r.prompt.id for r in store.iter_records("big")] == [f"q{i}" for i in range(13_000)]


@pytest.mark.parametrize("bad_rows", [(3_000, 5_000), (5_000, 7_000), (12_999,)])
def test_in_a_large_file_the_first_bad_row_in_file_order_is_reported(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], bad_rows: tuple[int, ...]
) -> None:
    # rows 3000 and 5000 fall in stripes built by different children; the earlier one wins
    # whichever child reaches its bad row first, and nothing is stored
    lines = _battles(13_000)
    for row in bad_rows:
        lines[row] = (
            lines[row]
            .replace('"model_a"}', '"nobody"}')
            .replace('"winner": "model_a"', '"winner": "nobody"')
        )
    path = _write(tmp_path / "big.jsonl", "".join(lines))
    before = fingerprint(store_url)
    code, out, err = run_cli(capsys, "import", str(path), "--db", store_url)
    assert code == 1 and out == "" and "Traceback" not in err
    assert f"line {min(bad_rows) + 1}," in err and "field 'winner'" in err
    assert fingerprint(store_url) == before
