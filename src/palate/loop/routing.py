"""Routing the loop's verdicts: trust a judge where a calibrated threshold says it agrees with
people, escalate the rest (and an audit sample of the trusted) to people.

A verdict's confidence: a panel's posterior for its verdict; for a swapped judgement, 0 when
the two orders disagreed; for a letter judge, how far its preference is from indifference;
unscored verdicts have none (0) and always escalate. The threshold is certified by
``palate.routing.cascade.calibrate_threshold`` on earlier labelled items of the same judge.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from palate.errors import PalateError
from palate.judges.panel import comparison_label
from palate.loop.config import RoutingSpec
from palate.routing.cascade import calibrate_threshold
from palate.schema import Comparison
from palate.store import Store


def confidence(verdict: Comparison) -> float:
    """How sure the judge was of this verdict, in [0, 1] (see the module doc)."""
    if verdict.unscored is not None:
        return 0.0
    swap = verdict.metadata.get("swap")
    if isinstance(swap, dict) and swap.get("consistent") is False:
        return 0.0
    panel = verdict.metadata.get("confidence")
    if isinstance(panel, int | float):
        return float(panel)
    if verdict.call is not None and verdict.call.preference is not None:
        return abs(2.0 * verdict.call.preference - 1.0)
    return 1.0


def item_key(verdict: Comparison) -> str:
    """An item of the loop: the prompt and the two response texts."""
    texts = "\x1f".join(r.text or "" for r in verdict.responses)
    return f"{verdict.prompt.key}\x1e{texts}"


@dataclass(frozen=True)
class Routing:
    threshold: float | None
    trusted: list[str]  # item keys
    escalated: list[str]
    audited: list[str]  # trusted items also sent to people
    calibration: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "trusted": len(self.trusted),
            "escalated": len(self.escalated),
            "audited": len(self.audited),
            "calibration": self.calibration,
        }


def _calibrate(store: Store, spec: RoutingSpec) -> tuple[float | None, dict[str, Any] | None]:
    if spec.calibration_judge is None or spec.calibration_human is None:
        return spec.threshold, None
    humans: dict[str, list[str]] = {}
    for record in store.iter_records(spec.calibration_human):
        if isinstance(record, Comparison) and (label := comparison_label(record)) is not None:
            humans.setdefault(item_key(record), []).append(label)
    scores, agree = [], []
    for record in store.iter_records(spec.calibration_judge):
        if isinstance(record, Comparison) and item_key(record) in humans:
            labels = humans[item_key(record)]
            majority = max(sorted(set(labels)), key=labels.count)
            scores.append(confidence(record))
            agree.append(comparison_label(record) == majority)
    try:
        calibration = calibrate_threshold(scores, agree, alpha=spec.alpha, delta=spec.delta)
    except PalateError as exc:
        return None, {"error": str(exc), "n_calibration": len(scores)}
    return calibration.threshold, calibration.to_json()


def route(store: Store, verdicts: list[Comparison], spec: RoutingSpec, seed: int) -> Routing:
    """Split the verdicts into trusted and escalated items, plus a seeded audit sample."""
    threshold, calibration = _calibrate(store, spec)
    trusted: list[str] = []
    escalated: list[str] = []
    for verdict in verdicts:
        key = item_key(verdict)
        sure = threshold is not None and confidence(verdict) >= threshold
        (trusted if sure else escalated).append(key)
    rng = random.Random(seed)
    audited = sorted(rng.sample(sorted(trusted), round(spec.audit_share * len(trusted))))
    return Routing(threshold, trusted, escalated, audited, calibration)
