"""Running an import's validation and hashing in forked child processes.

Building a row (validate the record, dump and hash its canonical JSON) costs several times
what the database spends inserting it, and both are CPU-bound Python, so one process can only
take turns between them. Forked children build the rows while the parent inserts: each child
reads the whole file but builds only its stripes (every ``count``-th batch of ``BATCH`` rows),
and the parent takes the batches in file order, one child after the other, so rows get their
ids in file order as before. The pipes' buffers bound the memory. The parent re-raises what a
child raised (an ``InputError`` keeps its file, line and field) at the row where it happened,
so the first bad row in file order still aborts the import before anything commits.

Only where ``fork`` is available (Linux): the children inherit the mappers and the open
transaction's process state without importing palate again. Elsewhere, and for small files,
the rows are built in-process.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from palate.errors import PalateError

BATCH = 2_000  # rows a stripe (and a message)
Row = tuple[Any, ...]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Stripe:
    """Which rows one child builds: batch ``index`` of every ``count``."""

    index: int
    count: int

    def owns(self, row: int) -> bool:
        """Whether the 0-based ``row`` of the file is this stripe's."""
        return (row // BATCH) % self.count == self.index


Factory = Callable[[Progress, Stripe], Iterator[Row]]


def available() -> bool:
    """Whether rows can be built in forked children here."""
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()


def rows_from_children(factory: Factory, progress: Progress | None = None) -> Iterator[Row]:
    """The rows of ``factory(report, stripe)`` over all stripes, in order, built in forked
    children (two, or one on a single core); ``progress`` is called here with the children's
    reports, once a batch."""
    context = multiprocessing.get_context("fork")
    count = min(2, os.cpu_count() or 1)
    pipes, children = [], []
    try:
        for index in range(count):
            receive, send = context.Pipe(duplex=False)
            child = context.Process(
                target=_produce, args=(factory, Stripe(index, count), send), daemon=True
            )
            child.start()
            send.close()
            pipes.append(receive)
            children.append(child)
        turn = 0
        while True:
            child, receive = children[turn % count], pipes[turn % count]
            turn += 1
            try:
                kind, payload, reported = receive.recv()
            except EOFError:
                child.join()
                raise PalateError(
                    f"a process reading the input ended unexpectedly (exit code {child.exitcode})"
                ) from None
            if progress is not None and reported is not None:
                progress(*reported)
            if kind == "rows":
                yield from payload
            elif kind == "error":
                raise payload
            else:  # this child has no more stripes, so no child has
                return
    finally:
        for receive in pipes:
            receive.close()
        for child in children:
            if child.is_alive():
                child.terminate()
            child.join()


def _produce(factory: Factory, stripe: Stripe, send: Connection) -> None:
    reported: list[tuple[int, int] | None] = [None]

    def progress(done: int, total: int) -> None:
        reported[0] = (done, total)

    try:
        batch: list[Row] = []
        for row in factory(progress, stripe):
            batch.append(row)
            if len(batch) == BATCH:
                send.send(("rows", batch, reported[0]))
                batch = []
        if batch:
            send.send(("rows", batch, reported[0]))
        send.send(("done", None, None))
    except BrokenPipeError:  # the parent stopped reading (it failed or was interrupted)
        pass
    except Exception as exc:
        send.send(("error", _portable(exc), None))
    finally:
        send.close()


def _portable(exc: Exception) -> Exception:
    """``exc`` if it survives pickling as itself, else a PalateError naming it."""
    try:
        copy = pickle.loads(pickle.dumps(exc))
        if type(copy) is type(exc) and str(copy) == str(exc):
            return exc
    except Exception:
        pass
    detail = "".join(traceback.format_exception_only(exc)).strip()
    return PalateError(f"reading the input failed: {detail}")
