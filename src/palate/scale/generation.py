"""Generation on Ray actors: each actor loads a ``LocalGenerator`` of the checkpoint asked for.

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

ModelKey = tuple[str, str | None, str, int, str]  # path, checkpoint hash, name, batch size, device


class _Worker:
    """The actor: answers batches of whichever model it is asked for, keeping the last one
    loaded (a loop generates from several checkpoints with the same actors)."""

    def __init__(self) -> None:
        self.key: ModelKey | None = None
        self.generator: LocalGenerator | None = None

    def generate(
        self, key: ModelKey, jobs: Sequence[Job], settings: SamplingSettings, batch: int
    ) -> list[Generation]:
        if key != self.key or self.generator is None:
            self.release()
            path, _, name, batch_size, device = key
            self.generator = LocalGenerator(
                Path(path), name=name, batch_size=batch_size, device=device
            )
            self.key = key
        return self.generator.generate(jobs, settings, batch)

    def release(self) -> None:
        if self.generator is not None:
            self.generator.close()
        self.generator, self.key = None, None


class GeneratorPool:
    """Generation actors on a Ray cluster, shared by the generators given it (a loop's stages
    generate from several checkpoints: starting an actor, a process importing torch, costs
    seconds; loading a small model far less). ``close`` ends the actors."""

    def __init__(self, address: str, actors: int | None = None) -> None:
        ray = connect(address)
        count, each = actor_shape(ray, actors)
        worker = ray.remote(**each)(_Worker)
        self._ray = ray
        self.actors: list[Any] = [worker.remote() for _ in range(count)]

    def close(self) -> None:
        for actor in self.actors:
            self._ray.kill(actor)
        self.actors = []


class RayGenerator:
    """A ``palate.generate.jobs.Generator`` whose batches run on a pool of Ray actors."""

    backend = "transformers"

    def __init__(
        self,
        path: Path,
        *,
        address: str | None = None,
        pool: GeneratorPool | None = None,
        name: str | None = None,
        batch_size: int = 16,
        device: str = "auto",
        actors: int | None = None,
    ) -> None:
        """On ``pool`` (kept open on close), or on actors of its own at ``address``."""
        if not path.is_dir():
            raise PalateError(f"model {path} is not a directory (a saved checkpoint is needed)")
        if batch_size < 1:
            raise PalateError("batch size must be at least 1")
        self.name = name or path.resolve().name
        self.batch_size = batch_size
        self.checkpoint_hash: str | None = checkpoint_hash(path)
        self._key: ModelKey = (
            str(path.resolve()),
            self.checkpoint_hash,
            self.name,
            batch_size,
            device,
        )
        if (address is None) == (pool is None):
            raise PalateError("give a Ray address or a pool of generation actors, not both")
        self._own = pool is None
        self.pool = pool if pool is not None else GeneratorPool(str(address), actors)
        self._ray = self.pool._ray
        self.actors = self.pool.actors

    def generate(
        self, jobs: Sequence[Job], settings: SamplingSettings, batch: int
    ) -> list[Generation]:
        result: list[Generation] = self._ray.get(
            self.actors[batch % len(self.actors)].generate.remote(
                self._key, list(jobs), settings, batch
            )
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
            lambda actor, item: actor.generate.remote(self._key, list(item[1]), settings, item[0]),
            list(batches),
        )

    def close(self) -> None:
        """End its own actors; a shared pool's actors only unload the model."""
        if self._own:
            self.pool.close()
        else:
            self._ray.get([actor.release.remote() for actor in self.actors])
