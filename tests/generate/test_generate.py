"""`palate generate` on a tiny model built in the test and on the loopback endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from palate.generate import LocalGenerator, generate
from palate.generate.jobs import Job, SamplingSettings
from palate.generate.prompts import load_prompts
from palate.ledger import Ledger
from palate.schema import Generation
from palate.store import Store
from palate.testing.loopback import LoopbackServer
from palate.train.checkpoint import checkpoint_hash
from tests.generate.conftest import PROMPTS
from tests.helpers import run_cli, run_json


def _texts(url: str, dataset: str) -> list[str]:
    with Store(url) as store:
        return list(store.iter_bodies(dataset))


def test_generate_stores_provenance_and_is_reproducible(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_model: Path, prompts_file: Path
) -> None:
    store_url = f"sqlite:///{tmp_path / 'p.db'}"  # PostgreSQL: tests/loop stores generations
    args = ["generate", "--model", str(tiny_model), "--prompts", str(prompts_file), "--n", "2"]
    args += ["--max-new-tokens", "8", "--seed", "3", "--batch-size", "4", "--db", store_url]
    doc = run_json(capsys, *args, "--dataset", "first")
    assert doc == {
        "dataset": "first",
        "generated": 10,
        "reused": 0,
        "model": "model",
        "checkpoint_hash": checkpoint_hash(tiny_model),
        "completion_tokens": doc["completion_tokens"],
    }
    run_json(capsys, *args, "--dataset", "second")
    first, second = _texts(store_url, "first"), _texts(store_url, "second")
    assert first == second  # byte-identical stored responses, same seed
    with Store(store_url) as store:
        generations = list(store.iter_generations("first"))
        assert [g.prompt.text for g in generations[::2]] == PROMPTS
        assert {g.sampling.seed for g in generations} == {3}
        assert all(g.checkpoint_hash == checkpoint_hash(tiny_model) for g in generations)
        assert len({g.response.text for g in generations}) > 1  # sampling, not one string
        entries = [e for e in Ledger(store).entries() if e.record["activity"] == "generate"]
        assert len(entries) == 2
        assert Ledger(store).verify().ok
    other = run_json(
        capsys,
        *args[:-6],
        "--seed",
        "4",
        "--batch-size",
        "4",
        "--db",
        store_url,
        "--dataset",
        "third",
        "--max-new-tokens",
        "8",
    )
    assert other["generated"] == 10
    assert _texts(store_url, "third") != first


class CountingGenerator(LocalGenerator):
    """The local generator, counting the jobs it is asked for and failing on request."""

    def __init__(self, path: Path, fail_at_batch: int | None = None) -> None:
        super().__init__(path, batch_size=2, device="cpu")
        self.jobs = 0
        self.fail_at_batch = fail_at_batch

    def generate(self, jobs: list[Job], settings: SamplingSettings, batch: int) -> list[Generation]:  # type: ignore[override]
        if batch == self.fail_at_batch:
            raise KeyboardInterrupt("killed")
        self.jobs += len(jobs)
        return super().generate(jobs, settings, batch)


def test_a_killed_run_resumes_without_repeating_calls(tmp_path: Path, tiny_model: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    settings = SamplingSettings(temperature=1.0, max_new_tokens=6, seed=1)
    with Store(url) as store:
        prompts = load_prompts(store, str(_write(tmp_path, PROMPTS)))
        whole = CountingGenerator(tiny_model)
        generate(store, whole, prompts, "whole", n=2, settings=settings)
        killed = CountingGenerator(tiny_model, fail_at_batch=3)
        with pytest.raises(KeyboardInterrupt):
            generate(store, killed, prompts, "resumed", n=2, settings=settings)
        assert killed.jobs == 6  # batches 0-2 stored
        resumed = CountingGenerator(tiny_model)
        result = generate(store, resumed, prompts, "resumed", n=2, settings=settings)
        assert resumed.jobs == 4 and result.generated == 4 and result.reused == 6
        assert list(store.iter_bodies("resumed")) == list(store.iter_bodies("whole"))


def _write(tmp_path: Path, prompts: list[str]) -> Path:
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(f'{{"id": "p{i}", "prompt": "{p}"}}\n' for i, p in enumerate(prompts)))
    return path


def test_endpoint_generation_and_resume(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, prompts_file: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    with LoopbackServer() as server:
        config = tmp_path / "endpoint.yaml"
        config.write_text(f"name: remote\nmodel: m\nbase_url: {server.base_url}\nconcurrency: 2\n")
        args = ["generate", "--endpoint", str(config), "--prompts", str(prompts_file)]
        args += ["--dataset", "out", "--db", url, "--max-new-tokens", "16"]
        doc = run_json(capsys, *args)
        assert doc["generated"] == 5 and doc["checkpoint_hash"] is None
        assert server.stats.requests == 5
        again = run_json(capsys, *args)
        assert again["generated"] == 0 and again["reused"] == 5
        assert server.stats.requests == 5  # nothing asked twice
    with Store(url) as store:
        texts = [g.response.text for g in store.iter_generations("out")]
        assert all(t for t in texts)


def test_generate_usage_and_input_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_model: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    code, _, err = run_cli(capsys, "generate", "--prompts", "x", "--dataset", "d", "--db", url)
    assert code == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "fine"}\n{"prompt": 3}\n')
    code, _, err = run_cli(
        capsys,
        "generate",
        "--model",
        str(tiny_model),
        "--prompts",
        str(bad),
        "--dataset",
        "d",
        "--db",
        url,
    )
    assert code == 1 and "bad.jsonl" in err and "line 2" in err and "Traceback" not in err
    code, _, err = run_cli(
        capsys,
        "generate",
        "--model",
        str(tiny_model),
        "--prompts",
        "nope",
        "--dataset",
        "d",
        "--db",
        url,
    )
    assert code == 1 and "nope" in err


def test_more_new_tokens_than_the_model_has_positions_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_model: Path, prompts_file: Path
) -> None:
    """GPT-2's learned positions end at 64: past them torch would fail with an index error."""
    url = f"sqlite:///{tmp_path / 'p.db'}"
    args = ["generate", "--model", str(tiny_model), "--prompts", str(prompts_file)]
    code, _, err = run_cli(capsys, *args, "--dataset", "d", "--max-new-tokens", "62", "--db", url)
    assert code == 1 and "Traceback" not in err and "IndexError" not in err
    last = err.strip().splitlines()[-1]  # after transformers' loading progress
    assert "64 positions" in last and "--max-new-tokens 62" in last
    with Store(url) as store:
        assert "d" not in {d.name for d in store.datasets()}  # nothing generated
    assert run_json(capsys, *args, "--dataset", "d", "--max-new-tokens", "61", "--db", url)[
        "generated"
    ] == len(PROMPTS)
