"""Critique → revision: a model rewrites responses by a constitution's principles.

For each response in a dataset, one principle is drawn (a seeded hash of the run seed, the
prompt and the response, so a rerun draws the same one, as Constitutional AI samples one per
revision); the model is shown the conversation and asked the principle's critique request,
then, with its critique, the revision request. Each revision becomes a preference pair,
revised over original, whose metadata name the principle, the constitution and the
generator, with the critique as its rationale; its revised response is the SFT target (the
pair's chosen side). The model is any OpenAI-compatible endpoint, named by a judge config and
called through the judges' client; each call is cached in the store under the hash of what
determines it, so a rerun makes no call that completed before. The pairs land in the output
dataset together with one ledger record of synthetic data naming the input rows, the
constitution and the generator's configuration.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from palate.errors import PalateError
from palate.generate.jobs import derived_seed
from palate.judges.client import ChatResult
from palate.judges.config import OpenAIJudgeConfig, config_hash, load_judge_config
from palate.judges.openai_judge import chat_client
from palate.ledger import EntityRef, Ledger
from palate.ledger.provenance import current_agent
from palate.safety.constitution import Constitution, Principle
from palate.schema import Comparison, Prompt, Response, Source
from palate.schema.hashing import canonical_bytes
from palate.schema.text import prompt_text
from palate.store import Store
from palate.store.judge_cache import JudgeCallCache

ACTIVITY = "synthetic-data"
METHOD = "critique-revision"


@dataclass(frozen=True)
class ReviseResult:
    dataset: str
    out: str
    constitution: str
    generator: str
    responses: int  # distinct (prompt, response) pairs read
    revised: int  # revisions that differ from the original
    unchanged: int  # revisions identical to the original: no pair
    failed: int  # a call failed after its retries: retried on a rerun
    added: int  # records newly stored (a rerun adds none)
    calls: int  # HTTP requests made by this run
    cache_hits: int
    by_principle: dict[str, int]
    record: str  # the ledger record of the synthetic data

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _responses(store: Store, dataset: str) -> list[tuple[Prompt, Response]]:
    """Every distinct (prompt, response text) of the dataset, in first-seen order."""
    seen: dict[tuple[str, str], tuple[Prompt, Response]] = {}

    def add(prompt: Prompt | None, response: Response | None) -> None:
        if prompt is not None and response is not None and response.text:
            seen.setdefault((prompt.key, response.text), (prompt, response))

    for generation in store.iter_generations(dataset):
        if generation.error is None:
            add(generation.prompt, generation.response)
    for record in store.iter_records(dataset):
        if isinstance(record, Comparison):
            for response in record.responses:
                add(record.prompt, response)
        else:
            add(record.prompt, record.response)
    if not seen:
        raise PalateError(f"dataset {dataset!r} has no responses to revise")
    return list(seen.values())


class Reviser:
    """Critiques and revises through one endpoint, caching each completed call."""

    def __init__(self, config: OpenAIJudgeConfig, store: Store) -> None:
        self.config = config
        self.hash = config_hash(config)
        self.source = Source(kind="judge", name=config.name, version=self.hash)
        self.cache = JudgeCallCache(store, self.hash)
        self.cache_hits = 0
        self.client = chat_client(config)

    async def ask(self, messages: list[dict[str, str]]) -> ChatResult:
        key = hashlib.sha256(
            canonical_bytes({"task": METHOD, "generator": self.hash, "messages": messages})
        ).hexdigest()
        stored = self.cache.get(key)
        if stored is not None:
            self.cache_hits += 1
            return ChatResult.from_json(stored)
        result = await self.client.chat(
            messages,
            max_tokens=self.config.max_tokens,
            temperature=self.config.temperature,
            seed=self.config.seed,
        )
        if result.error is None and result.text is not None:
            await self.cache.put(key, result.to_json())
        return result

    async def revise(
        self, prompt: Prompt, response: Response, principle: Principle
    ) -> tuple[str, str] | None:
        """(critique, revision), or None when a call failed."""
        conversation = [
            {"role": "user", "content": prompt_text(prompt) or prompt.key},
            {"role": "assistant", "content": response.text or ""},
        ]
        critique = await self.ask(
            [*conversation, {"role": "user", "content": principle.critique_request}]
        )
        if critique.text is None:
            return None
        revision = await self.ask(
            [
                *conversation,
                {"role": "user", "content": principle.critique_request},
                {"role": "assistant", "content": critique.text},
                {"role": "user", "content": principle.revision_request},
            ]
        )
        if revision.text is None or not revision.text.strip():
            return None
        return critique.text, revision.text.strip()


def _pair(
    prompt: Prompt,
    original: Response,
    critique: str,
    revision: str,
    principle: Principle,
    constitution: Constitution,
    source: Source,
) -> Comparison:
    revised = Response(model=f"{original.model or 'unknown'}+{source.name}", text=revision)
    return Comparison(
        prompt=prompt,
        responses=[revised, original],
        winner=0,
        judge=source,
        rationale=critique,
        metadata={
            "synthetic": METHOD,
            "principle": principle.name,
            "constitution": constitution.name,
            "constitution_sha256": constitution.digest,
            "generator": source.name,
            "generator_config_sha256": source.version,
        },
    )


def revise(
    store: Store,
    constitution: Constitution,
    dataset: str,
    generator: str | Path | OpenAIJudgeConfig,
    out: str,
    *,
    seed: int = 0,
) -> ReviseResult:
    """Critique and revise every response of ``dataset``; store the pairs in ``out`` (see the
    module doc)."""
    config = generator if isinstance(generator, OpenAIJudgeConfig) else load_judge_config(generator)
    if not isinstance(config, OpenAIJudgeConfig):
        raise PalateError(
            f"generator '{config.name}' is of kind {config.kind}: revising needs an "
            "OpenAI-compatible endpoint (kind: openai)"
        )
    items = _responses(store, dataset)
    principles = constitution.principles
    drawn = [principles[derived_seed(seed, p.key, r.text) % len(principles)] for p, r in items]
    reviser = Reviser(config, store)

    async def run_all() -> list[tuple[str, str] | None]:
        try:
            return await asyncio.gather(
                *(
                    reviser.revise(p, r, principle)
                    for (p, r), principle in zip(items, drawn, strict=True)
                )
            )
        finally:
            await reviser.client.aclose()

    answers = asyncio.run(run_all())
    pairs: list[Comparison] = []
    by_principle: dict[str, int] = {}
    unchanged = failed = 0
    for (prompt, response), principle, answer in zip(items, drawn, answers, strict=True):
        if answer is None:
            failed += 1
        elif answer[1] == (response.text or "").strip():
            unchanged += 1
        else:
            pairs.append(_pair(prompt, response, *answer, principle, constitution, reviser.source))
            by_principle[principle.name] = by_principle.get(principle.name, 0) + 1
    ledger = Ledger(store)
    generator_doc = config.model_dump(mode="json", exclude={"api_key_env"})
    used = [
        ledger.dataset_rows(dataset),
        EntityRef(kind="constitution", id=constitution.name, hash=constitution.digest),
        EntityRef(kind="generator-config", id=config.name, hash=reviser.hash),
    ]
    added, rows = ledger.add_records(
        out,
        pairs,
        activity=ACTIVITY,
        agent=current_agent(),
        used=used,
        attributes=lambda n: {
            "method": METHOD,
            "synthetic": True,
            "source_dataset": dataset,
            "constitution": constitution.name,
            "generator": generator_doc,
            "seed": seed,
            "pairs": len(pairs),
            "added": n,
            "by_principle": by_principle,
            "unchanged": unchanged,
            "failed": failed,
        },
    )
    entry = ledger.find(rows.kind, rows.id)[-1]
    return ReviseResult(
        dataset=dataset,
        out=out,
        constitution=constitution.name,
        generator=config.name,
        responses=len(items),
        revised=len(pairs),
        unchanged=unchanged,
        failed=failed,
        added=added,
        calls=reviser.client.calls,
        cache_hits=reviser.cache_hits,
        by_principle=by_principle,
        record=entry.id,
    )
