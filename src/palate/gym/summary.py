"""summary.json: the run's figures, and the checks the demo exists to show.

The summary holds no timestamps, timings or paths, so the same seed and config give the same
bytes (timings go to the CLI's output and the benchmark instead).
"""

from __future__ import annotations

import json
from typing import Any


def checks(summary: dict[str, Any]) -> dict[str, bool]:
    """What the demo claims, each read off the summary's own numbers:

    - the anchored arm beats the start on gold, its whole interval above 50%;
    - the checkbox arm's proxy score rises from its first round to its last;
    - the checkbox arm ends below the anchored arm on gold, intervals apart;
    - the reward-hacking alarm fires on the checkbox arm and not on the anchored arm;
    - the ledger verifies.
    """
    anchored, checkbox = summary["arms"]["anchored"], summary["arms"]["checkbox"]
    a_gold, c_gold = anchored["final_gold_win_rate"], checkbox["final_gold_win_rate"]
    first, last = checkbox["proxy_score_start_to_end"]
    return {
        "anchored_beats_start": a_gold["ci_low"] > 0.5,
        "checkbox_proxy_rises": last > first,
        "checkbox_below_anchored": c_gold["ci_high"] < a_gold["ci_low"],
        "alarm_fires_on_checkbox": bool(checkbox["alarm_fired"]),
        "alarm_quiet_on_anchored": not anchored["alarm_fired"],
        "ledger_verifies": bool(summary["ledger"]["ok"]),
    }


def dumps(summary: dict[str, Any]) -> str:
    """The canonical text of a summary: sorted keys, two-space indent, final newline."""
    return json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
