"""A judge run: every pair in a dataset judged once (or in both orders), written to a dataset.

The pairs are the first two responses of each distinct (item, model pair) among the dataset's
comparisons. Each pair's seed comes from ``swap_seed``, so a pair gets the same presentation
order (and the same cache key) whichever run, resumed or not, judges it. Results are written
in input order, in batches, as they complete, each batch with the ledger record that accounts
for it (one transaction); records are content-hashed, so a resumed run
rewrites nothing that is already there, and calls come back from the cache.

A judgement that failed for transport reasons (timeouts, refused connections, 429 and 5xx
after every retry) is not a judgement: it is counted but not stored, so the rerun that reaches
the judge writes the verdict in its place instead of beside it. A run in which every call
failed that way stores nothing and raises. A dataset whose pairs carry no texts (Arena
battles keep only model names) is refused before any call.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from palate.errors import PalateError
from palate.judges.base import JudgeResources, PairTask, PairwiseJudge
from palate.judges.openai_judge import OpenAIJudge
from palate.judges.swap import SwapPolicy, judge_with_swap, swap_seed
from palate.ledger import EntityRef, Ledger
from palate.ledger.provenance import current_agent
from palate.rubric.resolve import resolve_rubric
from palate.schema import Comparison, Response, Rubric
from palate.schema.outcome import first_order
from palate.schema.text import prompt_text, response_text
from palate.store import Store

WRITE_BATCH = 500
Progress = Callable[[int, int], None]  # (judgements done, judgements requested)


@dataclass(frozen=True)
class JudgeRunResult:
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
    failed_transport: int = field(
        default=0,
        metadata={"help": "unscored judgements whose calls never reached the judge (not stored)"},
    )

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
            "failed_transport": self.failed_transport,
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


_TRANSPORT = re.compile(r"(order \S+ \S+: )?error: (timeout|connection error|HTTP (408|429|5\d\d))")


def failed_in_transport(judgement: Comparison) -> bool:
    """Whether every call behind an unscored judgement failed before the judge answered."""
    if judgement.unscored is None:
        return False
    return all(_TRANSPORT.match(part) for part in judgement.unscored.reason.split("; "))


def check_texts(store: Store, dataset: str) -> int:
    """The number of pairs to judge; PalateError, before any call, when some lack the prompt
    or response texts a judge reads, or when there are none."""
    pairs = no_prompt = no_response = 0
    for record in _pairs(store, dataset):
        pairs += 1
        no_prompt += prompt_text(record.prompt) is None
        no_response += any(response_text(r) is None for r in record.responses[:2])
    if pairs == 0:
        raise PalateError(f"dataset '{dataset}' has no comparisons to judge")
    if no_prompt or no_response:
        raise PalateError(
            f"dataset '{dataset}': {no_prompt} of {pairs} pairs have no prompt text and "
            f"{no_response} have no response text; a judge reads both (import the "
            "conversations, e.g. with their texts, to judge them)"
        )
    return pairs


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


def _in_flight(judge: PairwiseJudge, concurrency: int | None, swap: bool) -> int:
    """Judgements in flight: ``concurrency`` (default: the judge config's request limit, 8
    for local judges), twice that with swap so that its second calls keep the client busy."""
    if concurrency is None:
        concurrency = judge.config.concurrency if isinstance(judge, OpenAIJudge) else 8
    return 2 * concurrency if swap else concurrency


async def run_async(
    store: Store,
    dataset: str,
    judge: PairwiseJudge,
    *,
    rubric: Rubric | str | Path | None = None,
    swap: bool = False,
    policy: SwapPolicy = "tie",
    out: str | None = None,
    concurrency: int | None = None,
    replicates: int = 1,
    dimension: str | None = None,
    progress: Progress | None = None,
) -> JudgeRunResult:
    """Judge every pair of ``dataset`` (see the module doc), write the judgements to ``out``
    (default ``<dataset>.<judge name>``) and record the run in the ledger.

    ``rubric`` (a Rubric, a YAML file, a shipped example's name or a stored version; default:
    the judge config's) applies to LLM judges, whose calls are cached in ``store`` so that a
    killed run started again makes no completed call twice. ``swap`` judges both presentation
    orders; ``policy`` says what an order-inconsistent pair becomes.
    """
    if replicates < 1 or (concurrency is not None and concurrency < 1):
        raise PalateError("concurrency and replicates must be at least 1")
    rubric_id = None
    if isinstance(judge, OpenAIJudge):
        judge.use(store, resolve_rubric(store, rubric or judge.config.rubric))
        rubric_id = judge.rubric_version
    elif rubric is not None:
        raise PalateError(f"judge '{judge.source.name}' takes no rubric")
    out = out or f"{dataset}.{judge.source.name}"
    calls_before, hits_before = _counters(judge)
    with store.engine.connect() as conn:
        store.dataset_id(conn, dataset)  # a clear error for an unknown dataset
    total = check_texts(store, dataset) * replicates
    tasks = pair_tasks(
        store,
        dataset,
        judge=judge.source.name,
        rubric=rubric_id,
        dimension=dimension,
        replicates=replicates,
    )
    slots = asyncio.Semaphore(_in_flight(judge, concurrency, swap))
    done: dict[int, Comparison | None] = {}  # None: failed in transport, not stored
    written = scored = added = failed = 0
    running: set[asyncio.Task[None]] = set()

    async def one(index: int, task: PairTask) -> None:
        try:
            if swap:
                judgement = await judge_with_swap(judge, task, policy)
            else:
                judgement = await judge.judge_pair(task)
            done[index] = None if failed_in_transport(judgement) else judgement
        finally:
            slots.release()
        if progress is not None:
            progress(len(done) + written, total)

    async def flush(final: bool) -> None:
        nonlocal written, scored, added, failed
        while True:
            taken: list[Comparison | None] = []
            while written + len(taken) in done and len(taken) < WRITE_BATCH:
                taken.append(done.pop(written + len(taken)))
            if not taken:
                return
            if len(taken) < WRITE_BATCH and not final:
                for offset, record in enumerate(taken):  # not enough yet: put them back
                    done[written + offset] = record
                return
            written += len(taken)
            batch = [c for c in taken if c is not None]
            failed += len(taken) - len(batch)
            scored += sum(c.unscored is None for c in batch)
            if batch:
                added += await asyncio.to_thread(write_batch, store, out, batch, judge.source.name)

    try:
        for index, task in enumerate(tasks):
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
    if failed == total:
        raise PalateError(
            f"every call to judge '{judge.source.name}' failed before it answered (timeouts, "
            "refused connections or server errors after every retry); nothing was stored"
        )
    result = JudgeRunResult(
        dataset=dataset,
        out=out,
        judge=judge.source.name,
        requested=total,
        scored=scored,
        unscored=written - scored,
        calls=_counters(judge)[0] - calls_before,
        cache_hits=_counters(judge)[1] - hits_before,
        added=added,
        failed_transport=failed,
    )
    record_run(store, judge, result, rubric_id, {"swap": swap, "policy": policy,
                                              "replicates": replicates})  # fmt: skip
    return result


def _counters(judge: PairwiseJudge) -> tuple[int, int]:
    """The judge's (calls, cache hits) so far; a run reports the difference."""
    if isinstance(judge, JudgeResources):
        return judge.calls, judge.cache_hits
    return 0, 0


def record_run(
    store: Store,
    judge: PairwiseJudge,
    result: JudgeRunResult,
    rubric_id: str | None,
    options: dict[str, object],
) -> None:
    """The run in the ledger: the pairs, the judge config and rubric it used, what it wrote
    (every row of ``result.out``, so rows written without a batch record are accounted for)."""
    ledger = Ledger(store)
    used = [ledger.dataset_rows(result.dataset)]
    version = judge.source.version or hashlib.sha256(judge.source.name.encode()).hexdigest()
    used.append(EntityRef(kind="judge-config", id=judge.source.name, hash=version))
    if rubric_id is not None:
        used.append(EntityRef(kind="rubric", id=rubric_id, hash=rubric_id))
    ledger.append(
        "judge-run",
        agent=current_agent(),
        used=used,
        generated=[ledger.dataset_rows(result.out)],
        attributes={"options": options, "result": result.to_json()},
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


def run(
    store: Store,
    dataset: str,
    judge: PairwiseJudge,
    *,
    rubric: Rubric | str | Path | None = None,
    swap: bool = False,
    policy: SwapPolicy = "tie",
    out: str | None = None,
    concurrency: int | None = None,
    replicates: int = 1,
    dimension: str | None = None,
    progress: Progress | None = None,
) -> JudgeRunResult:
    """``run_async`` in a fresh event loop; the judge is closed when it returns (to judge
    several datasets with one judge, ``await run_async`` inside ``async with judge``)."""

    async def main() -> JudgeRunResult:
        async with judge if isinstance(judge, JudgeResources) else contextlib.nullcontext():
            return await run_async(
                store,
                dataset,
                judge,
                rubric=rubric,
                swap=swap,
                policy=policy,
                out=out,
                concurrency=concurrency,
                replicates=replicates,
                dimension=dimension,
                progress=progress,
            )

    return asyncio.run(main())
