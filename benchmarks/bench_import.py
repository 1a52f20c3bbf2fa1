"""Import throughput: `palate import` of generated pairwise comparisons, against the bare
database bulk path on the same rows into an equivalent table, measured in the same run.

- SQLite baseline: one ``sqlite3`` ``executemany`` in one transaction.
- PostgreSQL baseline: one psycopg ``COPY`` straight into the table.
Palate's figure includes everything a user waits for: reading and validating the file,
hashing, de-duplication and the insert. Peak memory is the importing process's max RSS.

    python benchmarks/bench_import.py [--quick] [--rows N]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from palate.io.arena import from_row
from palate.schema import Source
from palate.store.store import record_row
from palate.store.tables import RECORD_COLUMNS, metadata

PG_SERVER = "postgresql+psycopg://127.0.0.1:5432/test"
TARGET_RATIO = 0.5
TARGET_RSS_MB = 500


def generate(path: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    models = [f"model-{i:03d}" for i in range(100)]
    winners = ["model_a", "model_b", "tie", "tie (bothbad)"]
    with path.open("w") as f:
        for i in range(n):
            a, b = rng.sample(models, 2)
            row = {"num": i, "question_id": f"q{rng.randrange(50_000)}", "model_a": a,
                   "model_b": b, "winner": rng.choice(winners)}  # fmt: skip
            f.write(json.dumps(row) + "\n")


def rows_of(path: Path, judge: Source) -> list[tuple[Any, ...]]:
    with path.open() as f:
        return [record_row(1, from_row(json.loads(line), judge)) for line in f]


def palate_import(path: Path, url: str) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of a `palate import` process."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), url], capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"palate import failed: {proc.stderr}")
    return elapsed, float(proc.stdout.strip().splitlines()[-1])


# Runs the real CLI, then prints the process's own peak RSS in MB. VmHWM, not ru_maxrss:
# Linux carries ru_maxrss over fork and exec, so it would report this benchmark's own memory.
_CHILD = """
import sys
from palate.cli.app import app
try:
    app(["import", sys.argv[1], "--db", sys.argv[2], "--dataset", "bench", "--json"])
except SystemExit as e:
    if e.code:
        raise
status = open("/proc/self/status").read()
print(int(status.split("VmHWM:")[1].split()[0]) / 1024)
"""


def sqlite_baseline(rows: list[tuple[Any, ...]], db: Path) -> float:
    engine = create_engine(f"sqlite:///{db}")
    metadata.create_all(engine)
    engine.dispose()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("INSERT INTO datasets (id, name) VALUES (1, 'bench')")
    sql = (
        f"INSERT INTO records ({', '.join(RECORD_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in RECORD_COLUMNS)})"
    )
    start = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(sql, rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def postgres_baseline(rows: list[tuple[Any, ...]], schema: str) -> float:
    import psycopg

    with psycopg.connect("host=127.0.0.1 port=5432 dbname=test") as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("INSERT INTO datasets (id, name) VALUES (1, 'bench')")
        start = time.perf_counter()
        with conn.cursor() as cur:
            copy_sql = f"COPY records ({', '.join(RECORD_COLUMNS)}) FROM STDIN"
            with cur.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
        conn.commit()
        return time.perf_counter() - start


def report(name: str, n: int, ours: float, base: float, base_name: str, rss: float) -> bool:
    ratio = base / ours  # our rows/s over the baseline's rows/s
    ok = ratio >= TARGET_RATIO and rss < TARGET_RSS_MB
    print(
        f"import_{name}: palate {n / ours:,.0f} rows/s ({ours:.1f} s), "
        f"baseline({base_name}) {n / base:,.0f} rows/s ({base:.1f} s), "
        f"ratio {ratio:.2f} (target >= {TARGET_RATIO}), peak RSS {rss:.0f} MB "
        f"(target < {TARGET_RSS_MB}) {'OK' if ok else 'BELOW TARGET'}",
        flush=True,
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 rows instead of 1,000,000")
    parser.add_argument("--rows", type=int, default=None)
    args = parser.parse_args()
    n = args.rows or (100_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = tmp / "battles.jsonl"
        generate(data, n)
        rows = rows_of(data, Source(kind="human", name="battles"))

        base = sqlite_baseline(rows, tmp / "bare.db")
        ours, rss = palate_import(data, f"sqlite:///{tmp / 'palate.db'}")
        report("sqlite", n, ours, base, "sqlite3 executemany", rss)

        try:
            engine = create_engine(PG_SERVER)
            with engine.begin() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            print(f"import_postgresql: skipped, PostgreSQL not reachable ({exc})")
            return 0
        schemas = [f"palate_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
        try:
            with engine.begin() as conn:
                for schema in schemas:
                    conn.execute(text(f"CREATE SCHEMA {schema}"))
            bare_engine = create_engine(
                PG_SERVER, connect_args={"options": f"-csearch_path={schemas[0]}"}
            )
            metadata.create_all(bare_engine)
            bare_engine.dispose()
            base = postgres_baseline(rows, schemas[0])
            url = f"{PG_SERVER}?options=-csearch_path%3D{schemas[1]}"
            ours, rss = palate_import(data, url)
            report("postgresql", n, ours, base, "psycopg COPY", rss)
        finally:
            with engine.begin() as conn:
                for schema in schemas:
                    conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
