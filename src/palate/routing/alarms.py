"""Alarms that may be checked after every batch without inflating their false-alarm rate.

Each alarm watches a bounded stream and tests the null "the stream's mean never exceeds
``null_mean``" with an e-detector (Shin, Ramdas & Rinaldo 2023, "E-detectors"): a mixture of
betting e-processes (Waudby-Smith & Ramdas 2023) started at every batch boundary, with start
weight 1/(b(b+1)) for batch b (weights sum to one) and an equal mixture over a few fixed
betting fractions. Under the null the mixture is a nonnegative supermartingale starting at 1,
so by Ville's inequality it ever reaches 1/α with probability at most α, however long the
stream and however often it is checked: α is the stated false-alarm level over an unbounded
horizon. Restarting bets at every batch is what bounds the detection delay of a drift that
begins late; the price is a log(b²) term in the evidence needed.

Why not the ``confseq`` package: it ships no wheel for this Python (it builds C++ against Boost
at install time), and its boundaries are scalar per stream, whereas the tests and the gym run
thousands of streams at once; the betting update is a few lines of numpy.

The four alarms are the same test on different observations, each mapped into [0, 1]:
agreement drift (1 − agreement indicator), reward hacking (proxy − human score gap),
collusion (judge's own-family preference minus the humans'), and length drift (the share of
outputs longer than the reference median).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from palate.errors import PalateError

FloatArray = npt.NDArray[np.float64]

# Betting fractions of the largest safe bet; a mixture over them adapts to the drift size.
_FRACTIONS = np.array([0.05, 0.1, 0.2, 0.4, 0.7])


@dataclass(frozen=True)
class AlarmState:
    """Where an alarm stands after a batch.

    ``fired``: evidence reached 1/α at some batch; ``at_batch``: the first such batch (1-based),
    None if never; ``e_value``: the current evidence (≥ 1/α means fire); ``estimate``: the
    latest batch's mean observation in the alarm's own units; ``false_alarm_level``: α.
    """

    name: str
    fired: bool
    at_batch: int | None
    batches: int
    e_value: float
    estimate: float | None
    false_alarm_level: float

    def to_json(self) -> dict[str, Any]:
        return {
            "alarm": self.name,
            "fired": self.fired,
            "at_batch": self.at_batch,
            "batches": self.batches,
            "e_value": self.e_value,
            "estimate": self.estimate,
            "false_alarm_level": self.false_alarm_level,
        }


@dataclass
class SequentialTest:
    """Anytime-valid test of "mean of x ≤ null_mean" for x in [0, 1], vectorised over any
    leading axes (independent streams); batches are fed along the last axis.

    ``step(x)`` feeds one batch (shape ``(*streams, n)``) and returns the e-values after it;
    ``run(x)`` feeds ``(*streams, batches, n)`` and returns the first firing batch per stream
    (0 = never). The state is the running mixture over start times and betting fractions.
    """

    null_mean: float
    alpha: float
    streams: tuple[int, ...] = ()
    batches: int = 0
    _started: FloatArray = field(init=False, repr=False)
    _weight_used: float = field(init=False, default=0.0, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise PalateError(f"alpha must lie in (0, 1), got {self.alpha}")
        if not 0 < self.null_mean < 1:
            raise PalateError(f"the null mean must lie in (0, 1), got {self.null_mean}")
        self._started = np.zeros((*self.streams, _FRACTIONS.size))

    @property
    def threshold(self) -> float:
        return 1.0 / self.alpha

    def step(self, x: npt.ArrayLike) -> FloatArray:
        obs = np.asarray(x, dtype=np.float64)
        if obs.shape[:-1] != self.streams:
            raise PalateError(f"expected a batch of shape ({self.streams}, n), got {obs.shape}")
        if not ((obs >= 0) & (obs <= 1)).all():
            raise PalateError("alarm observations must lie in [0, 1]")
        self.batches += 1
        b = self.batches
        weight = 1.0 / (b * (b + 1))
        self._weight_used += weight
        # Bet λ = f / m on x − m: the factor 1 + λ(x − m) stays ≥ 1 − f > 0 for x ≥ 0.
        lam = _FRACTIONS / self.null_mean
        logs = np.log1p(lam * (obs[..., None] - self.null_mean))  # (*streams, n, fractions)
        growth = np.exp(logs.sum(axis=-2))
        self._started = (self._started + weight) * growth
        return np.asarray(self._started.mean(axis=-1) + (1.0 - self._weight_used), dtype=np.float64)

    def run(self, x: npt.ArrayLike) -> npt.NDArray[np.intp]:
        obs = np.asarray(x, dtype=np.float64)
        first = np.zeros(self.streams, dtype=np.intp)
        for k in range(obs.shape[-2]):
            e = self.step(obs[..., k, :])
            first = np.where((first == 0) & (e >= self.threshold), self.batches, first)
        return first


class _Alarm:
    """The shared bookkeeping: one stream, firing batch remembered."""

    name = "alarm"

    def __init__(self, null_mean: float, alpha: float) -> None:
        self.test = SequentialTest(null_mean, alpha)
        self._at: int | None = None

    def run(self, observations: npt.ArrayLike) -> npt.NDArray[np.intp]:
        """Vectorised replay from scratch: ``observations`` shaped (*streams, batches, n), as
        returned by ``observations``; the first firing batch per stream (0 = never)."""
        obs = np.asarray(observations, dtype=np.float64)
        return SequentialTest(self.test.null_mean, self.test.alpha, obs.shape[:-2]).run(obs)

    def _feed(self, obs: FloatArray, estimate: float | None) -> AlarmState:
        e = float(self.test.step(obs))
        if self._at is None and e >= self.test.threshold:
            self._at = self.test.batches
        return AlarmState(
            name=self.name,
            fired=self._at is not None,
            at_batch=self._at,
            batches=self.test.batches,
            e_value=e,
            estimate=estimate,
            false_alarm_level=self.test.alpha,
        )


def _vector(values: npt.ArrayLike, name: str) -> FloatArray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim < 1 or x.shape[-1] == 0:
        raise PalateError(f"{name}: a batch needs at least one observation")
    if not np.isfinite(x).all():
        raise PalateError(f"{name} holds non-finite values")
    return x


def _unit(values: npt.ArrayLike, name: str, low: float, high: float) -> FloatArray:
    x = _vector(values, name)
    if (x < low).any() or (x > high).any():
        raise PalateError(f"{name} must lie in [{low:g}, {high:g}]")
    return (x - low) / (high - low)


class AgreementDriftAlarm(_Alarm):
    """Judge–human agreement on an audit slice falling below ``floor``.

    ``update(agree)``: this batch's agreement indicators (or fractions in [0, 1]) on audited
    items. Fires when the agreement is, with confidence 1 − α, below ``floor`` (e.g. the
    cascade's target 1 − α_cascade)."""

    name = "agreement-drift"

    def __init__(self, floor: float, alpha: float = 0.05) -> None:
        if not 0 < floor < 1:
            raise PalateError(f"the agreement floor must lie in (0, 1), got {floor}")
        super().__init__(1.0 - floor, alpha)

    @staticmethod
    def observations(agree: npt.ArrayLike) -> FloatArray:
        return 1.0 - _unit(agree, "agree", 0.0, 1.0)

    def update(self, agree: npt.ArrayLike) -> AlarmState:
        obs = self.observations(agree)
        return self._feed(obs, float(1.0 - obs.mean()))


class RewardHackingAlarm(_Alarm):
    """The proxy score a policy is trained on pulling away from human judgement.

    ``update(proxy_scores, human_scores)``: paired scores on the same audited outputs, both on
    ``score_range`` (e.g. win probabilities in [0, 1]). Fires when the mean gap proxy − human
    exceeds ``baseline_gap + margin`` with confidence 1 − α."""

    name = "reward-hacking"

    def __init__(
        self,
        alpha: float = 0.05,
        *,
        margin: float = 0.1,
        baseline_gap: float = 0.0,
        score_range: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        low, high = score_range
        if not high > low:
            raise PalateError(f"score_range must be (low, high) with high > low, got {score_range}")
        span = high - low
        allowed = (baseline_gap + margin) / span  # in units of the span
        if not -1 <= allowed < 1:
            raise PalateError("baseline_gap + margin must lie within the score range")
        self.range = (low, high)
        super().__init__((allowed + 1.0) / 2.0, alpha)

    def observations(self, proxy_scores: npt.ArrayLike, human_scores: npt.ArrayLike) -> FloatArray:
        """Gap (proxy − human) / span, in [−1, 1], mapped to [0, 1]."""
        low, high = self.range
        proxy = _unit(proxy_scores, "proxy_scores", low, high)
        human = _unit(human_scores, "human_scores", low, high)
        if proxy.shape != human.shape:
            raise PalateError(f"proxy and human scores differ in shape: {proxy.shape} vs "
                              f"{human.shape}")  # fmt: skip
        return (proxy - human + 1.0) / 2.0

    def update(self, proxy_scores: npt.ArrayLike, human_scores: npt.ArrayLike) -> AlarmState:
        obs = self.observations(proxy_scores, human_scores)
        gap = float((2.0 * obs.mean() - 1.0) * (self.range[1] - self.range[0]))
        return self._feed(obs, gap)


class CollusionAlarm(_Alarm):
    """A judge preferring outputs of its own model family more than humans do.

    ``update(judge_prefers_own, human_prefers_own)``: on audited pairs that set an own-family
    output against another, 1 when that side was preferred, 0 when not, 0.5 for a tie. Fires
    when the judge's own-family preference exceeds the humans' by more than ``margin`` with
    confidence 1 − α."""

    name = "collusion"

    def __init__(self, alpha: float = 0.05, *, margin: float = 0.05) -> None:
        if not 0 <= margin < 1:
            raise PalateError(f"margin must lie in [0, 1), got {margin}")
        super().__init__((margin + 1.0) / 2.0, alpha)

    @staticmethod
    def observations(
        judge_prefers_own: npt.ArrayLike, human_prefers_own: npt.ArrayLike
    ) -> FloatArray:
        judge = _unit(judge_prefers_own, "judge_prefers_own", 0.0, 1.0)
        human = _unit(human_prefers_own, "human_prefers_own", 0.0, 1.0)
        if judge.shape != human.shape:
            raise PalateError("judge and human preferences differ in shape")
        return (judge - human + 1.0) / 2.0

    def update(
        self, judge_prefers_own: npt.ArrayLike, human_prefers_own: npt.ArrayLike
    ) -> AlarmState:
        obs = self.observations(judge_prefers_own, human_prefers_own)
        return self._feed(obs, float(2.0 * obs.mean() - 1.0))


class LengthDriftAlarm:
    """Output lengths drifting away from a reference sample, in either direction.

    Distribution-free: each new output counts 1 when longer than the reference median (0.5
    when equal). Without drift that share is about 1/2; the alarm fires when it leaves
    [1/2 − margin, 1/2 + margin] with confidence 1 − α (α split evenly between longer and
    shorter). ``estimate`` is the latest batch's share of longer outputs."""

    name = "length-drift"

    def __init__(
        self, reference_lengths: npt.ArrayLike, alpha: float = 0.05, *, margin: float = 0.1
    ) -> None:
        ref = _vector(reference_lengths, "reference_lengths")
        if ref.ndim != 1:
            raise PalateError("reference_lengths must be 1-d")
        if not 0 < margin < 0.5:
            raise PalateError(f"margin must lie in (0, 0.5), got {margin}")
        self.median = float(np.median(ref))
        self.alpha = alpha
        self._longer = _Alarm(0.5 + margin, alpha / 2)
        self._shorter = _Alarm(0.5 + margin, alpha / 2)

    def observations(self, lengths: npt.ArrayLike) -> FloatArray:
        x = _vector(lengths, "lengths")
        return np.where(x > self.median, 1.0, np.where(x == self.median, 0.5, 0.0))

    def run(self, observations: npt.ArrayLike) -> npt.NDArray[np.intp]:
        """Vectorised replay, as ``_Alarm.run``: the first batch either side fired."""
        obs = np.asarray(observations, dtype=np.float64)
        up, down = self._longer.run(obs), self._shorter.run(1.0 - obs)
        both = np.where(up == 0, down, np.where(down == 0, up, np.minimum(up, down)))
        return np.asarray(both, dtype=np.intp)

    def update(self, lengths: npt.ArrayLike) -> AlarmState:
        obs = self.observations(lengths)
        longer = self._longer._feed(obs, None)
        shorter = self._shorter._feed(1.0 - obs, None)
        ats = [s.at_batch for s in (longer, shorter) if s.at_batch is not None]
        return AlarmState(
            name=self.name,
            fired=bool(ats),
            at_batch=min(ats) if ats else None,
            batches=longer.batches,
            e_value=max(longer.e_value, shorter.e_value) / 2.0,
            estimate=float(obs.mean()),
            false_alarm_level=self.alpha,
        )
