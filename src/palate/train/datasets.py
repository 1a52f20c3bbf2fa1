"""Training sets from the store, in TRL's dataset formats.

- preference pairs (``prompt``/``chosen``/``rejected``) for DPO and reward models,
- SFT rows (``prompt``/``completion``) from the chosen responses,
- prompt sets (``prompt``) for online RL such as GRPO,

each plain text or conversational (lists of ``{role, content}`` messages).

All judgements of the same two responses to the same prompt are pooled before a pair is
formed, so that ties, AlpacaEval strengths, low agreement and rubric dimensions are handled
by the stated ``PairPolicy`` instead of by whichever judgement came last. Plain text pairs
are read from the store's text columns; other records' bodies are decoded with msgspec into
the few fields needed (the rest of the JSON is skipped, not built). Columns go straight into
Arrow. Plain text preference sets on SQLite whose rows are all plain text pairs are read and
pooled as columns instead (``palate.train.text_pairs``), with the same result.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import msgspec
import orjson
import pyarrow as pa
from datasets import Dataset
from datasets.fingerprint import generate_random_fingerprint

from palate.io.report import ExportReport
from palate.schema.outcome import preference
from palate.store import Store
from palate.store.training import ComparisonRow, comparison_rows, count_unscored, text_pairs
from palate.train.config import PairPolicy
from palate.train.text_pairs import preference_columns

Content = str | list[dict[str, str]]


class _Message(msgspec.Struct):
    role: str
    content: str


class _Part(msgspec.Struct):
    text: str | None = None
    messages: list[_Message] | None = None


class _Comparison(msgspec.Struct):
    prompt: _Part
    responses: list[_Part]
    winner: int | None = None
    tie: bool = False
    strength: float | None = None
    ranking: list[int] | None = None
    unscored: Any = None
    dimension: str | None = None


_decoder = msgspec.json.Decoder(_Comparison)


@dataclass
class BuildReport:
    """What went into a training set and what was left out, by reason."""

    judgements: int = 0  # scored comparisons read
    rows: int = 0
    dropped: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "judgements": self.judgements,
            "rows": self.rows,
            "dropped": dict(sorted(self.dropped.items())),
        }


@dataclass(slots=True)
class Pair:
    """Pooled judgements of one (prompt, first, second) pair; preference is for ``first``."""

    prompt: _Part
    first: _Part
    second: _Part
    weight: float = 0.0
    weighted_preference: float = 0.0
    for_first: float = 0.0  # weight of judgements preferring first
    for_second: float = 0.0

    @property
    def preference(self) -> float:
        return self.weighted_preference / self.weight

    def add(self, w: float, p: float) -> None:
        """Pool one judgement of weight ``w`` preferring ``first`` with probability ``p``."""
        self.weight += w
        self.weighted_preference += w * p
        if p > 0.5:
            self.for_first += w
        elif p < 0.5:
            self.for_second += w


def _key(part: _Part) -> str:
    if part.messages is not None:
        return orjson.dumps([(m.role, m.content) for m in part.messages]).decode()
    return part.text or ""


def _from_body(body: str) -> tuple[_Part, _Part, _Part, float, str | None] | str:
    """(prompt, one response, the other, preference for the first, dimension) of a stored
    comparison's JSON body, or the reason it gives no pair."""
    c = _decoder.decode(body)
    found = preference(c)
    if isinstance(found, str):
        return found
    i, j, p = found
    return c.prompt, c.responses[i], c.responses[j], p, c.dimension


PairKey = tuple[str, str, str]  # prompt, and the two responses in sorted order
_TextRow = tuple[str, str, str, float, str | None, str | None]


def pool_pairs(
    rows: Iterable[list[ComparisonRow]], policy: PairPolicy, report: BuildReport
) -> dict[PairKey, Pair]:
    """Pool the judgements in ``rows`` by (prompt, unordered response pair).

    Plain text pairs come with their texts and outcome as columns: for them the loop is
    kept to dictionary work, and response objects are made once per pair, not per row."""
    weights = policy.dimension_weights
    pairs: dict[PairKey, Pair] = {}
    find = pairs.get
    for batch in rows:
        report.judgements += len(batch)
        # Typed as texts: where they are NULL, ``body`` is set and the row goes the slow way.
        for kp, ka, kb, p, dimension, body in cast(list[_TextRow], batch):
            if body is not None:
                _pool_body(pairs, body, weights, report)
                continue
            w = 1.0 if weights is None else weights.get(dimension or "", 0.0)
            if w <= 0:
                report.dropped["dimension weight 0"] += 1
                continue
            # one orientation per unordered pair; ``p`` is the preference for text_a
            key = (kp, kb, ka) if ka > kb else (kp, ka, kb)
            if ka > kb:
                p = 1.0 - p
            pair = find(key)
            if pair is None:
                pair = pairs[key] = Pair(_Part(text=kp), _Part(text=key[1]), _Part(text=key[2]))
            pair.add(w, p)
    return pairs


def _pool_body(
    pairs: dict[PairKey, Pair], body: str, weights: dict[str, float] | None, report: BuildReport
) -> None:
    """``pool_pairs`` for one record whose texts are not in columns (messages, rankings)."""
    judgement = _from_body(body)
    if isinstance(judgement, str):
        report.dropped[judgement] += 1
        return
    prompt, a, b, p, dimension = judgement
    w = 1.0 if weights is None else weights.get(dimension or "", 0.0)
    if w <= 0:
        report.dropped["dimension weight 0"] += 1
        return
    ka, kb = _key(a), _key(b)
    if ka > kb:
        a, b, ka, kb, p = b, a, kb, ka, 1.0 - p
    key = (_key(prompt), ka, kb)
    pair = pairs.get(key)
    if pair is None:
        pair = pairs[key] = Pair(prompt, a, b)
    pair.add(w, p)


def decided(
    pairs: Iterable[Pair], policy: PairPolicy, report: BuildReport
) -> Iterator[tuple[Pair, bool, float]]:
    """(pair, first_is_chosen, margin) for pairs the policy keeps; the rest are counted."""
    for pair in pairs:
        p = pair.preference
        if p == 0.5:
            report.dropped["tie"] += 1
            continue
        if abs(p - 0.5) < policy.min_margin:
            report.dropped["preference below min_margin"] += 1
            continue
        first_wins = p > 0.5
        agree = (pair.for_first if first_wins else pair.for_second) / pair.weight
        if agree < policy.min_agreement:
            report.dropped["agreement below min_agreement"] += 1
            continue
        yield pair, first_wins, 2.0 * abs(p - 0.5)


def _prompt_content(part: _Part, conversational: bool) -> Content | None:
    if conversational:
        if part.messages is not None:
            return [{"role": m.role, "content": m.content} for m in part.messages]
        return None if part.text is None else [{"role": "user", "content": part.text}]
    return part.text


def _response_content(part: _Part, conversational: bool) -> Content | None:
    if conversational:
        if part.messages is not None:
            return [{"role": m.role, "content": m.content} for m in part.messages]
        return None if part.text is None else [{"role": "assistant", "content": part.text}]
    return part.text


def _reason_no_text(conversational: bool) -> str:
    return "no text" if conversational else "messages only (use format: conversational)"


def _column(values: list[Any], conversational: bool) -> pa.Array:
    if conversational:
        return pa.array(values)
    return pa.array(values, type=pa.large_string())


def _dataset(columns: dict[str, list[Any]], conversational: bool) -> Dataset:
    arrays = {
        name: values if name == "margin" else _column(values, conversational)
        for name, values in columns.items()
    }
    return _arrow_dataset(pa.table(arrays))


def _arrow_dataset(table: pa.Table) -> Dataset:
    # A random fingerprint: the default one pickles and hashes every row (a tenth of the
    # build); it only names in-memory datasets for caching, and ``rows_hash`` names the rows.
    return Dataset(table, fingerprint=generate_random_fingerprint())


def _dimensions(policy: PairPolicy) -> list[str] | None:
    """The rubric dimensions the policy reads, or None for all."""
    if policy.dimension is not None:
        return [policy.dimension]
    if policy.dimension_weights is not None:
        return sorted(policy.dimension_weights)
    return None


def _read(store: Store, dataset: str, policy: PairPolicy, report: BuildReport) -> list[Pair]:
    unscored = count_unscored(store, dataset)
    if unscored:
        report.dropped["unscored"] += unscored
    rows = comparison_rows(
        store, dataset, judged_by=policy.judged_by, dimensions=_dimensions(policy)
    )
    return list(pool_pairs(rows, policy, report).values())


def _preference_from_columns(
    store: Store, dataset: str, policy: PairPolicy
) -> tuple[Dataset, BuildReport] | None:
    """``preference_dataset`` for plain text when every row is a plain text pair on SQLite,
    read and pooled as columns (no Python object per row); None where that does not apply."""
    dimensions = _dimensions(policy)
    pairs = text_pairs(store, dataset, judged_by=policy.judged_by, dimensions=dimensions)
    if pairs is None:
        return None
    report = BuildReport(judgements=len(pairs.prompt))
    if pairs.unscored:
        report.dropped["unscored"] += pairs.unscored
    columns = preference_columns(pairs, dimensions, policy, report.dropped)
    report.rows = len(columns["prompt"])
    return _arrow_dataset(pa.table(columns)), report


def preference_dataset(
    store: Store, dataset: str, policy: PairPolicy
) -> tuple[Dataset, BuildReport]:
    """TRL preference rows (``prompt``, ``chosen``, ``rejected`` and optionally ``margin``)."""
    conversational = policy.format == "conversational"
    if not conversational and (from_columns := _preference_from_columns(store, dataset, policy)):
        return from_columns
    report = BuildReport()
    columns: dict[str, list[Any]] = {"prompt": [], "chosen": [], "rejected": []}
    if policy.with_margin:
        columns["margin"] = []
    for pair, first_wins, margin in decided(_read(store, dataset, policy, report), policy, report):
        chosen, rejected = (pair.first, pair.second) if first_wins else (pair.second, pair.first)
        if conversational:
            prompt = _prompt_content(pair.prompt, conversational)
            chosen_c = _response_content(chosen, conversational)
            rejected_c = _response_content(rejected, conversational)
        else:  # the common case, without three calls a row
            prompt, chosen_c, rejected_c = pair.prompt.text, chosen.text, rejected.text
        if prompt is None or chosen_c is None or rejected_c is None:
            report.dropped[_reason_no_text(conversational)] += 1
            continue
        columns["prompt"].append(prompt)
        columns["chosen"].append(chosen_c)
        columns["rejected"].append(rejected_c)
        if policy.with_margin:
            columns["margin"].append(margin)
    report.rows = len(columns["prompt"])
    return _dataset(columns, conversational), report


def sft_dataset(store: Store, dataset: str, policy: PairPolicy) -> tuple[Dataset, BuildReport]:
    """TRL prompt-completion rows from the chosen response of each kept pair, deduplicated.

    With ``policy.judged_by`` naming gold raters, this is SFT on gold-preferred responses.
    """
    report = BuildReport()
    conversational = policy.format == "conversational"
    columns: dict[str, list[Any]] = {"prompt": [], "completion": []}
    seen: set[tuple[str, str]] = set()
    for pair, first_wins, _ in decided(_read(store, dataset, policy, report), policy, report):
        chosen = pair.first if first_wins else pair.second
        key = (_key(pair.prompt), _key(chosen))
        if key in seen:
            report.dropped["same chosen response again"] += 1
            continue
        seen.add(key)
        prompt = _prompt_content(pair.prompt, conversational)
        completion = _response_content(chosen, conversational)
        if prompt is None or completion is None:
            report.dropped[_reason_no_text(conversational)] += 1
            continue
        columns["prompt"].append(prompt)
        columns["completion"].append(completion)
    report.rows = len(columns["prompt"])
    return _dataset(columns, conversational), report


def prompt_dataset(store: Store, dataset: str, policy: PairPolicy) -> tuple[Dataset, BuildReport]:
    """The distinct prompts of the dataset's comparisons, for online RL (``prompt`` column)."""
    report = BuildReport()
    conversational = policy.format == "conversational"
    prompts: list[Any] = []
    seen: set[str] = set()
    for batch in comparison_rows(store, dataset, judged_by=policy.judged_by):
        report.judgements += len(batch)
        for prompt_text, _a, _b, _outcome_a, _dimension, body in batch:
            prompt = _Part(text=prompt_text) if body is None else _decoder.decode(body).prompt
            key = _key(prompt)
            if key in seen:
                continue
            seen.add(key)
            content = _prompt_content(prompt, conversational)
            if content is None:
                report.dropped[_reason_no_text(conversational)] += 1
                continue
            prompts.append(content)
    report.rows = len(prompts)
    return _dataset({"prompt": prompts}, conversational), report


def rows_hash(data: Dataset) -> str:
    """SHA-256 over the rows' canonical JSON, one per line: names exactly what was trained on."""
    digest = hashlib.sha256()
    for batch in data.with_format("arrow").iter(batch_size=10_000):
        for row in batch.to_pylist():
            digest.update(orjson.dumps(row, option=orjson.OPT_SORT_KEYS) + b"\n")
    return digest.hexdigest()


def export_preferences(store: Store, dataset: str, policy: PairPolicy, out: Path) -> ExportReport:
    """Write the rows ``preference_dataset`` builds as TRL JSON lines: exactly the pairs a
    training run with the same ``pairs:`` settings trains on, pooled and filtered the same way."""
    data, built = preference_dataset(store, dataset, policy)
    report = ExportReport(format="trl", path=str(out), written=built.rows)
    report.dropped.update(built.dropped)
    with out.open("w", encoding="utf-8", newline="\n") as f:
        for row in data:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return report
