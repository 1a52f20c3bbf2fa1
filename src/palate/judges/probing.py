"""Probing a judge's biases on a sample of a dataset's pairs, recorded in the ledger.

``probe`` is what ``palate judge probe`` runs: sample pairs that carry texts, run the bias
probes (``palate.judges.probes``) with the recorded outcomes as the self-preference reference,
and record the report as an aggregation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from palate.errors import InputError
from palate.judges.base import PairTask, PairwiseJudge
from palate.judges.openai_judge import OpenAIJudge
from palate.judges.probes import PROBES, ProbeName, ProbeReport, run_probes
from palate.ledger.aggregation import record_aggregation
from palate.rubric.resolve import resolve_rubric
from palate.schema import Comparison, Rubric
from palate.store import Store


@dataclass(frozen=True)
class DatasetProbe:
    """The bias probes of one judge on a sample of one dataset's pairs."""

    dataset: str = field(metadata={"help": "the dataset the pairs were drawn from"})
    pairs: int = field(metadata={"help": "pairs probed"})
    report: ProbeReport = field(metadata={"help": "each probe's effect, interval and verdict"})

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "pairs": self.pairs, **self.report.to_dict()}


def _sample(
    records: list[Comparison], limit: int, seed: int
) -> tuple[list[PairTask], list[float | None]]:
    """Up to ``limit`` pairs with text, drawn with ``seed``; their recorded outcomes are the
    reference the self-preference probe compares against."""
    usable = [
        r for r in records if len(r.responses) == 2 and all(x.text is not None for x in r.responses)
    ]
    if len(usable) > limit:
        keep = np.sort(np.random.default_rng(seed).choice(len(usable), limit, replace=False))
        usable = [usable[i] for i in keep]
    tasks = [PairTask(prompt=r.prompt, responses=(r.responses[0], r.responses[1])) for r in usable]
    return tasks, [r.score_for_first() for r in usable]


def probe(
    store: Store,
    dataset: str,
    judge: PairwiseJudge,
    *,
    rubric: Rubric | str | Path | None = None,
    probes: Sequence[ProbeName] = PROBES,
    family: str | None = None,
    limit: int = 50,
    seed: int = 0,
    level: float = 0.95,
) -> DatasetProbe:
    """Run bias probes (position, verbosity, length, self-preference with ``family``,
    sycophancy) on up to ``limit`` pairs of ``dataset`` drawn with ``seed``."""
    if isinstance(judge, OpenAIJudge):
        judge.use(store, resolve_rubric(store, rubric or judge.config.rubric))
    records = [r for r in store.iter_records(dataset) if isinstance(r, Comparison)]
    tasks, reference = _sample(records, limit, seed)
    if not tasks:
        raise InputError(f"dataset '{dataset}' has no pairs with response texts", field="--dataset")
    report = asyncio.run(
        run_probes(judge, tasks, probes=probes, family=family, reference=reference, level=level)
    )
    result = DatasetProbe(dataset=dataset, pairs=len(tasks), report=report)
    options = {"judge": judge.source.name, "probes": list(probes), "family": family,
               "limit": limit, "seed": seed, "level": level}  # fmt: skip
    record_aggregation(store, "judge-probe", [dataset], options, result.to_json())
    return result
