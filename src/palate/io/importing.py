"""Importing a file into the store: pick the format, map each row, add all or nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import ValidationError

from palate.errors import InputError
from palate.io import alpacaeval, arena, canonical, crowd, hf, trl
from palate.io.detect import detect, row_format
from palate.io.readers import InputFile, Row, iter_arrow, iter_csv, iter_json
from palate.io.rows import RowError
from palate.ledger import Ledger
from palate.ledger.provenance import current_agent, file_ref
from palate.schema import Comparison, Rating, Source
from palate.schema.source import SourceKind
from palate.store import Store

ImportFormat = Literal["auto", "jsonl", "alpacaeval", "arena", "crowd-csv", "hf", "trl"]
FORMATS: tuple[str, ...] = get_args(ImportFormat)
SUFFIXES = (".gz", ".jsonl", ".json", ".csv", ".parquet")

Progress = Callable[[int, int], None]  # (bytes read, total bytes)


@dataclass(frozen=True)
class ImportResult:
    dataset: str
    format: str
    records: int  # newly added
    read: int  # rows in the file

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "format": self.format, "records": self.records,
                "read": self.read}  # fmt: skip


def dataset_name(path: Path) -> str:
    """A file's default dataset name: its name without data suffixes."""
    name = path.name
    while name.lower().endswith(SUFFIXES):
        name = name[: name.rfind(".")]
    return name or path.name


def _mapper(fmt: str, judged_by: Source) -> Callable[[Row], Comparison | Rating]:
    """The function turning one source row into a canonical record."""
    if fmt == canonical.NAME:
        return canonical.from_row
    if fmt == alpacaeval.NAME:
        return lambda row: alpacaeval.from_row(row, judged_by)
    if fmt == arena.NAME:
        return lambda row: arena.from_row(row, judged_by)
    if fmt == trl.NAME:
        return lambda row: trl.from_row(row, judged_by)
    if fmt == crowd.NAME:
        return crowd.from_row
    if fmt == hf.NAME:
        return lambda row: _hf_row(row, judged_by)
    raise InputError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")


def _hf_row(row: Row, judged_by: Source) -> Comparison | Rating:
    """Rows of a dataset or parquet file may be in any row shape we know."""
    if hf.looks_like_canonical(row):
        return canonical.from_row(hf.canonical_row(row))
    shape = row_format(row)
    if shape is None:
        raise RowError(f"unknown row shape (fields: {', '.join(sorted(row)[:8])})")
    return _mapper(shape, judged_by)(row)


def _default_kind(fmt: str) -> SourceKind:
    return "judge" if fmt == alpacaeval.NAME else "human"


def _rows(fmt: str, path: Path) -> Iterator[tuple[InputFile, int, Row]]:
    if fmt == crowd.NAME:
        return iter_csv(path, crowd.COLUMNS)
    if fmt == hf.NAME:
        return iter_arrow(path)
    return iter_json(path)


def read_records(
    path: Path, fmt: str, judged_by: Source, progress: Progress | None = None
) -> Iterator[Comparison | Rating]:
    """Canonical records from a file; the first bad row raises an InputError (file, line, field)."""
    mapper = _mapper(fmt, judged_by)
    for count, (source, line, row) in enumerate(_rows(fmt, path), start=1):
        try:
            yield mapper(row)
        except RowError as exc:
            raise source.error(str(exc), line=line, field=exc.field) from exc
        except ValidationError as exc:
            raise source.validation_error(exc, line) from exc
        if progress is not None and count % 1000 == 0:
            progress(source.position(), source.size)


def import_file(
    store: Store,
    path: Path,
    *,
    fmt: str = "auto",
    dataset: str | None = None,
    judged_by: str | None = None,
    progress: Progress | None = None,
    license: str | None = None,
    source: str | None = None,
) -> ImportResult:
    """Import one file into a dataset atomically; records already there are skipped.
    ``license`` (e.g. an SPDX id) and ``source`` (where the data came from) go into the
    import's ledger record, for model cards."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})", file=str(path))
    chosen = detect(path) if fmt == "auto" else fmt
    name = dataset or dataset_name(path)
    judge = Source.parse(judged_by or dataset_name(path), _default_kind(chosen))
    read = 0

    def counted() -> Iterator[Comparison | Rating]:
        nonlocal read
        for record in read_records(path, chosen, judge, progress):
            read += 1
            yield record

    try:
        used = [file_ref(path)]
    except OSError:  # unreadable: reading it below fails with the one-line reason
        used = []
    # The rows and the record that accounts for them commit together, or neither does.
    added, _rows = Ledger(store).add_records(
        name,
        counted(),
        activity="import",
        agent=current_agent(),
        used=used,
        attributes=lambda added: {
            "format": chosen,
            "read": read,
            "added": added,
            **({"license": license} if license else {}),
            **({"source": source} if source else {}),
        },
    )
    return ImportResult(dataset=name, format=chosen, records=added, read=read)
