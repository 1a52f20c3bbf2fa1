"""open-instruct (AllenAI) preference data: ``chosen`` and ``rejected`` as whole conversations.

open-instruct's DPO and reward-model scripts read each side as the full message list, prompt
turns included (as in ``allenai/ultrafeedback_binarized_cleaned``); the prompt is not a
column of its own. What cannot be carried is counted as for OpenRLHF.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from palate.io.openrlhf import chat_pair
from palate.io.report import ExportReport, export_jsonl
from palate.schema import Comparison, Rating

NAME = "open-instruct"


def to_row(record: Comparison, report: ExportReport) -> dict[str, Any] | None:
    pair = chat_pair(record, report)
    if pair is None:
        return None
    prompt, chosen, rejected = pair
    return {"chosen": prompt + chosen, "rejected": prompt + rejected}


def export(records: Iterable[Comparison | Rating], out: Path) -> ExportReport:
    return export_jsonl(NAME, records, to_row, out)
