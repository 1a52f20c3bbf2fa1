"""Generation and local-model judging on Ray actors (``--ray ADDRESS``): one actor per GPU
where the cluster has GPUs, else one per CPU, with the same outputs as a local run."""

from palate.scale.cluster import connect
from palate.scale.generation import GeneratorPool, RayGenerator
from palate.scale.judging import RayJudge

__all__ = ["GeneratorPool", "RayGenerator", "RayJudge", "connect"]
