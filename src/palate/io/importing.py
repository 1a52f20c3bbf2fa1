"""Importing a file into the store: pick the format, map each row, add all or nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import ValidationError

from palate.errors import InputError
from palate.io import alpacaeval, arena, canonical, crowd, hf, producer, trl
from palate.io.arena_rows import BattleRows
from palate.io.detect import detect, row_format
from palate.io.readers import InputFile, Row, iter_arrow, iter_csv, iter_json, refuse_special
from palate.io.rows import RowError
from palate.ledger import Ledger
from palate.ledger.provenance import current_agent, file_ref
from palate.schema import Comparison, Rating, Source
from palate.schema.source import SourceKind
from palate.store import Store
from palate.store.store import record_values

ImportFormat = Literal["auto", "jsonl", "alpacaeval", "arena", "crowd-csv", "hf", "trl"]
FORMATS: tuple[str, ...] = get_args(ImportFormat)
SUFFIXES = (".gz", ".jsonl", ".json", ".csv", ".parquet")

Progress = Callable[[int, int], None]  # (bytes read, total bytes)
IN_CHILD_FROM = 1 << 20  # files this large have their rows built in a second process


@dataclass(frozen=True)
class ImportResult:
    dataset: str
    format: str
    records: int  # newly added
    read: int  # rows in the file

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "format": self.format, "records": self.records,
                "read": self.read}  # fmt: skip


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # reading it fails below with the one-line reason
        return 0


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


def _builder(fmt: str, judged_by: Source) -> Callable[[Row], tuple[Any, ...]]:
    """The function turning one source row into its ``records`` row (see ``record_values``)."""
    mapper = _mapper(fmt, judged_by)
    if fmt == arena.NAME:  # rows parsed from JSON: most can skip the models (see arena_rows)
        battle_row = BattleRows(judged_by)
        return lambda row: battle_row(row) or record_values(mapper(row))
    return lambda row: record_values(mapper(row))


def read_values(
    path: Path,
    fmt: str,
    judged_by: Source,
    progress: Progress | None = None,
    stripe: producer.Stripe | None = None,
) -> Iterator[tuple[Any, ...]]:
    """The ``records`` rows of a file (without the dataset id); the first bad row raises an
    InputError (file, line, field). With ``stripe``, only the rows of that stripe (every row
    is still read and parsed)."""
    build = _builder(fmt, judged_by)
    for count, (source, line, row) in enumerate(_rows(fmt, path), start=1):
        if stripe is not None and not stripe.owns(count - 1):
            continue
        try:
            yield build(row)
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
    refuse_special(path)
    chosen = detect(path) if fmt == "auto" else fmt
    name = dataset or dataset_name(path)
    judge = Source.parse(judged_by or dataset_name(path), _default_kind(chosen))
    read = 0

    def values(
        report: Progress | None, stripe: producer.Stripe | None = None
    ) -> Iterator[tuple[Any, ...]]:
        return read_values(path, chosen, judge, report, stripe)

    def counted() -> Iterator[tuple[Any, ...]]:
        nonlocal read
        if producer.available() and _size(path) >= IN_CHILD_FROM:
            rows = producer.rows_from_children(values, progress)
        else:
            rows = values(progress)
        for row in rows:
            read += 1
            yield row

    try:
        used = [file_ref(path)]
    except OSError:  # unreadable: reading it below fails with the one-line reason
        used = []
    # The rows and the record that accounts for them commit together, or neither does.
    added, _rows = Ledger(store).add_rows(
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
