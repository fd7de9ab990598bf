"""Regressions of a client's async path: it exists, never blocks, retries and streams like sync."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from conformance.modes import Outcome, differences
from conformance.regressions.support import (
    QUESTION,
    Bench,
    Take,
    answer_text,
    capture,
    reply,
    run_async,
)
from harness.adapters.base import StreamResult
from harness.emulator import Fault, Reply, Slow
from harness.types import Response, Usage

SLOW = 0.3
"""Seconds the emulator waits before answering the blocking probe."""
HEARTBEAT = 0.005
RETRIES = 2
LONG_ANSWER = "The quick brown fox jumps over the lazy dog, and then over the lazy cat."


def _compare(bench: Bench, label: str, expected: Response, got: Any) -> None:
    if not isinstance(got, Response):
        bench.problem(label, f"the sync result, answer {expected.text!r}", got)
        return
    for field, a, b in differences(Outcome(expected), Outcome(got)):
        bench.problem(f"{label}: {field}", a, b)


def test_provider_async_path(bench: Bench) -> None:
    """A provider's async path exists, does not block the event loop, and equals sync.

    phidata, and agno before 1.7.6: the Bedrock model had no async implementation, yet
    agents ran the async path by default (``use_async=True``), so every async run on
    Bedrock raised ``NotImplementedError``; fake-async paths that wait on a worker thread
    block the loop instead. Here, per provider, ``acall`` must return what ``call`` does
    (replayed), and, against the emulator answering after 0.3 s, must let another task
    run meanwhile: the loop may not stall for half of that.
    """
    adapter = bench.adapter
    with bench.replay([Take("scoped", (reply("scoped"),))]), bench.using("scoped") as scoped:
        sync = capture(lambda: adapter.call(scoped(), QUESTION, {}))
        asynced = run_async(lambda: adapter.acall(scoped(), QUESTION, {}))
    if not isinstance(sync, Response):
        bench.fail("the sync call (the baseline) failed", [("call", "an answer", sync)])
    _compare(bench, f"acall on {bench.provider}", sync, asynced)
    bench.verdict(f"the async path of {bench.provider} differs from the sync one")

    slow = bench.emulated("slow", [Slow(SLOW, reply("slow"))])

    async def probe() -> tuple[Any, float]:
        gaps: list[float] = []
        stop = asyncio.Event()

        async def heartbeat() -> None:
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(HEARTBEAT)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        beat = asyncio.create_task(heartbeat())
        await asyncio.sleep(0)  # the heartbeat starts before the call
        try:
            result = await adapter.acall(slow, QUESTION, {})
        finally:
            stop.set()
            await beat
        return result, max(gaps, default=0.0)

    got = run_async(probe)
    if isinstance(got, BaseException):
        bench.problem(f"acall on {bench.provider} (answer after {SLOW} s)", "an answer", got)
    else:
        result, stalled = got
        bench.expect_answer(f"acall on {bench.provider} (answer after {SLOW} s)", result, "slow")
        if stalled >= SLOW / 2:
            bench.problem(
                "longest time the event loop could not run another task during acall",
                f"< {SLOW / 2:.3f} s",
                f"{stalled:.3f} s (the call blocked the event loop)",
            )
    bench.verdict(f"the async path of {bench.provider} blocks the event loop")


class DropsConnections(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Refuses the first ``failures`` connections, then hands requests to ``inner``."""

    def __init__(self, inner: httpx.MockTransport, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.attempts = 0

    def _attempt(self, request: httpx.Request) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise httpx.ConnectError("connection refused (emulated)", request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._attempt(request)
        return self.inner.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._attempt(request)
        return await self.inner.handle_async_request(request)


def test_async_retry_parity(bench: Bench) -> None:
    """The async client makes as many retry attempts as the sync one.

    openai-python before 1.52.1 (openai/openai-python#1803, issue #1804): ``AsyncOpenAI``
    re-raised connection errors at once where ``OpenAI`` retried them. Here, with two
    retries allowed, the sync and async calls meet two failures then an answer: two HTTP
    errors (500, 503; replayed in order) in mode ``acall``, two refused connections
    (emulator behind a transport that drops them) in mode ``acall_connection_error``. Both
    must make three attempts and get the answer.
    """
    adapter = bench.adapter
    if bench.mode == "acall":
        steps = (Fault(500, "internal failure"), Fault(503, "overloaded"), reply("scoped"))
        with (
            bench.replay([Take("scoped", steps)], ordered=True) as cassette,
            bench.using("scoped") as scoped,
        ):
            sync = capture(lambda: adapter.call(scoped(), QUESTION, {}))
            sync_attempts = sum(cassette.play_counts.values())
            cassette.rewind()
            asynced = run_async(lambda: adapter.acall(scoped(), QUESTION, {}))
            async_attempts = sum(cassette.play_counts.values())
    else:
        transports: list[DropsConnections] = []

        def dropping(inner: httpx.MockTransport) -> DropsConnections:
            transports.append(DropsConnections(inner, failures=RETRIES))
            return transports[-1]

        sync_client = bench.emulated("scoped", [reply("scoped")], wrap=dropping)
        async_client = bench.emulated("scoped", [reply("scoped")], wrap=dropping)
        sync = capture(lambda: adapter.call(sync_client, QUESTION, {}))
        asynced = run_async(lambda: adapter.acall(async_client, QUESTION, {}))
        sync_attempts, async_attempts = transports[0].attempts, transports[1].attempts
    kind = "HTTP 500 and 503" if bench.mode == "acall" else "two refused connections"
    if not (isinstance(sync, Response) and sync.text == answer_text("scoped")):
        bench.fail(
            f"the sync call (the baseline) did not recover from {kind}",
            [("sync call", f"answer {answer_text('scoped')!r}", sync)],
        )
    bench.expect(f"sync attempts ({kind}, then the answer)", RETRIES + 1, sync_attempts)
    bench.expect_answer(f"acall after {kind}", asynced, "scoped")
    bench.expect(f"async attempts ({kind}, then the answer)", sync_attempts, async_attempts)
    bench.verdict("the async path does not retry like the sync one")


def test_stream_chunk_parity(bench: Bench) -> None:
    """Streaming yields the same chunk sequence sync and async.

    BerriAI/litellm#4168: ``acompletion(stream=True)`` delivered the whole answer in one
    delta where ``completion(stream=True)`` delivered it token by token, so code written
    against one broke on the other. Here the same recorded stream is consumed with
    ``stream`` (the baseline) and ``astream``: the events must be equal, one by one, in
    order, and so must the final responses.
    """
    adapter = bench.adapter
    streamed = Reply(text=LONG_ANSWER, usage=Usage(11, 17))
    with (
        bench.replay([Take("scoped", (streamed,), kind="stream")]),
        bench.using("scoped") as scoped,
    ):
        sync = capture(lambda: adapter.stream(scoped(), QUESTION, {}))
        asynced = run_async(lambda: adapter.astream(scoped(), QUESTION, {}))
    if not (isinstance(sync, StreamResult) and sync.response.text == LONG_ANSWER):
        bench.fail("the sync stream (the baseline) failed", [("stream", LONG_ANSWER, sync)])
    if not isinstance(asynced, StreamResult):
        bench.problem("astream", "the sync stream's events", asynced)
    else:
        if asynced.events != sync.events:
            index = next(
                (
                    i
                    for i, pair in enumerate(zip(sync.events, asynced.events, strict=False))
                    if pair[0] != pair[1]
                ),
                min(len(sync.events), len(asynced.events)),
            )
            bench.problem(
                f"stream events: {len(sync.events)} sync, {len(asynced.events)} async; "
                f"first difference at event #{index}",
                sync.events[index] if index < len(sync.events) else "<end of stream>",
                asynced.events[index] if index < len(asynced.events) else "<end of stream>",
            )
        _compare(bench, "astream's final response", sync.response, asynced.response)
    bench.verdict("the async stream's chunks differ from the sync stream's")
