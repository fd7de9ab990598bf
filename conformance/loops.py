"""Event loops for the suite's async modes: ``asyncio.run``, with a bounded shutdown.

``asyncio.run`` cancels the tasks a coroutine left behind and then waits for them without
a limit, so a client whose background task ignores cancellation hangs the whole run. The
suite's loops wait ``SHUTDOWN_TIMEOUT`` seconds, then raise ``TasksLeftRunning`` naming
the tasks, as the outcome of the call that left them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

SHUTDOWN_TIMEOUT = 10.0
"""Seconds a cancelled task left by the client may take to finish."""


class TasksLeftRunning(RuntimeError):
    """The client left tasks that did not finish when cancelled (a leaked task)."""


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, except that tasks ignoring cancellation at shutdown raise
    ``TasksLeftRunning`` after ``SHUTDOWN_TIMEOUT`` s instead of hanging."""
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        result = loop.run_until_complete(main)
    except BaseException:
        _shutdown(loop, raising=False)
        raise
    _shutdown(loop, raising=True)
    return result


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
