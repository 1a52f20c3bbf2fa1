"""Human labels of the escalated items: imported from a file, or drawn from simulated raters.

Simulated raters stand in for people in tests and dry runs: each follows a hidden taste (the
longer or the shorter response) with probability ``accuracy``, with draws seeded by
(seed, item, rater), so a rerun gets the same labels.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from palate.generate.jobs import derived_seed
from palate.io.importing import import_file
from palate.judges.panel import comparison_label
from palate.loop.config import LabelsSpec, SimulatedRaters
from palate.loop.routing import item_key
from palate.schema import Comparison, Source
from palate.store import Store


def simulated_labels(items: Sequence[Comparison], raters: SimulatedRaters) -> list[Comparison]:
    """``raters.raters`` human comparisons per item."""
    labels = []
    for item in items:
        lengths = [len(r.text or "") for r in item.responses]
        if lengths[0] == lengths[1]:
            preferred = None
        else:
            longer = 0 if lengths[0] > lengths[1] else 1
            preferred = longer if raters.taste == "longer" else 1 - longer
        for rater in range(raters.raters):
            draw = random.Random(derived_seed(raters.seed, item_key(item), rater)).random()
            outcome: dict[str, object]
            if preferred is None:
                outcome = {"tie": True}
            else:
                follows = draw < raters.accuracy
                outcome = {"winner": preferred if follows else 1 - preferred}
            labels.append(
                Comparison(
                    prompt=item.prompt,
                    responses=item.responses,
                    judge=Source(kind="human", name=f"simulated-{rater}"),
                    rubric=item.rubric,
                    **outcome,
                )
            )
    return labels


def collect_labels(
    store: Store, spec: LabelsSpec, items: Sequence[Comparison], dataset: str
) -> int:
    """Put the labels of ``items`` into ``dataset``; return how many labels it holds."""
    if spec.simulated is not None:
        store.add_records(dataset, simulated_labels(items, spec.simulated))
    else:
        assert spec.file is not None
        import_file(store, spec.file, dataset=dataset, judged_by="human:labels")
    return store.count(dataset)


def majority(labels: Sequence[Comparison]) -> Comparison | None:
    """The majority verdict of several labels of one item ('0', '1' or 'tie'), as a
    comparison by the raters together; None when the labels are split evenly."""
    votes = [label for c in labels if (label := comparison_label(c)) is not None]
    if not votes:
        return None
    counts = {v: votes.count(v) for v in set(votes)}
    top = max(counts.values())
    best = [v for v, n in counts.items() if n == top]
    if len(best) > 1:
        return None
    first = labels[0]
    outcome: dict[str, object] = {"tie": True} if best[0] == "tie" else {"winner": int(best[0])}
    return Comparison(
        prompt=first.prompt,
        responses=first.responses,
        judge=Source(kind="human", name="majority"),
        rubric=first.rubric,
        metadata={"votes": counts},
        **outcome,
    )
