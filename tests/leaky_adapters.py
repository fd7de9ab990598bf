"""Adapters whose library state outlives a spec (tests/test_spec_isolation.py).

``LeakyContext``: ``context()`` sets a process-wide override and never restores it, the way
DSPy 2.6.27 leaves a task's override on the main thread. ``LeakyContextWithReset`` has the
same leak and a ``reset()`` that clears it, as an adapter for such a library must.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from harness.adapters.reference import ReferenceAdapter

_sticky: list[Any] = []


class LeakyContext(ReferenceAdapter):
    name = "leaky-context"

    def context(self, client: Any) -> AbstractContextManager[Any]:
        @contextmanager
        def block() -> Iterator[None]:
            _sticky.append(client)
            with super(LeakyContext, self).context(client):
                yield

        return block()

    def current(self) -> Any:
        return _sticky[-1] if _sticky else super().current()


class LeakyContextWithReset(LeakyContext):
    name = "leaky-context-reset"

    def reset(self) -> None:
        _sticky.clear()
