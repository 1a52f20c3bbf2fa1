"""Exporting a dataset: written to a temporary path and moved into place, so a failed export
never leaves a half-written file behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Literal, get_args

from palate.errors import InputError
from palate.io import alpacaeval, canonical, hf, open_instruct, openrlhf, trl
from palate.io.report import ExportReport
from palate.store import Store

ExportFormat = Literal["jsonl", "trl", "hf", "alpacaeval", "openrlhf", "open-instruct"]
EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)


def export_dataset(store: Store, dataset: str, fmt: str, out: Path) -> ExportReport:
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {fmt!r} (known: {', '.join(EXPORT_FORMATS)})")
    store.count(dataset)  # fails early, with the known names, if the dataset does not exist
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".palate-export-", dir=out.parent)) / out.name
    try:
        if fmt == canonical.NAME:
            report = canonical.export(store.iter_bodies(dataset), tmp)
        elif fmt == trl.NAME:
            report = trl.export(store.iter_records(dataset), tmp)
        elif fmt == alpacaeval.NAME:
            report = alpacaeval.export(store.iter_records(dataset), tmp)
        elif fmt == openrlhf.NAME:
            report = openrlhf.export(store.iter_records(dataset), tmp)
        elif fmt == open_instruct.NAME:
            report = open_instruct.export(store.iter_records(dataset), tmp)
        else:
            report = hf.export(store.iter_records(dataset), tmp)
        if out.is_dir():
            shutil.rmtree(out)
        os.replace(tmp, out)
        report.path = str(out)
        return report
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)
