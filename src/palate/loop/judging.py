"""The loop's one adapter onto palate.judges: load judges, judge given pairs into a dataset.

It loads OpenAI-compatible judges with ``palate.judges.load`` (calls cached in the store)
and combines several into a ``Panel``. ``judge_tasks`` judges pairs that are not stored yet
and writes each verdict as it completes, in small batches: a run killed part-way keeps what
it wrote, and the call cache answers any verdict that was received but not yet written, so a
resumed run makes no judge call twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from palate.errors import PalateError
from palate.judges.base import JudgeResources, PairTask, PairwiseJudge
from palate.judges.config import HFJudgeConfig, OpenAIJudgeConfig, load_judge_config
from palate.judges.loading import load
from palate.judges.openai_judge import OpenAIJudge
from palate.judges.panel import Panel
from palate.judges.run import JudgeRunResult, record_run
from palate.judges.swap import SwapPolicy, judge_with_swap
from palate.loop.pairing import pair_generations
from palate.rubric.resolve import resolve_rubric
from palate.schema import Comparison, Rubric
from palate.store import Store

WRITE_BATCH = 8
Progress = Callable[[int, int], None]


def load_judge(
    paths: Sequence[Path], store: Store, rubric: Rubric, *, ray: str | None = None
) -> PairwiseJudge:
    """One judge per config, combined as a panel when there are several: OpenAI-compatible
    judges (calls cached in the store) and local ``hf`` judges, on Ray actors when ``ray``
    names a cluster. A relative ``model_path`` is read against the judge file's folder."""
    judges: list[PairwiseJudge] = []
    for path in paths:
        config = load_judge_config(path)
        if isinstance(config, OpenAIJudgeConfig):
            judge = load(config)
            assert isinstance(judge, OpenAIJudge)
            judge.use(store, rubric)
            judges.append(judge)
        elif isinstance(config, HFJudgeConfig):
            if not config.model_path.is_absolute():
                local = (path.parent / config.model_path).resolve()
                config = config.model_copy(update={"model_path": local})
            if ray is not None:
                from palate.scale import RayJudge

                judges.append(RayJudge(config, address=ray, rubric=rubric))
            else:
                from palate.judges.hf import TransformersJudge

                judges.append(TransformersJudge(config, rubric=rubric))
        else:
            raise PalateError(f"{path}: the loop runs judges of kind openai or hf")
    return judges[0] if len(judges) == 1 else Panel(judges)


def task_key(item: str, responses: Sequence[str | None], replicate: int) -> tuple[object, ...]:
    return (item, tuple(responses), replicate)


def _stored_keys(store: Store, out: str) -> set[tuple[object, ...]]:
    if not any(d.name == out for d in store.datasets()):
        return set()
    return {
        task_key(c.prompt.key, [r.text for r in c.responses], int(c.metadata.get("replicate", 0)))
        for c in store.iter_records(out)
        if isinstance(c, Comparison)
    }


@dataclass(frozen=True)
class JudgeOutcome:
    requested: int
    judged: int  # verdicts made by this run (the others were stored by an earlier one)
    calls: int  # HTTP requests made by this run
    cache_hits: int


def _members(judge: PairwiseJudge) -> list[OpenAIJudge]:
    found = judge.judges if isinstance(judge, Panel) else [judge]
    return [j for j in found if isinstance(j, OpenAIJudge)]


async def _judge_all(
    store: Store,
    judge: PairwiseJudge,
    tasks: Sequence[PairTask],
    out: str,
    swap: bool,
    policy: SwapPolicy,
    concurrency: int,
    progress: Progress | None,
) -> int:
    slots = asyncio.Semaphore(concurrency)
    pending: list[Comparison] = []
    done = 0
    stopping = False  # a judgement failed (or progress raised): start no more calls

    async def one(task: PairTask) -> None:
        nonlocal done, stopping
        async with slots:
            if stopping:
                return
            try:
                verdict = await (
                    judge_with_swap(judge, task, policy) if swap else judge.judge_pair(task)
                )
            except BaseException:
                stopping = True
                raise
        metadata = {**verdict.metadata, "replicate": task.replicate}
        pending.append(verdict.model_copy(update={"metadata": metadata}))
        if len(pending) >= WRITE_BATCH:
            batch = pending[:]
            pending.clear()
            store.add_records(out, batch)
        done += 1
        if progress is not None:
            try:
                progress(done, len(tasks))
            except BaseException:
                stopping = True
                raise

    try:
        await asyncio.gather(*(one(t) for t in tasks))
    finally:
        if pending:
            store.add_records(out, pending)
        for member in judge.judges if isinstance(judge, Panel) else [judge]:
            if isinstance(member, JudgeResources):
                await member.aclose()
    return done


def judge_tasks(
    store: Store,
    judge: PairwiseJudge,
    tasks: Sequence[PairTask],
    out: str,
    *,
    swap: bool = True,
    policy: SwapPolicy = "tie",
    concurrency: int = 16,
    progress: Progress | None = None,
) -> JudgeOutcome:
    """Judge the tasks not yet in ``out`` and add their verdicts to it (see the module doc)."""
    stored = _stored_keys(store, out)
    todo = [
        t
        for t in tasks
        if task_key(t.item, [r.text for r in t.responses], t.replicate) not in stored
    ]
    judged = (
        asyncio.run(_judge_all(store, judge, todo, out, swap, policy, concurrency, progress))
        if todo
        else 0
    )
    members = _members(judge)
    return JudgeOutcome(
        requested=len(tasks),
        judged=judged,
        calls=sum(m.calls for m in members),
        cache_hits=sum(m.cache_hits for m in members),
    )


def judge_generation_pairs(
    store: Store,
    dataset: str,
    judge: PairwiseJudge,
    *,
    candidate: str,
    baseline: str,
    out: str | None = None,
    swap: bool = False,
    policy: SwapPolicy = "tie",
    concurrency: int | None = None,
    replicates: int = 1,
    rubric: str | None = None,
    progress: Progress | None = None,
) -> JudgeRunResult:
    """``palate judge run --candidate A --baseline B``: pair the two models' generations in
    ``dataset`` by prompt (``pair_generations``) and judge them into ``out``, recorded in the
    ledger as ``judges.run`` records a run."""
    rubric_id = None
    if isinstance(judge, OpenAIJudge):  # calls cached in the store, as ``judges.run`` does
        judge.use(store, resolve_rubric(store, rubric or judge.config.rubric))
        rubric_id = judge.rubric_version
    generations = list(store.iter_generations(dataset))
    tasks = pair_generations(
        (g for g in generations if g.response.model == candidate),
        (g for g in generations if g.response.model == baseline),
        judge=judge.source.name,
        rubric=rubric,
        replicates=replicates,
    )
    out = out or f"{dataset}.{judge.source.name}"
    before = store.count(out) if any(d.name == out for d in store.datasets()) else 0
    outcome = judge_tasks(
        store,
        judge,
        tasks,
        out,
        swap=swap,
        policy=policy,
        concurrency=concurrency or 16,
        progress=progress,
    )
    verdicts = [c for c in store.iter_records(out) if isinstance(c, Comparison)]
    scored = sum(c.unscored is None for c in verdicts)
    result = JudgeRunResult(
        dataset=dataset,
        out=out,
        judge=judge.source.name,
        requested=outcome.requested,
        scored=scored,
        unscored=len(verdicts) - scored,
        calls=outcome.calls,
        cache_hits=outcome.cache_hits,
        added=store.count(out) - before,
    )
    options: dict[str, object] = {"swap": swap, "policy": policy, "replicates": replicates,
                                  "candidate": candidate, "baseline": baseline}  # fmt: skip
    record_run(store, judge, result, rubric_id, options)
    return result
