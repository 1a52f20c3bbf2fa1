"""Pairing generations for judging: a candidate's and a baseline's responses to one prompt.

Sample k of the candidate meets sample k of the baseline (sample 0 when the baseline has
fewer). The data order is always (candidate, baseline); the order a judge is shown them in
comes from ``swap_seed(item, pair, judge, replicate)``, as in every judge run, so it is random
across items, the same in a resumed run, and judging both orders (swap) starts from it.
Generations an endpoint failed on (no text) are left out.
"""

from __future__ import annotations

from collections.abc import Iterable

from palate.errors import PalateError
from palate.judges.base import PairTask
from palate.judges.swap import swap_seed
from palate.schema import Generation
from palate.schema.outcome import first_order


def _by_prompt(generations: Iterable[Generation]) -> dict[str, dict[int, Generation]]:
    table: dict[str, dict[int, Generation]] = {}
    for g in generations:
        if g.error is None and g.response.text is not None:
            table.setdefault(g.prompt.key, {})[g.sample] = g  # a later retry wins
    return table


def pair_generations(
    candidate: Iterable[Generation],
    baseline: Iterable[Generation],
    *,
    judge: str,
    rubric: str | None = None,
    replicates: int = 1,
) -> list[PairTask]:
    """One task per (prompt, candidate sample, replicate), in the candidate's prompt order."""
    theirs = _by_prompt(baseline)
    tasks = []
    for item, samples in _by_prompt(candidate).items():
        if item not in theirs:
            continue
        for sample, mine in sorted(samples.items()):
            other = theirs[item].get(sample) or theirs[item][min(theirs[item])]
            pair = (mine.response.model, other.response.model)
            if pair[0] == pair[1]:
                raise PalateError(f"candidate and baseline are both named {pair[0]!r}")
            for replicate in range(replicates):
                seed = swap_seed(f"{item}#{sample}", pair, judge, replicate)
                tasks.append(
                    PairTask(
                        prompt=mine.prompt,
                        responses=(mine.response, other.response),
                        order=first_order(seed),
                        seed=seed,
                        replicate=replicate,
                        rubric=rubric,
                    )
                )
    if not tasks:
        raise PalateError("no prompt has responses from both the candidate and the baseline")
    return tasks
