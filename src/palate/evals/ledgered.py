"""Evaluations and gates in the provenance ledger.

Order is the point of a gate: the policy must be in the ledger before the evaluation starts,
so nobody can pick the threshold after seeing the number. An evaluation writes a *start*
record before it computes anything and a *result* record after; a gate check refuses when the
policy was registered, or registered again (changed), after that start, and when the ledger
itself does not verify.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

import rfc8785

from palate.errors import PalateError
from palate.evals.card_sections import LedgerView, training_runs
from palate.evals.evaluation import EvalResult, EvalSpec, evaluate
from palate.evals.gate import GateDecision, GatePolicy, decide
from palate.ledger import EntityRef, Ledger, LedgerEntry
from palate.ledger.provenance import current_agent
from palate.store import Store

EVAL_KIND = "eval"
POLICY_KIND = "gate-policy"


def _hash(doc: Any) -> str:
    return hashlib.sha256(rfc8785.dumps(doc)).hexdigest()


def register_policy(ledger: Ledger, policy: GatePolicy) -> LedgerEntry:
    """Append the policy (its full text) to the ledger; its id is the policy's name."""
    doc = policy.model_dump(mode="json")
    ref = EntityRef(kind=POLICY_KIND, id=policy.name, hash=_hash(doc))
    return ledger.append(
        "gate-register", agent=current_agent(), generated=[ref], attributes={"policy": doc}
    )


@dataclass(frozen=True)
class RecordedEval:
    run: str
    result: EvalResult
    start: LedgerEntry
    entry: LedgerEntry


def run_recorded_eval(store: Store, ledger: Ledger, spec: EvalSpec) -> RecordedEval:
    """Evaluate with a start record before and a result record after."""
    rows = ledger.dataset_rows(spec.dataset)
    start = ledger.append(
        "evaluation-start", agent=current_agent(), used=[rows], attributes={"spec": spec.to_json()}
    )
    result = evaluate(store, spec)
    run = f"eval-{start.id[:12]}"
    doc = result.to_json()
    generated = [EntityRef(kind=EVAL_KIND, id=run, hash=_hash(doc))]
    used = [rows]
    if spec.candidate_hash:
        used.append(EntityRef(kind="checkpoint", id=spec.candidate, hash=spec.candidate_hash))
    entry = ledger.append(
        "evaluation",
        agent=current_agent(),
        used=used,
        generated=generated,
        attributes={"run": run, "started": start.id, "result": doc},
    )
    return RecordedEval(run, result, start, entry)


def _generated(entry: LedgerEntry, kind: str) -> list[dict[str, Any]]:
    return [e for e in entry.record.get("generated", []) if e.get("kind") == kind]


def find_eval(ledger: Ledger, run: str) -> tuple[EvalResult, LedgerEntry, LedgerEntry]:
    entries = [e for e in ledger.find(EVAL_KIND, run) if _generated(e, EVAL_KIND)]
    if not entries:
        raise PalateError(f"no evaluation {run!r} in the ledger")
    entry = entries[-1]
    attributes = entry.record["attributes"]
    start = next((e for e in ledger.entries() if e.id == attributes["started"]), None)
    if start is None:
        raise PalateError(f"evaluation {run!r} names a start record the ledger does not hold")
    return EvalResult.from_json(attributes["result"]), entry, start


def _registrations(ledger: Ledger, name: str) -> list[LedgerEntry]:
    return [e for e in ledger.find(POLICY_KIND, name) if _generated(e, POLICY_KIND)]


@dataclass(frozen=True)
class GateCheck:
    decision: GateDecision
    policy: str
    run: str | None
    checkpoint_hash: str | None
    outputs_hash: str | None
    entry: LedgerEntry
    redteam: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            **self.decision.to_json(),
            "policy": self.policy,
            "eval": self.run,
            "redteam": self.redteam,
            "checkpoint_hash": self.checkpoint_hash,
            "outputs_hash": self.outputs_hash,
            "record": self.entry.id,
        }


def _contamination_checks(ledger: Ledger, evaluation: LedgerEntry) -> list[dict[str, Any]]:
    return [
        run.record["attributes"]["contamination"]
        for run in training_runs(LedgerView.read(ledger), evaluation)
        if "contamination" in run.record.get("attributes", {})
    ]


def recorded_contamination(ledger: Ledger, evaluation: LedgerEntry) -> int | None:
    """Evaluation prompts found in the data of the training runs that produced the evaluated
    checkpoint (None when none of them recorded a check)."""
    found = [check["n_flagged"] for check in _contamination_checks(ledger, evaluation)]
    return sum(found) if found else None


def flagged_items(ledger: Ledger, evaluation: LedgerEntry, dataset: str) -> set[str] | None:
    """Prompt keys of ``dataset`` that the checkpoint's training runs found in their data
    (None when none of them recorded a check)."""
    from palate.safety.overlap import item_keys

    checks = _contamination_checks(ledger, evaluation)
    if not checks:
        return None
    flagged = {
        flag["eval_item"]
        for check in checks
        for flag in check.get("by_eval_set", {}).get(dataset, {}).get("flagged", [])
    }
    if not flagged:
        return set()
    keys = item_keys(ledger.store, dataset)
    return {keys[item] for item in flagged if item in keys}


def _check_order(registrations: list[LedgerEntry], name: str, what: str, start: LedgerEntry
                 ) -> LedgerEntry:  # fmt: skip
    """The registration in force when ``start`` began; PalateError unless the policy was
    registered before it and not changed since."""
    before = [r for r in registrations if r.index < start.index]
    after = [r for r in registrations if r.index > start.index]
    if not before:
        raise PalateError(
            f"refused: policy {name!r} was registered (record {after[0].index}) after "
            f"{what} started (record {start.index})"
        )
    if after:
        raise PalateError(
            f"refused: policy {name!r} changed after {what} started (registered again in "
            f"record {after[0].index}, the {what.split()[0]} started in record {start.index})"
        )
    return before[-1]


def check_gate(
    ledger: Ledger, policy_name: str, run: str | None, *, redteam: str | None = None
) -> GateCheck:
    """The gate's verdict on a recorded evaluation and/or red-team run, itself recorded.
    Refuses (PalateError) when the ledger does not verify or the policy was not fixed before
    the evaluation (or red-team run) began."""
    from palate.safety.redteam import REDTEAM_KIND, find_redteam

    if run is None and redteam is None:
        raise PalateError("name an evaluation (--eval), a red-team run (--redteam) or both")
    verified = ledger.verify()
    if not verified.ok:
        raise PalateError(
            f"refused: the ledger does not verify (first bad record {verified.first_bad}: "
            f"{verified.reason})"
        )
    registrations = _registrations(ledger, policy_name)
    if not registrations:
        raise PalateError(f"no gate policy named {policy_name!r} is registered in the ledger")
    used: list[EntityRef] = []
    result = entry = None
    registration: LedgerEntry | None = None
    if run is not None:
        result, entry, start = find_eval(ledger, run)
        registration = _check_order(registrations, policy_name, f"evaluation {run!r}", start)
    red = None
    if redteam is not None:
        red, red_entry, red_start = find_redteam(ledger, redteam)
        registration = _check_order(
            registrations, policy_name, f"red-team run {redteam!r}", red_start
        )
        used.append(EntityRef(**_generated(red_entry, REDTEAM_KIND)[0]))
    assert registration is not None
    policy = GatePolicy.model_validate(registration.record["attributes"]["policy"])
    contamination = excluded = None
    attributes: dict[str, Any] = {}
    if result is not None and entry is not None:
        contamination = recorded_contamination(ledger, entry)
        used.insert(0, EntityRef(**_generated(entry, EVAL_KIND)[0]))
        flagged = flagged_items(ledger, entry, result.spec.dataset)
        if policy.exclude_flagged and flagged is not None:
            excluded = len(flagged)
            if flagged:
                spec = replace(result.spec, exclude_items=tuple(sorted(flagged)))
                result = evaluate(ledger.store, spec)
                attributes["without_flagged"] = result.to_json()
    decision = decide(policy, result, contamination, redteam=red, excluded=excluded)
    checkpoint = result.spec.candidate_hash if result is not None else None
    if checkpoint is None and red is not None:
        checkpoint = red.checkpoint_hash
    outputs = result.outputs_hash if result is not None else None
    recorded = ledger.append(
        "gate-check",
        agent=current_agent(),
        used=[EntityRef(**_generated(registration, POLICY_KIND)[0]), *used],
        attributes={
            **decision.to_json(),
            "checkpoint_hash": checkpoint,
            "outputs_hash": outputs,
            **attributes,
        },
    )
    return GateCheck(decision, policy_name, run, checkpoint, outputs, recorded, redteam)
