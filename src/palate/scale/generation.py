"""Generation on Ray actors: each actor holds a ``LocalGenerator`` of the same checkpoint.

The run (``palate.generate.run``) still cuts the jobs into the same fixed batches and stores
them in order; the actors answer batches in parallel. Each batch seeds torch from (run seed,
batch index) inside whichever actor runs it, so the stored generations are the same bytes as
a local run's (on the same kind of device).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from palate.errors import PalateError
from palate.generate.jobs import Job, SamplingSettings
from palate.generate.local import LocalGenerator
from palate.scale.cluster import actor_shape, connect
from palate.schema import Generation
from palate.train.checkpoint import checkpoint_hash


class _Worker:
    """The actor: one model loaded once, answering batches."""

    def __init__(self, path: str, name: str, batch_size: int, device: str) -> None:
        self.generator = LocalGenerator(Path(path), name=name, batch_size=batch_size, device=device)

    def generate(
        self, jobs: Sequence[Job], settings: SamplingSettings, batch: int
    ) -> list[Generation]:
        return self.generator.generate(jobs, settings, batch)


class RayGenerator:
    """A ``palate.generate.jobs.Generator`` whose batches run on a pool of Ray actors."""

    backend = "transformers"

    def __init__(
        self,
        path: Path,
        *,
        address: str,
        name: str | None = None,
        batch_size: int = 16,
        device: str = "auto",
        actors: int | None = None,
    ) -> None:
        if not path.is_dir():
            raise PalateError(f"model {path} is not a directory (a saved checkpoint is needed)")
        if batch_size < 1:
            raise PalateError("batch size must be at least 1")
        self.name = name or path.resolve().name
        self.batch_size = batch_size
        self.checkpoint_hash: str | None = checkpoint_hash(path)
        ray = connect(address)
        count, each = actor_shape(ray, actors)
        worker = ray.remote(**each)(_Worker)
        self._ray = ray
        self.actors: list[Any] = [
            worker.remote(str(path.resolve()), self.name, batch_size, device) for _ in range(count)
        ]

    def generate(
        self, jobs: Sequence[Job], settings: SamplingSettings, batch: int
    ) -> list[Generation]:
        result: list[Generation] = self._ray.get(
            self.actors[batch % len(self.actors)].generate.remote(list(jobs), settings, batch)
        )
        return result

    def generate_batches(
        self, batches: Sequence[tuple[int, Sequence[Job]]], settings: SamplingSettings
    ) -> Iterator[list[Generation]]:
        """Each (batch index, jobs) answered, in the order given, the actors working on as
        many batches at once as there are actors."""
        from ray.util import ActorPool

        pool = ActorPool(self.actors)
        yield from pool.map(
            lambda actor, item: actor.generate.remote(list(item[1]), settings, item[0]), batches
        )

    def close(self) -> None:
        for actor in self.actors:
            self._ray.kill(actor)
        self.actors = []
