"""``pool_pairs`` and ``decided`` over columns, for plain text pairs read as Arrow strings.

The same pooling as the row-by-row path, step for step, so that both give equal rows (tested
on varied data): a row's preference ``p`` is for ``text_a`` and is flipped when the pair is
put in its one orientation (``text_a > text_b``); judgements of one (prompt, unordered pair)
are summed in id order, as ``Pair.add`` sums them (``np.bincount`` adds in array order, so
the floating-point sums are the same); pairs come out in the order of their first judgement.

Grouping 1M rows by three strings costs seconds in Arrow or in SQL, and most rows are the
only judgement of their pair. So rows are first bucketed by a cheap 64-bit signature of
their texts (byte lengths and last eight bytes): a row alone in its bucket is alone in its
pair, and only rows that share a bucket are grouped by their actual texts, in Python.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from numpy.lib.stride_tricks import sliding_window_view

from palate.store.training import TextPairs
from palate.train.config import PairPolicy

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def preference_columns(
    pairs: TextPairs, dimensions: list[str] | None, policy: PairPolicy, dropped: Counter[str]
) -> dict[str, pa.Array]:
    """TRL preference columns (``prompt``, ``chosen``, ``rejected``, optionally ``margin``)
    of the pairs the policy keeps; the rest are counted in ``dropped`` by reason."""
    n = len(pairs.prompt)
    weight_of = policy.dimension_weights
    if weight_of is None or dimensions is None or pairs.dimension is None:
        w = np.ones(n)
    else:
        w = np.array([weight_of.get(d, 0.0) for d in dimensions])[pairs.dimension]
    rows = np.flatnonzero(w > 0)  # the rows that count, as positions in ``pairs``
    if len(rows) < n:
        dropped["dimension weight 0"] += n - len(rows)
    w = w[rows]
    swap = pc.greater(pairs.text_a, pairs.text_b).to_numpy(zero_copy_only=False)[rows]
    outcome = pairs.outcome[rows]
    p = np.where(swap, 1.0 - outcome, outcome)  # the preference for the smaller text

    firsts, group = np.unique(_first_of_pair(pairs, rows, swap), return_inverse=True)
    weight = np.bincount(group, weights=w)
    preference = np.bincount(group, weights=w * p) / weight
    for_first = np.bincount(group, weights=np.where(p > 0.5, w, 0.0))
    for_second = np.bincount(group, weights=np.where(p < 0.5, w, 0.0))

    tie = preference == 0.5
    weak = ~tie & (np.abs(preference - 0.5) < policy.min_margin)
    first_wins = preference > 0.5
    agreement = np.where(first_wins, for_first, for_second) / weight
    disputed = ~tie & ~weak & (agreement < policy.min_agreement)
    for reason, mask in (
        ("tie", tie),
        ("preference below min_margin", weak),
        ("agreement below min_agreement", disputed),
    ):
        if count := int(mask.sum()):
            dropped[reason] += count
    kept = ~(tie | weak | disputed)

    first_row = rows[firsts[kept]]
    # The smaller text (text_b where swapped) is chosen when it wins: chosen is text_b
    # exactly when "first wins" and "swapped" agree.
    chosen_is_b = first_wins[kept] == swap[firsts[kept]]
    responses = pa.concat_arrays([pairs.text_a, pairs.text_b])  # text_b of row i at n + i
    columns = {
        "prompt": pairs.prompt.take(pa.array(first_row)),
        "chosen": responses.take(pa.array(first_row + n * chosen_is_b)),
        "rejected": responses.take(pa.array(first_row + n * ~chosen_is_b)),
    }
    if policy.with_margin:
        columns["margin"] = pa.array(2.0 * np.abs(preference[kept] - 0.5))
    return columns


def _first_of_pair(pairs: TextPairs, rows: Ints, swap: npt.NDArray[np.bool_]) -> Ints:
    """For each of ``rows``, the position (in ``rows``) of the first row of its pair."""
    a, b = _signature(pairs.text_a)[rows], _signature(pairs.text_b)[rows]
    signature = _mix(_signature(pairs.prompt)[rows], np.where(swap, b, a), np.where(swap, a, b))
    _, bucket, size = np.unique(signature, return_inverse=True, return_counts=True)
    first = np.arange(len(rows))
    shared = np.flatnonzero(size[bucket] > 1)
    if len(shared):
        at = pa.array(rows[shared])
        seen: dict[tuple[str, str, str], int] = {}
        for i, prompt, x, y, swapped in zip(
            shared.tolist(),
            pairs.prompt.take(at).to_pylist(),
            pairs.text_a.take(at).to_pylist(),
            pairs.text_b.take(at).to_pylist(),
            swap[shared].tolist(),
            strict=True,
        ):
            first[i] = seen.setdefault((prompt, y, x) if swapped else (prompt, x, y), i)
    return first


def _signature(strings: pa.LargeStringArray) -> npt.NDArray[np.uint64]:
    """Byte length and last eight bytes of each string, mixed into 64 bits (equal strings,
    equal signatures)."""
    n = len(strings)
    _, offsets_buffer, data_buffer = strings.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[strings.offset : strings.offset + n + 1]
    data = (
        np.frombuffer(data_buffer, dtype=np.uint8)
        if data_buffer is not None
        else np.empty(0, np.uint8)
    )
    lengths = offsets[1:] - offsets[:-1]
    # The eight bytes before each end (eight zeros in front, so that every window exists),
    # with the bytes of the previous strings in a short string's window zeroed.
    padded = np.concatenate([np.zeros(8, dtype=np.uint8), data])
    windows = sliding_window_view(padded, 8)[offsets[1:]]
    tail = np.where(np.arange(8) >= 8 - lengths[:, None], windows, 0).astype(np.uint8)
    return _mix(lengths.astype(np.uint64), np.ascontiguousarray(tail).view(np.uint64).ravel())


def _mix(*values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """A 64-bit mix of equal-length arrays (multiply-xorshift; wraps around by design)."""
    h = np.zeros(len(values[0]), dtype=np.uint64)
    for v in values:
        h = (h ^ v) * np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(29)
    return h
