"""An evaluation: a candidate against a baseline on one set, with paired intervals.

The figures are the ones a release decision reads: AlpacaEval's win rate (so it equals
``palate stats winrate`` on the same data) with a bootstrap interval over prompts, the
length-controlled win rate with its standard error, per-dimension rubric scores and the error
taxonomy of the candidate's rated responses. The result is plain JSON so that the ledger can
record it and a gate can be checked against it later, by anyone, from the record alone.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import norm

from palate.errors import StatsError
from palate.evals.interval import Estimate, clustered_mean
from palate.schema import Rating
from palate.stats.data import against_baseline
from palate.stats.length_controlled import win_rate_table
from palate.store import Store


@dataclass(frozen=True)
class EvalSpec:
    """What to evaluate; every field is recorded with the result."""

    dataset: str
    candidate: str
    baseline: str
    candidate_hash: str | None = None  # content hash of the checkpoint, when known
    alpha: float = 0.05
    n_bootstrap: int = 2000
    seed: int = 0
    length_controlled: bool = True
    exclude_items: tuple[str, ...] = ()  # prompt keys left out (contamination-flagged)

    def to_json(self) -> dict[str, Any]:
        doc = dict(self.__dict__)
        if self.exclude_items:
            doc["exclude_items"] = list(self.exclude_items)
        else:  # the document an evaluation without exclusions always had
            del doc["exclude_items"]
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> EvalSpec:
        return cls(**{**doc, "exclude_items": tuple(doc.get("exclude_items", ()))})


@dataclass(frozen=True)
class EvalResult:
    spec: EvalSpec
    metrics: dict[str, Estimate]
    counts: dict[str, int]
    outputs_hash: str
    dimensions: dict[str, Estimate] = field(default_factory=dict)
    error_tags: dict[str, int] = field(default_factory=dict)

    @property
    def alpha(self) -> float:
        return self.spec.alpha

    def metric(self, name: str) -> Estimate | None:
        """A top-level metric, or ``dimension:NAME`` for a rubric dimension's mean score."""
        if name.startswith("dimension:"):
            return self.dimensions.get(name.removeprefix("dimension:"))
        return self.metrics.get(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec.to_json(),
            "metrics": {k: v.to_json() for k, v in self.metrics.items()},
            "counts": self.counts,
            "outputs_hash": self.outputs_hash,
            "dimensions": {k: v.to_json() for k, v in self.dimensions.items()},
            "error_tags": self.error_tags,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> EvalResult:
        return cls(
            spec=EvalSpec.from_json(doc["spec"]),
            metrics={k: Estimate(**v) for k, v in doc["metrics"].items()},
            counts=doc["counts"],
            outputs_hash=doc["outputs_hash"],
            dimensions={k: Estimate(**v) for k, v in doc["dimensions"].items()},
            error_tags=doc["error_tags"],
        )


def _outputs_hash(store: Store, spec: EvalSpec) -> str:
    """What was judged, when no checkpoint hash is known: the candidate's (prompt, text) pairs."""
    outputs: set[tuple[str, str]] = set()
    for record in store.iter_records(spec.dataset):
        if isinstance(record, Rating):
            continue
        for response in record.responses:
            if response.model == spec.candidate:
                outputs.add((record.prompt.key, response.text or ""))
    digest = hashlib.sha256()
    for item, text in sorted(outputs):
        digest.update(f"{len(item)}:{item}{len(text)}:{text}".encode())
    return digest.hexdigest()


def _dimension_scores(
    store: Store, spec: EvalSpec
) -> tuple[dict[str, Estimate], dict[str, int], int]:
    scores: dict[str, list[tuple[str, float]]] = defaultdict(list)
    tags: Counter[str] = Counter()
    human = 0
    for record in store.iter_records(spec.dataset):
        if not isinstance(record, Rating) or record.response is None:
            continue
        if record.response.model != spec.candidate or record.item in spec.exclude_items:
            continue
        tags.update(record.error_tags)
        human += record.rater.kind == "human"
        if record.score is not None and record.dimension is not None:
            scores[record.dimension].append((record.item, record.score))
    dimensions = {
        name: clustered_mean(
            [s for _, s in rows],
            [i for i, _ in rows],
            alpha=spec.alpha,
            n_bootstrap=spec.n_bootstrap,
            seed=spec.seed,
        )
        for name, rows in sorted(scores.items())
        if len(rows) >= 2
    }
    return dimensions, dict(sorted(tags.items())), human


def _human_comparisons(store: Store, spec: EvalSpec) -> int:
    rows = store.columns(spec.dataset, ["model_a", "model_b", "source_kind"], kind="comparison")
    pair = {spec.candidate, spec.baseline}
    return sum(1 for a, b, kind in rows if {a, b} == pair and kind == "human")


def evaluate(store: Store, spec: EvalSpec) -> EvalResult:
    """Evaluate ``spec.candidate`` against ``spec.baseline`` on ``spec.dataset``."""
    rows = against_baseline(
        store, spec.dataset, spec.baseline, length_controlled=spec.length_controlled
    )
    kept = ~np.isin(rows.instructions, list(spec.exclude_items))
    mine = (rows.models == spec.candidate) & kept
    if not mine.any():
        raise StatsError(
            f"dataset {spec.dataset!r} has no comparisons of {spec.candidate!r} "
            f"against {spec.baseline!r}"
        )
    prefs = rows.preferences[mine]
    items = rows.instructions[mine]
    judged = ~np.isnan(prefs)
    y = prefs[judged] - 1.0
    clusters = items[judged]
    boot = {"alpha": spec.alpha, "n_bootstrap": spec.n_bootstrap, "seed": spec.seed}
    win = clustered_mean(100 * y, clusters, **boot)  # type: ignore[arg-type]
    discrete = np.where(y > 0.5, 100.0, np.where(y < 0.5, 0.0, 50.0))
    metrics = {
        "win_rate": win,
        "discrete_win_rate": clustered_mean(discrete, clusters, **boot),  # type: ignore[arg-type]
    }
    if spec.length_controlled:
        table = win_rate_table(
            rows.models[kept],
            rows.instructions[kept],
            rows.preferences[kept],
            rows.model_lengths[kept],
            rows.baseline_lengths[kept],
            baseline=spec.baseline,
            length_controlled=True,
        )
        row = next(r for r in table if r.model == spec.candidate)
        assert row.length_controlled_winrate is not None and row.lc_standard_error is not None
        z = float(norm.ppf(1 - spec.alpha / 2))
        metrics["length_controlled_winrate"] = Estimate(
            row.length_controlled_winrate,
            row.length_controlled_winrate - z * row.lc_standard_error,
            row.length_controlled_winrate + z * row.lc_standard_error,
            int(judged.sum()),
            spec.alpha,
        )
    dimensions, tags, human_ratings = _dimension_scores(store, spec)
    counts = {
        "comparisons": int(mine.sum()),
        "judged": int(judged.sum()),
        "unscored": int((~judged).sum()),
        "prompts": len(set(items.tolist())),
        "human_labels": _human_comparisons(store, spec) + human_ratings,
    }
    return EvalResult(spec, metrics, counts, _outputs_hash(store, spec), dimensions, tags)
