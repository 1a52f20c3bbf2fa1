"""``pool_pairs`` and ``decided`` over columns, for plain text pairs read as Arrow strings.

The same pooling as the row-by-row path, step for step, so that both give equal rows (tested
on varied data): a pair is keyed by its prompt and its two texts in order, ``lo <= hi``; a
judgement's preference is turned into one for ``lo``; the judgements of one pair are summed
in id order, as ``Pair.add`` sums them (``np.bincount`` adds in array order, so the
floating-point sums are the same bit for bit); pairs come out in the order of their first
judgement.

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
Bools = npt.NDArray[np.bool_]
Hashes = npt.NDArray[np.uint64]


def preference_columns(
    pairs: TextPairs, dimensions: list[str] | None, policy: PairPolicy, dropped: Counter[str]
) -> dict[str, pa.ChunkedArray | pa.Array]:
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
    # lo is ``other`` where the preferred text is the greater one; text_a > text_b (the
    # row path's swap) where lo is text_b.
    preferred_greater = _numpy(pc.greater(pairs.preferred, pairs.other))
    preferred_less = _numpy(pc.less(pairs.preferred, pairs.other))
    swap = np.where(pairs.b_preferred, preferred_less, preferred_greater)[rows]
    outcome = pairs.outcome[rows]
    p = np.where(swap, 1.0 - outcome, outcome)  # the preference for lo

    firsts, group = np.unique(
        _first_of_pair(pairs, rows, preferred_greater[rows]), return_inverse=True
    )
    weight = np.bincount(group, weights=w)
    preference = np.bincount(group, weights=w * p) / weight
    for_first = np.bincount(group, weights=np.where(p > 0.5, w, 0.0))
    for_second = np.bincount(group, weights=np.where(p < 0.5, w, 0.0))

    tie = preference == 0.5
    weak = ~tie & (np.abs(preference - 0.5) < policy.min_margin)
    first_wins = preference > 0.5  # lo wins
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

    # Each kept pair is written from its first row; the chosen text is lo when lo wins, and
    # lo is that row's ``preferred`` unless ``preferred`` is the greater text.
    first_rows = rows[firsts[kept]]
    chosen_is_preferred = first_wins[kept] != preferred_greater[first_rows]
    written = np.zeros(n, dtype=bool)
    written[first_rows] = True
    prompt, preferred, other = (
        _marked(c, written) for c in (pairs.prompt, pairs.preferred, pairs.other)
    )
    if chosen_is_preferred.all():  # a pair judged once: the columns as read
        chosen, rejected = preferred, other
    else:
        choice = pa.array(chosen_is_preferred)
        chosen = pc.if_else(choice, preferred, other)
        rejected = pc.if_else(choice, other, preferred)
    columns = {"prompt": prompt, "chosen": chosen, "rejected": rejected}
    if policy.with_margin:
        columns["margin"] = pa.array(2.0 * np.abs(preference[kept] - 0.5))
    return columns


def _numpy(flags: pa.ChunkedArray) -> Bools:
    return np.asarray(flags.to_numpy(), dtype=bool)


def _marked(column: pa.ChunkedArray, marks: Bools) -> pa.ChunkedArray:
    """The rows marked, without a copy when that is all of them."""
    return column if marks.all() else column.filter(pa.array(marks))


def _first_of_pair(pairs: TextPairs, rows: Ints, preferred_greater: Bools) -> Ints:
    """For each of ``rows``, the position (in ``rows``) of the first row of its pair."""
    preferred, other = _signature(pairs.preferred)[rows], _signature(pairs.other)[rows]
    signature = _mix(
        _signature(pairs.prompt)[rows],
        np.where(preferred_greater, other, preferred),  # lo
        np.where(preferred_greater, preferred, other),  # hi
    )
    _, bucket, size = np.unique(signature, return_inverse=True, return_counts=True)
    first = np.arange(len(rows))
    shared = np.flatnonzero(size[bucket] > 1)
    if len(shared):
        at = pa.array(rows[shared])
        seen: dict[tuple[str, str, str], int] = {}
        for i, prompt, x, y, greater in zip(
            shared.tolist(),
            pairs.prompt.take(at).to_pylist(),
            pairs.preferred.take(at).to_pylist(),
            pairs.other.take(at).to_pylist(),
            preferred_greater[shared].tolist(),
            strict=True,
        ):
            first[i] = seen.setdefault((prompt, y, x) if greater else (prompt, x, y), i)
    return first


def _signature(strings: pa.ChunkedArray) -> Hashes:
    """Byte length and last eight bytes of each string, mixed into 64 bits (equal strings,
    equal signatures)."""
    return np.concatenate(
        [_chunk_signature(chunk) for chunk in strings.chunks] or [np.empty(0, np.uint64)]
    )


def _chunk_signature(strings: pa.LargeStringArray) -> Hashes:
    _, offsets_buffer, data_buffer = strings.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[
        strings.offset : strings.offset + len(strings) + 1
    ]
    data = np.frombuffer(data_buffer or b"", dtype=np.uint8)
    lengths = offsets[1:] - offsets[:-1]
    # The eight bytes before each end (eight zeros in front, so that every window exists),
    # with those of the previous strings zeroed in a short string's window.
    padded = np.concatenate([np.zeros(8, dtype=np.uint8), data])
    windows = sliding_window_view(padded, 8)[offsets[1:]]
    tail = np.where(np.arange(8) >= 8 - lengths[:, None], windows, 0).astype(np.uint8)
    return _mix(lengths.astype(np.uint64), tail.view(np.uint64).ravel())


def _mix(*values: Hashes) -> Hashes:
    """A 64-bit mix of equal-length arrays (multiply-xorshift; wraps around by design)."""
    h = np.zeros(len(values[0]), dtype=np.uint64)
    for v in values:
        h = (h ^ v) * np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(29)
    return h
