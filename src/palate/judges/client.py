"""An async client for OpenAI-compatible chat completions that keeps going when the server
does not.

Judge runs make tens of thousands of calls to endpoints that rate-limit, time out, drop
connections and fail with 5xx. The client bounds the requests in flight (a semaphore), keeps
to request- and token-per-minute budgets (token buckets), retries what is worth retrying
(429, 408, 5xx, timeouts, connection errors) with exponential backoff and full jitter (AWS
Architecture Blog, "Exponential Backoff And Jitter"), and waits as long as a ``Retry-After``
header asks, in seconds or as an HTTP date. The jitter comes from a seeded generator, so a
rerun waits the same way. It never raises for a failed call: the result says what went wrong,
so a judge can turn it into an unscored record.

We speak HTTP ourselves (``palate.judges.http``) rather than through the ``openai`` package:
that package retries on its own terms (no seeded jitter, no token budget), its objects would
hide the raw response that an unscored record must keep, and its HTTP stack (httpx) costs more
CPU per call than a busy run can spare.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from palate.errors import PalateError
from palate.judges.http import HttpConnectionError, HttpResponse, HttpTimeout, transport

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
MAX_WAIT_S = 120.0  # longest single wait, whatever a Retry-After header asks
BURST_S = 10.0  # a rate limiter holds this many seconds' worth (providers enforce sub-minute)


@dataclass(frozen=True)
class ChatResult:
    """One chat completion, or why there is none (``error`` set, ``text`` None)."""

    text: str | None
    """The first choice's message content."""
    finish_reason: str | None
    """'stop', 'length' (truncated), 'content_filter', ..."""
    refusal: str | None
    """The message's ``refusal`` field, for endpoints that return one."""
    top_logprobs: list[dict[str, float]] | None
    """Per output token, the alternatives' logprobs (token -> logprob), when asked for."""
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_s: float
    """Wall time from the first attempt to the answer, waits included."""
    attempts: int
    """HTTP requests made for this call (1 + retries)."""
    error: str | None = None
    """Why the call failed after its retries (or could not be retried)."""
    raw: str | None = None
    """The response body when it could not be read as a chat completion."""
    tool_calls: list[dict[str, Any]] | None = None
    """The message's tool calls (OpenAI format), when the request offered tools."""

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "finish_reason": self.finish_reason,
            "refusal": self.refusal,
            "top_logprobs": self.top_logprobs,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_s": self.latency_s,
            "attempts": self.attempts,
            "error": self.error,
            "raw": self.raw,
            "tool_calls": self.tool_calls,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChatResult:
        return cls(**data)


class TokenBucket:
    """A budget of ``per_minute`` units refilled continuously, at most ``BURST_S`` worth held.

    Acquisitions are served first come, first served (a lock), so a large request is not
    starved by small ones; one larger than the whole bucket waits until the bucket is full.
    """

    def __init__(self, per_minute: float) -> None:
        if per_minute <= 0:
            raise PalateError(f"a rate limit must be positive (got {per_minute})")
        self.rate = per_minute / 60.0
        self.capacity = per_minute * BURST_S / 60.0
        self.level = self.capacity
        self.stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self, amount: float) -> None:
        amount = min(amount, self.capacity)
        async with self._lock:
            while True:
                now = time.monotonic()
                self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.level >= amount:
                    self.level -= amount
                    return
                await asyncio.sleep((amount - self.level) / self.rate)


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def estimate_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    """A rough prompt token count (4 characters a token, OpenAI's rule of thumb), used only
    to keep to a token budget before the server reports the real count. Tool calls count by
    their JSON text."""
    chars = sum(len(m.get("content") or "") + len(str(m.get("tool_calls") or "")) for m in messages)
    return chars // 4 + 4 * len(messages)


def _top_logprobs(choice: Mapping[str, Any]) -> list[dict[str, float]] | None:
    content = (choice.get("logprobs") or {}).get("content")
    if not content:
        return None
    out = []
    for token in content:
        alternatives = {
            str(a["token"]): float(a["logprob"]) for a in token.get("top_logprobs") or []
        }
        alternatives.setdefault(str(token["token"]), float(token["logprob"]))
        out.append(alternatives)
    return out


class ChatClient:
    """Chat completions against one OpenAI-compatible endpoint (see the module doc)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        concurrency: int = 16,
        timeout_s: float = 60.0,
        max_retries: int = 6,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        seed: int = 0,
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.calls = 0
        """HTTP requests sent (retries included)."""
        self._requests = None if requests_per_minute is None else TokenBucket(requests_per_minute)
        self._tokens = None if tokens_per_minute is None else TokenBucket(tokens_per_minute)
        self._jitter = random.Random(seed)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = transport(self.url, headers, timeout_s)
        self._slots = asyncio.Semaphore(concurrency)
        """One per request allowed in flight (the pool opens a connection per request in
        flight, so this also bounds the connections)."""

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def backoff_s(self, attempt: int) -> float:
        """Full jitter: uniform on [0, min(max, base * 2^attempt)]."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2.0**attempt)
        return self._jitter.uniform(0.0, ceiling)

    def request_body(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        json_output: bool = False,
        top_logprobs: int | None = None,
        seed: int | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The JSON body ``chat`` sends (its hash keys a cache of completed calls)."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if json_output:
            body["response_format"] = {"type": "json_object"}
        if top_logprobs is not None:
            body["logprobs"] = True
            body["top_logprobs"] = top_logprobs
        if seed is not None:
            body["seed"] = seed
        if tools:
            body["tools"] = list(tools)
        return body

    async def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        json_output: bool = False,
        top_logprobs: int | None = None,
        seed: int | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> ChatResult:
        """One completion, retried as the module doc says; never raises for HTTP trouble.
        ``tools`` (OpenAI function schemas) lets the model answer with tool calls."""
        body = self.request_body(
            messages,
            max_tokens=max_tokens,
            temperature=temperature,
            json_output=json_output,
            top_logprobs=top_logprobs,
            seed=seed,
            tools=tools,
        )
        payload = orjson.dumps(body)
        budget = estimate_tokens(messages) + max_tokens
        started = time.perf_counter()
        attempt = 0
        while True:
            if self._requests is not None:
                await self._requests.acquire(1)
            if self._tokens is not None:
                await self._tokens.acquire(budget)
            async with self._slots:
                self.calls += 1
                attempt += 1
                try:
                    response = await self._http.post(payload)
                except HttpTimeout as exc:
                    problem, wait = f"timeout ({exc})", None
                except HttpConnectionError as exc:
                    problem, wait = f"connection error ({exc})", None
                else:
                    if response.status_code == 200:
                        return self._read(response, started, attempt)
                    problem = f"HTTP {response.status_code}: {response.text[:200]}"
                    if response.status_code not in RETRY_STATUS:
                        return self._failed(problem, started, attempt, response.text)
                    wait = retry_after_s(response.headers.get("retry-after"))
            if attempt > self.max_retries:
                return self._failed(f"{problem} after {attempt} attempts", started, attempt)
            await asyncio.sleep(
                min(MAX_WAIT_S, wait if wait is not None else self.backoff_s(attempt - 1))
            )

    @staticmethod
    def _failed(problem: str, started: float, attempts: int, raw: str | None = None) -> ChatResult:
        return ChatResult(
            text=None,
            finish_reason=None,
            refusal=None,
            top_logprobs=None,
            prompt_tokens=None,
            completion_tokens=None,
            latency_s=time.perf_counter() - started,
            attempts=attempts,
            error=problem,
            raw=raw,
        )

    def _read(self, response: HttpResponse, started: float, attempts: int) -> ChatResult:
        try:
            data = orjson.loads(response.content)
            choice = data["choices"][0]
            message = choice.get("message") or {}
            usage = data.get("usage") or {}
            return ChatResult(
                text=message.get("content"),
                finish_reason=choice.get("finish_reason"),
                refusal=message.get("refusal"),
                top_logprobs=_top_logprobs(choice),
                prompt_tokens=usage.get("prompt_tokens"),
                completion_tokens=usage.get("completion_tokens"),
                latency_s=time.perf_counter() - started,
                attempts=attempts,
                tool_calls=message.get("tool_calls") or None,
            )
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            problem = f"malformed response body ({type(exc).__name__})"
            return self._failed(problem, started, attempts, response.text[:10_000])
