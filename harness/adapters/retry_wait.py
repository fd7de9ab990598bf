"""Retrying without waiting, for one call at a time: how adapters honour ``fast_retries``.

Libraries sleep between retries in code they do not let callers configure: litellm's
async retry of a rate limit waits ``tenacity.wait_exponential(multiplier=1, max=10)``
(1 s, 2 s...), and the OpenAI SDK (under litellm and llm) backs off 0.5 s, 1 s...
unless the answer says ``Retry-After`` between 0 and 60 s exclusive. The suite counts
attempts; it does not time backoff.

``no_wait()`` is the least invasive switch found: it changes only the computed *delay*,
only inside the block (a ``ContextVar``, so only the calling thread or task), and leaves
every other decision (which errors are retried, how many attempts) to the library. To do
that, ``install()`` (idempotent) wraps, once per process:

- ``tenacity.wait_exponential`` with a subclass whose delay is 0 inside ``no_wait()``;
- ``openai._base_client.BaseClient._calculate_retry_timeout`` (the OpenAI SDK's delay
  between retries, sync and async) with a function returning 0 inside ``no_wait()``.

Outside ``no_wait()`` both behave exactly as before. A library that is not installed is
left alone.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_NO_WAIT = contextvars.ContextVar("harness_adapters_no_wait", default=False)
_lock = threading.Lock()
_installed = False


def waiting() -> bool:
    """False inside ``no_wait()``: retries must not sleep."""
    return not _NO_WAIT.get()


@contextmanager
def no_wait(enabled: bool = True) -> Iterator[None]:
    """Within the block (this thread or task only), library retries do not sleep."""
    token = _NO_WAIT.set(enabled)
    try:
        yield
    finally:
        _NO_WAIT.reset(token)


def install() -> None:
    """Wrap the libraries' retry delays (once per process; see the module docstring)."""
    global _installed
    with _lock:
        if _installed:
            return
        _wrap_tenacity()
        _wrap_openai()
        _installed = True


def _wrap_tenacity() -> None:
    try:
        import tenacity
    except ImportError:
        return
    original = tenacity.wait_exponential

    class wait_exponential(original):  # type: ignore[misc, valid-type]
        """``tenacity.wait_exponential``, without delay inside ``no_wait()``."""

        def __call__(self, retry_state: Any) -> float:
            return float(super().__call__(retry_state)) if waiting() else 0.0

    wait_exponential.__qualname__ = original.__qualname__
    wait_exponential.__module__ = original.__module__
    setattr(tenacity, "wait_exponential", wait_exponential)  # noqa: B010 (typed either way)


def _wrap_openai() -> None:
    try:
        from openai._base_client import BaseClient
    except ImportError:
        return
    original = BaseClient._calculate_retry_timeout

    def _calculate_retry_timeout(self: Any, *args: Any, **kwargs: Any) -> float:
        return float(original(self, *args, **kwargs)) if waiting() else 0.0

    _calculate_retry_timeout.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(BaseClient, "_calculate_retry_timeout", _calculate_retry_timeout)  # noqa: B010
