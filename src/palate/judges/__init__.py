"""AI judges: LLMs over HTTP, local models, reward models and verifiers, with bias controls."""

from palate.judges.base import PairTask, PairwiseJudge, PointTask, PointwiseJudge

__all__ = ["PairTask", "PairwiseJudge", "PointTask", "PointwiseJudge"]
