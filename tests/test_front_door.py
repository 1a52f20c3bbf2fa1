"""The public API: a script that uses only ``import palate`` does what the CLI does, and the
ledger records the same operations the same way whichever door they came through."""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import palate
from palate.ledger import Ledger
from tests.helpers import run_json

BASELINE = "gpt4_1106_preview"


def _annotations(shared_data: Path, path: Path) -> Path:
    """A small AlpacaEval annotations file: the first 25 instructions of two models."""
    rows: list[dict[str, Any]] = []
    for model in ("alpaca-7b", "falcon-7b-instruct"):
        with gzip.open(shared_data / "alpacaeval" / "annotations" / f"{model}.json.gz") as f:
            rows += json.load(f)[:25]
    path.write_text(json.dumps(rows))
    return path


def _judge_config(path: Path, base_url: str) -> Path:
    config = {"name": "scripted", "kind": "openai", "model": "loopback", "base_url": base_url,
              "api_key_env": None, "concurrency": 8, "timeout_s": 10, "max_retries": 2}  # fmt: skip
    path.write_text(yaml.safe_dump(config))
    return path


def _records(url: str) -> list[dict[str, Any]]:
    """Every ledger record without what differs between two runs (time, chain, agent)."""
    drop = {"time", "previous", "agent"}
    return [
        {k: v for k, v in e.record.items() if k not in drop}
        for e in Ledger(palate.Store(url)).entries()
    ]


def test_library_script_records_what_the_cli_records(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    annotations = _annotations(shared_data, tmp_path / "ae.json")
    lib_url, cli_url = f"sqlite:///{tmp_path / 'lib.db'}", f"sqlite:///{tmp_path / 'cli.db'}"
    with palate.testing.LoopbackServer(palate.testing.Script(verdict="longer")) as server:
        config = _judge_config(tmp_path / "judge.yaml", server.base_url)

        store = palate.Store(lib_url)
        imported = store.import_file(annotations, dataset="ae")
        wr = palate.stats.win_rates(store, "ae", baseline=BASELINE)
        rk = palate.stats.rank(store, "ae", method="bt", ci="bootstrap")
        judge = palate.judges.load(config)
        run = palate.judges.run(store, "ae", judge, rubric="helpful-answers", swap=True)
        verified = palate.ledger.verify(store)

        cli = ["--db", cli_url]
        assert run_json(capsys, "import", str(annotations), "--dataset", "ae", *cli) == (
            imported.to_json()
        )
        assert run_json(capsys, "stats", "winrate", "--dataset", "ae", "--baseline", BASELINE,
                        *cli) == wr.to_json()  # fmt: skip
        assert run_json(capsys, "stats", "rank", "--dataset", "ae", *cli) == rk.to_json()
        assert run_json(capsys, "judge", "run", "--dataset", "ae", "--judge", str(config),
                        "--rubric", "helpful-answers", "--swap", *cli) == run.to_json()  # fmt: skip
        cli_verified = run_json(capsys, "ledger", "verify", *cli)
    # the roots differ: records hold their time
    assert {**cli_verified, "root": None} == {**verified.to_json(), "root": None}
    assert imported.records == 50 and {m.model for m in wr.models} == {
        "alpaca-7b",
        "falcon-7b-instruct",
    }
    assert [m["model"] for m in rk.to_json()["models"]][-1] != BASELINE  # GPT-4 beats both
    assert run.requested == 50 and run.scored == 50 and run.calls == 100
    assert verified.ok and verified.records == 5
    activities = [r["activity"] for r in _records(lib_url)]
    # the judgements are written with the record that accounts for them (judge-batch)
    assert activities == ["import", "stats winrate", "stats rank", "judge-batch", "judge-run"]
    library, command_line = _records(lib_url), _records(cli_url)
    written = [record.pop("generated") for records in (library, command_line)
               for record in records[-2:]]  # fmt: skip
    # the judgements hold their calls' latency, so only the rows' hashes differ
    assert [[ref["id"] for ref in refs] for refs in written] == [["ae.scripted#0..100"]] * 4
    assert library == command_line


def test_import_palate_loads_neither_scipy_nor_torch() -> None:
    code = (
        "import sys, palate; palate.Store; palate.stats; palate.judges; "
        "print(sorted(m for m in ('scipy', 'torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    assert out.strip() == "[]"


def test_public_names_survive_their_submodules() -> None:
    """``palate.stats.truth`` stays the function after ``palate/stats/truth.py`` is imported."""
    from palate.judges.run import JudgeRunResult  # loads the submodule of the same name
    from palate.stats.truth import infer_truth  # likewise

    assert callable(infer_truth) and JudgeRunResult.__name__ == "JudgeRunResult"
    for function in (palate.stats.truth, palate.stats.ppi, palate.stats.agreement,
                     palate.judges.run, palate.ledger.verify):  # fmt: skip
        assert type(function).__name__ == "function", function


def test_one_judge_serves_several_runs_inside_async_with(tmp_path: Path) -> None:
    """``async with`` keeps the judge's connections open across runs; its counters add up."""
    from tests.judges.fixtures import load, openai_config

    store = palate.Store(f"sqlite:///{tmp_path / 'p.db'}")
    load(store, "pairs", 2)

    async def twice(url: str) -> tuple[Any, ...]:
        async with palate.judges.load(openai_config(url).model_dump()) as judge:
            first = await palate.judges.run_async(store, "pairs", judge, out="first")
            again = await palate.judges.run_async(store, "pairs", judge, out="again")
            return first, again, judge.calls, judge.cache_hits

    with palate.testing.LoopbackServer(palate.testing.Script(verdict="longer")) as server:
        first, again, calls, cache_hits = asyncio.run(twice(server.base_url))
        assert server.stats.requests == calls == first.requested == 6
    assert (first.calls, first.cache_hits) == (6, 0)
    assert (again.calls, again.cache_hits) == (0, 6)  # each run counts its own
    assert cache_hits == 6 and store.count("again") == store.count("first") == 6
