"""The loop's stages in the ledger: what makes a stage finished, and what invalidates it.

Every stage has a fingerprint: the SHA-256 of what decides its result (its settings and the
fingerprints of the stages it reads). A finished stage is a ``loop-stage`` ledger record that
names the rows and checkpoints it used and generated and carries the fingerprint as the hash
of a ``loop-stage`` entity ``LOOP/STAGE``. A stage whose current fingerprint has such a record
is done; change a rubric and the fingerprint of judging changes, and with it those of every
stage downstream, while generation's stays the same, so exactly those stages run again.
Output datasets are named by fingerprint, so a rerun never mixes old and new results.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from palate.ledger import EntityRef, Ledger
from palate.ledger.provenance import current_agent
from palate.schema.hashing import canonical_bytes

STAGE_KIND = "loop-stage"


def fingerprint(stage: str, *parts: Any) -> str:
    return hashlib.sha256(canonical_bytes([stage, *parts])).hexdigest()


class StageBook:
    """The finished stages of one loop, read from the ledger once and kept up to date."""

    def __init__(self, ledger: Ledger, loop: str) -> None:
        self.ledger = ledger
        self.loop = loop
        self._done: dict[tuple[str, str], dict[str, Any]] = {}
        for entry in ledger.entries():
            record = entry.record
            if record.get("activity") != "loop-stage":
                continue
            for ref in record.get("generated", []):
                if ref.get("kind") == STAGE_KIND and ref["id"].startswith(f"{loop}/"):
                    stage = ref["id"].removeprefix(f"{loop}/")
                    self._done[(stage, ref["hash"])] = record["attributes"]["outputs"]

    def entity(self, stage: str, fp: str) -> EntityRef:
        return EntityRef(kind=STAGE_KIND, id=f"{self.loop}/{stage}", hash=fp)

    def finished(self, stage: str, fp: str) -> dict[str, Any] | None:
        """The outputs of the stage's record with this fingerprint, if there is one."""
        return self._done.get((stage, fp))

    def any_finished(self) -> bool:
        return bool(self._done)

    def record(
        self,
        stage: str,
        fp: str,
        outputs: dict[str, Any],
        *,
        used: Sequence[EntityRef] = (),
        generated: Sequence[EntityRef] = (),
        seconds: float,
    ) -> None:
        self.ledger.append(
            "loop-stage",
            agent=current_agent(),
            used=used,
            generated=[self.entity(stage, fp), *generated],
            attributes={
                "loop": self.loop,
                "stage": stage,
                "fingerprint": fp,
                "outputs": outputs,
                "seconds": round(seconds, 3),
            },
        )
        self._done[(stage, fp)] = outputs
