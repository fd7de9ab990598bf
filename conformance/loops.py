"""Event loops for the suite's async modes: ``asyncio.run``, with a bounded shutdown.

``asyncio.run`` cancels the tasks a coroutine left behind and then waits for them without
a limit, so a client whose background task ignores cancellation hangs the whole run. The
suite's loops wait ``SHUTDOWN_TIMEOUT`` seconds, then raise ``TasksLeftRunning`` naming
the tasks, as the outcome of the call that left them.

A strict loop (``run(..., strict=True)``) also fails when the client reported an error
to the loop's exception handler (an async generator that failed to close, a task whose
exception nobody retrieved): asyncio only logs those. ``check_released`` fails when the
client still holds an event loop that has ended.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

SHUTDOWN_TIMEOUT = 10.0
"""Seconds a cancelled task left by the client may take to finish."""


class TasksLeftRunning(RuntimeError):
    """The client left tasks that did not finish when cancelled (a leaked task)."""


class LoopErrors(RuntimeError):
    """The client reported errors to a strict loop's exception handler."""


class LoopKeptAlive(RuntimeError):
    """The client keeps an event loop alive after it ended."""


def run(main: Coroutine[Any, Any, T], *, strict: bool = False) -> T:
    """``asyncio.run(main)``, except that tasks ignoring cancellation at shutdown raise
    ``TasksLeftRunning`` after ``SHUTDOWN_TIMEOUT`` s instead of hanging; ``strict``:
    errors reported to the loop's exception handler raise ``LoopErrors`` at the end."""
    loop = asyncio.new_event_loop()
    reported: list[str] = []
    if strict:
        loop.set_exception_handler(lambda _, context: reported.append(str(context["message"])))
    try:
        asyncio.set_event_loop(loop)
        result = loop.run_until_complete(main)
    except BaseException:
        _shutdown(loop, raising=False)
        raise
    _shutdown(loop, raising=True)
    if reported:
        raise LoopErrors(f"the client reported errors to the event loop: {'; '.join(reported)}")
    return result


def check_released(loop: weakref.ref[asyncio.AbstractEventLoop]) -> None:
    """Raise ``LoopKeptAlive`` if the loop ``loop`` refers to (ended) is still alive once
    garbage is collected."""
    gc.collect()
    if loop() is not None:
        holders = ", ".join(sorted({type(r).__name__ for r in gc.get_referrers(loop())}))
        raise LoopKeptAlive(
            "the client keeps an event loop that has ended alive (a per-loop cache that "
            f"never drops it; held by: {holders})"
        )


def _shutdown(loop: asyncio.AbstractEventLoop, *, raising: bool) -> None:
    stuck: set[asyncio.Task[Any]] = set()
    try:
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            waiting = asyncio.wait(pending, timeout=SHUTDOWN_TIMEOUT)
            _, stuck = loop.run_until_complete(waiting)
        if not stuck:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    if stuck and raising:
        names = ", ".join(sorted(task.get_name() + f" ({task.get_coro()!r})" for task in stuck))
        raise TasksLeftRunning(
            f"{len(stuck)} task(s) the client started were still running "
            f"{SHUTDOWN_TIMEOUT:.0f} s after being cancelled: {names}"
        )
