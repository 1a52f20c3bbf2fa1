"""The chat client against the real loopback server: retries, Retry-After, limits, timeouts."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from palate.judges.client import ChatClient, ChatResult, TokenBucket, retry_after_s
from palate.rubric import render_pairwise
from palate.testing.loopback import LoopbackServer, Script


def _messages(i: int = 0) -> list[dict[str, str]]:
    return render_pairwise(None, f"Question {i}?", "short", "a longer answer")


def _run(url: str, n: int, **kwargs: object) -> tuple[list[ChatResult], int]:
    async def main() -> tuple[list[ChatResult], int]:
        async with ChatClient(url, "loopback", **kwargs) as client:  # type: ignore[arg-type]
            results = await asyncio.gather(
                *(client.chat(_messages(i), max_tokens=64, json_output=True) for i in range(n))
            )
            return list(results), client.calls

    return asyncio.run(main())


def test_transient_faults_are_retried_until_every_call_succeeds() -> None:
    script = Script(fault_rate=1.0, faults=("429", "500", "drop"), retry_after="0")
    with LoopbackServer(script) as server:
        results, calls = _run(server.base_url, 30, max_retries=3, backoff_base_s=0.01, seed=1)
        by_status = dict(server.stats.by_status)
    assert all(r.error is None and r.text for r in results)
    # each request fails once or twice first, so there are between 2n and 3n attempts
    assert 60 <= calls <= 90 and calls == server.stats.requests
    assert sum(r.attempts for r in results) == calls
    assert by_status["200"] == 30 and by_status.get("drop", 0) > 0


def test_gives_up_after_max_retries_with_the_reason() -> None:
    with LoopbackServer(Script(fault_rate=1.0, faults=("500",))) as server:
        results, calls = _run(server.base_url, 3, max_retries=0)
    assert calls == 3
    assert all(r.text is None and r.error and "HTTP 500" in r.error for r in results)


def test_retry_after_header_is_honoured() -> None:
    with LoopbackServer(Script(fault_rate=1.0, faults=("429",), retry_after="0.4")) as server:
        started = time.perf_counter()
        results, _ = _run(server.base_url, 4, max_retries=3, backoff_base_s=0.001)
        elapsed = time.perf_counter() - started
    assert all(r.error is None for r in results)
    assert elapsed >= 0.4  # the backoff alone would have waited a few milliseconds


def test_retry_after_parses_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_s("3") == 3.0
    assert retry_after_s(format_datetime(now + timedelta(seconds=7), usegmt=True), now) == 7.0
    assert retry_after_s(format_datetime(now - timedelta(seconds=7), usegmt=True), now) == 0.0
    assert retry_after_s("soon") is None and retry_after_s(None) is None


def test_timeouts_are_retried_then_reported() -> None:
    with LoopbackServer(Script(latency_s=0.5)) as server:
        results, calls = _run(server.base_url, 2, timeout_s=0.1, max_retries=1, backoff_base_s=0.01)
    assert calls == 4
    assert all(r.error is not None and r.error.startswith("timeout") for r in results)


def test_concurrency_is_bounded() -> None:
    # 24 calls of 0.2 s through 8 slots: the server sees 8 at once, never more (counted at the
    # server, not timed, so a loaded machine cannot fail it), and three rounds take >= 0.6 s
    with LoopbackServer(Script(latency_s=0.2)) as server:
        started = time.perf_counter()
        _run(server.base_url, 24, concurrency=8)
        elapsed = time.perf_counter() - started
        assert server.stats.most_in_flight == 8
    assert elapsed >= 0.6


def test_token_bucket_paces_after_its_burst() -> None:
    async def main() -> float:
        bucket = TokenBucket(per_minute=6000)  # 100 a second, 1,000 held
        await bucket.acquire(1000)
        started = time.perf_counter()
        for _ in range(50):
            await bucket.acquire(1)
        return time.perf_counter() - started

    # at least the paced 0.5 s (less its start-up slack); the upper bound only catches a bucket
    # refilling far too slowly (e.g. per minute read as per second: 30 s), not a busy machine
    assert 0.4 <= asyncio.run(main()) < 5.0


def test_request_rate_limit_holds_through_the_client() -> None:
    # 600 a minute: 100 in the burst, then 10 a second, so 120 requests take at least 2 s
    with LoopbackServer() as server:
        started = time.perf_counter()
        results, _ = _run(server.base_url, 120, concurrency=32, requests_per_minute=600)
        elapsed = time.perf_counter() - started
    assert all(r.error is None for r in results)
    assert 1.9 <= elapsed < 20.0  # a wrong rate (per second read as per minute) takes minutes


def test_letter_answers_carry_top_logprobs_and_usage() -> None:
    async def main(url: str) -> ChatResult:
        async with ChatClient(url, "loopback") as client:
            letter = render_pairwise(None, "Q?", "short", "much longer", style="letter")
            return await client.chat(letter, max_tokens=1, top_logprobs=5)

    with LoopbackServer(Script(verdict="longer")) as server:
        result = asyncio.run(main(server.base_url))
    assert result.text == "B" and result.top_logprobs is not None
    assert abs(sum(2.718281828**v for v in result.top_logprobs[0].values()) - 1) < 1e-3
    assert result.prompt_tokens and result.completion_tokens == 1
