"""Regression comparison of two checkpoints judged against the same baseline on the same set.

Per prompt, the paired difference of the two candidates' preferences against the shared
baseline; the mean difference with a paired bootstrap interval, a Wilcoxon signed-rank test
(scipy), the prompts that changed most (the examples a team reads first), and how the error
taxonomy of their rated responses shifted — the loop's "errors → rubric → retrain" starts here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import wilcoxon

from palate.errors import StatsError
from palate.evals.interval import Estimate, clustered_mean
from palate.schema import Rating
from palate.stats.data import against_baseline
from palate.store import Store


@dataclass(frozen=True)
class Change:
    item: str
    before: float  # preference − 1 of checkpoint A against the baseline, in [0, 1]
    after: float  # the same for checkpoint B

    @property
    def delta(self) -> float:
        return self.after - self.before


@dataclass(frozen=True)
class Regression:
    before: str
    after: str
    baseline: str
    difference: Estimate  # mean (after − before) in win-rate points
    wilcoxon_p: float | None
    improved: int
    regressed: int
    unchanged: int
    largest: list[Change]
    error_tags: dict[str, tuple[int, int]]  # tag -> (count before, count after)

    def to_json(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "baseline": self.baseline,
            "difference": self.difference.to_json(),
            "wilcoxon_p": self.wilcoxon_p,
            "improved": self.improved,
            "regressed": self.regressed,
            "unchanged": self.unchanged,
            "largest": [
                {"item": c.item, "before": c.before, "after": c.after, "delta": c.delta}
                for c in self.largest
            ],
            "error_tags": {k: {"before": a, "after": b} for k, (a, b) in self.error_tags.items()},
        }


def _per_item(store: Store, dataset: str, model: str, baseline: str) -> dict[str, float]:
    rows = against_baseline(store, dataset, baseline)
    mine = (rows.models == model) & ~np.isnan(rows.preferences)
    sums: dict[str, list[float]] = {}
    for item, pref in zip(rows.instructions[mine], rows.preferences[mine], strict=True):
        sums.setdefault(str(item), []).append(float(pref) - 1.0)
    return {item: float(np.mean(v)) for item, v in sums.items()}


def _tags(store: Store, dataset: str, model: str) -> Counter[str]:
    tags: Counter[str] = Counter()
    for record in store.iter_records(dataset):
        if isinstance(record, Rating) and record.response and record.response.model == model:
            tags.update(record.error_tags)
    return tags


def compare(
    store: Store,
    dataset: str,
    before: str,
    after: str,
    baseline: str,
    *,
    alpha: float = 0.05,
    n_bootstrap: int = 2000,
    seed: int = 0,
    top: int = 10,
) -> Regression:
    """Paired comparison of ``after`` against ``before`` on the prompts both were judged on."""
    a = _per_item(store, dataset, before, baseline)
    b = _per_item(store, dataset, after, baseline)
    shared = sorted(set(a) & set(b))
    if len(shared) < 2:
        raise StatsError(
            f"{before!r} and {after!r} share {len(shared)} judged prompt(s) against "
            f"{baseline!r} in {dataset!r}; a paired comparison needs at least 2"
        )
    changes = [Change(item, a[item], b[item]) for item in shared]
    deltas = np.array([c.delta for c in changes])
    difference = clustered_mean(
        100 * deltas, shared, alpha=alpha, n_bootstrap=n_bootstrap, seed=seed
    )
    p_value = float(wilcoxon(deltas).pvalue) if np.any(deltas != 0) else None
    tags_a, tags_b = _tags(store, dataset, before), _tags(store, dataset, after)
    return Regression(
        before=before,
        after=after,
        baseline=baseline,
        difference=difference,
        wilcoxon_p=p_value,
        improved=int((deltas > 0).sum()),
        regressed=int((deltas < 0).sum()),
        unchanged=int((deltas == 0).sum()),
        largest=sorted(changes, key=lambda c: (-abs(c.delta), c.item))[:top],
        error_tags={t: (tags_a[t], tags_b[t]) for t in sorted(set(tags_a) | set(tags_b))},
    )
