"""Async is really async: concurrent calls overlap and the event loop stays responsive.

Every provider, Bedrock included (SigV4-signed, no thread offload of botocore's HTTP),
against a loopback server that waits DELAY seconds before each answer.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from harness.emulator import Emulator, Reply, Slow, client_options, serve
from harness.lm import LM

DELAY = 0.4
CALLS = 10


MODELS = {
    "openai": "gpt-test",
    "anthropic": "claude-test",
    "gemini": "gemini-test",
    "bedrock": "amazon.nova-micro-v1:0",
}


def make_lm(provider: str, base: str) -> LM:
    """An LM pointed at the emulator served at ``base`` (fake credentials)."""
    credentials = {"region": "us-east-1"} if provider == "bedrock" else {"api_key": "k"}
    options = {**client_options(provider, base), **credentials}
    return LM(f"{provider}/{MODELS[provider]}", max_retries=0, **options)


def answering(count: int, delay: float = 0.0) -> Emulator:
    """An emulator answering "pong" ``count`` times, each after ``delay`` seconds."""
    return Emulator([Slow(delay, Reply("pong")) if delay else Reply("pong")] * count)


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "bedrock"])
async def test_concurrent_async_calls_overlap_and_never_block_the_loop(provider: str) -> None:
    with serve(answering(CALLS + 1, DELAY)) as base:
        lm = make_lm(provider, base)
        await lm.acall("warm up")  # connection set-up is not what is measured

        gaps: list[float] = []
        done = asyncio.Event()

        async def heartbeat() -> None:
            last = time.perf_counter()
            while not done.is_set():
                await asyncio.sleep(0.01)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        beat = asyncio.create_task(heartbeat())
        started = time.perf_counter()
        results = await asyncio.gather(*(lm.acall(f"ping {i}") for i in range(CALLS)))
        elapsed = time.perf_counter() - started
        done.set()
        await beat
        await lm.aclose()

    assert [r.text for r in results] == ["pong"] * CALLS
    # Sequential (blocking) calls take CALLS * DELAY = 4 s; overlapping ones about DELAY.
    # The margins are wide so a loaded machine (tox -p on 2 cores) cannot fake a failure.
    assert elapsed < CALLS * DELAY / 2, f"{CALLS} concurrent calls took {elapsed:.2f}s"
    # A blocking call stalls the heartbeat for at least DELAY seconds.
    assert max(gaps) < DELAY * 0.9, f"event loop stalled for {max(gaps):.3f}s"
    # No worker thread faked the asynchrony: the loop's default executor (used by
    # asyncio.to_thread and run_in_executor(None)) was never created.
    assert asyncio.get_running_loop()._default_executor is None  # type: ignore[attr-defined]


def test_a_sync_call_from_inside_a_running_loop_works() -> None:
    """It blocks the loop's thread, by the caller's choice, and never deadlocks."""

    async def main() -> str:
        with serve(answering(1, 0.05)) as base, make_lm("openai", base) as lm:
            return lm("ping").text

    assert asyncio.run(main()) == "pong"


def test_each_loops_connections_are_closed_when_that_loop_shuts_down() -> None:
    import gc
    import warnings

    with serve(answering(3)) as base, warnings.catch_warnings():
        warnings.simplefilter("error")  # aiohttp warns "Unclosed client session"
        lm = make_lm("openai", base)
        for _ in range(3):
            assert asyncio.run(lm.acall("ping")).text == "pong"
        gc.collect()
    assert not lm.transport()._async_clients, "a finished loop's client was kept"
