"""A panel of judges voting on each pair, with a confidence that routing can act on.

Each member's verdict is a vote for one of three labels: responses[0] better ("0"),
responses[1] better ("1") or "tie". Equal weights give majority vote. Weights learned from
gold items, or from truth inference over the members' own verdicts (Dawid-Skene and friends,
``palate.stats.truth``), follow the one-coin model: a member right with probability p among
K = 3 labels gets weight log((K - 1) p / (1 - p)), the log-odds that makes weighted voting the
maximum a posteriori label under that model (Nitzan and Paroush 1982; Dawid and Skene 1979).
The combined confidence is that posterior, softmax of the labels' summed weights, and is kept
in ``metadata["confidence"]``: a trust-or-escalate cascade sends low-confidence items to people.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

from palate.errors import PalateError
from palate.judges.base import PairTask, PairwiseJudge
from palate.schema import Comparison, Source, Unscored
from palate.schema.hashing import canonical_bytes
from palate.stats.truth import Method, infer_truth

LABELS = ("0", "1", "tie")
_SMOOTH = 1.0  # Laplace pseudo-count for accuracies estimated from few items


def comparison_label(comparison: Comparison) -> str | None:
    """A pairwise verdict as a vote label ("0", "1", "tie"), or None when unscored."""
    score = comparison.score_for_first()
    if score is None:
        return None
    return "0" if score > 0.5 else "1" if score < 0.5 else "tie"


def accuracy_weight(accuracy: float, n_labels: int = len(LABELS)) -> float:
    """log((K - 1) p / (1 - p)), with p kept inside (0.001, 0.999)."""
    p = min(max(accuracy, 1e-3), 1 - 1e-3)
    return math.log((n_labels - 1) * p / (1.0 - p))


def weights_from_gold(
    votes: Mapping[str, Mapping[str, str]], gold: Mapping[str, str]
) -> dict[str, float]:
    """Weights from each member's Laplace-smoothed accuracy on gold items.

    ``votes[member][item]`` is a label; ``gold[item]`` the known one.
    """
    weights = {}
    for member, theirs in votes.items():
        scored = [item for item in theirs if item in gold]
        if not scored:
            raise PalateError(f"panel member '{member}' judged none of the gold items")
        right = sum(theirs[item] == gold[item] for item in scored)
        weights[member] = accuracy_weight((right + _SMOOTH) / (len(scored) + 2 * _SMOOTH))
    return weights


def weights_from_truth(
    votes: Mapping[str, Mapping[str, str]], *, method: Method = "one-coin"
) -> dict[str, float]:
    """Weights from member accuracies that truth inference estimates without any gold."""
    items, workers, answers = [], [], []
    for member, theirs in votes.items():
        for item, label in theirs.items():
            items.append(item)
            workers.append(member)
            answers.append(label)
    if not items:
        raise PalateError("no votes to infer member accuracies from")
    result = infer_truth(items, workers, answers, method=method)
    return {
        worker: accuracy_weight(float(acc))
        for worker, acc in zip(result.workers, result.worker_accuracy, strict=True)
    }


class Panel:
    """Several pairwise judges combined by (weighted) vote; itself a ``PairwiseJudge``."""

    def __init__(
        self,
        judges: Sequence[PairwiseJudge],
        *,
        weights: Mapping[str, float] | None = None,
        name: str = "panel",
    ) -> None:
        if len(judges) < 2:
            raise PalateError("a panel needs at least two judges")
        names = [j.source.name for j in judges]
        if len(set(names)) != len(names):
            raise PalateError(f"panel members need distinct names (got {names})")
        if weights is not None and set(weights) != set(names):
            raise PalateError(f"panel weights name {sorted(weights)}, members are {names}")
        self.judges = list(judges)
        self.weights = {n: 1.0 for n in names} if weights is None else dict(weights)
        spec = {
            "members": [[j.source.name, j.source.version] for j in judges],
            "weights": self.weights,
        }
        version = hashlib.sha256(canonical_bytes(spec)).hexdigest()
        self.source = Source(kind="judge", name=name, version=version)

    def combine(self, task: PairTask, verdicts: Sequence[Comparison]) -> Comparison:
        """The panel's Comparison from its members' verdicts (same order as ``judges``)."""
        totals = dict.fromkeys(LABELS, 0.0)
        votes: dict[str, str | None] = {}
        for judge, verdict in zip(self.judges, verdicts, strict=True):
            label = comparison_label(verdict)
            votes[judge.source.name] = label
            if label is not None:
                totals[label] += self.weights[judge.source.name]
        common: dict[str, Any] = {
            "prompt": task.prompt,
            "responses": list(task.responses),
            "judge": self.source,
            "rubric": task.rubric or verdicts[0].rubric,
            "dimension": task.dimension,
            "presentation_order": list(task.order),
            "presentation_seed": task.seed,
        }
        if all(label is None for label in votes.values()):
            reasons = "; ".join(
                f"{j.source.name}: {v.unscored.reason}"
                for j, v in zip(self.judges, verdicts, strict=True)
                if v.unscored is not None
            )
            empty: dict[str, Any] = {"votes": votes, "confidence": None}
            return Comparison(unscored=Unscored(reason=reasons), metadata=empty, **common)
        top = max(totals.values())
        posterior = {k: math.exp(v - top) for k, v in totals.items()}
        norm = sum(posterior.values())
        best = max(LABELS, key=totals.__getitem__)
        if sum(totals[k] == top for k in LABELS) > 1:  # a draw between labels is a tie
            best = "tie"
        metadata: dict[str, Any] = {
            "votes": votes,
            "weights": self.weights,
            "confidence": posterior[best] / norm,
        }
        outcome: dict[str, Any] = {"tie": True} if best == "tie" else {"winner": int(best)}
        return Comparison(metadata=metadata, **outcome, **common)

    async def judge_pair(self, task: PairTask) -> Comparison:
        verdicts = await asyncio.gather(*(j.judge_pair(task) for j in self.judges))
        return self.combine(task, verdicts)
