"""Model cards in the Hugging Face format, every figure traced to a ledger record.

The YAML header is the Hub's ``model-index`` (what ``huggingface_hub``'s card tools parse into
``EvalResult``s); the evaluation table names, for each figure, the ledger record it was read
from, so a reader can check it with ``palate ledger proof RECORD``. Provenance lists the
records that produced the evaluation's data. Limitations are stated from the evaluation itself
(unscored judgements, missing human audit), not written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from palate.errors import PalateError
from palate.evals import card_sections as sections
from palate.evals.ledgered import find_eval
from palate.ledger import Ledger, LedgerEntry
from palate.ledger.provenance import parse_dataset_rows_id


@dataclass(frozen=True)
class CardInput:
    model_name: str
    runs: list[str]  # evaluation ids in the ledger
    license: str | None = None
    base_model: str | None = None
    description: str | None = None


def _covers(used: dict[str, Any], generated: dict[str, Any]) -> bool:
    """Whether a generated entity is (part of) a used one: the same entity, or a range of
    a dataset's rows inside the range the evaluation read."""
    if used == generated:
        return True
    if used["kind"] != "dataset-rows" or generated["kind"] != "dataset-rows":
        return False
    name, after, upto = parse_dataset_rows_id(used["id"])
    g_name, g_after, g_upto = parse_dataset_rows_id(generated["id"])
    return name == g_name and after <= g_after and g_upto <= upto


def _provenance(ledger: Ledger, entry: LedgerEntry) -> list[LedgerEntry]:
    """Earlier records that generated (part of) what the evaluation used."""
    used = entry.record.get("used", [])
    return [
        producer
        for producer in ledger.entries(0, entry.index)
        if any(_covers(u, g) for u in used for g in producer.record.get("generated", []))
    ]


def _limitations(counts: dict[str, int], checkpoint: str | None) -> list[str]:
    notes = []
    if counts.get("unscored"):
        notes.append(
            f"{counts['unscored']} of {counts['comparisons']} judgements were unscored "
            "(judge failures) and are left out of every figure."
        )
    if not counts.get("human_labels"):
        notes.append("No human judgements: every figure rests on AI judges alone.")
    if checkpoint is None:
        notes.append("The checkpoint's content hash was not recorded; outputs are identified "
                     "by the hash of the judged responses instead.")  # fmt: skip
    notes.append(
        "Win rates are against one baseline on one evaluation set; they do not transfer to "
        "other prompts, languages or baselines."
    )
    return notes


def model_card(ledger: Ledger, card: CardInput) -> str:
    """The card's Markdown with its YAML header."""
    results: list[dict[str, Any]] = []
    table = [
        "| set | metric | value | interval | n | ledger record |",
        "|---|---|---|---|---|---|",
    ]
    provenance: list[str] = []
    limitations: list[str] = []
    view = sections.LedgerView.read(ledger)
    recipe: list[str] = []
    labour: list[str] = []
    contamination: list[str] = []
    safety: list[str] = []
    for run in card.runs:
        result, entry, _ = find_eval(ledger, run)
        recipe += [f"### {run}", "", *sections.training_recipe(view, entry), ""]
        recipe += ["Evaluation data:", "", *sections.dataset_origin(view, result.spec.dataset), ""]
        labour += sections.human_labour(entry)
        contamination += sections.contamination(view, entry)
        safety += sections.safety(view, entry)
        spec = result.spec
        if spec.candidate not in (card.model_name, card.model_name.rsplit("/", 1)[-1]):
            raise PalateError(
                f"evaluation {run} is of {spec.candidate!r} (against {spec.baseline!r}), not of "
                f"{card.model_name!r}: a card reports only its own model's evaluations"
            )
        level = f"{100 * (1 - spec.alpha):g}%"
        metrics = []
        dimensions = {f"dimension:{k}": v for k, v in result.dimensions.items()}
        estimates = {**result.metrics, **dimensions}
        for name, e in estimates.items():
            metrics.append(
                {
                    "type": name,
                    "value": round(e.value, 4),
                    "name": f"{name} vs {spec.baseline} ({level} CI {e.ci_low:.2f} to "
                    f"{e.ci_high:.2f})",
                    "verified": False,
                }
            )
            table.append(
                f"| {spec.dataset} | {name} vs {spec.baseline} | {e.value:.2f} | "
                f"{e.ci_low:.2f} to {e.ci_high:.2f} ({level}) | {e.n} | "
                f"`{entry.id}` (#{entry.index}) |"
            )
        results.append(
            {
                "task": {"type": "text-generation", "name": "Pairwise preference evaluation"},
                "dataset": {"type": f"palate/{spec.dataset}", "name": spec.dataset},
                "metrics": metrics,
                "source": {"name": "palate ledger", "url": f"palate-ledger:{entry.id}"},
            }
        )
        for producer in _provenance(ledger, entry):
            sources = ", ".join(u["id"] for u in producer.record.get("used", []))
            provenance.append(
                f"- {producer.record.get('activity')} of {sources or 'no recorded input'} "
                f"(record #{producer.index}, `{producer.id}`)"
            )
        provenance.append(f"- evaluation {run} (record #{entry.index}, `{entry.id}`)")
        limitations += _limitations(result.counts, spec.candidate_hash)
    header: dict[str, Any] = {
        "library_name": "transformers",
        "tags": ["palate"],
        "model-index": [{"name": card.model_name, "results": results}],
    }
    if card.license:
        header["license"] = card.license
    if card.base_model:
        header["base_model"] = card.base_model
    cited_text = "\n".join([*table, *provenance, *recipe, *labour, *safety, *contamination])
    revoked = sections.revocations(view, sections.cited_records(cited_text))
    if any(line.startswith("- record #") for line in revoked):
        limitations.insert(0, "Some records this card cites were revoked after they were "
                           "made; see Revocations.")  # fmt: skip
    body = [
        f"# {card.model_name}",
        "",
        card.description or "Evaluated with palate.",
        "",
        "## Evaluation",
        "",
        *table,
        "",
        "## Data provenance",
        "",
        *(provenance or ["- none recorded"]),
        "",
        "## Training recipe",
        "",
        *recipe,
        "## Human labour",
        "",
        *dict.fromkeys(labour),
        "",
        "## Safety",
        "",
        *dict.fromkeys(safety),
        "",
        "## Contamination",
        "",
        *dict.fromkeys(contamination),
        "",
        "## Revocations",
        "",
        *(revoked or ["- No record this card cites has been revoked."]),
        "",
        "## Known limitations",
        "",
        *[f"- {note}" for note in dict.fromkeys(limitations)],
        "",
    ]
    return "---\n" + yaml.safe_dump(header, sort_keys=False) + "---\n\n" + "\n".join(body)
