"""Exporting a dataset: written to a temporary path and moved into place, so a failed export
never leaves a half-written file behind (``palate.io.destination`` says what it may replace)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from palate.errors import InputError
from palate.io import alpacaeval, canonical, hf, open_instruct, openrlhf, trl
from palate.io.destination import export_destination
from palate.io.report import ExportReport
from palate.store import Store

if TYPE_CHECKING:
    from palate.train.config import PairPolicy

ExportFormat = Literal["jsonl", "trl", "hf", "alpacaeval", "openrlhf", "open-instruct"]
EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)


def export_dataset(
    store: Store,
    dataset: str,
    fmt: str,
    out: Path,
    *,
    force: bool = False,
    pairs: PairPolicy | None = None,
) -> ExportReport:
    """Write ``dataset`` to ``out`` in format ``fmt``. Without ``force`` only a new path or a
    regular file is written; see ``export_destination`` for what ``force`` allows.

    ``trl`` writes one row a judgement; with ``pairs`` it writes instead the pooled pairs
    ``palate train`` would train on with those settings (the same code builds both).
    """
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {fmt!r} (known: {', '.join(EXPORT_FORMATS)})")
    if pairs is not None and fmt != trl.NAME:
        raise InputError(f"pooled pairs are a TRL export: use --format trl, not {fmt}")
    store.count(dataset)  # fails early, with the known names, if the dataset does not exist
    with export_destination(out, fmt, is_directory=fmt == hf.NAME, force=force) as tmp:
        if fmt == canonical.NAME:
            report = canonical.export(store.iter_bodies(dataset), tmp)
        elif fmt == trl.NAME and pairs is not None:
            from palate.train.datasets import export_preferences  # datasets/pyarrow: train extra

            report = export_preferences(store, dataset, pairs, tmp)
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
    report.path = str(out)
    return report
