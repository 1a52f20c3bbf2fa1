"""Reads for building training sets: scored comparisons, streamed in batches or as columns.

Training sets are built from millions of stored comparisons, so this goes through the
database driver's cursor directly (SQLAlchemy's row objects cost as much as the rest of
the build) and filters judge and dimension in SQL, where the columns already are. On SQLite,
plain text pairs can also come back as a few big objects per chunk of rows (``text_pairs``):
fetching one Python tuple per row costs as much as building the whole training set.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from sqlalchemy import func, select

from palate.store.store import BATCH_SIZE, Store
from palate.store.tables import records


def count_unscored(store: Store, dataset: str) -> int:
    """Comparisons in the dataset that carry no judgement (left out of every training set)."""
    with store.engine.connect() as conn:
        dataset_id = store.dataset_id(conn, dataset)
        query = (
            select(func.count())
            .where(records.c.dataset_id == dataset_id)
            .where(records.c.kind == "comparison")
            .where(records.c.unscored.is_(True))
        )
        return int(conn.execute(query).scalar_one())


def _selection(
    store: Store,
    dataset_id: int,
    judged_by: Sequence[str] | None,
    dimensions: Sequence[str] | None,
) -> tuple[str, list[object]]:
    """The WHERE clause and its parameters for a dataset's scored comparisons."""
    mark = "%s" if store.backend == "postgresql" else "?"
    scored, params = _scored(mark, judged_by, dimensions)
    return f"dataset_id = {mark} AND kind = 'comparison' AND {scored}", [dataset_id, *params]


def _scored(
    mark: str, judged_by: Sequence[str] | None, dimensions: Sequence[str] | None
) -> tuple[str, list[object]]:
    """The condition and parameters that pick, among comparisons, the scored ones asked for."""
    where = ["NOT unscored"]
    params: list[object] = []
    for column, values in (("source_name", judged_by), ("dimension", dimensions)):
        if values is not None:
            where.append(f"{column} IN ({', '.join(mark for _ in values)})")
            params.extend(values)
    return " AND ".join(where), params


ComparisonRow = tuple[str | None, str | None, str | None, float, str | None, str | None]
"""(prompt text, text of responses[0], of responses[1], outcome for responses[0],
dimension, body): the texts when the record is a plain text pair (then body is None, not
read), else the canonical JSON body (then the texts are None)."""


def comparison_rows(
    store: Store,
    dataset: str,
    *,
    judged_by: Sequence[str] | None = None,
    dimensions: Sequence[str] | None = None,
) -> Iterator[list[ComparisonRow]]:
    """The scored comparisons, in id order, in batches: texts from their columns where the
    record has them, else the JSON body to decode.

    ``judged_by`` keeps only those source names; ``dimensions`` only those rubric dimensions.
    """
    with store.engine.connect() as conn:
        where, params = _selection(store, store.dataset_id(conn, dataset), judged_by, dimensions)
        sql = (
            "SELECT prompt_text, text_a, text_b, outcome, dimension, "
            f"CASE WHEN text_b IS NULL THEN body END FROM records WHERE {where} ORDER BY id"
        )
        driver = conn.connection.driver_connection
        assert driver is not None
        # A named (server-side) cursor streams on PostgreSQL; SQLite cursors always stream.
        cursor = (
            driver.cursor(name="palate_training_bodies")
            if store.backend == "postgresql"
            else driver.cursor()
        )
        try:
            cursor.execute(sql, params)
            while batch := cursor.fetchmany(BATCH_SIZE):
                yield batch
        finally:
            cursor.close()


CHUNK_IDS = 1 << 16
"""Record ids per aggregate query in ``text_pairs``: bounds the memory of one query and keeps
its concatenations far below SQLite's string limit (a chunk over it is split in two)."""

_OUTCOMES = np.array([0.0, 0.5, 1.0])  # outcome codes 0, 1, 2; code 3 is read as a float


@dataclass(frozen=True)
class TextPairs:
    """Plain text pairs as columns, one row per scored comparison, in id order.

    The responses come as ``preferred`` (``text_a`` unless ``outcome < 0.5``) and ``other``:
    for a pair judged once, these are already the chosen and rejected columns, and the
    training set is made of these very buffers, not of copies."""

    prompt: pa.ChunkedArray
    preferred: pa.ChunkedArray
    other: pa.ChunkedArray
    outcome: npt.NDArray[np.float64]  # for text_a, as in ``records.outcome``
    dimension: npt.NDArray[np.int64] | None  # index into the dimensions asked for
    unscored: int  # the dataset's comparisons without a judgement (``count_unscored``)

    @property
    def b_preferred(self) -> npt.NDArray[np.bool_]:
        """Rows whose ``preferred`` is ``text_b`` (the same test as the query's)."""
        return self.outcome < 0.5


def text_pairs(
    store: Store,
    dataset: str,
    *,
    judged_by: Sequence[str] | None = None,
    dimensions: Sequence[str] | None = None,
) -> TextPairs | None:
    """The rows of ``comparison_rows`` as columns, read on SQLite by one aggregate query per
    chunk of ids; None on PostgreSQL, when there are none, or when one of them has no text
    columns (messages, rankings: those records are read from their bodies).

    Each query hands back every text column as one concatenation plus its byte lengths,
    which become Arrow strings without a Python object per row. Outcomes travel as codes
    because SQLite prints floats with 15 digits; other values (AlpacaEval strengths) are
    read exactly by a second query over the rows that have them. The same pass counts the
    unscored comparisons, which would otherwise take a scan of their own.
    """
    if store.backend != "sqlite":
        return None
    with store.engine.connect() as conn:
        dataset_id = store.dataset_id(conn, dataset)
        driver = conn.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        # Two subqueries, so that each is one step down the (dataset_id, id) index.
        first, last = driver.execute(
            "SELECT (SELECT min(id) FROM records WHERE dataset_id = ?), "
            "(SELECT max(id) FROM records WHERE dataset_id = ?)",
            (dataset_id, dataset_id),
        ).fetchone()
        query = _ChunkQuery(driver, dataset_id, *_scored("?", judged_by, dimensions), dimensions)
        chunks: list[TextPairs] = []
        unscored = 0
        for start in range(first or 0, (last or -1) + 1, CHUNK_IDS):
            read = query.read(start, start + CHUNK_IDS)
            if read is None:
                return None
            chunks.extend(read[0])
            unscored += read[1]
    if not chunks:
        return None
    prompt, preferred, other = (pa.chunked_array([getattr(c, n) for c in chunks]) for n in _TEXTS)
    return TextPairs(
        prompt,
        preferred,
        other,
        outcome=np.concatenate([c.outcome for c in chunks]),
        dimension=None
        if dimensions is None
        else np.concatenate([c.dimension for c in chunks if c.dimension is not None]),
        unscored=unscored,
    )


_TEXTS = ("prompt", "preferred", "other")
_COLUMNS = (
    "prompt_text",
    "CASE WHEN outcome < 0.5 THEN text_b ELSE text_a END",
    "CASE WHEN outcome < 0.5 THEN text_a ELSE text_b END",
)


@dataclass(frozen=True)
class _ChunkQuery:
    """The aggregate query of ``text_pairs`` over one range of ids."""

    driver: sqlite3.Connection
    dataset_id: int
    scored: str  # the condition for a row to be read (``_scored``)
    scored_params: list[object]
    dimensions: Sequence[str] | None

    def read(self, start: int, stop: int) -> tuple[list[TextPairs], int] | None:
        """The rows with ids in [start, stop) (as no, one or, split for size, several parts)
        and the number of unscored comparisons among them; None if a row has no texts."""
        try:
            row = self.driver.execute(self._sql(), self._params(start, stop)).fetchone()
        except sqlite3.DataError as error:  # a concatenation over SQLite's length limit
            if error.sqlite_errorname != "SQLITE_TOOBIG" or stop - start == 1:
                raise
            middle = (start + stop) // 2
            halves = self.read(start, middle), self.read(middle, stop)
            if halves[0] is None or halves[1] is None:
                return None
            return halves[0][0] + halves[1][0], halves[0][1] + halves[1][1]
        unscored, n, with_texts, ids, *rest = row
        if n == 0:
            return [], unscored or 0
        if with_texts < n:
            return None
        texts = [
            _strings(n, data, lengths)
            for data, lengths in zip(rest[0:6:2], rest[1:6:2], strict=True)
        ]
        codes = _ints(rest[6])
        dimension = None if rest[7] is None else _ints(rest[7])
        # SQLite feeds an aggregate in index order, but does not promise it: the ids come
        # along so that the order is checked, not assumed.
        order = np.argsort(_ints(ids), kind="stable")
        if not (order[1:] > order[:-1]).all():
            take = pa.array(order)
            texts = [text.take(take) for text in texts]
            codes = codes[order]
            dimension = None if dimension is None else dimension[order]
        outcome = _OUTCOMES[np.minimum(codes, 2)]
        if (other := codes == 3).any():
            outcome[other] = [value for (value,) in self._other_outcomes(start, stop)]
        prompt, preferred, other_text = texts
        pairs = TextPairs(
            prompt, preferred, other_text, outcome=outcome, dimension=dimension, unscored=0
        )
        return [pairs], unscored

    def _sql(self) -> str:
        def picked(expression: str) -> str:
            return f"CASE WHEN picked THEN {expression} END"

        texts = ", ".join(
            f"CAST(group_concat({picked(c)}, '') AS BLOB), "
            f"group_concat(length(CAST({picked(c)} AS BLOB)))"
            for c in _COLUMNS
        )
        code = "CASE outcome WHEN 0.0 THEN 0 WHEN 0.5 THEN 1 WHEN 1.0 THEN 2 ELSE 3 END"
        cases = " ".join(f"WHEN ? THEN {i}" for i in range(len(self.dimensions or ())))
        dimension = "NULL" if self.dimensions is None else f"CASE dimension {cases} END"
        # One aggregate query, so that every group_concat sees the rows in the same order;
        # every comparison of the range passes, so that the unscored ones are counted, and
        # ``picked`` marks the rows that are read.
        return (
            f"SELECT sum(unscored), count({picked('1')}), "
            f"min(count({picked('prompt_text')}), count({picked('text_a')}), "
            f"count({picked('text_b')})), group_concat({picked('id')}), {texts}, "
            f"group_concat({picked(code)}), group_concat({picked(dimension)}) "
            "FROM (SELECT id, unscored, prompt_text, text_a, text_b, outcome, dimension, "
            f"{self.scored} AS picked FROM records WHERE dataset_id = ? "
            "AND kind = 'comparison' AND id >= ? AND id < ?)"
        )

    def _params(self, start: int, stop: int) -> list[object]:
        return [*(self.dimensions or ()), *self.scored_params, self.dataset_id, start, stop]

    def _other_outcomes(self, start: int, stop: int) -> sqlite3.Cursor:
        """The outcomes other than 0, 0.5 and 1 of the rows read, in id order, exactly."""
        return self.driver.execute(
            "SELECT outcome FROM records WHERE dataset_id = ? AND kind = 'comparison' "
            f"AND id >= ? AND id < ? AND {self.scored} "
            "AND outcome NOT IN (0.0, 0.5, 1.0) ORDER BY id",
            [self.dataset_id, start, stop, *self.scored_params],
        )


def _strings(n: int, data: bytes, lengths: str) -> pa.LargeStringArray:
    """Arrow strings from one concatenation and the byte lengths of its parts (checked to be
    UTF-8, as reading each text through Python would)."""
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(_ints(lengths), out=offsets[1:])
    strings = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    strings.validate(full=True)
    return strings


def _ints(text: str) -> npt.NDArray[np.int64]:
    """The integers of a comma-separated list (a group_concat of integers)."""
    return np.fromstring(text, dtype=np.int64, sep=",")
