"""A scripted OpenAI-compatible chat-completions server on loopback, for tests, benchmarks and
dry runs.

It reads the judge prompts our rubric templates render (``<prompt>``, ``<response_a>``,
``<response_b>``, ``<response>``) and answers as a deterministic scripted judge would, in the
pairwise JSON, pairwise letter (with top logprobs) or pointwise JSON contract. It misbehaves on
request: latency, 429 with ``Retry-After``, 500, dropped connections, malformed and truncated
outputs. Faults are chosen from a hash of the seed and the request body, so a rerun meets the
same faults: malformed and truncated outputs are the model's answer to that request (every
attempt gets them), while 429, 500 and drops are transient (the first one or two attempts of
that request get them, later ones succeed), as they are in life.

With a ``tool_model`` it answers requests that offer tools as a tool-calling model would: the
model (see ``palate.saas.scripted_models``) picks the message, once per distinct request, so a
retried request gets the answer its first attempt would have had.

Run one in a background thread (``LoopbackServer``) or as its own process
(``python -m palate.testing.loopback --port 0``, which prints its base URL), when the client
under test must not share a core and a GIL with it. ``GET /stats`` reports the requests seen.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import multiprocessing
import re
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from palate.schema.hashing import canonical_bytes

Verdict = Literal["longer", "shorter", "seeded", "first"]
Fault = Literal["429", "500", "drop", "malformed", "truncated"]
FAULTS: tuple[Fault, ...] = ("429", "500", "drop", "malformed", "truncated")
TRANSIENT: frozenset[str] = frozenset({"429", "500", "drop"})

_TAG = re.compile(r"<(prompt|response_a|response_b|response)>\n(.*?)\n</\1>", re.DOTALL)
_SCALE = re.compile(r'"([^"]+)": <one of ([0-9, -]+)>')


def _unit(*parts: object) -> float:
    """A number in [0, 1) from a hash of the parts (stable across processes and runs)."""
    digest = hashlib.sha256(canonical_bytes([str(p) for p in parts])).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def preference(verdict: Verdict, seed: int, prompt: str, first: str, second: str) -> float:
    """P(the first shown response is better) for a scripted judge.

    longer/shorter: 0.9 towards the longer/shorter response (0.5 when equal), a verbosity-
    biased judge; seeded: a fixed per-item taste independent of the order shown (0.85 towards
    the response its hash picks); first: always 0.8 for the first shown, position bias only.
    """
    if verdict == "first":
        return 0.8
    if verdict == "seeded":
        a, b = sorted((first, second))
        pick = a if _unit(seed, "taste", prompt, a, b) < 0.5 else b
        return 0.85 if pick == first else 0.15
    sign = (len(first) > len(second)) - (len(first) < len(second))
    if verdict == "shorter":
        sign = -sign
    return 0.5 + 0.4 * sign


class ToolModel(Protocol):
    """A scripted tool-calling model: the assistant message for a request offering tools."""

    def reply(self, body: dict[str, Any]) -> dict[str, Any]: ...


@dataclass
class Script:
    """How the server behaves."""

    verdict: Verdict = "seeded"
    """The scripted judge's taste (see ``preference``)."""
    seed: int = 0
    """Seeds the taste and the faults."""
    latency_s: float = 0.0
    """Delay before each answer."""
    fault_rate: float = 0.0
    """Share of distinct requests that meet a fault."""
    faults: tuple[Fault, ...] = FAULTS
    """Which faults to inject, chosen uniformly per faulty request."""
    retry_after: str = "0.05"
    """``Retry-After`` value sent with 429s (seconds or an HTTP date)."""
    tie_band: float = 0.05
    """JSON style answers 'tie' when |P(first) - 0.5| is at most this."""
    respond: Callable[[list[dict[str, Any]]], str] | None = None
    """A scripted model: answers every request that carries no judge prompt (no
    ``<prompt>``/``<response>`` tags) with ``respond(messages)``; None answers as a judge."""
    tool_model: ToolModel | None = None
    """Answers requests that offer ``tools``; None: they get the judge's answers."""


@dataclass
class Stats:
    """What the server saw."""

    requests: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_body: Counter[str] = field(default_factory=Counter)  # sha256 of the request body
    authorization: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)  # bodies answered with a 200
    # (a request whose client went away during its latency is counted as "gone", not answered)
    in_flight: int = 0  # requests being answered now (inside their latency)
    most_in_flight: int = 0  # the high-water mark: a client's concurrency, seen from here

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "most_in_flight": self.most_in_flight,
            "by_status": dict(self.by_status),
            "by_body": dict(self.by_body),
            "answered": dict(self.answered),
            "authorization": dict(self.authorization),
        }


def _tags(messages: list[dict[str, Any]]) -> dict[str, str]:
    user = next(
        (str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), ""
    )
    return {k: v for k, v in _TAG.findall(user)}


def _answer(script: Script, body: dict[str, Any]) -> tuple[str, float | None]:
    """The scripted content and, for letter answers, P(first)."""
    messages = body.get("messages") or []
    tags = _tags(messages)
    if script.respond is not None and not tags:
        return script.respond(messages), None
    prompt = tags.get("prompt", "")
    if "response_a" in tags and "response_b" in tags:
        p = preference(script.verdict, script.seed, prompt, tags["response_a"], tags["response_b"])
        if body.get("logprobs"):
            return ("A" if p >= 0.5 else "B"), p
        verdict = "tie" if abs(p - 0.5) <= script.tie_band else "A" if p > 0.5 else "B"
        why = f"scripted ({script.verdict}): P(first shown better) = {p:.2f}"
        return json.dumps({"rationale": why, "verdict": verdict}), None
    system = next((str(m.get("content", "")) for m in messages if m.get("role") == "system"), "")
    response = tags.get("response", "")
    scores = {}
    for name, values in _SCALE.findall(system):
        levels = sorted(int(v) for v in values.split(","))
        share = min(1.0, len(response) / 200.0)  # longer scores higher, to 200 characters
        scores[name] = levels[round(share * (len(levels) - 1))]
    why = f"scripted: {len(response)} characters"
    return json.dumps({"scores": scores, "rationale": why, "error_tags": []}), None


def _completion(
    body: dict[str, Any],
    content: str,
    p_first: float | None,
    finish: str,
    message: dict[str, Any] | None = None,
) -> Any:
    message = message or {"role": "assistant", "content": content}
    choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": finish}
    if p_first is not None:
        k = int(body.get("top_logprobs") or 2)
        pairs = [("A", p_first), ("B", 1.0 - p_first), ("C", 1e-6)][: max(1, k)]
        top = [{"token": t, "logprob": math.log(max(p, 1e-12))} for t, p in pairs]
        chosen = next(a for a in top if a["token"] == content)
        choice["logprobs"] = {"content": [{**chosen, "top_logprobs": top}]}
    chars = sum(len(str(m.get("content", ""))) for m in body.get("messages") or [])
    usage = {"prompt_tokens": chars // 4, "completion_tokens": len(content) // 4 + 1}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "loopback"),
        "choices": [choice],
        "usage": usage,
    }


class _Dropped(Exception):
    """Raised after the response has started, so the server cuts the connection."""


class _DroppedResponse(Response):
    """Starts a response that promises a body and never delivers it: the client sees the
    connection closed mid-response, as when a proxy drops it."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        start = {"type": "http.response.start", "status": 200}
        await send({**start, "headers": [(b"content-length", b"1000")]})
        await send({"type": "http.response.body", "body": b"{", "more_body": True})
        raise _Dropped


def make_app(script: Script, stats: Stats) -> Starlette:
    """The ASGI app: ``POST /v1/chat/completions`` and ``GET /stats``."""
    replies: dict[str, dict[str, Any]] = {}  # the tool model's message per request body

    async def completions(request: Request) -> Response:
        raw = await request.body()
        stats.requests += 1
        stats.authorization[request.headers.get("authorization", "")] += 1
        try:
            body = json.loads(raw)
        except ValueError:
            stats.by_status["400"] += 1
            return JSONResponse({"error": {"message": "body is not JSON"}}, status_code=400)
        key = hashlib.sha256(canonical_bytes(body)).hexdigest()
        attempt = stats.by_body[key]
        stats.by_body[key] += 1
        if script.latency_s:
            stats.in_flight += 1
            stats.most_in_flight = max(stats.most_in_flight, stats.in_flight)
            try:
                await asyncio.sleep(script.latency_s)
            finally:
                stats.in_flight -= 1
            if await request.is_disconnected():  # its client died waiting: nobody to answer
                stats.by_status["gone"] += 1
                return Response(status_code=499)
        fault: str | None = None
        if _unit(script.seed, "fault", key) < script.fault_rate and script.faults:
            fault = script.faults[int(_unit(script.seed, "kind", key) * len(script.faults))]
            failing_attempts = 1 + int(_unit(script.seed, "times", key) * 2)
            if fault in TRANSIENT and attempt >= failing_attempts:
                fault = None
        stats.by_status[fault or "200"] += 1
        if fault == "429":
            headers = {"Retry-After": script.retry_after}
            error = {"error": {"message": "rate limited", "type": "rate_limit"}}
            return JSONResponse(error, status_code=429, headers=headers)
        if fault == "500":
            return JSONResponse({"error": {"message": "internal error"}}, status_code=500)
        if fault == "drop":
            return _DroppedResponse()
        stats.answered[key] += 1
        if script.tool_model is not None and body.get("tools"):
            if key not in replies:
                replies[key] = script.tool_model.reply(body)
            message = replies[key]
            finish = "tool_calls" if message.get("tool_calls") else "stop"
            return JSONResponse(_completion(body, "", None, finish, message))
        content, p_first = _answer(script, body)
        finish = "stop"
        if fault == "malformed":
            content, p_first = "I think the first one is better, because " + content[:20], None
        elif fault == "truncated":
            content, p_first, finish = content[: max(1, len(content) // 2)], None, "length"
        return JSONResponse(_completion(body, content, p_first, finish))

    async def report(request: Request) -> Response:
        return JSONResponse(stats.to_json())

    routes = [
        Route("/v1/chat/completions", completions, methods=["POST"]),
        Route("/stats", report, methods=["GET"]),
    ]
    return Starlette(routes=routes)


def _free_socket(port: int = 0) -> socket.socket:
    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off only on sockets that say TCP,
    # and with it on every answer (headers, then body) waits tens of ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def _server(script: Script, stats: Stats) -> uvicorn.Server:
    config = uvicorn.Config(
        make_app(script, stats),
        log_level="critical",
        access_log=False,
        lifespan="off",
        backlog=4096,
        timeout_keep_alive=30,
    )
    return uvicorn.Server(config)


class LoopbackServer:
    """The scripted server in a background thread on a free port of 127.0.0.1.

    ``with LoopbackServer(Script(...)) as server: ... server.base_url ... server.stats``
    """

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.stats = Stats()
        self._sock = _free_socket()
        self.port = int(self._sock.getsockname()[1])
        self._server = _server(self.script, self.stats)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LoopbackServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the loopback server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None, announce: Callable[[str], None] | None = None) -> None:
    """Serve in this process until killed; print the base URL first (one line)."""
    parser = argparse.ArgumentParser(prog="python -m palate.testing.loopback")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--verdict", choices=["longer", "shorter", "seeded", "first"], default="seeded"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="serve from this many processes sharing the socket, so that the server is not "
        "the bottleneck of a benchmark (GET /stats then counts one process's requests)",
    )
    args = parser.parse_args(argv)
    if args.processes < 1:
        parser.error("--processes must be at least 1")
    if args.processes > 1 and args.fault_rate > 0:
        # A retried request may reach another process, which has not seen its first attempt.
        parser.error("--fault-rate needs a single process (transient faults are per process)")
    script = Script(
        verdict=args.verdict, seed=args.seed, latency_s=args.latency, fault_rate=args.fault_rate
    )
    sock = _free_socket(args.port)
    port = sock.getsockname()[1]
    sock.listen(4096)  # before the others start: connections queue for whichever accepts
    workers = [
        multiprocessing.get_context("fork").Process(target=_serve, args=(script, sock), daemon=True)
        for _ in range(args.processes - 1)
    ]
    for worker in workers:
        worker.start()

    def stop(signum: int, _frame: object) -> None:  # uvicorn re-raises SIGTERM at its exit
        for worker in workers:
            worker.terminate()
            worker.join()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    (announce or (lambda line: print(line, flush=True)))(f"http://127.0.0.1:{port}/v1")
    _serve(script, sock)


def _serve(script: Script, sock: socket.socket) -> None:
    _server(script, Stats()).run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1:])
