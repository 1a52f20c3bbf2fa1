"""``palate rubric``: add, show, diff and list rubric versions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from palate.cli.common import DbOption, JsonOption, console, emit, open_store
from palate.errors import PalateError
from palate.ledger import EntityRef, Ledger
from palate.ledger.provenance import current_agent, file_ref
from palate.rubric import diff_rubrics, load_rubric, rubric_version
from palate.schema.rubric import Rubric
from palate.store import Store
from palate.store.rubrics import list_rubrics, load_rubric_version, rubric_body, save_rubric

app = typer.Typer(help="Rubrics: validate, version, compare.", no_args_is_help=True)

_VERSION = re.compile(r"[0-9a-fA-F]{4,64}")

FileArg = Annotated[Path, typer.Argument(help="A rubric file (YAML or JSON).", show_default=False)]
RefArg = Annotated[
    str,
    typer.Argument(
        help="A rubric file, or a stored version (or a unique prefix of one).", show_default=False
    ),
]


class _Resolver:
    """Reads rubric references, opening the store only when one names a stored version."""

    def __init__(self, db: str | None) -> None:
        self.db = db
        self._store: Store | None = None

    def __call__(self, ref: str) -> Rubric:
        path = Path(ref)
        if path.exists() or not _VERSION.fullmatch(ref):
            return load_rubric(path)
        if self._store is None:
            self._store = open_store(self.db)
        return load_rubric_version(self._store, ref)


@app.command("add")
def add_command(file: FileArg, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Validate a rubric file and store it; print its version (a content hash)."""
    rubric = load_rubric(file)
    source = file.read_text(encoding="utf-8")
    store = open_store(db, create=True)
    new = rubric_body(store, rubric_version(rubric)) is None
    version = save_rubric(store, rubric, source)
    if new:
        Ledger(store).append(
            "rubric-version",
            agent=current_agent(),
            used=[file_ref(file)],
            generated=[EntityRef(kind="rubric", id=version, hash=version)],
            attributes={"name": rubric.name},
        )

    def render() -> None:
        state = "added" if new else "already stored"
        console.print(f"{state}: [bold]{escape(rubric.name)}[/] {version}", soft_wrap=True)

    emit(as_json, {"version": version, "name": rubric.name, "new": new}, render)


def _render_rubric(rubric: Rubric) -> None:
    console.print(
        f"[bold]{escape(rubric.name)}[/]  version {rubric_version(rubric)}", soft_wrap=True
    )
    console.print(escape(rubric.purpose.strip()), highlight=False)
    for dim in rubric.dimensions:
        table = Table(
            "score",
            "label",
            "anchor",
            title=f"{dim.name} (weight {dim.weight:g})",
            caption=dim.definition.strip(),
            title_justify="left",
            caption_justify="left",
        )
        for level in dim.scale:
            table.add_row(str(level.value), escape(level.label), escape(level.anchor))
        console.print(table)
    for t in rubric.tradeoffs:
        console.print(f"[bold]trade-off[/] {' vs '.join(t.dimensions)}: {escape(t.guidance)}")
    n_good, n_bad = len(rubric.exemplars), len(rubric.anti_exemplars)
    console.print(f"{n_good} exemplars, {n_bad} anti-exemplars")
    if rubric.error_taxonomy:
        console.print("error tags: " + ", ".join(escape(t.name) for t in rubric.error_taxonomy))


@app.command("show")
def show_command(ref: RefArg, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Show a rubric from a file or the store (--json prints the rubric itself, which
    `rubric add` reads back)."""
    rubric = _Resolver(db)(ref)
    emit(as_json, rubric.model_dump(mode="json"), lambda: _render_rubric(rubric))


@app.command("diff")
def diff_command(a: RefArg, b: RefArg, db: DbOption = None, as_json: JsonOption = False) -> None:
    """What changed from rubric A to rubric B (each a file or a stored version)."""
    resolve = _Resolver(db)
    result = diff_rubrics(resolve(a), resolve(b), a_label=a, b_label=b)

    def render() -> None:
        if result.same:
            console.print(f"same rubric: {result.a_version}")
            return
        console.print(f"{result.a_version[:12]} -> {result.b_version[:12]}")
        for change in result.changes:
            colour = {"added": "green", "removed": "red"}.get(change.kind, "yellow")
            console.print(f"[{colour}]{escape(change.describe())}[/]", highlight=False)
        if result.text:
            console.print(Syntax(result.text, "diff", theme="ansi_dark"))

    emit(as_json, result.as_dict(), render)


@app.command("list")
def list_command(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Every stored rubric version, oldest first."""
    rows = list_rubrics(open_store(db))

    def render() -> None:
        if not rows:
            raise PalateError("no rubrics stored yet; add one with `palate rubric add FILE`")
        table = Table("version", "name", "added")
        for r in rows:
            table.add_row(r.version[:12], escape(r.name), r.created_at.isoformat(" ", "seconds"))
        console.print(table)

    document = {
        "rubrics": [
            {"version": r.version, "name": r.name, "created_at": r.created_at.isoformat()}
            for r in rows
        ]
    }
    emit(as_json, document, render)
