"""Evaluations with paired intervals, release gates fixed in advance, reports and model cards.

Names load on first use: a command's ``--help`` imports none of what they need.
"""

from typing import TYPE_CHECKING

from palate.exports import lazy_exports

if TYPE_CHECKING:  # the names as they are, for type checkers
    from palate.evals.evaluation import EvalResult, EvalSpec, evaluate
    from palate.evals.gate import GateDecision, GatePolicy, decide, load_policy
    from palate.evals.interval import Estimate, clustered_mean
    from palate.evals.regression import Regression, compare

__all__ = [
    "Estimate",
    "EvalResult",
    "EvalSpec",
    "GateDecision",
    "GatePolicy",
    "Regression",
    "clustered_mean",
    "compare",
    "decide",
    "evaluate",
    "load_policy",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Estimate": "palate.evals.interval:Estimate",
        "EvalResult": "palate.evals.evaluation:EvalResult",
        "EvalSpec": "palate.evals.evaluation:EvalSpec",
        "GateDecision": "palate.evals.gate:GateDecision",
        "GatePolicy": "palate.evals.gate:GatePolicy",
        "Regression": "palate.evals.regression:Regression",
        "clustered_mean": "palate.evals.interval:clustered_mean",
        "compare": "palate.evals.regression:compare",
        "decide": "palate.evals.gate:decide",
        "evaluate": "palate.evals.evaluation:evaluate",
        "load_policy": "palate.evals.gate:load_policy",
    },
)
