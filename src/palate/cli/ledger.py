"""``palate ledger``: verify, show, prove and checkpoint the provenance ledger."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from palate.cli.common import DbOption, JsonOption, console, emit, open_store
from palate.errors import PalateError
from palate.ledger import Ledger
from palate.ledger.provenance import current_agent, prov_relations

app = typer.Typer(help="The provenance ledger: what produced what, tamper-evident.")

KeyDirOption = Annotated[
    Path | None,
    typer.Option(
        "--key-dir",
        help="Directory of the checkpoint signing key. Default: $PALATE_KEY_DIR, "
        "else ~/.config/palate/keys.",
        show_default=False,
    ),
]


@app.command("verify")
def verify_command(
    key_dir: KeyDirOption = None, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Recompute every hash, check checkpoints and recorded data; exit 1 naming the first
    bad record."""
    result = Ledger(open_store(db), key_dir).verify()

    def render() -> None:
        if result.ok:
            console.print(
                f"[green]ok[/]: {result.records} records, root {result.root}, "
                f"{result.checkpoints} checkpoints ({result.unsigned} records not yet signed)"
            )
            for kind, n in sorted(result.not_checked.items()):
                console.print(f"  [yellow]not checked[/]: {n} references to {kind}")

    emit(as_json, result.to_json(), render)
    if not result.ok:
        raise PalateError(f"ledger does not verify: {result.describe()}")


@app.command("show")
def show_command(
    limit: Annotated[int, typer.Option("--limit", help="Show the last N records.", min=1)] = 20,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """The latest records: index, id, time, activity, agent and entities (with --json, also
    each record's PROV relations)."""
    ledger = Ledger(open_store(db))
    size = ledger.size()
    entries = list(ledger.entries(max(size - limit, 0)))

    def render() -> None:
        table = Table("#", "id", "time", "activity", "agent", "used", "generated")
        for e in entries:
            refs = [
                ", ".join(f"{r['kind']}:{r['id']}" for r in e.record[key])
                for key in ("used", "generated")
            ]
            table.add_row(
                str(e.index), e.id[:12], e.record["time"], e.record["activity"],
                e.record["agent"], *refs,
            )  # fmt: skip
        console.print(table)

    document = {
        "records": size,
        "entries": [
            {
                "index": e.index,
                "id": e.id,
                "record": e.record,
                "prov": prov_relations(e.record, e.id),
            }
            for e in entries
        ],
    }
    emit(as_json, document, render)


@app.command("proof")
def proof_command(
    record: Annotated[
        str,
        typer.Argument(
            help="Record: #N (its index) or 4+ hex digits of its id. A bare number is read "
            "as either, and refused when it names two records."
        ),
    ],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print an inclusion proof of one record (JSON; check it offline with
    palate/ledger/standalone_proof.py)."""
    proof = Ledger(open_store(db)).inclusion_proof(record)
    print(json.dumps(proof, ensure_ascii=False, indent=None if as_json else 2))


@app.command("checkpoint")
def checkpoint_command(
    key_dir: KeyDirOption = None, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Check the log's hashes and checkpoints, then sign and store a checkpoint now (key made
    on first use)."""
    note = Ledger(open_store(db), key_dir).checkpoint()
    lines = note.split("\n")
    emit(
        as_json,
        {"origin": lines[0], "size": int(lines[1]), "root": lines[2], "note": note},
        lambda: console.print(note, highlight=False, end="", soft_wrap=True),
    )


@app.command("revoke")
def revoke_command(
    record: Annotated[
        str, typer.Argument(help="Record to withdraw: #N or 4+ hex digits of its id.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why it is withdrawn (shown on cards).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Withdraw a record: append a revocation naming it and the reason (nothing is deleted;
    cards built afterwards say the record was revoked)."""
    if not reason.strip():
        raise PalateError("--reason must say why the record is revoked")
    entry = Ledger(open_store(db)).append(
        "revoke", agent=current_agent(), revokes=record, attributes={"reason": reason}
    )
    revoked = entry.record["revokes"]
    emit(
        as_json,
        {"index": entry.index, "id": entry.id, "revokes": revoked, "reason": reason},
        lambda: console.print(
            f"record #{revoked['index']} revoked by record #{entry.index} ({entry.id[:12]})"
        ),
    )
