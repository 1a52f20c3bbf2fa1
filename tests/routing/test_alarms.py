"""Alarms: at most their stated false-alarm fraction on 1,000 drift-free streams (at the
null's boundary, the hardest case), and firing within a bounded delay on the drift each is
built for. Streams are simulated all at once (leading axis = stream)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from palate.errors import PalateError
from palate.routing import (
    AgreementDriftAlarm,
    CollusionAlarm,
    LengthDriftAlarm,
    RewardHackingAlarm,
)

STREAMS, BATCHES, SIZE, CHANGE, ALPHA = 1000, 40, 25, 10, 0.05
SLACK = 3 * math.sqrt(ALPHA * (1 - ALPHA) / STREAMS)


def _bern(rng: np.random.Generator, p: Any) -> np.ndarray:
    return (rng.uniform(size=(STREAMS, BATCHES, SIZE)) < p).astype(float)


def _ramp(before: float, after: float) -> np.ndarray:
    """Per-batch level: ``before`` until CHANGE, then ``after``."""
    level = np.where(np.arange(BATCHES) < CHANGE, before, after)
    return level[None, :, None]


def _check(first_null: np.ndarray, first_drift: np.ndarray, max_delay: int) -> None:
    assert (first_null > 0).mean() <= ALPHA + SLACK
    # Drift streams: nearly no alarm before the change, then all within the bounded delay.
    assert ((first_drift > 0) & (first_drift <= CHANGE)).mean() <= ALPHA + SLACK
    late = first_drift[first_drift > CHANGE] - CHANGE
    assert (first_drift > 0).all()
    assert late.max() <= max_delay


def test_agreement_drift() -> None:
    rng = np.random.default_rng(1)
    alarm = AgreementDriftAlarm(floor=0.8, alpha=ALPHA)
    null = alarm.run(alarm.observations(_bern(rng, 0.8)))
    drift = alarm.run(alarm.observations(_bern(rng, _ramp(0.9, 0.6))))
    _check(null, drift, max_delay=20)


def test_reward_hacking_gap() -> None:
    rng = np.random.default_rng(2)
    alarm = RewardHackingAlarm(ALPHA, margin=0.1)
    human = rng.uniform(size=(STREAMS, BATCHES, SIZE))
    at_margin = np.clip(human + rng.uniform(0.0, 0.2, size=human.shape), 0, 1)
    null = alarm.run(alarm.observations(at_margin, human))
    assert float((at_margin - human).mean()) <= 0.1  # the null holds (clipping only lowers it)
    proxy = np.clip(human + _ramp(0.0, 0.35), 0, 1)
    drift = alarm.run(alarm.observations(proxy, human))
    _check(null, drift, max_delay=20)


def test_collusion() -> None:
    rng = np.random.default_rng(3)
    alarm = CollusionAlarm(ALPHA, margin=0.05)
    human = _bern(rng, 0.5)
    null = alarm.run(alarm.observations(_bern(rng, 0.55), human))
    drift = alarm.run(alarm.observations(_bern(rng, _ramp(0.5, 0.85)), human))
    _check(null, drift, max_delay=20)


def test_length_drift_either_way() -> None:
    rng = np.random.default_rng(4)
    alarm = LengthDriftAlarm(rng.lognormal(6, 0.5, size=2000), ALPHA, margin=0.1)
    lengths = rng.lognormal(6, 0.5, size=(STREAMS, BATCHES, SIZE))
    null = alarm.run(alarm.observations(lengths))
    _check(null, alarm.run(alarm.observations(lengths * _ramp(1.0, 1.8))), max_delay=20)
    _check(null, alarm.run(alarm.observations(lengths * _ramp(1.0, 0.55))), max_delay=20)


def test_single_stream_state_matches_the_replay() -> None:
    rng = np.random.default_rng(5)
    agree = rng.uniform(size=(BATCHES, SIZE)) < _ramp(0.9, 0.5)[0]
    alarm = AgreementDriftAlarm(floor=0.8, alpha=ALPHA)
    states = [alarm.update(batch) for batch in agree]
    replay = int(AgreementDriftAlarm(0.8, ALPHA).run(AgreementDriftAlarm.observations(agree)))
    fired = [s for s in states if s.fired]
    assert fired and fired[0].at_batch == replay == fired[0].batches
    assert all(s.at_batch == replay for s in fired)  # remembered once fired
    assert states[-1].false_alarm_level == ALPHA and states[-1].e_value >= 1 / ALPHA
    assert states[0].estimate == pytest.approx(agree[0].mean())
    assert states[-1].to_json()["alarm"] == "agreement-drift"


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(PalateError, match=r"\[0, 1\]"):
        RewardHackingAlarm().update([1.5], [0.2])
    with pytest.raises(PalateError, match="floor"):
        AgreementDriftAlarm(floor=1.0)
