"""Bounding a tool call in time (``tool_timeout``), from sync and from async code.

A tool that does not return in time becomes an error result, the same in both modes,
and the chain moves on:

- an **async** tool is cancelled at the deadline (as ``asyncio.wait_for`` would; the
  chain waits for the cancellation to finish, so a tool that suppresses
  ``CancelledError`` delays the async chain until it returns);
- a **sync** tool cannot be stopped: with a timeout it runs in a thread of its own
  (``harness-tool-<name>``, holding a copy of the caller's context), which the chain
  stops waiting for at the deadline. The thread runs on until the function returns; its
  result or exception is dropped. It is not the event loop's default executor, so
  ``asyncio.run`` does not wait for it when its loop shuts down. Like any non-daemon
  worker (``concurrent.futures``), the interpreter waits for it at exit, for no longer
  than the tool's own run: a tool that never returns keeps the process alive, so give
  blocking tools their own timeouts too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

from harness.types import ConfigurationError

T = TypeVar("T")


class TimedOut(Exception):
    """Internal: the call did not finish within its timeout (never raised by a tool)."""


def check_tool_timeout(timeout: object) -> float | None:
    """``timeout`` as seconds, or ``ConfigurationError`` unless it is None or a positive
    finite number."""
    if timeout is None:
        return None
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise ConfigurationError(
            f"tool_timeout must be a positive number of seconds or None, not {timeout!r}"
        )
    return float(timeout)


def start_in_thread(name: str, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
    """Start ``fn()`` in a new thread (with a copy of the caller's context); its future.

    A one-worker pool shut down at once without waiting: the thread ends when ``fn``
    returns, and ``concurrent.futures`` joins it at interpreter exit."""
    context = contextvars.copy_context()
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"harness-tool-{name}")
    try:
        return pool.submit(context.run, fn)
    finally:
        pool.shutdown(wait=False)


def result_within(future: concurrent.futures.Future[T], timeout: float) -> T:
    """``future``'s result (or exception) if it is done within ``timeout`` seconds, else
    ``TimedOut`` (judged by ``done()``, so a tool's own ``TimeoutError`` stays its own)."""
    concurrent.futures.wait([future], timeout=timeout)
    if not future.done():
        raise TimedOut
    return future.result()


async def await_within(awaitable: Awaitable[T], timeout: float) -> T:
    """The awaitable's result if it completes within ``timeout`` seconds; else it is
    cancelled, the cancellation awaited, and ``TimedOut`` raised."""
    task = asyncio.ensure_future(awaitable)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    except BaseException:  # the caller was cancelled: so is the tool
        task.cancel()
        raise
    if task in done:
        return task.result()
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.exception()  # it ended otherwise (returned or raised late): still too late
    raise TimedOut
