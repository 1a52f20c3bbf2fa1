"""Where prompts come from: a dataset already in the store, or a file of prompts.

A file is JSONL (one object per line with ``prompt`` or ``text``, optional ``id``, or
``messages``) or plain text (one prompt per line). A dataset gives the distinct prompts of its
records, in first-seen order, so responses can be generated for a set that was imported or
generated before.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from palate.errors import InputError, PalateError
from palate.io.validation import input_error
from palate.schema import Prompt
from palate.store import Store


def _from_file(path: Path) -> list[Prompt]:
    prompts: list[Prompt] = []
    jsonl = path.suffix in (".jsonl", ".json")
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            if not jsonl:
                prompts.append(Prompt(text=line.rstrip("\n")))
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise InputError(f"not JSON: {exc}", file=str(path), line=line_no) from None
            if not isinstance(row, dict):
                raise InputError("expected a JSON object", file=str(path), line=line_no)
            text = row.get("prompt", row.get("text"))
            try:
                prompts.append(Prompt(id=row.get("id"), text=text, messages=row.get("messages")))
            except ValidationError as exc:
                raise input_error(
                    exc, file=str(path), line=line_no, default_field="prompt"
                ) from None
    if not prompts:
        raise InputError("no prompts in the file", file=str(path))
    return prompts


def _from_dataset(store: Store, dataset: str) -> list[Prompt]:
    seen: dict[str, Prompt] = {}
    for generation in store.iter_generations(dataset):
        seen.setdefault(generation.prompt.key, generation.prompt)
    for record in store.iter_records(dataset):
        prompt = record.prompt
        if prompt is not None:
            seen.setdefault(prompt.key, prompt)
    if not seen:
        raise PalateError(f"dataset {dataset!r} has no prompts")
    return list(seen.values())


def load_prompts(store: Store, source: str) -> list[Prompt]:
    """Prompts from ``source``: an existing file path, else a dataset name."""
    path = Path(source)
    if path.is_file():
        return _from_file(path)
    return _from_dataset(store, source)
