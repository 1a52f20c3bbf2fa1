"""Ledger throughput: appending records in bulk, and verifying them, each against a bare
``hashlib`` loop over the same canonical bytes (SHA-256 of every record, nothing else),
measured in the same run.

Appending includes building each PROV record, its RFC 8785 bytes, its leaf hash and chain
link, and the database insert; verifying includes reading every record back, recomputing
every leaf, the chain and the Merkle root, and checking a signed checkpoint.

    python benchmarks/bench_ledger.py [--quick] [--records N] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text

from palate.ledger import Activity, EntityRef, Ledger
from palate.store import Store
from palate.store.ledger import iter_entries

PG_SERVER = "postgresql+psycopg://127.0.0.1:5432/test"
TARGET_RATIO = 3.0


def activities(n: int) -> Iterator[Activity]:
    """Judgement-like records: a judge config and rubric used, one verdict each."""
    config = EntityRef(
        kind="judge-config", id="gpt4-pairwise", hash=hashlib.sha256(b"c").hexdigest()
    )
    rubric = EntityRef(kind="rubric-text", id="moon-poems", hash=hashlib.sha256(b"r").hexdigest())
    for i in range(n):
        yield Activity(
            "judgement", "judge:gpt4-pairwise", used=(config, rubric),
            attributes={"item": f"q{i}", "verdict": "AB"[i % 2], "latency_ms": i % 997},
        )  # fmt: skip


def bare_hashlib(bodies: list[bytes]) -> float:
    sha256 = hashlib.sha256
    start = time.perf_counter()
    for body in bodies:
        sha256(body).digest()
    return time.perf_counter() - start


def run(name: str, url: str, n: int, keys: Path) -> bool:
    ledger = Ledger(Store(url), key_dir=keys)
    items = list(activities(n))  # the caller's data, made before the clock starts
    start = time.perf_counter()
    ledger.append_many(items)
    append_s = time.perf_counter() - start
    del items
    ledger.checkpoint()
    start = time.perf_counter()
    result = ledger.verify()
    verify_s = time.perf_counter() - start
    assert result.ok and result.records == n, result
    bodies = [row[1] for batch in iter_entries(ledger.store) for row in batch]
    base_s = min(bare_hashlib(bodies) for _ in range(3))
    ledger.store.close()
    ok = True
    for what, seconds in (("append", append_s), ("verify", verify_s)):
        ratio = seconds / base_s
        ok &= ratio <= TARGET_RATIO
        print(
            f"ledger_{what}_{name}: {n:,} records in {seconds:.2f} s ({n / seconds:,.0f}/s), "
            f"bare hashlib {base_s:.2f} s, ratio {ratio:.2f}x (target <= {TARGET_RATIO}x) "
            f"{'OK' if ratio <= TARGET_RATIO else 'ABOVE TARGET'}",
            flush=True,
        )
    print(f"  (avg record {sum(map(len, bodies)) / n:.0f} bytes)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 records, not 1,000,000")
    parser.add_argument("--records", type=int, default=None)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    n = args.records or (100_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.backend in ("sqlite", "both"):
            run("sqlite", f"sqlite:///{tmp / 'ledger.db'}", n, tmp / "keys")
        if args.backend == "sqlite":
            return 0
        try:
            engine = create_engine(PG_SERVER)
            with engine.begin() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            print(f"ledger_postgresql: skipped, PostgreSQL not reachable ({exc})")
            return 0
        schema = f"palate_bench_{uuid.uuid4().hex[:8]}"
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        try:
            run("postgresql", f"{PG_SERVER}?options=-csearch_path%3D{schema}", n, tmp / "keys")
        finally:
            with engine.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
