"""Agreement between raters and judges on categorical labels, by the published definitions.

- Percent agreement with and without ties, as MT-Bench computes it (Zheng et al. 2023, "Judging
  LLM-as-a-judge with MT-Bench and Chatbot Arena", NeurIPS Datasets and Benchmarks;
  ``fastchat/llm_judge/compute_agreement.py``): over the pairs of votes that two sources cast
  on the same item (every vote of one against every vote of the other; within one source,
  every pair of its votes), the share that agree. Every tie label agrees with every other
  (FastChat counts "tie" and "tie (bothbad)" as equal); "without ties" drops each pair that
  has a tie in it.
- Cohen's kappa (Cohen 1960, Educ. Psychol. Meas. 20:37–46; weighted: Cohen 1968, Psychol.
  Bull. 70:213–220): κ = 1 − Σ w·O / Σ w·E over the confusion matrix O and its chance
  expectation E, with disagreement weights w = [i ≠ j], |i − j| or (i − j)², exactly as
  ``sklearn.metrics.cohen_kappa_score`` computes it (categories sorted unless given).
- Fleiss' kappa (Fleiss 1971, Psychol. Bull. 76:378–382) from an items × categories table of
  counts with the same number of raters per item, as ``statsmodels``' ``fleiss_kappa``.
- Krippendorff's alpha (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability",
  Annenberg School, University of Pennsylvania): α = 1 − (n − 1)·Σ o_ck δ²_ck / Σ n_c n_k δ²_ck
  from the coincidence matrix o of pairable values (units with at least two values), for the
  nominal, ordinal, interval and ratio metrics δ² of that paper. Missing values are simply
  absent, so raters need not label every unit.

Statistics that are undefined on the data (no pairs, or chance agreement of 1, as when only
one category occurs) raise ``StatsError``; in ``agreement_table`` they are ``None``.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import sparse

from palate.errors import StatsError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
Level = Literal["nominal", "ordinal", "interval", "ratio"]

TIES: frozenset[str] = frozenset({"tie", "tie (bothbad)"})
"""Labels that mean "neither side won"; they all agree with each other (FastChat's rule)."""


def _codes(values: Sequence[Hashable]) -> tuple[list[Any], IntArray]:
    """Sorted distinct values and each value's index among them."""
    names, codes = np.unique(np.asarray(values, dtype=object), return_inverse=True)
    return list(names), codes.astype(np.intp).ravel()


def _paired(a: Sequence[Hashable], b: Sequence[Hashable]) -> None:
    if len(a) != len(b):
        raise StatsError(f"the two raters' labels must be aligned; got {len(a)} and {len(b)}")
    if len(a) == 0:
        raise StatsError("no labelled items to compare")


def percent_agreement(
    a: Sequence[str],
    b: Sequence[str],
    *,
    ties: Collection[str] = TIES,
    without_ties: bool = False,
) -> float:
    """Share of items on which two aligned raters agree, any tie agreeing with any tie;
    ``without_ties`` leaves out every item on which either rater called a tie."""
    _paired(a, b)
    tie_a = np.isin(np.asarray(a, dtype=object), list(ties))
    tie_b = np.isin(np.asarray(b, dtype=object), list(ties))
    same = (np.asarray(a, dtype=object) == np.asarray(b, dtype=object)) | (tie_a & tie_b)
    keep = ~(tie_a | tie_b) if without_ties else np.ones(len(a), dtype=bool)
    if not keep.any():
        raise StatsError("every item has a tie, so agreement without ties is undefined")
    return float(same[keep].mean())


def _kappa_from_table(table: FloatArray, weights: FloatArray) -> float | None:
    """1 − Σ w·O / Σ w·E, or None when chance disagreement is 0 (kappa undefined)."""
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    chance = float(np.sum(weights * expected))
    if chance <= 0:
        return None
    return 1 - float(np.sum(weights * table)) / chance


def _disagreement_weights(k: int, weights: Literal["linear", "quadratic"] | None) -> FloatArray:
    i, j = np.indices((k, k))
    if weights is None:
        return (i != j).astype(np.float64)
    if weights == "linear":
        return np.abs(i - j).astype(np.float64)
    if weights == "quadratic":
        return ((i - j) ** 2).astype(np.float64)
    raise StatsError(f"unknown kappa weights {weights!r}; use None, 'linear' or 'quadratic'")


def cohen_kappa(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    *,
    weights: Literal["linear", "quadratic"] | None = None,
    labels: Sequence[Hashable] | None = None,
) -> float:
    """Cohen's kappa of two aligned raters. Weighted kappa needs ordered categories: ``labels``
    gives the order (items with labels outside it are left out, as scikit-learn does),
    else the sorted distinct labels."""
    _paired(a, b)
    if labels is None:
        categories, codes = _codes([*a, *b])
        code_a, code_b = codes[: len(a)], codes[len(a) :]
    else:
        index = {label: i for i, label in enumerate(labels)}
        code_a = np.array([index.get(x, -1) for x in a], dtype=np.intp)
        code_b = np.array([index.get(x, -1) for x in b], dtype=np.intp)
        keep = (code_a >= 0) & (code_b >= 0)
        if not keep.any():
            raise StatsError("no item has both labels among the given categories")
        code_a, code_b, categories = code_a[keep], code_b[keep], list(labels)
    k = len(categories)
    table = np.bincount(code_a * k + code_b, minlength=k * k).reshape(k, k).astype(np.float64)
    kappa = _kappa_from_table(table, _disagreement_weights(k, weights))
    if kappa is None:
        raise StatsError("kappa is undefined: chance agreement is 1 (a single category in use)")
    return kappa


@dataclass(frozen=True)
class LabelTable:
    """Counts of each category's labels on each item (the input of Fleiss' kappa)."""

    items: list[Any]
    categories: list[Any]
    counts: npt.NDArray[np.int64]


def label_table(items: Sequence[Hashable], labels: Sequence[Hashable]) -> LabelTable:
    """The items × categories count table of long-form (item, label) rows."""
    _paired(items, labels)
    item_names, item = _codes(items)
    category_names, category = _codes(labels)
    k = len(category_names)
    counts = np.bincount(item * k + category, minlength=len(item_names) * k)
    return LabelTable(item_names, category_names, counts.reshape(len(item_names), k))


def fleiss_kappa(table: npt.ArrayLike | LabelTable) -> float:
    """Fleiss' kappa from an items × categories table of counts; every item must have the same
    number (≥ 2) of ratings (with varying numbers, use Krippendorff's alpha)."""
    counts = np.asarray(table.counts if isinstance(table, LabelTable) else table, dtype=float)
    if counts.ndim != 2 or counts.size == 0:
        raise StatsError("Fleiss' kappa needs a non-empty items × categories table of counts")
    raters = counts.sum(axis=1)
    m = raters[0]
    if not np.all(raters == m):
        raise StatsError(
            f"Fleiss' kappa needs the same number of ratings on every item; got "
            f"{int(raters.min())} to {int(raters.max())} (use Krippendorff's alpha)"
        )
    if m < 2:
        raise StatsError("Fleiss' kappa needs at least two ratings per item")
    observed = float(((counts * (counts - 1)).sum(axis=1) / (m * (m - 1))).mean())
    share = counts.sum(axis=0) / counts.sum()
    chance = float(np.sum(share**2))
    if chance >= 1:
        raise StatsError("Fleiss' kappa is undefined: every rating is in one category")
    return (observed - chance) / (1 - chance)


def _numeric(values: Sequence[Any], level: Level) -> FloatArray:
    try:
        return np.asarray([float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise StatsError(f"{level} alpha needs numeric values: {exc}") from exc


def _delta2(level: Level, domain: Sequence[Any], totals: FloatArray) -> FloatArray:
    """Krippendorff's squared difference δ²_ck between the domain's values, in domain order."""
    k = len(domain)
    if level == "nominal":
        return 1 - np.eye(k)
    if level == "ordinal":
        # δ_ck = Σ_{g=c..k} n_g − (n_c + n_k)/2, with the values in rank order.
        below = np.concatenate([[0.0], np.cumsum(totals)])
        c, g = np.indices((k, k))
        lo, hi = np.minimum(c, g), np.maximum(c, g)
        return (below[hi + 1] - below[lo] - (totals[c] + totals[g]) / 2) ** 2
    v = _numeric(domain, level)
    if level == "interval":
        return (v[:, None] - v[None, :]) ** 2
    if level == "ratio":
        total = v[:, None] + v[None, :]
        diff = v[:, None] - v[None, :]
        return np.divide(diff, total, out=np.zeros_like(diff), where=total != 0) ** 2
    raise StatsError(f"unknown alpha level {level!r}; use nominal, ordinal, interval or ratio")


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _domain(
    values: list[Any], level: Level, order: Sequence[Any] | None
) -> tuple[list[Any], IntArray]:
    """Distinct values in metric order, and each value's position: the given ``order``, else
    numeric order where every value is a number (numbers in strings too), else (nominal only)
    sorted."""
    if order is not None:
        index = {value: i for i, value in enumerate(order)}
        unknown = {v for v in values if v not in index}
        if unknown:
            raise StatsError(f"values missing from the given order: {sorted(map(str, unknown))}")
        return list(order), np.array([index[v] for v in values], dtype=np.intp)
    try:
        numbers = np.asarray([float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        if level != "nominal":
            raise StatsError(
                f"{level} alpha needs numbers or an explicit order of the values"
            ) from None
        return _codes(values)
    domain, codes = np.unique(numbers, return_inverse=True)
    return [float(x) for x in domain], codes.astype(np.intp).ravel()


def krippendorff_alpha(
    units: Sequence[Hashable],
    values: Sequence[Any],
    *,
    level: Level = "nominal",
    order: Sequence[Any] | None = None,
) -> float:
    """Krippendorff's alpha from long-form (unit, value) rows, one row per rater's value;
    ``None``/NaN values are missing and dropped. ``order`` ranks the values for the ordinal
    metric (else they must be numbers)."""
    _paired(units, values)
    present = [i for i, v in enumerate(values) if not _is_missing(v)]
    unit_names, unit = _codes([units[i] for i in present])
    domain, value = _domain([values[i] for i in present], level, order)
    per_unit = np.bincount(unit, minlength=len(unit_names))
    pairable = per_unit[unit] >= 2
    if not pairable.any():
        raise StatsError("Krippendorff's alpha needs a unit with at least two values")
    unit, value = unit[pairable], value[pairable]
    k = len(domain)
    counts = sparse.csr_matrix((np.ones(len(unit)), (unit, value)), shape=(len(unit_names), k))
    weight = 1 / np.maximum(per_unit - 1, 1)
    # o_ck = Σ_u (n_uc n_uk − [c = k] n_uc) / (m_u − 1): pairs of values from different raters.
    weighted = sparse.diags(weight) @ counts
    coincidence = (weighted.T @ counts).toarray() - np.diag(
        np.asarray(weighted.sum(axis=0)).ravel()
    )
    totals = coincidence.sum(axis=1)
    n = totals.sum()
    delta2 = _delta2(level, domain, totals)
    expected = float(totals @ delta2 @ totals)
    if expected <= 0:
        raise StatsError("Krippendorff's alpha is undefined: the pairable values do not vary")
    return 1 - (n - 1) * float(np.sum(coincidence * delta2)) / expected


def krippendorff_alpha_matrix(
    data: npt.ArrayLike | Sequence[Sequence[Any]],
    *,
    level: Level = "nominal",
    order: Sequence[Any] | None = None,
) -> float:
    """Krippendorff's alpha from a raters × units matrix (the layout of Krippendorff's paper
    and of the ``krippendorff`` package), with ``None`` or NaN where a rater gave no value."""
    matrix = np.asarray(data, dtype=object)
    if matrix.ndim != 2:
        raise StatsError("reliability data must be a raters × units matrix")
    _, unit = np.indices(matrix.shape)
    return krippendorff_alpha(
        unit.ravel().tolist(), matrix.ravel().tolist(), level=level, order=order
    )


def _merge_ties(
    labels: Sequence[str], ties: Collection[str]
) -> tuple[npt.NDArray[np.bool_], IntArray]:
    """Category codes with every tie label folded into one category, and which code is it."""
    names, codes = _codes(labels)
    tie = np.isin(np.asarray(names, dtype=object), list(ties))
    if tie.sum() > 1:
        target = np.arange(len(names))
        target[tie] = np.flatnonzero(tie)[0]
        kept, target = np.unique(target, return_inverse=True)
        return tie[kept], target[codes]
    return tie, codes


@dataclass(frozen=True)
class PairAgreement:
    """Agreement of two sources (or, with source_a == source_b, within one) on shared items."""

    source_a: str
    source_b: str
    items: int  # items both labelled (within a source: items it labelled at least twice)
    pairs: int  # vote pairs compared
    agreement: float  # share of pairs that agree, ties agreeing with ties
    pairs_without_ties: int
    agreement_without_ties: float | None  # the same over pairs with no tie in them
    kappa: float | None  # Cohen's kappa of the pairs, all ties one category

    def to_json(self) -> dict[str, Any]:
        return {
            "source_a": self.source_a,
            "source_b": self.source_b,
            "items": self.items,
            "pairs": self.pairs,
            "agreement": self.agreement,
            "pairs_without_ties": self.pairs_without_ties,
            "agreement_without_ties": self.agreement_without_ties,
            "kappa": self.kappa,
        }


def agreement_table(
    items: Sequence[Hashable],
    sources: Sequence[str],
    labels: Sequence[str],
    *,
    ties: Collection[str] = TIES,
) -> list[PairAgreement]:
    """MT-Bench agreement for every pair of sources that labelled an item in common, and
    within every source that labelled an item more than once (FastChat's "human vs human").

    Labels must be oriented alike across sources (e.g. a winner as "model_a" means the same
    model for everyone). Within a source each unordered pair of votes counts once; its kappa
    counts each pair both ways, which is Fleiss' kappa when every item has as many votes.
    """
    n = len(items)
    if len(sources) != n or len(labels) != n:
        raise StatsError(
            f"items, sources and labels must be parallel columns; got lengths "
            f"{n}, {len(sources)}, {len(labels)}"
        )
    if n == 0:
        raise StatsError("no labels to compare")
    _, item = _codes(items)
    source_names, source = _codes(sources)
    is_tie, category = _merge_ties(labels, ties)
    n_items, n_sources, k = int(item.max()) + 1, len(source_names), len(is_tie)

    votes = sparse.csr_matrix(
        (np.ones(n), (item, source * k + category)), shape=(n_items, n_sources * k)
    )
    # Ordered pairs of distinct votes on one item: all pairs, less each vote with itself.
    pairs = (votes.T @ votes).tocoo()
    self_pairs = np.asarray(votes.sum(axis=0)).ravel()
    row, col, count = pairs.row, pairs.col, pairs.data.copy()
    count[row == col] -= self_pairs[row[row == col]]
    a, la, b, lb = row // k, row % k, col // k, col % k
    keep = (a <= b) & (count > 0)
    a, la, b, lb, count = a[keep], la[keep], b[keep], lb[keep], count[keep]

    cell, pair = np.unique(a * n_sources + b, return_inverse=True)
    m = len(cell)
    total = np.bincount(pair, count, m)
    agree = np.bincount(pair, count * (la == lb), m)
    plain = ~is_tie[la] & ~is_tie[lb]
    total_plain = np.bincount(pair, count * plain, m)
    agree_plain = np.bincount(pair, count * plain * (la == lb), m)
    tables = np.bincount(pair * k * k + la * k + lb, count, m * k * k).reshape(m, k, k)

    per_source = sparse.csr_matrix((np.ones(n), (item, source)), shape=(n_items, n_sources))
    repeated = np.asarray((per_source >= 2).sum(axis=0)).ravel()
    per_source.data[:] = 1  # presence: an item counts once per source
    shared = (per_source.T @ per_source).toarray()

    nominal = 1 - np.eye(k)
    rows = []
    for index, code in enumerate(cell):
        first, second = divmod(int(code), n_sources)
        within = first == second
        halve = 2 if within else 1
        rows.append(
            PairAgreement(
                source_a=str(source_names[first]),
                source_b=str(source_names[second]),
                items=int(repeated[first] if within else shared[first, second]),
                pairs=int(total[index]) // halve,
                agreement=float(agree[index] / total[index]),
                pairs_without_ties=int(total_plain[index]) // halve,
                agreement_without_ties=(
                    float(agree_plain[index] / total_plain[index]) if total_plain[index] else None
                ),
                kappa=_kappa_from_table(tables[index], nominal),
            )
        )
    return rows
