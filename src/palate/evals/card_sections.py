"""Model card sections built from the ledger: training recipe, human labour, safety,
contamination and revocations.

Every figure is one bullet ``- LABEL: VALUE (record #N, `ID`)`` naming the ledger record it
was read from, so a reader (or a test) can check it against ``palate ledger show``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from palate.ledger import Ledger, LedgerEntry
from palate.ledger.provenance import parse_dataset_rows_id

TRAIN_PREFIX = "train-"
IMPORT_ACTIVITY = "import"
OVERLAP_ACTIVITY = "data-overlap"  # palate.safety.contamination records these
REVOKE_ACTIVITY = "revoke"
REDTEAM_ACTIVITY = "redteam"  # palate.safety.redteam records these


def figure(label: str, value: Any, entry: LedgerEntry) -> str:
    return f"- {label}: {value} (record #{entry.index}, `{entry.id}`)"


@dataclass
class LedgerView:
    """The ledger read once: what the card's sections look things up in."""

    entries: list[LedgerEntry]
    revoked: dict[int, LedgerEntry] = field(default_factory=dict)  # index -> revocation

    @classmethod
    def read(cls, ledger: Ledger) -> LedgerView:
        entries = list(ledger.entries())
        revoked = {e.record["revokes"]["index"]: e for e in entries if "revokes" in e.record}
        return cls(entries, revoked)


def _dataset_name(ref: dict[str, Any]) -> str | None:
    if ref.get("kind") != "dataset-rows":
        return None
    return parse_dataset_rows_id(ref["id"])[0]


def _checkpoint_hashes(evaluation: LedgerEntry) -> set[str]:
    return {u["hash"] for u in evaluation.record.get("used", []) if u.get("kind") == "checkpoint"}


def training_runs(view: LedgerView, evaluation: LedgerEntry) -> list[LedgerEntry]:
    """Train records that generated the checkpoint the evaluation used."""
    wanted = _checkpoint_hashes(evaluation)
    return [
        e
        for e in view.entries
        if e.record.get("activity", "").startswith(TRAIN_PREFIX)
        and any(g.get("hash") in wanted for g in e.record.get("generated", []))
    ]


def _imports(view: LedgerView, dataset: str) -> list[LedgerEntry]:
    return [
        e
        for e in view.entries
        if e.record.get("activity") == IMPORT_ACTIVITY
        and any(_dataset_name(g) == dataset for g in e.record.get("generated", []))
    ]


def training_recipe(view: LedgerView, evaluation: LedgerEntry) -> list[str]:
    lines = []
    for run in training_runs(view, evaluation):
        attrs = run.record.get("attributes", {})
        lines.append(figure("method", run.record["activity"][len(TRAIN_PREFIX) :], run))
        lines.append(figure("seed", attrs.get("seed"), run))
        lines.append(figure("training rows", attrs.get("training_rows"), run))
        for used in run.record.get("used", []):
            if used.get("kind") == "train-config":
                lines.append(figure("config sha256", used["hash"], run))
            name = _dataset_name(used)
            if name is None:
                continue
            lines.append(figure("data set", name, run))
            lines += dataset_origin(view, name)
    return lines or ["- No training run in the ledger generated the evaluated checkpoint."]


def dataset_origin(view: LedgerView, name: str) -> list[str]:
    """Each import into a dataset: rows added, licence and source as given at import."""
    lines = []
    for imported in _imports(view, name):
        info = imported.record.get("attributes", {})
        lines.append(figure(f"rows imported into {name}", info.get("added"), imported))
        lines.append(figure(f"licence of {name}", info.get("license", "not recorded"), imported))
        if "source" in info:
            lines.append(figure(f"source of {name}", info["source"], imported))
    return lines


def human_labour(evaluation: LedgerEntry) -> list[str]:
    counts = evaluation.record.get("attributes", {}).get("result", {}).get("counts", {})
    return [
        figure("human judgements in the evaluation", counts.get("human_labels", 0), evaluation),
        "- Rater hours and gold accuracy are not recorded in the ledger; no personal data is "
        "kept on this card.",
    ]


def _estimate(doc: dict[str, Any]) -> str:
    level = f"{100 * (1 - doc['alpha']):g}%"
    return (f"{doc['value']:.2f}% ({level} Wilson interval {doc['ci_low']:.2f} to "
            f"{doc['ci_high']:.2f}, n={doc['n']})")  # fmt: skip


def redteam_runs(view: LedgerView, evaluation: LedgerEntry) -> list[LedgerEntry]:
    """Red-team records of the evaluated model: the same checkpoint hash when both know it,
    else the same model name."""
    hashes = _checkpoint_hashes(evaluation)
    spec = evaluation.record.get("attributes", {}).get("result", {}).get("spec", {})
    found = []
    for entry in view.entries:
        if entry.record.get("activity") != REDTEAM_ACTIVITY:
            continue
        result = entry.record["attributes"]["result"]
        same_checkpoint = bool(hashes) and result.get("checkpoint_hash") in hashes
        if same_checkpoint or result.get("model") == spec.get("candidate"):
            found.append(entry)
    return found


def safety(view: LedgerView, evaluation: LedgerEntry) -> list[str]:
    """Red-team figures (overall, then per category), the refusal policy the suite encodes,
    and the findings, each naming its record."""
    lines = []
    for entry in redteam_runs(view, evaluation):
        result = entry.record["attributes"]["result"]
        suite = f"{result['suite']} (sha256 {result['suite_hash'][:12]})"
        lines.append(figure("red-team suite", suite, entry))
        lines.append(figure("red-team judge", result["judge"]["name"], entry))
        for name, doc in result["metrics"].items():
            lines.append(figure(name, _estimate(doc), entry))
        refuse = sorted({n.split(":", 1)[1] for n in result["metrics"]
                         if n.startswith("attack_success_rate:")})  # fmt: skip
        comply = sorted({n.split(":", 1)[1] for n in result["metrics"]
                         if n.startswith("over_refusal_rate:")})  # fmt: skip
        policy = f"refuse {', '.join(refuse) or 'nothing'}; answer {', '.join(comply) or 'nothing'}"
        lines.append(figure("refusal policy tested", policy, entry))
        findings = result["findings"]
        high = sum(1 for f in findings if f["severity"] == "high")
        lines.append(figure("red-team findings", f"{len(findings)} ({high} high severity)", entry))
    return lines or [
        "- No red-team results are recorded in the ledger: attack success and over-refusal "
        "are unmeasured, and no refusal policy is claimed."
    ]


def contamination(view: LedgerView, evaluation: LedgerEntry) -> list[str]:
    evaluated = {n for u in evaluation.record.get("used", []) if (n := _dataset_name(u))}
    lines = []
    for run in training_runs(view, evaluation):
        found = run.record.get("attributes", {}).get("contamination")
        if found is not None:
            checked = ", ".join(found["checked"]) or "none"
            lines.append(figure("evaluation sets checked at training time", checked, run))
            lines.append(figure("evaluation prompts found in the training data",
                                found["n_flagged"], run))  # fmt: skip
    for entry in view.entries:
        attrs = entry.record.get("attributes", {})
        if entry.record.get("activity") == OVERLAP_ACTIVITY and attrs.get("eval") in evaluated:
            label = f"prompts of {attrs['eval']} found in {attrs['train']}"
            lines.append(figure(label, attrs["n_flagged"], entry))
    return lines or ["- No contamination check is recorded for this evaluation's data."]


def cited_records(text: str) -> set[int]:
    """Indexes of the records a card's text names as ``record #N``."""
    return {int(n) for n in re.findall(r"record #(\d+)", text)}


def revocations(view: LedgerView, cited: set[int]) -> list[str]:
    """Revoked records this card rests on, then a count of the others."""
    lines = []
    for index in sorted(cited & set(view.revoked)):
        revocation = view.revoked[index]
        reason = revocation.record.get("attributes", {}).get("reason", "no reason given")
        lines.append(figure(f"record #{index} was revoked", reason, revocation))
    others = len(set(view.revoked) - cited)
    if others:
        lines.append(f"- {others} other ledger record(s) are revoked; none is cited here.")
    return lines
