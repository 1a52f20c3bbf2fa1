"""The statistics as library calls on a store: read a dataset, compute, record, return.

Each function here is what one ``palate stats`` command runs: it reads the dataset's indexed
columns (``palate.stats.data``), calls the statistic, records the aggregation in the ledger and
returns a typed result whose ``to_json()`` is the command's ``--json`` document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from palate.errors import StatsError
from palate.ledger.aggregation import record_aggregation
from palate.stats import data
from palate.stats.agreement import PairAgreement, agreement_table
from palate.stats.bradley_terry import Ranking
from palate.stats.bradley_terry import rank as rank_models
from palate.stats.difficulty_table import load_difficulty_table
from palate.stats.length_controlled import pin_difficulty_table, win_rate_table
from palate.stats.matching import Matched, match
from palate.stats.ppi import classical_mean, oriented_outcomes, ppi_bradley_terry, ppi_mean
from palate.stats.truth import ClassPrior, Method, TruthResult, infer_truth
from palate.stats.winrate import ModelWinRate, check_comparisons
from palate.store import Store

Between = Literal["humans", "judges", "humans,judges"]
_KINDS: dict[str, set[tuple[str, str]]] = {
    "humans": {("human", "human")},
    "judges": {("judge", "judge")},
    "humans,judges": {("human", "judge"), ("judge", "human")},
}


@dataclass(frozen=True)
class WinRates:
    """Each model's win rate against ``baseline``, sorted as AlpacaEval sorts."""

    baseline: str = field(metadata={"help": "the model every other model is compared to"})
    models: list[ModelWinRate] = field(metadata={"help": "one row per model, best first"})

    def to_json(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "models": [r.to_json() for r in self.models]}


@dataclass(frozen=True)
class RankReport:
    """A ranking and what it was computed from."""

    ranking: Ranking = field(metadata={"help": "scores, intervals and ranks per model"})
    ci: str = field(metadata={"help": "how the intervals were computed"})
    alpha: float = field(metadata={"help": "1 - confidence level of the intervals"})
    comparisons: int = field(metadata={"help": "scored comparisons ranked"})

    def to_json(self) -> dict[str, Any]:
        return self.ranking.to_json()


@dataclass(frozen=True)
class PPIReport:
    """Prediction-powered estimates from a few human and many judge comparisons."""

    target: Literal["winrate", "rank"] = field(metadata={"help": "what was estimated"})
    alpha: float = field(metadata={"help": "1 - confidence level"})
    document: dict[str, Any] = field(metadata={"help": "the estimates, as reported"})
    labelled: int = field(metadata={"help": "judge comparisons that have a human label"})
    unlabelled: int = field(metadata={"help": "judge comparisons without one"})
    mean_judge_outcome: float = field(metadata={"help": "mean outcome over judge comparisons"})

    def estimates(self) -> list[tuple[str, float, float, float]]:
        """(model, estimate, interval low, interval high) per model."""
        key = "score" if self.target == "rank" else "estimate"
        return [(m["model"], m[key], m["ci_low"], m["ci_high"]) for m in self.document["models"]]

    def to_json(self) -> dict[str, Any]:
        return self.document


@dataclass(frozen=True)
class AgreementReport:
    """Agreement between pairs of sources on the items both judged."""

    between: Between = field(metadata={"help": "whose agreement"})
    pairs: list[PairAgreement] = field(metadata={"help": "one row per pair of sources"})

    def to_json(self) -> dict[str, Any]:
        return {"between": self.between, "pairs": [r.to_json() for r in self.pairs]}


def win_rates(
    store: Store,
    dataset: str,
    baseline: str,
    *,
    length_controlled: bool = False,
    difficulty_by: Literal["row", "instruction"] = "row",
    difficulty_table: Path | None = None,
    save_difficulty_table: Path | None = None,
) -> WinRates:
    """Win rate of each model of ``dataset`` against ``baseline``, as AlpacaEval computes it
    (percent); ``length_controlled`` adds AlpacaEval 2.0's length-controlled rate, aligning
    instruction difficulty by annotation row (as the published figures do) or by prompt.

    A pinned ``difficulty_table`` (saved earlier with ``save_difficulty_table``, or
    AlpacaEval's ``instruction_difficulty.csv``) keeps each model's LC figure from moving when
    other models are imported into the dataset."""
    if (difficulty_table or save_difficulty_table) and not length_controlled:
        raise StatsError("difficulty tables need length_controlled (--length-controlled)")
    pinned = None if difficulty_table is None else load_difficulty_table(difficulty_table)
    rows = data.against_baseline(store, dataset, baseline, length_controlled=length_controlled)
    if save_difficulty_table is not None:
        columns = check_comparisons(rows.models, rows.instructions, rows.preferences,
                                    rows.model_lengths, rows.baseline_lengths)  # fmt: skip
        pinned = pin_difficulty_table(columns, baseline=baseline, source=f"dataset {dataset}")
        pinned.save(save_difficulty_table)
    table = win_rate_table(
        rows.models,
        rows.instructions,
        rows.preferences,
        rows.model_lengths,
        rows.baseline_lengths,
        baseline=baseline,
        length_controlled=length_controlled,
        difficulty_by_row_number=difficulty_by == "row",
        difficulty_table=pinned,
    )
    result = WinRates(baseline=baseline, models=table)
    options = {"baseline": baseline, "length_controlled": length_controlled,
               "difficulty_by": difficulty_by,
               "difficulty_table": None if pinned is None else pinned.source}  # fmt: skip
    record_aggregation(store, "stats winrate", [dataset], options, result.to_json())
    return result


def rank(
    store: Store,
    dataset: str,
    *,
    method: Literal["bt", "davidson", "elo"] = "bt",
    ci: Literal["bootstrap", "sandwich"] = "bootstrap",
    alpha: float = 0.05,
    n_bootstrap: int = 1000,
    seed: int = 0,
    l2: float = 0.0,
) -> RankReport:
    """Rank the models of ``dataset``'s pairwise comparisons on Chatbot Arena's scale, with
    (1 - alpha) intervals (bootstrap with ``n_bootstrap`` resamples from ``seed``, or sandwich);
    ``l2`` > 0 puts a Gaussian prior on the log-strengths."""
    pairs = data.pairwise(store, dataset)
    ranking = rank_models(
        pairs.model_a, pairs.model_b, pairs.outcome, pairs.names, method=method, ci=ci,
        alpha=alpha, n_bootstrap=n_bootstrap, rng=seed, l2=l2,
    )  # fmt: skip
    result = RankReport(ranking=ranking, ci=ci, alpha=alpha, comparisons=len(pairs.outcome))
    options = {"method": method, "ci": ci, "alpha": alpha, "n_bootstrap": n_bootstrap,
               "seed": seed, "l2": l2}  # fmt: skip
    record_aggregation(store, "stats rank", [dataset], options, result.to_json())
    return result


def truth(
    store: Store,
    dataset: str,
    *,
    method: Method = "ds",
    max_iter: int = 100,
    class_prior: ClassPrior = "uniform",
) -> TruthResult:
    """Each item's inferred true label from ``dataset``'s crowd labels (majority vote,
    Dawid-Skene, one-coin, GLAD or MACE), with every worker's estimated accuracy.
    ``class_prior`` is MACE's (see ``palate.stats.truth``): not uniform for imbalanced classes."""
    if class_prior != "uniform" and method != "mace":
        raise StatsError("a class prior applies to MACE only (--method mace)")
    labels = data.labels(store, dataset)
    result = infer_truth(
        labels.items, labels.workers, labels.answers, method=method, max_iter=max_iter,
        class_prior=class_prior,
    )  # fmt: skip
    options = {"method": method, "max_iter": max_iter, "class_prior": class_prior}
    record_aggregation(store, "stats truth", [dataset], options, result.to_json())
    return result


def _ppi_win_rates(judged: data.Pairwise, matched: Matched, alpha: float) -> dict[str, Any]:
    """PPI++ win rate of each model against the field, skipping models it cannot estimate."""
    lab, unl, y_hat = matched.labelled, matched.unlabelled, judged.outcome
    a, b = judged.model_a, judged.model_b
    models, skipped = [], []
    for k, name in enumerate(matched.names):
        _, y = oriented_outcomes(k, a[lab], b[lab], matched.human_outcome)
        _, f = oriented_outcomes(k, a[lab], b[lab], y_hat[lab])
        _, f_u = oriented_outcomes(k, a[unl], b[unl], y_hat[unl])
        try:
            ppi_, human_only = ppi_mean(y, f, f_u, alpha=alpha), classical_mean(y, alpha=alpha)
        except StatsError as exc:  # e.g. too few, or only wins, among its human labels
            skipped.append({"model": name, "reason": str(exc)})
            continue
        models.append({"model": name, **ppi_.to_json(), "classical": human_only.to_json()})
    return {"target": "winrate", "alpha": alpha, "models": models, "skipped": skipped}


def ppi(
    store: Store,
    human: str,
    judge: str,
    *,
    target: Literal["winrate", "rank"] = "winrate",
    alpha: float = 0.05,
) -> PPIReport:
    """Prediction-powered (PPI++) intervals from the few ``human`` comparisons and the many
    ``judge`` comparisons of the same battles: win rates against the field, or Bradley-Terry
    scores on the Arena scale."""
    judged = data.pairwise(store, judge)
    matched = match(data.pairwise(store, human), judged)
    lab, unl, y_hat = matched.labelled, matched.unlabelled, judged.outcome
    if target == "rank":
        document = ppi_bradley_terry(
            judged.model_a[lab], judged.model_b[lab], matched.human_outcome, y_hat[lab],
            judged.model_a[unl], judged.model_b[unl], y_hat[unl], matched.names, alpha=alpha,
        ).to_json()  # fmt: skip
    else:
        document = _ppi_win_rates(judged, matched, alpha)
    result = PPIReport(
        target=target,
        alpha=alpha,
        document=document,
        labelled=len(lab),
        unlabelled=len(unl),
        mean_judge_outcome=float(np.mean(y_hat)),
    )
    options = {"target": target, "alpha": alpha}
    record_aggregation(store, "stats ppi", [human, judge], options, document)
    return result


def agreement(store: Store, dataset: str, *, between: Between = "humans") -> AgreementReport:
    """Agreement on shared items, with and without ties (MT-Bench style) and Cohen's kappa,
    within humans, within judges, or between judges and humans."""
    found = data.votes(store, dataset)
    wanted = _KINDS[between]
    keep = [i for i, s in enumerate(found.sources) if found.kinds[s] in {k for k, _ in wanted}]
    if not keep:
        raise StatsError(f"dataset {dataset!r} has no judgements by {between}")
    rows = agreement_table(
        [found.items[i] for i in keep],
        [found.sources[i] for i in keep],
        [found.labels[i] for i in keep],
    )
    rows = [r for r in rows if (found.kinds[r.source_a], found.kinds[r.source_b]) in wanted]
    if not rows:
        raise StatsError(
            f"dataset {dataset!r} has no item judged by two sources ({between}): agreement "
            "needs the same item judged more than once"
        )
    result = AgreementReport(between=between, pairs=rows)
    record_aggregation(store, "stats agreement", [dataset], {"between": between}, result.to_json())
    return result
