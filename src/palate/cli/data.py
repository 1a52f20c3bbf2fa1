"""Commands that move data in and out: import, export, datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from palate.cli.common import DbOption, JsonOption, console, emit, err_console, open_store
from palate.io import ExportFormat, ImportFormat, export_dataset, import_file


def import_command(
    file: Annotated[Path, typer.Argument(help="File to import (.jsonl, .json, .csv, .gz, ...).")],
    format: Annotated[
        ImportFormat, typer.Option("--format", help="Input format (auto: detect and say).")
    ] = "auto",
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="Dataset name (default: the file's name).")
    ] = None,
    judged_by: Annotated[
        str | None,
        typer.Option(
            "--judged-by",
            help="Who judged, as [human:|judge:]NAME, for formats that do not say "
            "(default: the file's name).",
        ),
    ] = None,
    license: Annotated[
        str | None, typer.Option("--license", help="The data's licence (e.g. an SPDX id).")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Where the data came from (URL, vendor).")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import a file into a dataset: all records or none; records already there are skipped."""
    store = open_store(db, create=True)
    with Progress(
        TextColumn("importing {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=as_json or not err_console.is_terminal,
    ) as bar:
        task = bar.add_task(file.name, total=None)
        result = import_file(
            store,
            file,
            fmt=format,
            dataset=dataset,
            judged_by=judged_by,
            license=license,
            source=source,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    how = "detected" if format == "auto" else "given"
    emit(
        as_json,
        result.to_json(),
        lambda: console.print(
            f"Imported [bold]{result.records}[/] new records ({result.read} read) into "
            f"dataset [bold]{result.dataset}[/] (format {result.format}, {how})."
        ),
    )


def export_command(
    out: Annotated[Path, typer.Argument(help="Output file (a directory for --format hf).")],
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset to export.")],
    format: Annotated[ExportFormat, typer.Option("--format", help="Output format.")] = "jsonl",
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Also write to a symlink's target, a device or a pipe, or replace a previous "
            "export directory of the same format (a regular file is always replaced).",
        ),
    ] = False,
    pooled: Annotated[
        bool,
        typer.Option(
            "--pooled",
            help="TRL: write the pairs `palate train` trains on (judgements of a pair pooled, "
            "ties and weak or disputed pairs left out) instead of one row a judgement.",
        ),
    ] = False,
    pairs: Annotated[
        Path | None,
        typer.Option(
            "--pairs",
            help="With --pooled: a train config (its `pairs:` section is used) or a file of "
            "those settings; the defaults otherwise.",
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export a dataset, reporting what the target format cannot hold."""
    policy = None
    if pooled or pairs is not None:
        from palate.train.config import PairPolicy, load_pair_policy

        policy = load_pair_policy(pairs) if pairs is not None else PairPolicy()
    report = export_dataset(open_store(db), dataset, format, out, force=force, pairs=policy)

    def render() -> None:
        console.print(f"Wrote {report.written} records to {report.path} ({report.format}).")
        for reason, n in sorted(report.dropped.items()):
            console.print(f"  [yellow]left out[/] {n} records: {reason}")
        for what, n in sorted(report.lost.items()):
            console.print(f"  [yellow]not representable[/] in {n} records: {what}")

    emit(as_json, report.to_json(), render)


def datasets_command(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List datasets with their record counts."""
    found = open_store(db).datasets()

    def render() -> None:
        table = Table("dataset", "records")
        for d in found:
            table.add_row(d.name, f"{d.records:,}")
        console.print(table)

    emit(as_json, {"datasets": [{"name": d.name, "records": d.records} for d in found]}, render)
