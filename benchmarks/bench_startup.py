"""Start-up time of the command line: ``palate --help`` and ``palate datasets`` against
``python -c pass`` (the interpreter alone), measured in the same run, median of several.

Target: ``palate --help`` under 0.5 s of wall time on 2 cores; it lists the commands without
importing them (``palate.cli.app.COMMANDS``).

    python benchmarks/bench_startup.py [--quick] [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_HELP_S = 0.5
SRC = Path(__file__).resolve().parent.parent / "src"


def wall_time(args: list[str], repeats: int, env: dict[str, str]) -> float:
    """Median wall time of running ``args`` to completion (after one warm-up run)."""
    subprocess.run(args, capture_output=True, env=env, check=False)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(args, capture_output=True, env=env, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Fewer repeats.")
    parser.add_argument("--repeats", type=int, default=None, help="Runs per command.")
    options = parser.parse_args()
    repeats = options.repeats or (3 if options.quick else 10)
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    palate = [sys.executable, "-m", "palate"]
    with tempfile.TemporaryDirectory() as folder:
        db = f"sqlite:///{Path(folder) / 'palate.db'}"
        subprocess.run([*palate, "import", "/dev/null", "--db", db], capture_output=True, env=env)
        baseline = wall_time([sys.executable, "-c", "pass"], repeats, env)
        help_s = wall_time([*palate, "--help"], repeats, env)
        datasets_s = wall_time([*palate, "datasets", "--db", db], repeats, env)
    print(f"python -c pass       {baseline:6.3f} s (baseline)")
    verdict = "met" if help_s < TARGET_HELP_S else "MISSED"
    print(
        f"palate --help        {help_s:6.3f} s = {help_s / baseline:5.1f}x baseline "
        f"(target < {TARGET_HELP_S} s: {verdict})"
    )
    print(f"palate datasets      {datasets_s:6.3f} s = {datasets_s / baseline:5.1f}x baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
