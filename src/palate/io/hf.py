"""Hugging Face ``datasets``: import from a dataset saved with ``save_to_disk`` or a parquet
file (rows in any shape palate reads: TRL, AlpacaEval, Arena or canonical), and export
canonical records as a dataset on disk.

Exported columns are the canonical record's fields; ``metadata`` is a JSON string because its
keys differ from record to record and Arrow would otherwise pad every row with nulls.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import islice
from pathlib import Path
from typing import Any

from palate.io.readers import Row
from palate.io.report import ExportReport
from palate.io.rows import RowError
from palate.schema import Comparison, Rating
from palate.schema.hashing import record_dict

NAME = "hf"


def looks_like_canonical(row: Row) -> bool:
    return row.get("kind") in ("comparison", "rating")


def _drop_nulls(value: Any) -> Any:
    """Arrow pads missing struct fields with nulls; canonical records simply omit them."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def canonical_row(row: Row) -> Row:
    """A row exported by ``export`` back into canonical record data."""
    data = _drop_nulls(row)
    metadata = data.get("metadata")
    if isinstance(metadata, str):
        try:
            data["metadata"] = json.loads(metadata)
        except json.JSONDecodeError as exc:
            raise RowError(f"invalid JSON ({exc.msg})", "metadata") from exc
    return data


def export(records: Iterable[Comparison | Rating], out: Path) -> ExportReport:
    import datasets
    import pyarrow as pa

    report = ExportReport(format=NAME, path=str(out))
    tables = []
    iterator = iter(records)
    while batch := list(islice(iterator, 10_000)):
        rows = []
        for record in batch:
            row = record_dict(record)
            row["metadata"] = json.dumps(row.get("metadata", {}), ensure_ascii=False)
            rows.append(row)
        # Not ``from_pylist``: it takes the columns of the first row only.
        columns = list(dict.fromkeys(key for row in rows for key in row))
        tables.append(pa.Table.from_pydict({c: [row.get(c) for row in rows] for c in columns}))
        report.written += len(rows)
    table = pa.concat_tables(tables, promote_options="permissive") if tables else pa.table({})
    datasets.disable_progress_bars()
    datasets.Dataset(table).save_to_disk(str(out))
    return report
