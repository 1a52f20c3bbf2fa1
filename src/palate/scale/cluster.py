"""Joining a Ray cluster and sizing the actor pool to it."""

from __future__ import annotations

from typing import Any

from palate.errors import PalateError


def connect(address: str) -> Any:
    """The ``ray`` module, joined to the cluster at ``address`` (``auto``, ``ray://host:port``,
    or ``local`` to start one on this machine); a session already joined is used as it is."""
    try:
        import ray
    except ImportError as exc:
        raise PalateError("--ray needs Ray: pip install 'palate[scale]'") from exc
    if not ray.is_initialized():
        try:
            ray.init(address=None if address == "local" else address, log_to_driver=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise PalateError(f"cannot join the Ray cluster at {address!r}: {exc}") from exc
    return ray


def actor_shape(ray: Any, wanted: int | None = None) -> tuple[int, dict[str, float]]:
    """How many actors to start and what each reserves: one GPU each where the cluster has
    GPUs, else one CPU each; at most ``wanted``."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    if gpus:
        count, each = gpus, {"num_gpus": 1.0, "num_cpus": 1.0}
    else:
        count, each = max(1, int(resources.get("CPU", 1))), {"num_cpus": 1.0}
    return (count if wanted is None else max(1, min(count, wanted))), each
