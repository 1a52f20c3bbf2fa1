"""Routing work between AI judges and humans with calibrated guarantees: trust-or-escalate
cascades, active labelling, gold items, and anytime-valid alarms."""

from palate.routing.alarms import (
    AgreementDriftAlarm,
    AlarmState,
    CollusionAlarm,
    LengthDriftAlarm,
    RewardHackingAlarm,
    SequentialTest,
)
from palate.routing.calibration import RouteCalibration, calibrate
from palate.routing.cascade import (
    Calibration,
    Cascade,
    StageReport,
    calibrate_cascade,
    calibrate_threshold,
    min_calibration_labels,
)

__all__ = [
    "AgreementDriftAlarm",
    "AlarmState",
    "Calibration",
    "Cascade",
    "CollusionAlarm",
    "LengthDriftAlarm",
    "RewardHackingAlarm",
    "RouteCalibration",
    "SequentialTest",
    "StageReport",
    "calibrate",
    "calibrate_cascade",
    "calibrate_threshold",
    "min_calibration_labels",
]
