"""Issue 22, "no surprises": each mistake a user can make on the command line ends in exit 1
(or 2 for a usage error) with one line that says what is wrong, and leaves the user's files,
the store and its ledger as they were."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from palate.cli.app import COMMANDS, load_command
from palate.io.destination import export_destination
from tests.helpers import fingerprint, run_cli

ROOT = Path(__file__).resolve().parent.parent


# -- fixtures: a small store with a signed ledger --------------------------------------------


def _head(source: Path, out: Path, n: int) -> Path:
    import gzip

    with gzip.open(source, "rt") as f:
        out.write_text("".join(line for _, line in zip(range(n), f, strict=False)))
    return out


@pytest.fixture(scope="module")
def template(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with 'human' and 'gpt' arena battles, both together in 'both', and a signed
    checkpoint; copied for each test."""
    folder = tmp_path_factory.mktemp("template")
    human = _head(shared_data / "arena" / "human.jsonl.gz", folder / "human.jsonl", 200)
    judge = _head(shared_data / "arena" / "gpt-4-0125-preview.jsonl.gz", folder / "g.jsonl", 200)
    url = f"sqlite:///{folder / 'palate.db'}"
    capsys = _NoCapture()
    for args in (
        [str(human), "--dataset", "human"],
        [str(judge), "--dataset", "gpt"],
        [str(human), "--dataset", "both", "--judged-by", "human:arena"],
        [str(judge), "--dataset", "both", "--judged-by", "judge:gpt4"],
    ):
        assert run_cli(capsys, "import", *args, "--db", url)[0] == 0  # type: ignore[arg-type]
    keys = folder / "keys"
    assert run_cli(capsys, "ledger", "checkpoint", "--key-dir", str(keys), "--db", url)[0] == 0  # type: ignore[arg-type]
    with sqlite3.connect(folder / "palate.db") as conn:  # everything into the main file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return folder


class _NoCapture:
    """Stands in for capsys in a module-scoped fixture (output is discarded)."""

    def readouterr(self) -> tuple[str, str]:
        return "", ""


@dataclass
class Workspace:
    path: Path
    url: str
    keys: Path


@pytest.fixture
def ws(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    shutil.copy(template / "palate.db", tmp_path / "palate.db")
    shutil.copytree(template / "keys", tmp_path / "keys")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PALATE_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PALATE_DB_URL", raising=False)
    return Workspace(tmp_path, f"sqlite:///{tmp_path / 'palate.db'}", tmp_path / "keys")


def files(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every path under ``root`` with its type and content hash (not times), but the store's
    own files (its content is checked by ``store_state``)."""
    import hashlib

    found: dict[str, tuple[Any, ...]] = {}
    for path in sorted(root.rglob("*")):
        if path.name.startswith("palate.db") or path.parts[len(root.parts)] == "home":
            continue  # the store (checked by store_state) and $HOME (caches)
        info = path.lstat()
        digest = ""
        if stat.S_ISREG(info.st_mode):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        found[str(path.relative_to(root))] = (stat.S_IFMT(info.st_mode), digest)
    return found


def store_state(capsys: pytest.CaptureFixture[str], ws: Workspace) -> tuple[Any, ...]:
    """The store's content and its ledger (size, root), after checking the ledger verifies."""
    code, out, err = run_cli(
        capsys, "ledger", "verify", "--json", "--key-dir", str(ws.keys), "--db", ws.url
    )
    assert code == 0, err
    verified = json.loads(out)
    assert verified["ok"]
    return fingerprint(ws.url), verified["records"]


@contextmanager
def unchanged(capsys: pytest.CaptureFixture[str], ws: Workspace) -> Iterator[None]:
    """What runs inside must leave files, store and ledger exactly as they were."""
    before = files(ws.path), store_state(capsys, ws)
    yield
    assert (files(ws.path), store_state(capsys, ws)) == before


def fails(
    capsys: pytest.CaptureFixture[str], ws: Workspace, *args: str, code: int = 1, says: str = ""
) -> str:
    """Run the command; it must exit ``code`` with a one-line error (usage errors: click's
    box) that contains ``says``, and leave files, store and ledger as they were; return the
    message."""
    with unchanged(capsys, ws):
        got, out, err = run_cli(capsys, *args)
    assert got == code, (got, out, err)
    assert "Traceback" not in out + err
    message = " ".join(err.split())
    if code == 1:
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("error: ")
    assert says in message, message
    return message


# -- export never destroys what it did not create ---------------------------------------------


def test_export_refuses_a_directory_it_did_not_write(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = ws.path / "mine"
    folder.mkdir()
    (folder / "thesis.tex").write_text("years of work")
    for fmt in ("jsonl", "hf"):
        for force in ([], ["--force"]):
            fails(
                capsys,
                ws,
                "export",
                str(folder),
                "--dataset",
                "human",
                "--format",
                fmt,
                *force,
                "--db",
                ws.url,
                says="did not write",
            )


def test_export_refuses_a_symlink_and_a_pipe_without_force(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    (ws.path / "notes.txt").write_text("keep me")
    (ws.path / "link").symlink_to(ws.path / "notes.txt")
    os.mkfifo(ws.path / "fifo")
    fails(capsys, ws, "export", "link", "--dataset", "human", "--db", ws.url, says="symbolic link")
    fails(capsys, ws, "export", "fifo", "--dataset", "human", "--db", ws.url, says="pipe")
    fails(capsys, ws, "export", "/dev/null", "--dataset", "human", "--db", ws.url, says="device")


def test_export_with_force_writes_through_links_devices_and_pipes(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    (ws.path / "notes.txt").write_text("old")
    (ws.path / "link").symlink_to(ws.path / "notes.txt")
    assert (
        run_cli(capsys, "export", "link", "--dataset", "human", "--force", "--db", ws.url)[0] == 0
    )
    assert (ws.path / "link").is_symlink()  # the link stays a link; its target is the export
    assert len((ws.path / "notes.txt").read_text().splitlines()) == 200

    os.mkfifo(ws.path / "fifo")
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append((ws.path / "fifo").read_bytes()))
    reader.start()
    code, _, err = run_cli(
        capsys, "export", "fifo", "--dataset", "human", "--force", "--db", ws.url
    )
    reader.join(timeout=30)
    assert code == 0, err
    assert stat.S_ISFIFO((ws.path / "fifo").lstat().st_mode)
    assert len(received[0].decode().splitlines()) == 200

    assert (
        run_cli(capsys, "export", "/dev/null", "--dataset", "human", "--force", "--db", ws.url)[0]
        == 0
    )
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_export_replaces_a_file_atomically_and_only_its_own_directory_export(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    out = ws.path / "out.jsonl"
    out.write_text("old\n")
    inode = out.stat().st_ino
    assert run_cli(capsys, "export", str(out), "--dataset", "human", "--db", ws.url)[0] == 0
    assert out.stat().st_ino != inode  # a new file renamed over the old one, not rewritten
    assert len(out.read_text().splitlines()) == 200
    assert [p.name for p in ws.path.iterdir() if p.name.startswith(".palate")] == []

    locked = ws.path / "locked.jsonl"
    locked.write_text("keep me\n")
    locked.chmod(0o444)
    fails(capsys, ws, "export", str(locked), "--dataset", "human", "--db", ws.url, says="read-only")
    assert locked.read_text() == "keep me\n"
    assert (
        run_cli(capsys, "export", str(locked), "--dataset", "human", "--force", "--db", ws.url)[0]
        == 0
        and len(locked.read_text().splitlines()) == 200
    )

    hf = ws.path / "out.hf"
    args = ("export", str(hf), "--dataset", "human", "--format", "hf", "--db", ws.url)
    assert run_cli(capsys, *args)[0] == 0
    fails(capsys, ws, *args, says="pass --force")
    assert run_cli(capsys, *args, "--force")[0] == 0
    assert (hf / "dataset_info.json").exists()
    fails(
        capsys,
        ws,
        "export",
        str(hf),
        "--dataset",
        "human",
        "--format",
        "jsonl",
        "--force",
        "--db",
        ws.url,
        says="hf export",
    )
    fails(
        capsys,
        ws,
        "export",
        str(out),
        "--dataset",
        "human",
        "--format",
        "hf",
        "--db",
        ws.url,
        says="is a file",
    )


def test_export_creates_missing_folders_and_leaves_none_when_it_fails(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    out = ws.path / "new" / "deeper" / "out.jsonl"
    assert run_cli(capsys, "export", str(out), "--dataset", "human", "--db", ws.url)[0] == 0
    assert len(out.read_text().splitlines()) == 200
    assert sorted(p.name for p in out.parent.iterdir()) == ["out.jsonl"]  # no scratch left
    (ws.path / "notes.txt").write_text("keep me")
    fails(capsys, ws, "export", "notes.txt/sub/out.jsonl", "--dataset", "human", "--db", ws.url,
          says="notes.txt: is not a folder")  # fmt: skip


def test_a_failed_export_removes_the_folders_it_made(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    with (
        pytest.raises(RuntimeError),
        export_destination(
            tmp_path / "a" / "b" / "c" / "out.jsonl", "jsonl", is_directory=False, force=False
        ) as scratch,
    ):
        scratch.write_text("half")
        assert (tmp_path / "a" / "b" / "c").is_dir()
        raise RuntimeError("the export failed")
    assert [p.name for p in tmp_path.rglob("*")] == ["a"]


def test_import_refuses_pipes_and_devices_instead_of_waiting(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = ws.path / "battles.jsonl"
    os.mkfifo(fifo)
    finished = threading.Event()

    def unblock() -> None:  # if the import waited for a writer, end the wait: the test fails
        if not finished.wait(20):
            with fifo.open("w"):
                pass

    watchdog = threading.Thread(target=unblock)
    watchdog.start()
    try:
        for given in ([], ["--format", "arena"]):  # with a format, nothing reads it to detect one
            fails(capsys, ws, "import", str(fifo), *given, "--db", ws.url, says="is a pipe, not a")
    finally:
        finished.set()
        watchdog.join()
    fails(capsys, ws, "import", "/dev/null", "--dataset", "x", "--db", ws.url, says="is a device")


# -- one-line errors instead of tracebacks ---------------------------------------------------


def test_read_only_store_and_malformed_urls(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    read_only = f"sqlite:///file:{ws.path / 'palate.db'}?mode=ro&uri=true"
    (ws.path / "one.jsonl").write_text(
        '{"question_id": "q1", "model_a": "a", "model_b": "b", "winner": "model_a"}\n'
    )
    fails(capsys, ws, "import", "one.jsonl", "--dataset", "x", "--db", read_only, says="read-only")
    for url in ("postgresql://x:y@:::/", "mysql://localhost/db", "not a url"):
        fails(capsys, ws, "datasets", "--db", url)


@pytest.mark.parametrize(
    "args",
    [
        ["stats", "rank", "--dataset", "human", "--alpha", "nan"],
        ["stats", "rank", "--dataset", "human", "--alpha", "5"],
        ["stats", "rank", "--dataset", "human", "--alpha", "0"],
        ["stats", "rank", "--dataset", "human", "--alpha", "-1"],
        ["stats", "rank", "--dataset", "human", "--alpha", "inf"],
        ["stats", "rank", "--dataset", "human", "--n-bootstrap", "0"],
        ["stats", "rank", "--dataset", "human", "--n-bootstrap", "-5"],
        ["stats", "rank", "--dataset", "human", "--seed", "-1"],
        ["stats", "rank", "--dataset", "human", "--l2", "nan"],
        ["stats", "ppi", "--human", "human", "--judge", "gpt", "--alpha", "1"],
        ["stats", "truth", "--dataset", "human", "--max-iter", "0"],
        [
            "route",
            "calibrate",
            "--dataset",
            "both",
            "--judge-source",
            "gpt4",
            "--human-source",
            "arena",
            "--delta",
            "nan",
        ],
        [
            "route",
            "calibrate",
            "--dataset",
            "both",
            "--judge-source",
            "gpt4",
            "--human-source",
            "arena",
            "--calibration-fraction",
            "1",
        ],
        [
            "eval",
            "run",
            "--candidate",
            "a",
            "--baseline",
            "b",
            "--set",
            "human",
            "--alpha",
            "-0.5",
        ],
        [
            "eval",
            "compare",
            "--before",
            "a",
            "--after",
            "b",
            "--baseline",
            "c",
            "--set",
            "human",
            "--top",
            "0",
        ],
        ["serve", "--port", "99999"],
        ["ledger", "show", "--limit", "0"],
    ],
)
def test_numeric_options_are_checked_before_anything_is_recorded(
    args: list[str], ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    option = next(a for a in reversed(args) if a.startswith("--"))
    fails(capsys, ws, *args, "--db", ws.url, code=2, says=option)


def test_gate_policy_with_nan_threshold_or_unknown_metric(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = ws.path / "gate.yaml"
    policy.write_text("name: g\ncriteria:\n  - metric: win_rate\n    at_least: .nan\n")
    fails(
        capsys,
        ws,
        "gate",
        "register",
        str(policy),
        "--db",
        ws.url,
        says="line 4, field 'criteria.0.at_least'",
    )
    policy.write_text("name: g\ncriteria:\n  - metric: vibes\n    at_least: 50\n")
    fails(
        capsys, ws, "gate", "register", str(policy), "--db", ws.url, says="unknown metric 'vibes'"
    )


def test_report_and_card_outputs_in_missing_folders_or_onto_directories(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    (ws.path / "folder").mkdir()
    for out, says in (("missing/report.html", "does not exist"), ("folder", "is a directory")):
        fails(capsys, ws, "eval", "report", "eval-000000000000", out, "--db", ws.url, says=says)
        fails(
            capsys,
            ws,
            "card",
            "--model",
            "m",
            "--eval",
            "eval-000000000000",
            out,
            "--db",
            ws.url,
            says=says,
        )
        fails(
            capsys,
            ws,
            "eval",
            "run",
            "--candidate",
            "a",
            "--baseline",
            "b",
            "--set",
            "human",
            "--report",
            out,
            "--db",
            ws.url,
            says=says,
        )


def test_key_dir_that_is_a_file_and_corrupt_keys(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    (ws.path / "afile").write_text("x")
    fails(capsys, ws, "ledger", "verify", "--key-dir", "afile", "--db", ws.url, says="is a file")
    fails(
        capsys, ws, "ledger", "checkpoint", "--key-dir", "afile", "--db", ws.url, says="is a file"
    )
    bad = ws.path / "bad-keys"
    bad.mkdir()
    (bad / "palate-ledger.pub").write_text("garbage\n")
    fails(
        capsys,
        ws,
        "ledger",
        "verify",
        "--key-dir",
        str(bad),
        "--db",
        ws.url,
        says="palate-ledger.pub",
    )
    (bad / "palate-ledger.pub").unlink()
    (bad / "palate-ledger.key").write_text("garbage\n")
    (bad / "palate-ledger.key").chmod(0o600)
    fails(
        capsys,
        ws,
        "ledger",
        "checkpoint",
        "--key-dir",
        str(bad),
        "--db",
        ws.url,
        says="palate-ledger.key",
    )


# -- silent empty answers become errors -------------------------------------------------------


def test_empty_answers_say_what_is_missing(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    fails(
        capsys,
        ws,
        "stats",
        "agreement",
        "--dataset",
        "human",
        "--db",
        ws.url,
        says="no item judged by two sources",
    )
    (ws.path / "other.jsonl").write_text(
        '{"question_id": "q-unknown", "model_a": "a", "model_b": "b", "winner": "model_a"}\n'
    )
    assert run_cli(capsys, "import", "other.jsonl", "--dataset", "other", "--db", ws.url)[0] == 0
    fails(
        capsys,
        ws,
        "stats",
        "ppi",
        "--human",
        "other",
        "--judge",
        "gpt",
        "--db",
        ws.url,
        says="never by the judge",
    )
    route = ("route", "calibrate", "--dataset", "both", "--db", ws.url)
    fails(
        capsys, ws, *route, "--judge-source", "gpt4", "--human-source", "gpt4", says="both 'gpt4'"
    )
    fails(capsys, ws, *route, "--judge-source", "arena", "--human-source", "gpt4", says="swapped")


# -- waits get words ---------------------------------------------------------------------------


def test_a_locked_store_names_who_holds_it_and_gives_up(
    ws: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = fingerprint(ws.url)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE')\nprint('locked', flush=True)\ntime.sleep(60)\n",
            str(ws.path / "palate.db"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        monkeypatch.setenv("PALATE_SQLITE_BUSY_TIMEOUT_S", "0.5")
        (ws.path / "more.jsonl").write_text(
            '{"question_id": "q1", "model_a": "a", "model_b": "b", "winner": "model_a"}\n'
        )
        message = fails(
            capsys,
            ws,
            "import",
            "more.jsonl",
            "--dataset",
            "more",
            "--db",
            ws.url,
            says="is locked",
        )
        assert f"pid {holder.pid}" in message and "0.5 s" in message
    finally:
        holder.kill()
        holder.wait()
    assert fingerprint(ws.url) == before


def test_verify_after_a_checkpoint_says_how_to_pass_the_key(
    ws: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PALATE_KEY_DIR")
    fails(capsys, ws, "ledger", "verify", "--db", ws.url, says="--key-dir DIR or $PALATE_KEY_DIR")
    assert run_cli(capsys, "ledger", "verify", "--key-dir", str(ws.keys), "--db", ws.url)[0] == 0


@pytest.mark.parametrize(
    "args",
    [
        ["datasets"],
        ["stats", "rank", "--dataset", "human"],
        ["ledger", "verify"],
        ["export", "out.jsonl", "--dataset", "human"],
        ["rubric", "list"],
    ],
)
def test_read_commands_refuse_a_store_that_does_not_exist(
    args: list[str], ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    fails(capsys, ws, *args, "--db", "sqlite:///palte.db", says="no store at palte.db")
    assert not (ws.path / "palte.db").exists() and not (ws.path / "out.jsonl").exists()


# -- start-up, input errors and output ---------------------------------------------------------


def _modules_after(*args: str) -> set[str]:
    """Heavy modules imported by ``palate ARGS`` in a fresh interpreter."""
    script = (
        "import sys\nfrom palate.cli.app import main\nsys.argv = ['palate', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('scipy', 'matplotlib', 'numpy', 'torch', 'transformers', 'ray', 'fastapi',\n"
        "         'sqlalchemy', 'alembic', 'typer', 'rich')\n"
        "print(' '.join(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, timeout=120
    )
    return set(done.stderr.strip().splitlines()[-1].split()) if done.stderr.strip() else set()


def test_help_imports_nothing_heavy_and_data_commands_skip_the_statistics(
    ws: Workspace,
) -> None:
    assert _modules_after("--help") == set()
    assert _modules_after("datasets", "--db", ws.url) == {"sqlalchemy", "typer", "rich"}


@pytest.mark.parametrize(
    "command",
    [
        ["saas", "run"],
        ["saas", "replay"],
        ["safety", "prompts"],
        ["revise"],
        ["generate"],
        ["loop", "run"],
    ],
)
def test_command_help_imports_only_the_command_line_libraries(command: list[str]) -> None:
    assert _modules_after(*command, "--help") == {"typer", "rich"}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_no_command_offers_shell_completion(name: str) -> None:
    params = {p.name for p in load_command(name).params}
    assert not params & {"install_completion", "show_completion"}, name


def test_top_level_help_lists_every_command_without_typer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0 and "Usage: palate [OPTIONS] COMMAND" in out and "--version" in out
    listed = {line.split("│")[1].split()[0]: line for line in out.splitlines() if "│ " in line}
    for name, lazy in COMMANDS.items():
        assert lazy.summary in listed[name], name
    assert run_cli(capsys, "--nonsense")[0] == 2  # anything else goes to typer as before


def test_the_schema_head_read_without_alembic_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    from palate.store import migrate

    alembic_head = ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()
    assert migrate.head_revision() == alembic_head is not None


def test_lazy_command_summaries_match_the_commands() -> None:
    for name, lazy in COMMANDS.items():
        command = load_command(name)
        assert command.name == name
        assert " ".join((command.help or "").split()).startswith(lazy.summary), name


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out.strip() == f"palate {version('palate')}"


def test_unterminated_csv_quote_is_reported_where_it_opens(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    (ws.path / "labels.csv").write_text(
        'question,worker,answer\nq1,w1,"a\nb"\nq2,w2,"open\nq3,w3,c\nq4,w4,d\n'
    )
    fails(
        capsys,
        ws,
        "import",
        "labels.csv",
        "--db",
        ws.url,
        says="labels.csv, line 4: a quote opened here is never closed",
    )


def test_a_huge_rubric_name_prints_as_it_is(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    example = ROOT / "src" / "palate" / "rubric" / "examples" / "moon-poems.yaml"
    name = "moon [bold]" + "x" * 100_000
    text = example.read_text().replace("name: moon-poems", f"name: '{name}'", 1)
    (ws.path / "big.yaml").write_text(text)
    code, out, err = run_cli(capsys, "rubric", "show", "big.yaml")
    assert code == 0, err
    assert name in out and "\x1b[" not in out  # markup not applied, nothing highlighted


def test_rank_errors_suggest_only_options_rank_has(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    (ws.path / "wins.jsonl").write_text(
        "".join(
            json.dumps(
                {"question_id": f"q{k}", "model_a": "a", "model_b": "b", "winner": "model_a"}
            )
            + "\n"
            for k in range(5)
        )
    )
    assert run_cli(capsys, "import", "wins.jsonl", "--dataset", "w", "--db", ws.url)[0] == 0
    message = fails(capsys, ws, "stats", "rank", "--dataset", "w", "--db", ws.url, says="--l2")
    _, help_text, _ = run_cli(capsys, "stats", "rank", "--help")
    for option in re.findall(r"--[a-z][a-z0-9-]*", message):
        assert option in help_text, option
    assert (
        run_cli(
            capsys,
            "stats",
            "rank",
            "--dataset",
            "w",
            "--l2",
            "0.1",
            "--ci",
            "sandwich",
            "--db",
            ws.url,
        )[0]
        == 0
    )


# -- fuzz: every command, bad arguments ---------------------------------------------------------

NUMBERS = ["nan", "-inf", "-1", "1e309", "99999999999999999999999", "", "ü"]
"""Bad for every numeric option below (each wants a finite, positive, bounded value), except
that a huge --limit for `ledger show` just shows every record."""
NAMES = ["", "ü∂ß 🌙", "x" * 5000, "-", "../../etc/passwd"]

NUMERIC = {
    ("stats", "rank", "--dataset", "human"): ["--alpha", "--n-bootstrap", "--seed", "--l2"],
    ("stats", "ppi", "--human", "human", "--judge", "gpt"): ["--alpha"],
    ("stats", "truth", "--dataset", "human"): ["--max-iter"],
    (
        "route", "calibrate", "--dataset", "both", "--judge-source", "gpt4",
        "--human-source", "arena",
    ): ["--alpha", "--delta", "--calibration-fraction", "--seed"],
    ("eval", "run", "--candidate", "a", "--baseline", "b", "--set", "human"): [
        "--alpha", "--n-bootstrap", "--seed",
    ],
    ("eval", "compare", "--before", "a", "--after", "b", "--baseline", "c", "--set", "human"): [
        "--top", "--alpha", "--seed",
    ],
    ("ledger", "show"): ["--limit"],
    ("serve",): ["--port"],
    ("demo", "--out", "demo"): ["--seed"],
}  # fmt: skip

NAMED = [
    ("stats", "winrate", "--baseline", "b", "--dataset"),
    ("stats", "rank", "--dataset"),
    ("stats", "truth", "--dataset"),
    ("stats", "agreement", "--dataset"),
    ("stats", "ppi", "--judge", "gpt", "--human"),
    ("route", "calibrate", "--judge-source", "gpt4", "--human-source", "arena", "--dataset"),
    ("export", "out.jsonl", "--dataset"),
    ("ledger", "proof"),
    ("rubric", "show"),
    ("gate", "check", "--eval", "eval-0", "--policy"),
    ("eval", "report", "out.html"),
]


def _paths(root: Path) -> list[str]:
    """Paths that are wrong as a file argument: a folder, a device, a dangling link, a file in
    a missing folder, a read-only file, the store itself."""
    (root / "a-folder").mkdir()
    (root / "dangling").symlink_to(root / "nowhere")
    locked = root / "read-only.txt"
    locked.write_text("do not touch\n")
    locked.chmod(0o444)
    return ["a-folder", "/dev/null", "dangling", "missing/dir/file", str(locked), "palate.db"]


def _path_commands() -> list[tuple[str, ...]]:
    """Commands with a file argument, the argument last."""
    return [
        ("import",),
        ("import", "--format", "crowd-csv"),
        ("export", "--dataset", "human"),
        ("export", "--dataset", "human", "--format", "hf"),
        ("rubric", "add"),
        ("rubric", "show"),
        ("rubric", "diff", "a-folder"),
        ("gate", "register"),
        ("eval", "report", "eval-0"),
        ("card", "--model", "m", "--eval", "eval-0"),
        ("train", "reward", "--config"),
        ("ledger", "verify", "--key-dir"),
        ("judge", "run", "--dataset", "human", "--judge"),
    ]


def test_fuzz_every_command_with_bad_arguments(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """No traceback, one line for an error, and nothing changed: files, store, ledger (so no
    command that records anything may succeed on these arguments)."""
    cases: list[list[str]] = []
    for base, options in NUMERIC.items():
        cases += [[*base, option, value] for option in options for value in NUMBERS]
    cases += [[*base, name] for base in NAMED for name in NAMES]
    paths = _paths(ws.path)
    # export may make its output's folder and replace a regular file: those paths are its own
    cases += [
        [*base, path]
        for base in _path_commands()
        for path in paths
        if not (base[0] == "export" and path in ("missing/dir/file", "palate.db"))
    ]
    cases += [["datasets", "--db", url] for url in ("", "sqlite:///missing/x.db", "sqlite://",
                                                    "postgresql://nohost:1/x", "ü")]  # fmt: skip

    def snapshot() -> tuple[Any, ...]:
        from palate.ledger import Ledger
        from palate.store import Store

        with Store(ws.url) as store:
            ledger = Ledger(store)
            return files(ws.path), fingerprint(ws.url), ledger.size(), ledger.root().hex()

    before = snapshot()
    for args in cases:
        with_db = args if "--db" in args else [*args, "--db", ws.url]
        code, out, err = run_cli(capsys, *with_db)  # an uncaught exception fails the test
        assert code in (0, 1, 2), (args, code, out[-300:], err[-300:])
        assert "Traceback" not in out + err, args
        if code == 1:
            assert len(err.strip().splitlines()) == 1, (args, err)
        assert snapshot() == before, args
    store_state(capsys, ws)  # and the ledger still verifies
