"""Generation and local-model judging on Ray actors (a local Ray of 2 CPUs): the same stored
generations, byte for byte, as a local run with the same seed, and the same verdicts as the
local judge."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from palate.judges.base import PairTask
from palate.judges.config import HFJudgeConfig
from palate.judges.hf import TransformersJudge
from palate.ledger import Ledger
from palate.rubric import example_rubric_path, load_rubric
from palate.scale import RayJudge
from palate.schema import Prompt, Response
from palate.store import Store
from palate.testing.loopback import LoopbackServer
from tests.generate.conftest import prompts_file, tiny_model  # noqa: F401 (fixtures)
from tests.helpers import run_json
from tests.judges.test_hf_judge import POEMS, model_dir  # noqa: F401 (fixture)
from tests.loop.conftest import judge_server, tiny_models, write_loop  # noqa: F401 (fixtures)

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def test_generation_on_ray_stores_the_same_bytes_as_a_local_run(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    tiny_model: Path,  # noqa: F811
    prompts_file: Path,  # noqa: F811
    local_ray: Any,
) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    args = ["generate", "--model", str(tiny_model), "--prompts", str(prompts_file), "--n", "3"]
    args += ["--max-new-tokens", "8", "--seed", "5", "--batch-size", "2", "--device", "cpu"]
    local = run_json(capsys, *args, "--dataset", "local", "--db", url)
    on_ray = run_json(capsys, *args, "--dataset", "ray", "--ray", "local", "--db", url)
    assert on_ray == {**local, "dataset": "ray"} and on_ray["generated"] == 15
    with Store(url) as store:
        assert list(store.iter_bodies("ray")) == list(store.iter_bodies("local"))
        texts = {g.response.text for g in store.iter_generations("ray")}
        assert len(texts) > 1  # sampled, not one string
        assert Ledger(store).verify().ok


def test_local_judge_on_ray_gives_the_local_verdicts(
    model_dir: Path,  # noqa: F811
    local_ray: Any,
) -> None:
    config = HFJudgeConfig(
        name="tiny", kind="hf", model_path=model_dir, batch_size=4, max_new_tokens=8
    )
    rubric = load_rubric(example_rubric_path("moon-poems"))
    prompt = Prompt(id="moon", text="write a poem about the moon .")
    tasks = [
        PairTask(
            prompt=prompt.model_copy(update={"id": f"moon-{i}"}),
            responses=(Response(text=a), Response(text=b)),
            order=(1, 0) if i % 2 else (0, 1),
        )
        for i, (a, b) in enumerate((a, b) for a in POEMS for b in POEMS if a != b)
    ]

    async def judge_all(judge: Any) -> list[Any]:
        try:
            return list(await asyncio.gather(*(judge.judge_pair(t) for t in tasks)))
        finally:
            await judge.aclose()

    local = asyncio.run(judge_all(TransformersJudge(config, rubric=rubric)))
    remote_judge = RayJudge(config, address="local", rubric=rubric)
    assert len(remote_judge.actors) == 2 and remote_judge.source == local[0].judge
    remote = asyncio.run(judge_all(remote_judge))
    assert [r.winner for r in remote] == [r.winner for r in local]
    assert [r.tie for r in remote] == [r.tie for r in local]
    for there, here in zip(remote, local, strict=True):
        assert there.call.preference == pytest.approx(here.call.preference, abs=1e-5)
    assert len({r.winner for r in local}) == 2  # the pairs are not all decided one way


def test_a_loop_on_ray_reaches_the_local_loops_results(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    tiny_models: tuple[Path, Path],  # noqa: F811
    judge_server: LoopbackServer,  # noqa: F811
    local_ray: Any,
) -> None:
    results = {}
    for where in ("local", "ray"):
        loop = write_loop(tmp_path / where, tiny_models, judge_server.base_url)
        url = f"sqlite:///{tmp_path / where}.db"
        extra = ["--ray", "local"] if where == "ray" else []
        doc = run_json(capsys, "loop", "run", str(loop), *extra, "--db", url)
        stages = {s["stage"]: s for s in doc["stages"]}
        with Store(url) as store:
            bodies = {
                stage: list(store.iter_bodies(stages[stage]["outputs"]["dataset"]))
                for stage in ("generate-candidate", "generate-baseline", "generate-trained")
            }
        fingerprints = {s: stages[s]["fingerprint"] for s in stages}
        results[where] = (doc["verdict"], doc["reasons"], fingerprints, bodies)
    assert results["ray"] == results["local"]
