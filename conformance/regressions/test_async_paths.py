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
from harness.types import APIConnectionError, LLMError, Message, Response, Usage

SLOW = 0.3
"""Seconds the emulator waits before answering the blocking probe."""
HEARTBEAT = 0.005
LIVE_TIMEOUT = 30.0
"""Seconds a call to the live emulator may take before the spec gives up on it."""
RETRIES = 2
LONG_ANSWER = "The quick brown fox jumps over the lazy dog, and then over the lazy cat."


def _compare(bench: Bench, label: str, expected: Response, got: Any) -> None:
    if not isinstance(got, Response):
        bench.problem(label, f"the sync result, answer {expected.text!r}", got)
        return
    for field, a, b in differences(Outcome(expected), Outcome(got)):
        bench.problem(f"{label}: {field}", a, b)


def test_provider_async_path(bench: Bench) -> None:
    """A provider's async path exists, equals the sync result, and does not block the loop.

    agno 1.2.0-1.7.5 and phidata (fixed by agno-agi/agno#3914, agno 1.7.6): the Bedrock
    model had no async implementation (``AwsBedrock.ainvoke`` raised
    ``NotImplementedError``), yet agents run the async path whenever they are served
    asynchronously (``use_async=True``), so every async run on Bedrock failed; a fake
    async path that waits on a worker thread would block the loop instead. Mode ``acall``:
    per provider, ``acall`` must return what ``call`` does (replayed). Mode
    ``acall_nonblocking``: against the emulator answering after 0.3 s, ``acall`` must let
    another task run meanwhile (the loop may not stall for half of that); the first call
    warms the client up (a client may load its service model synchronously once).
    """
    adapter = bench.adapter
    if bench.mode == "acall":
        with bench.replay([Take("scoped", (reply("scoped"),))]), bench.using("scoped") as scoped:
            sync = capture(lambda: adapter.call(scoped(), QUESTION, {}))
            asynced = run_async(lambda: adapter.acall(scoped(), QUESTION, {}))
        if not isinstance(sync, Response):
            bench.fail("the sync call (the baseline) failed", [("call", "an answer", sync)])
        _compare(bench, f"acall on {bench.provider}", sync, asynced)
        bench.verdict(f"the async path of {bench.provider} differs from the sync one")
        return

    slow = bench.emulated("scoped", [reply("scoped"), Slow(SLOW, reply("scoped"))])

    async def probe() -> tuple[Any, float]:
        # bounded: a client that sends elsewhere than the emulator fails, never hangs
        await asyncio.wait_for(adapter.acall(slow, QUESTION, {}), LIVE_TIMEOUT)  # warm-up
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
            result = await asyncio.wait_for(adapter.acall(slow, QUESTION, {}), LIVE_TIMEOUT)
        finally:
            stop.set()
            await beat
        return result, max(gaps, default=0.0)

    got = run_async(probe)
    if isinstance(got, BaseException):
        bench.problem(f"acall on {bench.provider} (answer after {SLOW} s)", "an answer", got)
    else:
        result, stalled = got
        bench.expect_answer(f"acall on {bench.provider} (answer after {SLOW} s)", result, "scoped")
        if stalled >= SLOW / 2:
            bench.problem(
                "longest time the event loop could not run another task during acall",
                f"< {SLOW / 2:.3f} s",
                f"{stalled:.3f} s (the call blocked the event loop)",
            )
    bench.verdict(f"the async path of {bench.provider} blocks the event loop")


class DropsConnections(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Refuses the connections of the attempts numbered in ``refused`` (1 is the first),
    and hands every other request to ``inner``."""

    def __init__(self, inner: httpx.MockTransport, refused: frozenset[int]) -> None:
        self.inner = inner
        self.refused = refused
        self.attempts = 0

    def _attempt(self, request: httpx.Request) -> None:
        self.attempts += 1
        if self.attempts in self.refused:
            raise httpx.ConnectError("connection refused (emulated)", request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._attempt(request)
        return self.inner.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._attempt(request)
        return await self.inner.handle_async_request(request)


def _sync_and_async_attempts(
    bench: Bench, steps: list[Any], refused: frozenset[int]
) -> tuple[Any, Any, int, int]:
    """The sync and the async call, each against a fresh emulator serving ``steps`` behind
    a transport that refuses the attempts in ``refused``; results and attempts made."""
    adapter = bench.adapter
    transports: list[DropsConnections] = []

    def dropping(inner: httpx.MockTransport) -> DropsConnections:
        transports.append(DropsConnections(inner, refused))
        return transports[-1]

    sync_client = bench.emulated("scoped", steps, wrap=dropping)
    async_client = bench.emulated("scoped", steps, wrap=dropping)
    sync = capture(lambda: adapter.call(sync_client, QUESTION, {}))
    asynced = run_async(lambda: adapter.acall(async_client, QUESTION, {}))
    return sync, asynced, transports[0].attempts, transports[1].attempts


def test_async_retry_parity(bench: Bench) -> None:
    """The async client retries connection errors like the sync one.

    openai-python 1.47.0-1.52.0 (fixed by openai/openai-python#1803 in 1.52.1): the async
    client's branch for transport errors other than timeouts tested ``retries_taken > 0``
    where the sync client tests the retries left, so the first refused connection of a
    request raised ``APIConnectionError`` at once (HTTP status retries and timeouts were
    never affected). Here, with two retries allowed, the sync and the async call meet two
    refused connections then an answer: both must make three attempts and get the answer.
    """
    sync, asynced, sync_attempts, async_attempts = _sync_and_async_attempts(
        bench, [reply("scoped")], frozenset({1, 2})
    )
    kind = "two refused connections"
    if not (isinstance(sync, Response) and sync.text == answer_text("scoped")):
        bench.fail(
            f"the sync call (the baseline) did not recover from {kind}",
            [("sync call", f"answer {answer_text('scoped')!r}", sync)],
        )
    bench.expect(f"sync attempts ({kind}, then the answer)", RETRIES + 1, sync_attempts)
    bench.expect_answer(f"acall after {kind}", asynced, "scoped")
    bench.expect(f"async attempts ({kind}, then the answer)", sync_attempts, async_attempts)
    bench.verdict("the async path does not retry connection errors like the sync one")


def test_async_retry_bound(bench: Bench) -> None:
    """The async client stops retrying connection errors at max_retries, like the sync one.

    openai-python 1.47.0-1.52.0 (openai/openai-python#1803), the other face of the same
    test: once one retry had happened, the async client retried every later connection
    error whatever the retries left. Here, with two retries allowed, the first attempt
    gets an HTTP 500 and the next ones a refused connection (an answer waits behind
    them): the sync call makes three attempts and raises a connection error; the async
    call must do the same.
    """
    steps = [Fault(500, "internal failure"), reply("scoped")]
    sync, asynced, sync_attempts, async_attempts = _sync_and_async_attempts(
        bench, steps, frozenset({2, 3})
    )
    if not isinstance(sync, APIConnectionError) or sync_attempts != RETRIES + 1:
        bench.fail(
            "the sync call (the baseline) did not stop at max_retries",
            [("sync call", f"APIConnectionError after {RETRIES + 1} attempts", sync)],
        )
    bench.expect(
        "async attempts (HTTP 500, then refused connections)", sync_attempts, async_attempts
    )
    bench.expect("the async outcome", "APIConnectionError", type(asynced).__name__)
    bench.verdict("the async path retried connection errors past max_retries")


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


# --- Gemini, streamed vs not (litellm) ------------------------------------------------------

THOUGHTFUL = Reply(text="51", reasoning="17 * 3 = 51.", usage=Usage(15, 30))
"""A reply with thoughts and no thought-token count (as Gemini sends it: cassettes/gemini/
reasoning_text.yaml)."""
THINK_FIRST = (Message.user("What is 17 * 3? Think first."),)


def _error_fields(error: Any) -> Any:
    if not isinstance(error, LLMError):
        return error
    return (type(error).__name__, error.status, error.provider, str(error))


def test_gemini_stream_reasoning_tokens(bench: Bench) -> None:
    """A Gemini reply reports the same reasoning tokens streamed and not streamed.

    litellm 1.73.0-1.110.2 (no upstream issue known): for a reply whose thought parts come
    with no ``thoughtsTokenCount``, the streamed path counts the thought text itself
    (``reasoning_tokens=8``) where the non-streamed path reports none. Here the same reply
    is asked for with ``call`` (the baseline) and ``stream``: the reasoning-token counts
    must be equal (no other field is compared: one mechanism per row).
    """
    adapter = bench.adapter
    takes = [
        Take("scoped", (THOUGHTFUL,), messages=THINK_FIRST),
        Take("scoped", (THOUGHTFUL,), kind="stream", messages=THINK_FIRST),
    ]
    with bench.replay(takes), bench.using("scoped") as scoped:
        sync = capture(lambda: adapter.call(scoped(), THINK_FIRST, {}))
        streamed = capture(lambda: adapter.stream(scoped(), THINK_FIRST, {}))
    if not isinstance(sync, Response):
        bench.fail("the call (the baseline) failed", [("call", "an answer", sync)])
    if not isinstance(streamed, StreamResult):
        bench.problem("stream", "an answer", streamed)
    else:
        bench.expect(
            "usage.reasoning_tokens, streamed (the call's count)",
            sync.usage.reasoning_tokens,
            streamed.response.usage.reasoning_tokens,
        )
    bench.verdict("the streamed reply counts reasoning tokens the call does not")


def test_gemini_stream_error(bench: Bench) -> None:
    """A Gemini HTTP error names the same provider and message streamed and not streamed.

    litellm, every release tested from 1.53.1 to 1.110.2 (no upstream issue known): an
    HTTP 400 from Gemini leaves the streamed path through the Vertex handler, built from
    the raw body bytes, so its message carries a bytes repr (and, on later releases, the
    provider is ``vertex_ai_beta``). Here the same 400 answers ``call`` (the baseline) and
    ``stream``: the errors' class, status, provider and message must be equal.
    """
    adapter = bench.adapter
    fault = Fault(400, "Invalid value at 'contents': the request is malformed.")
    takes = [Take("scoped", (fault,)), Take("scoped", (fault,), kind="stream")]
    with bench.replay(takes), bench.using("scoped") as scoped:
        sync = capture(lambda: adapter.call(scoped(), QUESTION, {}))
        streamed = capture(lambda: adapter.stream(scoped(), QUESTION, {}))
    if not isinstance(sync, LLMError):
        bench.fail("the call (the baseline) did not raise", [("call", "an LLMError", sync)])
    bench.expect(
        "the streamed error (class, status, provider, message)",
        _error_fields(sync),
        _error_fields(streamed),
    )
    bench.verdict("the streamed error differs from the call's")


def test_gemini_stream_retry(bench: Bench) -> None:
    """A Gemini 429 before any stream byte is retried like the non-streamed call.

    litellm, every release tested from 1.53.1 to 1.110.2 (no upstream issue known):
    ``num_retries`` retries a 429 for the call, while the stream raises it at once
    (``RateLimitError``, later ``MidStreamFallbackError``), though no byte of the stream
    had arrived. Here a 429 then the answer meet ``call`` (the baseline) and ``stream``,
    each allowed two retries: both must answer, after the same number of requests.
    """
    adapter = bench.adapter
    steps = (Fault(429, "Resource has been exhausted (e.g. check quota)."), reply("scoped"))
    takes = [Take("scoped", steps), Take("scoped", steps, kind="stream")]
    with (
        bench.replay(takes, ordered=True) as cassette,
        bench.using("scoped") as scoped,
    ):
        sync = capture(lambda: adapter.call(scoped(), QUESTION, {}))
        sync_attempts = sum(cassette.play_counts.values())
        streamed = capture(lambda: adapter.stream(scoped(), QUESTION, {}))
        stream_attempts = sum(cassette.play_counts.values()) - sync_attempts
    if not (isinstance(sync, Response) and sync.text == answer_text("scoped")):
        bench.fail(
            "the call (the baseline) did not recover from a 429",
            [("call", f"answer {answer_text('scoped')!r}", sync)],
        )
    bench.expect_answer("stream after a 429", streamed, "scoped")
    bench.expect("stream requests (a 429, then the answer)", sync_attempts, stream_attempts)
    bench.verdict("the stream did not retry a 429 that came before any byte")
