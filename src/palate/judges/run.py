"""A judge run: every pair in a dataset judged once (or in both orders), written to a dataset.

The pairs are the first two responses of each distinct (item, model pair) among the dataset's
comparisons. Each pair's seed comes from ``swap_seed``, so a pair gets the same presentation
order (and the same cache key) whichever run, resumed or not, judges it. Results are written
in input order, in batches, as they complete, each batch with the ledger record that accounts
for it (one transaction); records are content-hashed, so a resumed run
rewrites nothing that is already there, and calls come back from the cache.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from palate.errors import PalateError
from palate.judges.base import PairTask, PairwiseJudge
from palate.judges.config import OpenAIJudgeConfig
from palate.judges.openai_judge import OpenAIJudge
from palate.judges.swap import SwapPolicy, first_order, judge_with_swap, swap_seed
from palate.ledger import Ledger
from palate.ledger.provenance import current_agent
from palate.schema import Comparison, Response, Rubric
from palate.store import Store
from palate.store.judge_cache import JudgeCallCache

WRITE_BATCH = 500
Progress = Callable[[int, int], None]  # (judgements done, judgements requested)


@dataclass(frozen=True)
class RunResult:
    """What a run did; ``calls`` counts HTTP requests made by this run, retries included."""

    dataset: str = field(metadata={"help": "the dataset judged"})
    out: str = field(metadata={"help": "the dataset the judgements were written to"})
    judge: str = field(metadata={"help": "the judge's name"})
    requested: int = field(metadata={"help": "pair judgements asked for"})
    scored: int = field(metadata={"help": "judgements with an outcome"})
    unscored: int = field(metadata={"help": "judgements kept unscored, with a reason"})
    calls: int = field(metadata={"help": "HTTP requests made by this run"})
    cache_hits: int = field(metadata={"help": "calls answered from the cache"})
    added: int = field(metadata={"help": "records newly written to the output dataset"})

    def to_json(self) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "out": self.out,
            "judge": self.judge,
            "requested": self.requested,
            "scored": self.scored,
            "unscored": self.unscored,
            "calls": self.calls,
            "cache_hits": self.cache_hits,
            "added": self.added,
        }


def _label(response: Response) -> str:
    """A response's side of a pair: its model, else a hash of its text."""
    if response.model is not None:
        return response.model
    text = response.text or "".join(m.content for m in response.messages or [])
    return "text:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _pairs(store: Store, dataset: str) -> Iterator[Comparison]:
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for record in store.iter_records(dataset):
        if not isinstance(record, Comparison):
            continue
        key = (record.prompt.key, tuple(sorted(_label(r) for r in record.responses[:2])))
        if key not in seen:
            seen.add(key)
            yield record


def pair_tasks(
    store: Store,
    dataset: str,
    *,
    judge: str,
    rubric: str | None = None,
    dimension: str | None = None,
    replicates: int = 1,
) -> Iterator[PairTask]:
    """The run's tasks in dataset order, seeded by ``swap_seed(item, pair, judge, replicate)``."""
    for record in _pairs(store, dataset):
        first, second = record.responses[0], record.responses[1]
        pair = (_label(first), _label(second))
        for replicate in range(replicates):
            seed = swap_seed(record.prompt.key, pair, judge, replicate)
            yield PairTask(
                prompt=record.prompt,
                responses=(first, second),
                order=first_order(seed),
                seed=seed,
                replicate=replicate,
                rubric=rubric,
                dimension=dimension,
            )


def open_judge(
    config: OpenAIJudgeConfig,
    store: Store,
    *,
    rubric: Rubric | None = None,
    concurrency: int | None = None,
) -> OpenAIJudge:
    """An OpenAI-compatible judge whose calls are cached in ``store``."""
    if concurrency is not None:
        config = config.model_copy(update={"concurrency": concurrency})
    judge = OpenAIJudge(config, rubric=rubric)
    judge.cache = JudgeCallCache(store, judge.hash)
    return judge


async def run_judge_async(
    store: Store,
    dataset: str,
    judge: PairwiseJudge,
    *,
    out: str | None = None,
    swap: bool = False,
    policy: SwapPolicy = "tie",
    concurrency: int = 64,
    replicates: int = 1,
    rubric: str | None = None,
    dimension: str | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Judge every pair of ``dataset`` (see the module doc) with at most ``concurrency``
    judgements in flight; write them to ``out`` (default ``<dataset>.<judge name>``)."""
    if concurrency < 1 or replicates < 1:
        raise PalateError("concurrency and replicates must be at least 1")
    out = out or f"{dataset}.{judge.source.name}"
    with store.engine.connect() as conn:
        store.dataset_id(conn, dataset)  # a clear error for an unknown dataset

    def tasks() -> Iterator[PairTask]:
        return pair_tasks(
            store,
            dataset,
            judge=judge.source.name,
            rubric=rubric,
            dimension=dimension,
            replicates=replicates,
        )

    total = sum(1 for _ in tasks())
    if total == 0:
        raise PalateError(f"dataset '{dataset}' has no comparisons to judge")
    slots = asyncio.Semaphore(concurrency)
    done: dict[int, Comparison] = {}
    written = scored = added = 0
    running: set[asyncio.Task[None]] = set()

    async def one(index: int, task: PairTask) -> None:
        try:
            if swap:
                done[index] = await judge_with_swap(judge, task, policy)
            else:
                done[index] = await judge.judge_pair(task)
        finally:
            slots.release()
        if progress is not None:
            progress(len(done) + written, total)

    async def flush(final: bool) -> None:
        nonlocal written, scored, added
        while True:
            batch: list[Comparison] = []
            while written + len(batch) in done and len(batch) < WRITE_BATCH:
                batch.append(done.pop(written + len(batch)))
            if not batch:
                return
            if len(batch) < WRITE_BATCH and not final:
                for offset, record in enumerate(batch):  # not enough yet: put them back
                    done[written + offset] = record
                return
            written += len(batch)
            scored += sum(c.unscored is None for c in batch)
            added += await asyncio.to_thread(write_batch, store, out, batch, judge.source.name)

    try:
        for index, task in enumerate(tasks()):
            await slots.acquire()
            job = asyncio.create_task(one(index, task))
            running.add(job)
            job.add_done_callback(running.discard)
            if len(done) >= WRITE_BATCH:
                await flush(final=False)
        while running:
            await asyncio.gather(*list(running))
        await flush(final=True)
    finally:
        for job in running:
            job.cancel()
    return RunResult(
        dataset=dataset,
        out=out,
        judge=judge.source.name,
        requested=total,
        scored=scored,
        unscored=written - scored,
        calls=int(getattr(judge, "calls", 0)),
        cache_hits=int(getattr(judge, "cache_hits", 0)),
        added=added,
    )


def write_batch(store: Store, out: str, batch: list[Comparison], judge: str) -> int:
    """Store a batch of judgements with the ledger record that accounts for them, in one
    transaction: a run stopped at any point leaves no judgement the ledger does not know.
    Return how many were new."""
    added, _rows = Ledger(store).add_records(
        out,
        batch,
        activity="judge-batch",
        agent=current_agent(),
        attributes=lambda added: {"judge": judge, "added": added},
    )
    return added


def run_judge(
    store: Store,
    dataset: str,
    judge: PairwiseJudge,
    *,
    out: str | None = None,
    swap: bool = False,
    policy: SwapPolicy = "tie",
    concurrency: int = 64,
    replicates: int = 1,
    rubric: str | None = None,
    dimension: str | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """``run_judge_async`` in a fresh event loop (closing an ``OpenAIJudge``'s client after)."""

    async def main() -> RunResult:
        try:
            return await run_judge_async(
                store,
                dataset,
                judge,
                out=out,
                swap=swap,
                policy=policy,
                concurrency=concurrency,
                replicates=replicates,
                rubric=rubric,
                dimension=dimension,
                progress=progress,
            )
        finally:
            if isinstance(judge, OpenAIJudge):
                await judge.aclose()

    return asyncio.run(main())
