"""One call for ``palate demo``: run the gym, write summary.json and the report."""

from __future__ import annotations

from pathlib import Path

from palate.gym.config import GymConfig
from palate.gym.loop import Gym, GymResult, Progress
from palate.gym.report import write_report
from palate.gym.summary import dumps
from palate.io.atomic import write_atomic
from palate.store import Store


def run_demo(
    config: GymConfig, store: Store, out: Path, progress: Progress | None = None
) -> GymResult:
    """Run the gym on ``store`` and write ``out/summary.json``, ``out/report.html`` and
    ``out/goodhart.png``."""
    result = Gym(config, store, progress).run()
    write_atomic(out / "summary.json", dumps(result.summary))
    write_report(result.summary, result.samples, out)
    return result
