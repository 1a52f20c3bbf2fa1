"""Contamination check speed: 1,000 evaluation prompts against 1,000,000 training rows
(--quick: 100,000), against a plain exact-match hash join on the same data in the same run.

    python benchmarks/bench_overlap.py [--quick]

Data: prompts of 12-30 words drawn from a 5,000-word vocabulary (seeded). 50 evaluation
prompts are planted in the training rows, as exact copies, upper-cased and re-punctuated
copies, and copies inside longer text. The baseline finds only the exact copies (a dict of the
raw evaluation texts, one lookup per training row); palate's lexical check (normalised exact
and 8-gram containment through an inverted index) finds all three kinds. Embeddings are left
out here: MiniLM on a CPU embeds about a thousand rows a second, which is a different scale.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from palate.safety.overlap import Item, OverlapConfig, find_overlap


def _texts(rng: np.random.Generator, n: int, vocab: list[str]) -> list[str]:
    lengths = rng.integers(12, 31, size=n)
    words = rng.integers(0, len(vocab), size=int(lengths.sum()))
    out, at = [], 0
    for length in lengths:
        out.append(" ".join(vocab[w] for w in words[at : at + length]))
        at += int(length)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    n_train = 100_000 if parser.parse_args().quick else 1_000_000
    rng = np.random.default_rng(18)
    vocab = [f"w{i}" for i in range(5_000)]
    evals = [Item(f"e{i}", t.capitalize() + "?") for i, t in enumerate(_texts(rng, 1_000, vocab))]
    train_texts = _texts(rng, n_train, vocab)
    planted = rng.choice(len(evals), size=50, replace=False)
    slots = rng.choice(n_train, size=50, replace=False)
    for k, (e, slot) in enumerate(zip(planted, slots, strict=True)):
        text = evals[e].text
        train_texts[slot] = [text, text.upper().replace(" ", ", "), f"As asked: {text} ok"][k % 3]
    train = [Item(f"t{i}", t) for i, t in enumerate(train_texts)]

    start = time.perf_counter()
    index = {e.text: e.id for e in evals}
    baseline_hits = {index[t.text] for t in train if t.text in index}
    baseline = time.perf_counter() - start

    start = time.perf_counter()
    result = find_overlap(evals, train, OverlapConfig(embed=False))
    ours = time.perf_counter() - start
    found = {f.eval_item for f in result.flagged}
    recall = len(found & {evals[e].id for e in planted}) / len(planted)
    print(f"overlap: 1,000 eval prompts x {n_train:,} training rows")
    print(f"  exact-match hash join: {baseline:7.2f} s, {len(baseline_hits)} of 50 planted found")
    print(f"  palate exact+8-gram:   {ours:7.2f} s, {len(found)} flagged, recall {recall:.2f}")
    print(f"  ratio palate / hash join: {ours / baseline:.1f}x "
          f"({n_train / ours:,.0f} rows/s)")  # fmt: skip


if __name__ == "__main__":
    main()
