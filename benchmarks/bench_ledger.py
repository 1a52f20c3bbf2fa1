"""Ledger throughput: appending records in bulk, and verifying them, against the floor
measured in the same run on the same database.

- Append floor: SHA-256 of every record's bytes plus an ``executemany`` insert of exactly
  the rows the ledger stores (the same bundles of bytes, in a table of the same shape).
- Verify floor: reading those rows back, splitting the bundles and SHA-256 of every record.
Palate's append also builds each PROV record and its RFC 8785 bytes and chains it to the
one before; its verify also checks every chain link, the Merkle root, a signed checkpoint
and every entity the records name. Floor and palate take turns (``--rounds``), each figure
is the best of its rounds, and the ratio to a bare hashing loop is printed beside.

    python benchmarks/bench_ledger.py [--quick] [--records N] [--rounds R]
                                      [--backend sqlite|postgresql|both]
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

from palate.ledger import Activity, EntityRef, Ledger, merkle
from palate.store import Store

PG_SERVER = "postgresql+psycopg://127.0.0.1:5432/test"
TARGET_RATIO = 1.5


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


def stored_rows(store: Store) -> list[tuple[int, bytes, bytes, str]]:
    with store.engine.connect() as conn:
        query = text("SELECT idx, records, leaves, time FROM ledger_entries ORDER BY idx")
        return [(int(i), bytes(r), bytes(h), t) for i, r, h, t in conn.execute(query)]


def floor_append(store: Store, rows: list[tuple[int, bytes, bytes, str]]) -> float:
    """Hash every record of the stored rows, then insert the same rows with executemany."""
    mark = "%s" if store.backend == "postgresql" else "?"
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS floor_entries"))
        conn.execute(text("CREATE TABLE floor_entries AS SELECT * FROM ledger_entries WHERE 1=0"))
    sha256 = hashlib.sha256
    with store.engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert driver is not None
        start = time.perf_counter()
        with conn.begin():
            for _idx, bundle, _leaves, _time in rows:
                for body in bundle.split(b"\n"):
                    sha256(b"\x00" + body).digest()
            cursor = driver.cursor()
            cursor.executemany(
                f"INSERT INTO floor_entries (idx, records, leaves, time) "
                f"VALUES ({mark}, {mark}, {mark}, {mark})",
                rows,
            )
            cursor.close()
        return time.perf_counter() - start


def floor_verify(store: Store) -> tuple[float, float]:
    """Read the ledger's rows back, split the bundles, hash every record; and the same
    plus the Merkle tree over those leaf hashes (n - 1 more SHA-256 calls), which any
    verification of an RFC 9162 log must compute."""
    sha256 = hashlib.sha256
    leaves = []
    start = time.perf_counter()
    with store.engine.connect() as conn:
        query = text("SELECT records, leaves FROM ledger_entries ORDER BY idx")
        for bundle, _leaves in conn.execute(query):
            leaves.extend([sha256(b"\x00" + body).digest() for body in bytes(bundle).split(b"\n")])
    read_and_hash = time.perf_counter() - start
    start = time.perf_counter()
    merkle.root(leaves)
    return read_and_hash, read_and_hash + time.perf_counter() - start


def bare_hashlib(bodies: list[bytes]) -> float:
    sha256 = hashlib.sha256
    start = time.perf_counter()
    for body in bodies:
        sha256(body).digest()
    return time.perf_counter() - start


def run(name: str, urls: list[str], n: int, keys: Path) -> bool:
    best = {"append": float("inf"), "verify": float("inf")}
    floor = dict(best)
    with_tree = float("inf")
    bare = float("inf")
    for url in urls:  # one fresh store per round
        ledger = Ledger(Store(url), key_dir=keys)
        items = list(activities(n))  # the caller's data, made before the clock starts
        start = time.perf_counter()
        ledger.append_many(items)
        best["append"] = min(best["append"], time.perf_counter() - start)
        del items
        rows = stored_rows(ledger.store)
        floor["append"] = min(floor["append"], floor_append(ledger.store, rows))
        ledger.checkpoint()
        start = time.perf_counter()
        result = ledger.verify()
        best["verify"] = min(best["verify"], time.perf_counter() - start)
        assert result.ok and result.records == n, result
        read_and_hash, and_tree = floor_verify(ledger.store)
        floor["verify"] = min(floor["verify"], read_and_hash)
        with_tree = min(with_tree, and_tree)
        bodies = [body for row in rows for body in row[1].split(b"\n")]
        bare = min(bare, bare_hashlib(bodies))
        ledger.store.close()
    ok = True
    for what in ("append", "verify"):
        seconds, base = best[what], floor[what]
        ratio = seconds / base
        ok &= ratio <= TARGET_RATIO
        print(
            f"ledger_{what}_{name}: {n:,} records in {seconds:.2f} s ({n / seconds:,.0f}/s), "
            f"floor (hash + {'executemany' if what == 'append' else 'read back'}) {base:.2f} s, "
            f"ratio {ratio:.2f}x (target <= {TARGET_RATIO}x) "
            f"{'OK' if ratio <= TARGET_RATIO else 'ABOVE TARGET'}; "
            f"bare hashlib {bare:.2f} s, ratio {seconds / bare:.2f}x",
            flush=True,
        )
        if what == "verify":
            print(
                f"  verify floor with the Merkle tree (read back + leaf and node hashes) "
                f"{with_tree:.2f} s, ratio {seconds / with_tree:.2f}x"
            )
    print(f"  (avg record {sum(map(len, bodies)) / n:.0f} bytes, best of {len(urls)} rounds)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 records, not 1,000,000")
    parser.add_argument("--records", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=2, help="turns of palate and floor")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    n = args.records or (100_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.backend in ("sqlite", "both"):
            urls = [f"sqlite:///{tmp / f'ledger{r}.db'}" for r in range(args.rounds)]
            run("sqlite", urls, n, tmp / "keys")
        if args.backend == "sqlite":
            return 0
        try:
            engine = create_engine(PG_SERVER)
            with engine.begin() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            print(f"ledger_postgresql: skipped, PostgreSQL not reachable ({exc})")
            return 0
        schemas = [f"palate_bench_{uuid.uuid4().hex[:8]}" for _ in range(args.rounds)]
        with engine.begin() as conn:
            for schema in schemas:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
        try:
            urls = [f"{PG_SERVER}?options=-csearch_path%3D{s}" for s in schemas]
            run("postgresql", urls, n, tmp / "keys")
        finally:
            with engine.begin() as conn:
                for schema in schemas:
                    conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
