"""Bounded stress test: 1,000 asyncio tasks and 200 threads, each in its own context, at once."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from dataclasses import fields
from typing import Any

from harness.context import (
    ContextThreadPoolExecutor,
    Settings,
    asyncify,
    batch,
    configure,
    context,
    record_usage,
    settings,
    track_usage,
)
from harness.types import Usage

TASKS = 1000
THREADS = 200


def current_lm() -> Any:
    return settings().lm


def test_thousand_tasks_and_two_hundred_threads_each_keep_their_model() -> None:
    saved = contextvars.Context().run(settings)
    baseline = threading.active_count()
    configure(lm="default")
    read_in_worker = asyncify(current_lm)
    pool = ContextThreadPoolExecutor(8)  # shared by every thread and task: workers are reused
    barrier = threading.Barrier(THREADS + 1)
    stop_configuring = threading.Event()
    thread_results: dict[int, list[Any]] = {}

    def configurer() -> None:  # concurrent configure() of another key must not disturb anyone
        n = 0
        while not stop_configuring.is_set():
            configure(temperature=float(n % 7))
            n += 1
            time.sleep(0.0005)

    def thread_body(i: int) -> None:
        with context(lm=f"thread-{i}"):
            barrier.wait(30)  # every thread is inside its own context at the same time
            seen = [settings().lm, pool.submit(current_lm).result()]
            record_usage(Usage(1, i))
            time.sleep(0)
            seen.append(settings().lm)
        seen.append(settings().lm)
        thread_results[i] = seen

    async def task_body(i: int, everyone_inside: asyncio.Event, inside: list[int]) -> list[Any]:
        with context(lm=f"task-{i}"):
            inside.append(i)
            if len(inside) == TASKS:
                everyone_inside.set()
            await everyone_inside.wait()  # all 1,000 contexts are open at the same time
            seen = [settings().lm, await read_in_worker()]
            seen.append(await asyncio.wrap_future(pool.submit(current_lm)))
            record_usage(Usage(1, i))
            await asyncio.sleep(0)
            seen.append(settings().lm)
        seen.append(settings().lm)
        return seen

    async def all_tasks() -> list[list[Any]]:
        everyone_inside, inside = asyncio.Event(), list[int]()
        return await asyncio.gather(*(task_body(i, everyone_inside, inside) for i in range(TASKS)))

    helper = threading.Thread(target=configurer)
    threads = [threading.Thread(target=thread_body, args=(i,)) for i in range(THREADS)]
    try:
        with track_usage() as tracker:
            helper.start()
            for thread in threads:
                thread.start()
            barrier.wait(30)
            task_results = asyncio.run(all_tasks())  # runs while the threads run
            for thread in threads:
                thread.join(30)
    finally:
        stop_configuring.set()
        helper.join()
        pool.shutdown()
        configure(**{f.name: getattr(saved, f.name) for f in fields(Settings)})

    assert task_results == [[f"task-{i}"] * 4 + ["default"] for i in range(TASKS)]
    assert thread_results == {i: [f"thread-{i}"] * 3 + ["default"] for i in range(THREADS)}
    # the threads are raw threads: their usage stays out of the main thread's tracker
    assert tracker.total == Usage(TASKS, sum(range(TASKS)))
    deadline = time.monotonic() + 5
    while threading.active_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() <= baseline


def test_parallel_under_load_sums_usage_exactly() -> None:
    def job(i: int) -> Any:
        with context(lm=f"job-{i}"):
            for _ in range(20):
                record_usage(Usage(1, 1, 0, i % 3))
            return settings().lm

    with track_usage() as tracker, context(lm="caller"):
        results = batch(job, [(i,) for i in range(2000)], num_threads=32)
        assert settings().lm == "caller"
    assert results == [f"job-{i}" for i in range(2000)]
    assert (
        results.usage
        == tracker.total
        == Usage(40000, 40000, 0, 20 * sum(i % 3 for i in range(2000)))
    )
