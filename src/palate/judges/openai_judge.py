"""An LLM judge behind any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server).

It renders the rubric's prompt, calls the endpoint through ``ChatClient`` and reads the answer
by the contracts in API.md. Whatever goes wrong (unparsable text, a refusal, an answer cut off
at ``max_tokens``, a call that failed after its retries) becomes an unscored record holding the
reason and the raw output; nothing is dropped and nothing is guessed.

Letter style reads the preference the way AlpacaEval's weighted annotators do: the first output
token's top logprobs, P(A) / (P(A) + P(B)) over the tokens that spell each letter, kept as
``CallInfo.preference`` and as the Comparison's ``strength`` in [1, 2].

Every completed call is kept in a ``JudgeCallCache`` (when one is given) under the content hash
of what determines it, so a rerun or a resumed run reuses it instead of calling again.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from palate.errors import PalateError
from palate.judges.base import JudgeResources, PairTask, PointTask
from palate.judges.client import ChatClient, ChatResult
from palate.judges.config import OpenAIJudgeConfig, config_hash
from palate.rubric import load_rubric, render_pairwise, render_pointwise, rubric_version
from palate.schema import CallInfo, Comparison, Prompt, Rating, Response, Rubric, Source, Unscored
from palate.schema.hashing import canonical_bytes
from palate.schema.outcome import strength_outcome
from palate.schema.text import prompt_text, response_text
from palate.store.judge_cache import JudgeCallCache

if TYPE_CHECKING:
    from palate.store import Store

Messages = list[dict[str, str]]

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def _text(prompt: Prompt) -> str:
    return prompt_text(prompt) or prompt.id or ""


def _response_text(response: Response) -> str:
    return response_text(response) or ""


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The JSON object in a model's answer: all of it, a fenced block, or the outermost
    braces; None when there is none."""
    text = text.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(text[start : end + 1])
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def letter_preference(top_logprobs: Sequence[dict[str, float]] | None) -> float | None:
    """P(A) / (P(A) + P(B)) from the first token's alternatives (tokens that strip to 'A' or
    'B', any case, summed), or None when neither letter is among them."""
    if not top_logprobs:
        return None
    mass = {"A": 0.0, "B": 0.0}
    for token, logprob in top_logprobs[0].items():
        letter = token.strip().upper()
        if letter in mass:
            mass[letter] += math.exp(logprob)
    total = mass["A"] + mass["B"]
    return mass["A"] / total if total > 0 else None


def chat_client(config: OpenAIJudgeConfig) -> ChatClient:
    """The HTTP client a judge config describes (endpoint, key, limits, retries)."""
    return ChatClient(
        config.base_url,
        config.model,
        api_key=resolve_api_key(config),
        concurrency=config.concurrency,
        timeout_s=config.timeout_s,
        max_retries=config.max_retries,
        backoff_base_s=config.backoff_base_s,
        requests_per_minute=config.requests_per_minute,
        tokens_per_minute=config.tokens_per_minute,
        seed=config.seed or 0,
    )


def resolve_api_key(config: OpenAIJudgeConfig) -> str | None:
    """The API key from the environment variable the config names (None when it names none)."""
    if config.api_key_env is None:
        return None
    key = os.environ.get(config.api_key_env)
    if not key:
        raise PalateError(
            f"judge '{config.name}': environment variable {config.api_key_env} is not set "
            "(it must hold the API key; set api_key_env: null for servers without one)"
        )
    return key


class OpenAIJudge(JudgeResources):
    """Pairwise and pointwise judge over an OpenAI-compatible chat endpoint."""

    def __init__(
        self,
        config: OpenAIJudgeConfig,
        *,
        rubric: Rubric | None = None,
        cache: JudgeCallCache | None = None,
        client: ChatClient | None = None,
    ) -> None:
        self.config = config
        self.hash = config_hash(config)
        self.source = Source(kind="judge", name=config.name, version=self.hash)
        if rubric is None and config.rubric is not None:
            if not Path(config.rubric).is_file():
                raise PalateError(
                    f"judge '{config.name}': rubric '{config.rubric}' is not a file; pass the "
                    "stored rubric (palate judge run --rubric VERSION)"
                )
            rubric = load_rubric(Path(config.rubric))
        self.rubric = rubric
        self.rubric_version = None if rubric is None else rubric_version(rubric)
        self.cache = cache
        self.cache_hits = 0
        self.client = client or chat_client(config)

    def use(self, store: Store, rubric: Rubric | None) -> None:
        """Cache calls in ``store`` and judge with ``rubric`` (None: the config's, if any);
        what a judge run does before its first call."""
        if rubric is not None:
            self.rubric, self.rubric_version = rubric, rubric_version(rubric)
        if self.cache is None or self.cache.store is not store:
            self.cache = JudgeCallCache(store, self.hash)

    async def aclose(self) -> None:
        await self.client.aclose()

    @property
    def calls(self) -> int:
        """HTTP requests made by this judge (retries included; cache hits make none)."""
        return self.client.calls

    # -- calls -----------------------------------------------------------------------------

    def cache_key(self, messages: Messages, *, parts: dict[str, Any]) -> str:
        """Content hash of everything that determines a call: the judge config hash, rubric
        version, prompt, responses, presentation order, seed and replicate (``parts``), and
        the rendered messages themselves (so an edited template is a new call)."""
        data = {"judge": self.hash, "rubric": self.rubric_version, **parts, "messages": messages}
        return hashlib.sha256(canonical_bytes(data)).hexdigest()

    async def _call(self, messages: Messages, key: str, *, letter: bool) -> ChatResult:
        """The call's result, from the cache when it was completed before."""
        if self.cache is not None:
            stored = self.cache.get(key)
            if stored is not None:
                self.cache_hits += 1
                return ChatResult.from_json(stored)
        config = self.config
        result = await self.client.chat(
            messages,
            max_tokens=1 if letter else config.max_tokens,
            temperature=config.temperature,
            json_output=not letter,
            top_logprobs=config.top_logprobs if letter else None,
            seed=config.seed,
        )
        if self.cache is not None and result.error is None:
            await self.cache.put(key, result.to_json())  # failures are retried on a rerun
        return result

    def _call_info(self, result: ChatResult, key: str, preference: float | None) -> CallInfo:
        cost = None
        if result.prompt_tokens is not None and result.completion_tokens is not None:
            cost = (
                result.prompt_tokens * self.config.prompt_price_per_1k
                + result.completion_tokens * self.config.completion_price_per_1k
            ) / 1000.0
        return CallInfo(
            latency_s=result.latency_s,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            cost_usd=cost,
            raw_output=result.text if result.text is not None else result.raw,
            preference=preference,
            cache_key=key,
            attempts=result.attempts,
        )

    @staticmethod
    def _failure(result: ChatResult) -> str | None:
        """Why a call's answer cannot be read at all, or None."""
        if result.error is not None:
            return f"error: {result.error}"
        if result.refusal:
            return "refusal"
        if result.finish_reason == "content_filter":
            return "refusal (content filter)"
        if result.finish_reason == "length":
            return "truncated (finish_reason length)"
        if result.text is None:
            return "empty answer"
        return None

    # -- pairwise --------------------------------------------------------------------------

    async def judge_pair(self, task: PairTask) -> Comparison:
        config = self.config
        letter = config.style == "letter"
        first, second = task.shown
        messages = render_pairwise(
            self.rubric,
            _text(task.prompt),
            _response_text(first),
            _response_text(second),
            dimension=task.dimension or config.dimension,
            style=config.style,
        )
        parts = {
            "prompt": task.prompt.model_dump(mode="json"),
            "responses": [r.model_dump(mode="json") for r in task.responses],
            "order": list(task.order),
            "seed": task.seed,
            "replicate": task.replicate,
        }
        key = self.cache_key(messages, parts=parts)
        result = await self._call(messages, key, letter=letter)
        common: dict[str, Any] = {
            "prompt": task.prompt,
            "responses": list(task.responses),
            "judge": self.source,
            "rubric": task.rubric or self.rubric_version,
            "dimension": task.dimension or config.dimension,
            "presentation_order": list(task.order),
            "presentation_seed": task.seed,
        }
        if task.replicate:
            common["metadata"] = {"replicate": task.replicate}
        failure = self._failure(result)
        if failure is None and letter:
            return self._read_letter(result, key, task, common)
        if failure is None:
            return self._read_json(result, key, task, common)
        raw = result.text if result.text is not None else result.raw
        return Comparison(
            unscored=Unscored(reason=failure, raw_output=raw),
            call=self._call_info(result, key, None),
            **common,
        )

    def _read_json(
        self, result: ChatResult, key: str, task: PairTask, common: dict[str, Any]
    ) -> Comparison:
        assert result.text is not None
        data = parse_json_object(result.text)
        verdict = None if data is None else data.get("verdict")
        shown = {"A": task.order[0], "B": task.order[1]}
        label = verdict.strip().upper() if isinstance(verdict, str) else None
        if label not in ("A", "B", "TIE"):
            why = "unparsable: no JSON object" if data is None else "unparsable: no valid verdict"
            return Comparison(
                unscored=Unscored(reason=why, raw_output=result.text),
                call=self._call_info(result, key, None),
                **common,
            )
        rationale = data.get("rationale") if data is not None else None
        outcome: dict[str, Any] = {"tie": True} if label == "TIE" else {"winner": shown[label]}
        return Comparison(
            rationale=rationale if isinstance(rationale, str) else None,
            call=self._call_info(result, key, None),
            **outcome,
            **common,
        )

    def _read_letter(
        self, result: ChatResult, key: str, task: PairTask, common: dict[str, Any]
    ) -> Comparison:
        assert result.text is not None
        p_shown_first = letter_preference(result.top_logprobs)
        if p_shown_first is None:  # no logprobs: the letter itself, without a strength
            letter = result.text.strip().upper()[:1]
            if letter not in ("A", "B"):
                return Comparison(
                    unscored=Unscored(reason="unparsable: not A or B", raw_output=result.text),
                    call=self._call_info(result, key, None),
                    **common,
                )
            winner = task.order[0] if letter == "A" else task.order[1]
            return Comparison(winner=winner, call=self._call_info(result, key, None), **common)
        # P(responses[0] preferred), in data order
        p0 = p_shown_first if task.order[0] == 0 else 1.0 - p_shown_first
        return Comparison(
            call=self._call_info(result, key, p0), **strength_outcome(2.0 - p0), **common
        )

    # -- pointwise -------------------------------------------------------------------------

    async def judge_point(self, task: PointTask) -> list[Rating]:
        rubric = self.rubric
        dims = list(task.dimensions) or (
            [d.name for d in rubric.dimensions] if rubric is not None else ["overall"]
        )
        messages = render_pointwise(
            rubric,
            _text(task.prompt),
            _response_text(task.response),
            dimensions=list(task.dimensions) or None,
        )
        parts = {
            "prompt": task.prompt.model_dump(mode="json"),
            "response": task.response.model_dump(mode="json"),
            "dimensions": dims,
            "seed": task.seed,
            "replicate": task.replicate,
        }
        key = self.cache_key(messages, parts=parts)
        result = await self._call(messages, key, letter=False)
        call = self._call_info(result, key, None)
        common: dict[str, Any] = {
            "item": task.item,
            "prompt": task.prompt,
            "response": task.response,
            "rater": self.source,
            "rubric": task.rubric or self.rubric_version,
            "call": call,
        }
        raw = result.text if result.text is not None else result.raw
        failure = self._failure(result)
        data = None if failure is not None else parse_json_object(result.text or "")
        if failure is None and (data is None or not isinstance(data.get("scores"), dict)):
            failure = "unparsable: no JSON object with scores"
        if failure is not None or data is None:
            unscored = Unscored(reason=failure or "unparsable", raw_output=raw)
            return [Rating(dimension=d, unscored=unscored, **common) for d in dims]
        scores: dict[str, Any] = data["scores"]
        rationale = data.get("rationale") if isinstance(data.get("rationale"), str) else None
        tags = [t for t in data.get("error_tags") or [] if isinstance(t, str)]
        known_tags = None if rubric is None else {t.name for t in rubric.error_taxonomy}
        if known_tags is not None:
            tags = [t for t in tags if t in known_tags]
        ratings = []
        for name in dims:
            value = scores.get(name)
            allowed = None
            if rubric is not None:
                allowed = {level.value for level in rubric.dimension(name).scale}
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or (allowed is not None and value not in allowed)
            ):
                why = f"unparsable: no valid score for '{name}'"
                ratings.append(
                    Rating(dimension=name, unscored=Unscored(reason=why, raw_output=raw), **common)
                )
                continue
            ratings.append(
                Rating(
                    dimension=name,
                    score=float(value),
                    rationale=rationale,
                    error_tags=tags,
                    **common,
                )
            )
        return ratings
