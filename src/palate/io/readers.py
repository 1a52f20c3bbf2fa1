"""Reading rows out of files, with the line number of each row for error messages.

Every reader turns the ways a file can be broken (missing, empty, binary, truncated gzip,
bad JSON) into an ``InputError`` naming the file and line, never a traceback.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from palate.errors import InputError
from palate.io.validation import input_error

Row = dict[str, Any]
GZIP_MAGIC = b"\x1f\x8b"


def _unwrapped(error: ErrorDetails) -> tuple[Any, ...]:
    """The field's location inside the record, not the wrapper model's name."""
    return tuple(p for p in error["loc"] if p not in ("comparison", "rating"))


@dataclass
class InputFile:
    """An input file being read: its name for errors and how far we are, for progress bars."""

    path: Path
    size: int
    _raw: IO[bytes] | None = field(default=None, repr=False)

    def position(self) -> int:
        return self._raw.tell() if self._raw is not None and not self._raw.closed else self.size

    def error(self, message: str, line: int | None = None, field: str | None = None) -> InputError:
        return InputError(message, file=str(self.path), line=line, field=field)

    def validation_error(self, exc: ValidationError, line: int | None) -> InputError:
        """The first pydantic error, as 'field: message'."""
        return input_error(exc, file=str(self.path), line=line, location=_unwrapped)


def is_gzip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(2) == GZIP_MAGIC


def check_file(path: Path) -> InputFile:
    if not path.exists():
        raise InputError("file not found", file=str(path))
    if path.is_dir():
        raise InputError("is a directory, not a file", file=str(path))
    size = path.stat().st_size
    if size == 0:
        raise InputError("file is empty", file=str(path))
    return InputFile(path=path, size=size)


@contextmanager
def open_text(path: Path) -> Iterator[tuple[InputFile, IO[str]]]:
    """Open a (possibly gzipped) UTF-8 text file."""
    source = check_file(path)
    raw = path.open("rb")
    source._raw = raw
    try:
        binary: IO[bytes] = gzip.GzipFile(fileobj=raw) if is_gzip(path) else raw  # type: ignore[assignment]
        yield source, io.TextIOWrapper(binary, encoding="utf-8", newline="")
    finally:
        raw.close()


def _decode_errors(source: InputFile, line: Callable[[], int | None]) -> Any:
    """Context manager mapping low-level read failures to one-line input errors."""

    @contextmanager
    def guard() -> Iterator[None]:
        try:
            yield
        except UnicodeDecodeError as exc:
            raise source.error("not UTF-8 text (a binary file?)", line=line()) from exc
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise source.error(f"truncated or corrupt gzip data ({exc})", line=line()) from exc

    return guard()


def _check_text(source: InputFile, text: str, line: int) -> None:
    if "\x00" in text:
        raise source.error("contains NUL bytes (a binary file?)", line=line)


def iter_jsonl(path: Path) -> Iterator[tuple[InputFile, int, Row]]:
    """JSON Lines: one object a line; blank lines are skipped."""
    with open_text(path) as (source, text):
        number = 0
        seen = False
        with _decode_errors(source, lambda: number + 1):
            for number, line in enumerate(text, start=1):
                _check_text(source, line, number)
                if not line.strip():
                    continue
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise source.error(f"invalid JSON ({exc.msg})", line=number) from exc
                if not isinstance(row, dict):
                    raise source.error("expected a JSON object", line=number)
                seen = True
                yield source, number, row
        if not seen:
            raise source.error("no records in file")


def iter_json_array(path: Path) -> Iterator[tuple[InputFile, int, Row]]:
    """A JSON array of objects (AlpacaEval's files); each object's line is where it starts."""
    with open_text(path) as (source, text_io):
        with _decode_errors(source, lambda: None):
            text = text_io.read()
        _check_text(source, text, 1)
        decoder = json.JSONDecoder()
        pos = _skip_ws(text, 0)
        if pos >= len(text) or text[pos] != "[":
            raise source.error("expected a JSON array of records", line=_line_at(text, pos))
        pos = _skip_ws(text, pos + 1)
        line, counted_to = 1, 0
        if pos < len(text) and text[pos] == "]":
            raise source.error("no records in file")
        while True:
            line += text.count("\n", counted_to, pos)
            counted_to = pos
            try:
                row, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                raise source.error(f"invalid JSON ({exc.msg})", line=exc.lineno) from exc
            if not isinstance(row, dict):
                raise source.error("expected a JSON object", line=line)
            yield source, line, row
            pos = _skip_ws(text, end)
            if pos < len(text) and text[pos] == ",":
                pos = _skip_ws(text, pos + 1)
                continue
            if pos < len(text) and text[pos] == "]":
                break
            raise source.error("invalid JSON (expected ',' or ']')", line=_line_at(text, pos))


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _line_at(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def iter_csv(path: Path, required: tuple[str, ...]) -> Iterator[tuple[InputFile, int, Row]]:
    """CSV with a header row; each row is checked for the required columns."""
    with open_text(path) as (source, text):
        # strict: an unterminated quote is an error, not a field that swallows the rest
        reader = csv.DictReader(text, strict=True)
        with _decode_errors(source, lambda: reader.line_num or 1):
            try:
                header = reader.fieldnames or []
            except csv.Error as exc:
                raise source.error(f"malformed CSV header ({exc})", line=1) from exc
            _check_text(source, ",".join(header), 1)
            missing = [c for c in required if c not in header]
            if missing:
                raise source.error(f"missing column(s) {', '.join(missing)}", line=1)
            seen = False
            while True:
                starts_at = reader.line_num + 1  # a quoted field may span several lines
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    problem = (
                        "a quote opened here is never closed"
                        if "end of data" in str(exc)
                        else f"malformed CSV ({exc})"
                    )
                    raise source.error(problem, line=starts_at) from exc
                if None in row or any(v is None for v in row.values()):
                    raise source.error("wrong number of columns", line=reader.line_num)
                seen = True
                yield source, reader.line_num, row
        if not seen:
            raise source.error("no records in file")


def iter_arrow(path: Path) -> Iterator[tuple[InputFile, int, Row]]:
    """A parquet file or a Hugging Face ``datasets`` directory (``save_to_disk``).

    Rows are numbered from 1 (there are no lines); the number is reported as the line.
    """
    if not path.exists():
        raise InputError("file not found", file=str(path))
    source = InputFile(path=path, size=1)
    try:
        if path.is_dir():
            import datasets  # optional: only needed for datasets saved with save_to_disk

            table = datasets.load_from_disk(str(path))
            if isinstance(table, datasets.DatasetDict):
                raise source.error("a DatasetDict: give the path of one split")
            batches: Iterator[list[Row]] = (
                _rows_of(table[i : i + 1000]) for i in range(0, len(table), 1000)
            )
        else:
            import pyarrow.parquet as pq

            parquet = pq.ParquetFile(path)
            batches = (b.to_pylist() for b in parquet.iter_batches(batch_size=1000))
        number = 0
        for batch in batches:
            for row in batch:
                number += 1
                yield source, number, row
    except InputError:
        raise
    except ImportError as exc:
        raise source.error(f"needs an optional package: {exc.name}") from exc
    except Exception as exc:  # pyarrow/datasets raise many types for unreadable input
        raise source.error(f"not a readable parquet file or dataset ({exc})") from exc
    if number == 0:
        raise source.error("no records in file")


def _rows_of(columns: dict[str, list[Any]]) -> list[Row]:
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def iter_json(path: Path) -> Iterator[tuple[InputFile, int, Row]]:
    """JSON Lines, or a JSON array of objects: whichever the file starts with."""
    with open_text(path) as (source, text), _decode_errors(source, lambda: 1):
        head = text.read(4096).lstrip()
    reader = iter_json_array if head.startswith("[") else iter_jsonl
    yield from reader(path)
