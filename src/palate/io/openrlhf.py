"""OpenRLHF preference data: ``prompt``/``chosen``/``rejected`` as chat messages.

The prompt is the conversation so far and each response one or more assistant turns, the
shape OpenRLHF's reward-model and DPO trainers read with ``--apply_chat_template
--prompt_key prompt --chosen_key chosen --rejected_key rejected``. Plain-text records become
one user turn and one assistant turn. Ties, unscored records and 3+-way winners have no
(chosen, rejected) pair and are counted as dropped; strengths and rationales as lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from palate.io.report import ExportReport, export_jsonl
from palate.schema import Comparison, Prompt, Rating, Response
from palate.schema.outcome import chosen_rejected

NAME = "openrlhf"
Messages = list[dict[str, str]]


def prompt_messages(prompt: Prompt) -> Messages | None:
    if prompt.messages is not None:
        return [m.model_dump() for m in prompt.messages]
    return None if prompt.text is None else [{"role": "user", "content": prompt.text}]


def response_messages(response: Response) -> Messages | None:
    if response.messages is not None:
        return [m.model_dump() for m in response.messages]
    return None if response.text is None else [{"role": "assistant", "content": response.text}]


def chat_pair(
    record: Comparison, report: ExportReport
) -> tuple[Messages, Messages, Messages] | None:
    """(prompt, chosen, rejected) as messages, or None with the reason counted."""
    pair = chosen_rejected(record)
    if isinstance(pair, str):
        report.dropped[pair] += 1
        return None
    if record.ranking is not None and len(record.responses) > 2:
        report.lost["ranking (kept best and worst)"] += 1
    best, worst = pair
    prompt = prompt_messages(record.prompt)
    chosen = response_messages(record.responses[best])
    rejected = response_messages(record.responses[worst])
    if prompt is None or chosen is None or rejected is None:
        report.dropped["no text"] += 1
        return None
    for name in ("strength", "rationale", "error_tags", "rubric", "dimension"):
        if getattr(record, name):
            report.lost[name] += 1
    return prompt, chosen, rejected


def to_row(record: Comparison, report: ExportReport) -> dict[str, Any] | None:
    pair = chat_pair(record, report)
    if pair is None:
        return None
    prompt, chosen, rejected = pair
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected}


def export(records: Iterable[Comparison | Rating], out: Path) -> ExportReport:
    return export_jsonl(NAME, records, to_row, out)
