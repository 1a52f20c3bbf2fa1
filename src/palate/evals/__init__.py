"""Evaluations with paired intervals, release gates fixed in advance, reports and model cards."""

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
