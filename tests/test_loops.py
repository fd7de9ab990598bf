"""The suite's event loops: a task that ignores cancellation is reported, never a hang."""

from __future__ import annotations

import asyncio
import time

import pytest

from conformance import loops


async def _leaves_a_stubborn_task() -> str:
    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                continue  # swallows every cancellation

    asyncio.get_running_loop().create_task(stubborn(), name="stubborn-logger")
    await asyncio.sleep(0)
    return "answer"


def test_a_task_ignoring_cancellation_is_reported_after_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(loops, "SHUTDOWN_TIMEOUT", 0.2)
    started = time.monotonic()
    with pytest.raises(loops.TasksLeftRunning, match="stubborn-logger"):
        loops.run(_leaves_a_stubborn_task())
    assert time.monotonic() - started < 5


def test_tasks_that_end_when_cancelled_are_cleaned_up_like_asyncio_run() -> None:
    left: list[asyncio.Task[None]] = []

    async def main() -> str:
        left.append(asyncio.get_running_loop().create_task(asyncio.sleep(30), name="polite"))
        await asyncio.sleep(0)
        return "answer"

    assert loops.run(main()) == "answer"
    assert left[0].cancelled()


def test_the_coroutine_s_own_exception_wins() -> None:
    async def main() -> None:
        raise ValueError("the call failed")

    with pytest.raises(ValueError, match="the call failed"):
        loops.run(main())
