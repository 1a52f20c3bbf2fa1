"""Local-model judging on Ray actors: each actor loads the same ``hf`` judge once and answers
pairs as they come (its own batcher groups them into forward passes).

Which actor judges a pair is fixed by the pair's item, and each verdict is the same
computation a local judge makes, so the verdicts match a local run's (up to the batching's
floating-point rounding in the last digits of a preference).
"""

from __future__ import annotations

from typing import Any

from palate.generate.jobs import derived_seed
from palate.judges.base import JudgeResources, PairTask
from palate.judges.config import HFJudgeConfig, config_hash
from palate.scale.cluster import actor_shape, connect
from palate.schema import Comparison, Rubric, Source


class _Worker:
    """The actor: one local judge."""

    def __init__(self, config: HFJudgeConfig, rubric: Rubric | None) -> None:
        from palate.judges.hf import TransformersJudge

        self.judge = TransformersJudge(config, rubric=rubric)

    async def judge_pair(self, task: PairTask) -> Comparison:
        return await self.judge.judge_pair(task)


class RayJudge(JudgeResources):
    """A ``PairwiseJudge`` whose pairs are judged by ``hf`` judges on Ray actors."""

    def __init__(
        self,
        config: HFJudgeConfig,
        *,
        address: str,
        rubric: Rubric | None = None,
        actors: int | None = None,
    ) -> None:
        self.config = config
        self.source = Source(kind="judge", name=config.name, version=config_hash(config))
        ray = connect(address)
        count, each = actor_shape(ray, actors)
        if config.device == "cpu":
            each = {"num_cpus": 1.0}
        worker = ray.remote(**each)(_Worker)
        self._ray = ray
        self.actors: list[Any] = [worker.remote(config, rubric) for _ in range(count)]

    async def judge_pair(self, task: PairTask) -> Comparison:
        actor = self.actors[derived_seed(task.item, task.replicate) % len(self.actors)]
        verdict: Comparison = await actor.judge_pair.remote(task)
        return verdict

    async def aclose(self) -> None:
        for actor in self.actors:
            self._ray.kill(actor)
        self.actors = []
