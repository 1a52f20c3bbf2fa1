"""Building a TRL preference dataset from stored comparisons, against ``Dataset.from_dict``.

    python benchmarks/bench_train_datasets.py [--quick]

Data: 1,000,000 comparisons (--quick: 100,000) in a SQLite store: 20,000 prompts, two
responses of 60-120 characters each, one human judgement per pair, winners by a seeded coin.
palate's side reads the stored records, pools and decides the pairs under the default policy
and returns a ``datasets.Dataset`` (on SQLite, plain text pairs are read as a few big
concatenations per chunk of rows and pooled with numpy: ``palate.train.text_pairs``); the
baseline writes the very rows palate produced with ``datasets.Dataset.from_dict`` from
in-memory lists (it does no reading at all). Rows per second, and palate's rate as a
multiple of the baseline's (target: at least 0.5).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from datasets import Dataset

from palate.schema import Comparison, Prompt, Response, Source
from palate.store import Store
from palate.train.config import PairPolicy
from palate.train.datasets import preference_dataset

WORDS = [
    "moon",
    "light",
    "silver",
    "tide",
    "night",
    "quiet",
    "sea",
    "star",
    "cold",
    "warm",
    "bright",
    "a",
    "the",
]


def comparisons(n: int, seed: int) -> Iterator[Comparison]:
    rng = np.random.default_rng(seed)
    judge = Source(kind="human", name="rater")
    for i in range(n):
        texts = [
            " ".join(rng.choice(WORDS, size=rng.integers(12, 24))) + f" #{i}-{k}" for k in (0, 1)
        ]
        yield Comparison(
            prompt=Prompt(text=f"Write about the moon, variation {i % 20_000}."),
            responses=[Response(model="a", text=texts[0]), Response(model="b", text=texts[1])],
            winner=int(rng.integers(0, 2)),
            judge=judge,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    n = 100_000 if parser.parse_args().quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        t = time.perf_counter()
        store.add_records("bench", comparisons(n, seed=0))
        print(f"setup: stored {n:,} comparisons in {time.perf_counter() - t:.1f} s")

        t = time.perf_counter()
        data, report = preference_dataset(store, "bench", PairPolicy())
        ours = time.perf_counter() - t
        assert report.rows == n, report.to_json()

        columns = data.to_dict()  # plain Python lists, as a user would hold them
        t = time.perf_counter()
        baseline = Dataset.from_dict(columns)
        theirs = time.perf_counter() - t
        assert baseline.num_rows == data.num_rows
        store.close()
    print(f"palate store -> TRL dataset:  {n / ours:12,.0f} rows/s ({ours:.2f} s)")
    print(f"Dataset.from_dict (baseline): {n / theirs:12,.0f} rows/s ({theirs:.2f} s)")
    print(f"ratio: {theirs / ours:.2f}x the baseline's rate (target >= 0.5)")


if __name__ == "__main__":
    main()
