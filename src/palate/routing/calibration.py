"""Calibrating a judge against humans on one dataset: which judge verdicts may stand.

``calibrate`` is what ``palate route calibrate`` runs: split the battles both sources judged
into a calibration half and the rest, certify a confidence threshold on the first
(``calibrate_threshold``), report which other battles may be trusted, and record it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from palate.errors import PalateError
from palate.ledger.aggregation import record_aggregation
from palate.routing.cascade import DEFAULT_MIN_ITEMS, Calibration, calibrate_threshold
from palate.routing.verdicts import pair_verdicts
from palate.store import Store

_COLUMNS = ["item", "model_a", "model_b", "outcome", "body"]


@dataclass(frozen=True)
class RouteCalibration:
    """A certified threshold and the trust it gives the battles outside the calibration."""

    judge_source: str = field(metadata={"help": "the judge whose verdicts are calibrated"})
    calibration: Calibration = field(metadata={"help": "the certified threshold"})
    document: dict[str, Any] = field(metadata={"help": "the report (see to_json)"})

    @property
    def threshold(self) -> float | None:
        return self.calibration.threshold

    def to_json(self) -> dict[str, Any]:
        """``threshold``, ``coverage``, ``agreement_trusted``, ``n_calibration`` and the
        trusted flag of each ``item`` outside the calibration split, among others."""
        return self.document


def _rows(store_rows: list[tuple[object, ...]], source: str) -> list[tuple[object, ...]]:
    return [row[1:] for row in store_rows if row[0] == source]


def calibrate(
    store: Store,
    dataset: str,
    *,
    judge_source: str,
    human_source: str,
    alpha: float = 0.15,
    delta: float = 0.1,
    calibration_fraction: float = 0.5,
    ties: Literal["count", "drop"] = "count",
    seed: int = 0,
    min_items: int = DEFAULT_MIN_ITEMS,
    grid: int | None = None,
) -> RouteCalibration:
    """Certify a confidence threshold above which ``judge_source`` agrees with
    ``human_source`` at rate >= 1 - alpha with probability >= 1 - delta, calibrated on a
    ``calibration_fraction`` of the battles both judged (drawn with ``seed``); ``ties="drop"``
    leaves out battles the humans called a tie (MT-Bench's agreement without ties). Each
    tested threshold keeps at least ``min_items`` calibration items, and ``grid`` caps how many
    thresholds are tested; both are fixed before the labels are seen, so the guarantee holds."""
    if not 0 < calibration_fraction < 1:
        raise PalateError(f"--calibration-fraction must lie in (0, 1), got {calibration_fraction}")
    if judge_source == human_source:
        raise PalateError(
            f"--judge-source and --human-source are both {judge_source!r}: calibrate a judge "
            "against other raters"
        )
    rows = store.columns(dataset, ["source_name", *_COLUMNS], kind="comparison")
    kinds = dict(store.columns(dataset, ["source_name", "source_kind"], kind="comparison"))
    if kinds.get(judge_source) == "human" and kinds.get(human_source) == "judge":
        raise PalateError(
            f"the sources are swapped: {judge_source!r} is human and {human_source!r} a judge "
            f"(pass --judge-source {human_source} --human-source {judge_source})"
        )
    judge_rows, human_rows = _rows(rows, judge_source), _rows(rows, human_source)
    for name, found in ((judge_source, judge_rows), (human_source, human_rows)):
        if not found:
            raise PalateError(f"dataset {dataset!r} has no pairwise verdicts by {name!r}")
    verdicts = pair_verdicts(judge_rows, human_rows, judge_source)
    usable = ~verdicts.human_tie if ties == "drop" else np.ones(len(verdicts.items), bool)
    labelled = np.flatnonzero(verdicts.labelled & usable)
    if labelled.size == 0:
        raise PalateError(f"no battle was judged by both {judge_source!r} and {human_source!r}")
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(labelled)[: round(calibration_fraction * labelled.size)]
    in_calibration = np.zeros(len(verdicts.items), dtype=np.bool_)
    in_calibration[chosen] = True
    calibration = calibrate_threshold(
        verdicts.confidence[chosen],
        verdicts.agree[chosen] == 1,
        alpha=alpha,
        delta=delta,
        min_items=min_items,
        grid=grid,
    )
    rest = ~in_calibration & usable
    trusted = calibration.trust(verdicts.confidence) & rest
    held_out = rest & verdicts.labelled
    n_held = int(held_out.sum())
    achieved = verdicts.agree[trusted & held_out]
    document = {
        "threshold": calibration.threshold,
        "coverage": float(trusted[rest].mean()) if rest.any() else 0.0,
        "agreement_trusted": float(achieved.mean()) if achieved.size else None,
        "n_calibration": calibration.n_calibration,
        "n_held_out": n_held,
        "held_out_coverage": float(trusted[held_out].mean()) if n_held else 0.0,
        "signal": verdicts.signal,
        "alpha": alpha,
        "delta": delta,
        "ties": ties,
        "calibration": calibration.to_json(),
        "items": [
            {"item": verdicts.items[k], "trusted": bool(trusted[k])} for k in np.flatnonzero(rest)
        ],
    }
    options = {"judge_source": judge_source, "human_source": human_source, "alpha": alpha,
               "delta": delta, "calibration_fraction": calibration_fraction, "ties": ties,
               "seed": seed, "min_items": min_items, "grid": grid}  # fmt: skip
    record_aggregation(store, "route calibrate", [dataset], options, document)
    return RouteCalibration(judge_source=judge_source, calibration=calibration, document=document)
