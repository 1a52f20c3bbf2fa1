"""Reading what the statistics need out of the store, as numpy arrays.

The statistics modules themselves work on arrays and know nothing of databases; this module is
the one bridge, and reads only indexed columns (never the JSON bodies), so it stays fast on
millions of judgements.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palate.errors import StatsError
from palate.store import Store


@dataclass(frozen=True)
class Pairwise:
    """Scored pairwise comparisons: ``outcome`` is 1 if model_a won, 0 if it lost, 0.5 a tie
    (or AlpacaEval's continuous preference mapped onto [0, 1])."""

    names: list[str]
    model_a: np.ndarray  # int codes into names
    model_b: np.ndarray
    outcome: np.ndarray
    items: np.ndarray  # prompt keys (str)
    sources: np.ndarray  # judge or rater names (str)


def pairwise(store: Store, dataset: str) -> Pairwise:
    rows = store.columns(
        dataset, ["model_a", "model_b", "outcome", "item", "source_name"], kind="comparison"
    )
    rows = [r for r in rows if r[0] is not None and r[1] is not None]
    if not rows:
        raise StatsError(f"dataset {dataset!r} has no scored comparisons between named models")
    a, b, outcome, items, sources = (np.asarray(col) for col in zip(*rows, strict=True))
    names, codes = np.unique(np.concatenate([a, b]), return_inverse=True)
    n = len(rows)
    return Pairwise(
        names=[str(x) for x in names],
        model_a=codes[:n],
        model_b=codes[n:],
        outcome=outcome.astype(float),
        items=items,
        sources=sources,
    )


@dataclass(frozen=True)
class AgainstBaseline:
    """Comparisons of models against one baseline, oriented as AlpacaEval orients them:
    ``preferences`` in [1, 2] with 1 = the baseline won and 2 = the model won, NaN = unscored."""

    models: np.ndarray
    instructions: np.ndarray
    preferences: np.ndarray
    model_lengths: np.ndarray
    baseline_lengths: np.ndarray


def against_baseline(
    store: Store, dataset: str, baseline: str, *, length_controlled: bool = False
) -> AgainstBaseline:
    rows = store.columns(
        dataset,
        ["model_a", "model_b", "outcome", "item", "length_a", "length_b"],
        kind="comparison",
        scored_only=False,
    )
    models, instructions, prefs = [], [], []
    model_len: list[int | None] = []
    base_len: list[int | None] = []
    for model_a, model_b, outcome, item, length_a, length_b in rows:
        if model_a == baseline and model_b != baseline:
            model, score, mine, theirs = (
                model_b,
                None if outcome is None else 1 - outcome,
                length_b,
                length_a,
            )
        elif model_b == baseline and model_a != baseline:
            model, score, mine, theirs = model_a, outcome, length_a, length_b
        else:
            continue
        models.append(model)
        instructions.append(item)
        prefs.append(np.nan if score is None else 1.0 + score)
        model_len.append(mine)
        base_len.append(theirs)
    if not models:
        # `judge run` writes its verdicts to DATASET.JUDGE, not into the generations' dataset.
        judged = [d.name for d in store.datasets() if d.name.startswith(f"{dataset}.")]
        hint = f" (judged comparisons are in {', '.join(judged)})" if judged else ""
        raise StatsError(
            f"no comparisons against baseline {baseline!r} in dataset {dataset!r}{hint}"
        )
    if None in model_len or None in base_len:
        if length_controlled:
            raise StatsError(
                f"dataset {dataset!r} has comparisons without response texts: "
                "a length-controlled win rate needs them"
            )
        # Battles that name models without texts (Arena): lengths are unknown, shown as 0.
        model_len = [n or 0 for n in model_len]
        base_len = [n or 0 for n in base_len]
    return AgainstBaseline(
        models=np.asarray(models),
        instructions=np.asarray(instructions),
        preferences=np.asarray(prefs, dtype=float),
        model_lengths=np.asarray(model_len),
        baseline_lengths=np.asarray(base_len),
    )


@dataclass(frozen=True)
class Labels:
    """Categorical labels in long form: one (item, worker, answer) a rating."""

    items: list[str]
    workers: list[str]
    answers: list[str]


def labels(store: Store, dataset: str) -> Labels:
    rows = store.columns(dataset, ["item", "source_name", "label"], kind="rating")
    rows = [r for r in rows if r[2] is not None]
    if not rows:
        raise StatsError(f"dataset {dataset!r} has no categorical ratings")
    items, workers, answers = (list(col) for col in zip(*rows, strict=True))
    return Labels(items=items, workers=workers, answers=answers)


@dataclass(frozen=True)
class Votes:
    """Every scored judgement as a categorical vote, for agreement statistics.

    Ratings vote their label. A comparison votes for the winning model's side with the pair
    put in a fixed (sorted) order, so that two sources judging the same pair in opposite
    presentation orders still agree: ``model_a``, ``model_b`` or ``tie``.
    """

    items: list[str]
    sources: list[str]
    kinds: dict[str, str]  # source name -> "human" or "judge"
    labels: list[str]


def votes(store: Store, dataset: str) -> Votes:
    items: list[str] = []
    sources: list[str] = []
    labels: list[str] = []
    kinds: dict[str, str] = {}
    for item, name, kind, label in store.columns(
        dataset, ["item", "source_name", "source_kind", "label"], kind="rating"
    ):
        if label is not None:
            items.append(item)
            sources.append(name)
            labels.append(label)
            kinds[name] = kind
    for item, name, kind, model_a, model_b, outcome in store.columns(
        dataset,
        ["item", "source_name", "source_kind", "model_a", "model_b", "outcome"],
        kind="comparison",
    ):
        if model_b is not None and model_a is not None and model_b < model_a:
            model_a, model_b, outcome = model_b, model_a, 1.0 - outcome
        items.append(f"{item}\t{model_a}\t{model_b}")
        sources.append(name)
        labels.append("model_a" if outcome > 0.5 else "model_b" if outcome < 0.5 else "tie")
        kinds[name] = kind
    if not items:
        raise StatsError(f"dataset {dataset!r} has no scored judgements")
    return Votes(items=items, sources=sources, kinds=kinds, labels=labels)
