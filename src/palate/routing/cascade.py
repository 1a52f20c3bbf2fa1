"""Trust or escalate: certify when a judge's verdict may stand in for a human's.

Jung, Brahman & Choi (2024), "Trust or Escalate: LLM Judges with Provable Guarantees for Human
Agreement". A judge's verdict is trusted when its confidence reaches a threshold λ; the
threshold is chosen on a human-labelled calibration split so that

    P( P(judge agrees with human | confidence ≥ λ̂) ≥ 1 − α ) ≥ 1 − δ.

Each candidate λ is the null hypothesis "disagreement among items with confidence ≥ λ exceeds
α", tested with the exact binomial p-value P(Binomial(n_λ, α) ≤ k_λ) (the Clopper-Pearson
bound). Candidates are tested by fixed-sequence testing from the strictest to the most
lenient, stopping at the first that is not rejected; this controls the family-wise error at δ
without any multiplicity correction, for any sequence fixed before the labels are seen.
Candidates are the distinct calibration confidences that hold at least ``min_items`` items
(100 by default; never fewer than ``min_calibration_labels(alpha, delta)``: such thresholds
could not be certified even with perfect agreement), optionally thinned to a coarse
``grid``. Both choices depend on the confidences and on numbers fixed in advance, never on
the labels, so the guarantee stands.

Why it matters: the search stops at the first threshold it cannot certify. With the smallest
possible minimum (15 items at α = 0.15, δ = 0.1, certifiable only with zero disagreements), a
judge that agrees 95% of the time at the top fails that first test about half the time and
then certifies nothing, although a looser threshold holding hundreds of items would pass
easily. A minimum of 100 items per tested threshold avoids most of those early stops; a grid
of about 10 thresholds removes the later ones (tests/routing/test_cascade.py measures the
coverage gained at equal validity).

A cascade (judge → stronger judge → humans) calibrates each judge stage on the calibration
items that reached it, with δ split evenly between judge stages (Bonferroni), so that with
probability ≥ 1 − δ every stage's trusted items agree with humans at rate ≥ 1 − α; the union
of trusted items then does too, and whatever no judge trusts goes to humans.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import beta as beta_dist
from scipy.stats import binom

from palate.errors import PalateError

# Items a tested threshold holds at the least, by default: with fewer, a judge that agrees
# ~90–95% at the top often fails the first test and certifies nothing (see the module doc).
DEFAULT_MIN_ITEMS = 100

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]


def _check_levels(alpha: float, delta: float) -> None:
    if not 0 < alpha < 1:
        raise PalateError(f"alpha must lie in (0, 1), got {alpha}")
    if not 0 < delta < 1:
        raise PalateError(f"delta must lie in (0, 1), got {delta}")


def min_calibration_labels(alpha: float, delta: float) -> int:
    """The fewest trusted calibration items that can certify agreement ≥ 1 − α at level δ:
    even with no disagreement, (1 − α)^n must fall to δ."""
    _check_levels(alpha, delta)
    n = math.ceil(math.log(delta) / math.log1p(-alpha))
    while (1 - alpha) ** n > delta:  # guard the ceiling against rounding
        n += 1
    return n


def agreement_lower_bound(agree: int, n: int, delta: float) -> float:
    """One-sided (1 − δ) Clopper-Pearson lower bound on an agreement rate from agree/n."""
    if n == 0:
        return 0.0
    if agree == 0:
        return 0.0
    return float(beta_dist.ppf(delta, agree, n - agree + 1))


@dataclass(frozen=True)
class Calibration:
    """A certified threshold: trust the judge where confidence ≥ ``threshold``.

    ``threshold`` is None when no candidate could be certified (escalate everything);
    ``coverage`` and ``agreement_trusted`` are measured on the calibration split, and
    ``agreement_lower`` is the (1 − δ) Clopper-Pearson lower bound behind the certificate.
    """

    threshold: float | None
    alpha: float
    delta: float
    n_calibration: int
    n_trusted: int
    coverage: float
    agreement_trusted: float | None
    agreement_lower: float
    p_value: float | None

    def trust(self, confidence: npt.ArrayLike) -> BoolArray:
        """Which items to trust: confidence ≥ threshold (nothing when uncertified)."""
        c = np.asarray(confidence, dtype=np.float64)
        if self.threshold is None:
            return np.zeros(c.shape, dtype=np.bool_)
        return np.asarray(c >= self.threshold, dtype=np.bool_)

    def to_json(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "alpha": self.alpha,
            "delta": self.delta,
            "n_calibration": self.n_calibration,
            "n_trusted": self.n_trusted,
            "coverage": self.coverage,
            "agreement_trusted": self.agreement_trusted,
            "agreement_lower": self.agreement_lower,
            "p_value": self.p_value,
        }


def _inputs(confidence: npt.ArrayLike, agree: npt.ArrayLike) -> tuple[FloatArray, BoolArray]:
    c = np.asarray(confidence, dtype=np.float64)
    a = np.asarray(agree)
    if c.ndim != 1 or a.shape != c.shape:
        raise PalateError(
            f"confidence and agree must be 1-d and of one length, got {c.shape} and {a.shape}"
        )
    if not np.isfinite(c).all():
        raise PalateError(f"confidence holds non-finite values (first at index "
                          f"{int(np.flatnonzero(~np.isfinite(c))[0])})")  # fmt: skip
    return c, a.astype(np.bool_)


def calibrate_threshold(
    confidence: npt.ArrayLike,
    agree: npt.ArrayLike,
    *,
    alpha: float = 0.15,
    delta: float = 0.1,
    min_items: int = DEFAULT_MIN_ITEMS,
    grid: int | None = None,
) -> Calibration:
    """Certify the most lenient confidence threshold whose trusted items agree with humans at
    rate ≥ 1 − ``alpha``, with probability ≥ 1 − ``delta`` over the calibration draw.

    ``confidence``: the judge's confidence per calibration item (higher = surer);
    ``agree``: whether its verdict matched the human's. ``min_items``: the fewest calibration
    items a tested threshold must hold; a split with fewer items tests only its loosest
    threshold (all items), and no threshold is tested with fewer than
    ``min_calibration_labels`` items, which could never be certified (``min_items=1`` tests
    from there, the strictest search). ``grid``: test at most this many thresholds, the first
    to hold each of ``grid`` item counts evenly spaced from that minimum to all items (None:
    every distinct confidence). Fix both before looking at the labels. Raises ``PalateError``
    saying how many labels are needed when the split is too small to certify even the
    strictest threshold.
    """
    _check_levels(alpha, delta)
    c, a = _inputs(confidence, agree)
    if min_items < 1:
        raise PalateError(f"min_items must be at least 1, got {min_items}")
    if grid is not None and grid < 1:
        raise PalateError(f"grid must be at least 1, got {grid}")
    need = min_calibration_labels(alpha, delta)
    if c.size < need:
        raise PalateError(
            f"{c.size} calibration labels cannot certify agreement ≥ {1 - alpha:g} at "
            f"δ = {delta:g}: even with perfect agreement at least {need} labelled items above "
            f"the threshold are needed; label at least {need - c.size} more"
        )
    order = np.argsort(-c, kind="stable")
    c_sorted, a_sorted = c[order], a[order]
    # Candidate λ = each distinct confidence; n_λ and disagreements among items ≥ λ.
    last_of_level = np.flatnonzero(np.r_[c_sorted[1:] != c_sorted[:-1], True])
    n_at = last_of_level + 1
    k_at = np.cumsum(~a_sorted)[last_of_level]
    p_values = binom.cdf(k_at, n_at, alpha)
    tested = _candidates(n_at, max(need, min(min_items, c.size)), grid)
    chosen: int | None = None
    p_chosen: float | None = None
    for j in tested:
        if p_values[j] > delta:
            break
        chosen, p_chosen = int(j), float(p_values[j])
    if chosen is None:
        return Calibration(None, alpha, delta, int(c.size), 0, 0.0, None, 0.0, None)
    n, k = int(n_at[chosen]), int(k_at[chosen])
    return Calibration(
        threshold=float(c_sorted[last_of_level[chosen]]),
        alpha=alpha,
        delta=delta,
        n_calibration=int(c.size),
        n_trusted=n,
        coverage=n / c.size,
        agreement_trusted=(n - k) / n,
        agreement_lower=agreement_lower_bound(n - k, n, delta),
        p_value=p_chosen,
    )


def _candidates(n_at: IntArray, least: int, grid: int | None) -> IntArray:
    """Indices of the tested levels, strictest first: those holding ≥ ``least`` items, or with
    a grid the first level to reach each of ``grid`` evenly spaced item counts."""
    if grid is None:
        return np.flatnonzero(n_at >= least)
    total = int(n_at[-1])
    if total < least:
        return np.zeros(0, dtype=np.intp)
    targets = np.unique(np.ceil(np.linspace(least, total, grid)).astype(np.intp))
    return np.unique(np.searchsorted(n_at, targets))


@dataclass(frozen=True)
class StageReport:
    """One stage's share of the items routed: ``coverage`` is the fraction of all items it
    decided; ``agreement`` is its agreement with humans there, where labels were given."""

    name: str
    threshold: float | None
    coverage: float
    n_items: int
    agreement: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.name,
            "threshold": self.threshold,
            "coverage": self.coverage,
            "n_items": self.n_items,
            "agreement": self.agreement,
        }


@dataclass(frozen=True)
class Cascade:
    """Calibrated judge stages in order; items no stage trusts go to humans.

    ``route`` returns each item's stage index, ``len(stages)`` meaning "humans"."""

    names: list[str]
    calibrations: list[Calibration]

    def route(self, confidences: Sequence[npt.ArrayLike]) -> IntArray:
        """Each item's deciding stage from per-stage confidences (one array per judge)."""
        if len(confidences) != len(self.calibrations):
            raise PalateError(
                f"the cascade has {len(self.calibrations)} judge stages, got "
                f"{len(confidences)} confidence arrays"
            )
        arrays = [np.asarray(c, dtype=np.float64) for c in confidences]
        stage = np.full(arrays[0].shape, len(self.calibrations), dtype=np.intp)
        for k in reversed(range(len(arrays))):
            stage[self.calibrations[k].trust(arrays[k])] = k
        return stage

    def report(
        self, confidences: Sequence[npt.ArrayLike], agree: Sequence[npt.ArrayLike] | None = None
    ) -> list[StageReport]:
        """Coverage per stage (humans last) and, given agreement with humans per judge stage,
        the agreement each stage achieved on the items it decided."""
        stage = self.route(confidences)
        out = []
        for k, name in enumerate([*self.names, "humans"]):
            mine = stage == k
            agreement: float | None = 1.0 if k == len(self.names) and mine.any() else None
            if agree is not None and k < len(self.names) and mine.any():
                agreement = float(np.asarray(agree[k], dtype=np.float64)[mine].mean())
            out.append(
                StageReport(
                    name,
                    self.calibrations[k].threshold if k < len(self.names) else None,
                    float(mine.mean()) if stage.size else 0.0,
                    int(mine.sum()),
                    agreement,
                )
            )
        return out


def calibrate_cascade(
    names: Sequence[str],
    confidences: Sequence[npt.ArrayLike],
    agree: Sequence[npt.ArrayLike],
    *,
    alpha: float = 0.15,
    delta: float = 0.1,
    min_items: int = DEFAULT_MIN_ITEMS,
    grid: int | None = None,
) -> Cascade:
    """Calibrate judge stages in order on one calibration split: stage k sees the items no
    earlier stage trusted, at level δ / (number of stages). Every judge is run on every
    calibration item. Refuses (``PalateError``) only when the first stage cannot be certified
    for lack of labels; a later stage left with too few items trusts nothing."""
    if not (len(names) == len(confidences) == len(agree)) or not names:
        raise PalateError("a cascade needs one name, confidence array and agree array per stage")
    _check_levels(alpha, delta)
    per_stage = delta / len(names)
    remaining = np.ones(np.asarray(confidences[0]).shape, dtype=np.bool_)
    calibrations: list[Calibration] = []
    need = min_calibration_labels(alpha, per_stage)
    for k, (conf, ok) in enumerate(zip(confidences, agree, strict=True)):
        c, a = _inputs(conf, ok)
        if k > 0 and int(remaining.sum()) < need:
            calibrations.append(
                Calibration(None, alpha, per_stage, int(remaining.sum()), 0, 0.0, None, 0.0, None)
            )
            continue
        calibration = calibrate_threshold(
            c[remaining], a[remaining], alpha=alpha, delta=per_stage, min_items=min_items, grid=grid
        )
        calibrations.append(calibration)
        remaining &= ~calibration.trust(c)
    return Cascade(list(names), calibrations)
