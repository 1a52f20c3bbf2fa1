"""TRL preference data: ``prompt``/``chosen``/``rejected``, plain text or conversational.

Also reads the *implicit prompt* form, where ``chosen`` and ``rejected`` carry the whole
dialogue (HH-RLHF's "\\n\\nHuman: … \\n\\nAssistant: …"): the shared prompt is split off at the
last assistant turn they have in common, and restored on export.
See TRL's dataset-formats guide for the shapes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from palate.io.readers import Row
from palate.io.report import ExportReport, export_jsonl
from palate.io.rows import RowError, extra_fields
from palate.schema import Comparison, Message, Prompt, Rating, Response, Source
from palate.schema.outcome import chosen_rejected

NAME = "trl"
IMPLICIT = "trl_implicit_prompt"  # metadata flag: the source had no separate prompt column
ASSISTANT_TURN = "\n\nAssistant:"
_messages = TypeAdapter(list[Message])


def looks_like(row: Row) -> bool:
    return {"chosen", "rejected"} <= row.keys()


def _conversation(row: Row, key: str) -> list[Message]:
    try:
        return _messages.validate_python(row[key])
    except Exception as exc:
        raise RowError(
            f"expected text or a list of {{role, content}} messages ({exc})", key
        ) from exc


def _split_text(chosen: str, rejected: str) -> tuple[str, str, str]:
    """Shared prompt (up to the last common assistant turn) and the two continuations."""
    common = 0
    for a, b in zip(chosen, rejected, strict=False):
        if a != b:
            break
        common += 1
    cut = chosen.rfind(ASSISTANT_TURN, 0, common)
    cut = 0 if cut < 0 else cut + len(ASSISTANT_TURN)
    return chosen[:cut], chosen[cut:], rejected[cut:]


def _split_messages(
    chosen: list[Message], rejected: list[Message]
) -> tuple[list[Message], list[Message], list[Message]]:
    common = 0
    for a, b in zip(chosen[:-1], rejected[:-1], strict=False):
        if a != b:
            break
        common += 1
    return chosen[:common], chosen[common:], rejected[common:]


def from_row(row: Row, judged_by: Source) -> Comparison:
    chosen, rejected = row.get("chosen"), row.get("rejected")
    for key, value in (("chosen", chosen), ("rejected", rejected)):
        if value is None:
            raise RowError("missing field", key)
    metadata = extra_fields(row, {"prompt", "chosen", "rejected"})
    prompt: Prompt
    responses: list[Response]
    if isinstance(chosen, str):
        if not isinstance(rejected, str):
            raise RowError("chosen is text, so rejected must be too", "rejected")
        if "prompt" in row:
            text = row["prompt"]
            if not isinstance(text, str):
                raise RowError("expected text, like chosen", "prompt")
        else:
            text, chosen, rejected = _split_text(chosen, rejected)
            metadata[IMPLICIT] = True
        prompt = Prompt(text=text)
        responses = [Response(text=chosen), Response(text=rejected)]
    else:
        chosen_m, rejected_m = _conversation(row, "chosen"), _conversation(row, "rejected")
        if "prompt" in row:
            prompt_m = _conversation(row, "prompt")
        else:
            prompt_m, chosen_m, rejected_m = _split_messages(chosen_m, rejected_m)
            metadata[IMPLICIT] = True
        prompt = Prompt(messages=prompt_m)
        responses = [Response(messages=chosen_m), Response(messages=rejected_m)]
    return Comparison(
        prompt=prompt, responses=responses, winner=0, judge=judged_by, metadata=metadata
    )


def _pair(record: Comparison, report: ExportReport) -> tuple[int, int] | None:
    """(chosen, rejected) indices, or None with the reason counted."""
    pair = chosen_rejected(record)
    if isinstance(pair, str):
        report.dropped[pair] += 1
        return None
    if record.ranking is not None:
        report.lost["ranking (kept best and worst)"] += 1
    return pair


def _content(part: Prompt | Response) -> str | list[dict[str, str]] | None:
    if part.messages is not None:
        return [m.model_dump() for m in part.messages]
    return part.text


def to_row(record: Comparison, report: ExportReport) -> dict[str, Any] | None:
    pair = _pair(record, report)
    if pair is None:
        return None
    prompt = _content(record.prompt)
    chosen, rejected = (_content(record.responses[i]) for i in pair)
    if prompt is None or chosen is None or rejected is None:
        report.dropped["no text"] += 1
        return None
    if record.strength is not None:
        report.lost["strength"] += 1
    for name in ("rationale", "error_tags", "rubric", "dimension", "presentation_order"):
        if getattr(record, name):
            report.lost[name] += 1
    metadata = dict(record.metadata)
    if metadata.pop(IMPLICIT, False):
        assert type(prompt) is type(chosen) is type(rejected)
        return {"chosen": prompt + chosen, "rejected": prompt + rejected, **metadata}  # type: ignore[operator]
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected, **metadata}


def export(records: Iterable[Comparison | Rating], out: Path) -> ExportReport:
    return export_jsonl(NAME, records, to_row, out)
