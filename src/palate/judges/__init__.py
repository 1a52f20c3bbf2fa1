"""AI judges: LLMs over HTTP, local models, reward models and verifiers, with bias controls.

``load(config)`` builds any kind of judge; ``run(store, dataset, judge)`` judges a dataset's
pairs and records the run in the ledger (both loaded on first use).
"""

from palate.exports import lazy_exports
from palate.judges.base import JudgeResources, PairTask, PairwiseJudge, PointTask, PointwiseJudge

__all__ = [
    "JudgeResources",
    "PairTask",
    "PairwiseJudge",
    "PointTask",
    "PointwiseJudge",
    "load",
    "run",
    "run_async",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "load": "palate.judges.loading:load",
        "run": "palate.judges.run:run",
        "run_async": "palate.judges.run:run_async",
    },
)
