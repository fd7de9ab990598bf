"""An optional adapter capability the regression specs need beyond ``ClientAdapter``.

``DeferredStreams``: create a stream now, on the client the caller's context selects, and
consume it later, possibly after the ``context`` block has exited (DSPy's ``streamify``
returns such an object). ``ClientAdapter.stream`` cannot express this: it consumes at
once, and it is handed the client explicitly.

An adapter opts in by defining the two methods (``deferred_streams`` finds them with
``getattr``), so existing adapters keep working and report "not supported". The
reference adapter gets a built-in implementation here, since ``harness.lm.LM.stream``
already resolves its settings when the stream is created.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from harness.adapters.base import ClientAdapter, StreamResult
from harness.adapters.reference import ReferenceAdapter
from harness.types import Message

ConsumeStream = Callable[[], StreamResult]
AConsumeStream = Callable[[], Awaitable[StreamResult]]


@runtime_checkable
class DeferredStreams(Protocol):
    """Streams created in one context and consumed after it."""

    def stream_later(self, messages: Sequence[Message], params: dict[str, Any]) -> ConsumeStream:
        """Create a sync stream now, on the client the caller's context selects (``current()``),
        with the settings of that context; calling the result consumes it."""
        ...

    def astream_later(self, messages: Sequence[Message], params: dict[str, Any]) -> AConsumeStream:
        """The async twin: create now (inside a running loop), ``await consume()`` later."""
        ...


class _ReferenceDeferredStreams:
    """``DeferredStreams`` for ``harness.lm.LM``: ``LM.stream`` resolves at creation."""

    def __init__(self, adapter: ReferenceAdapter) -> None:
        self.adapter = adapter

    def stream_later(self, messages: Sequence[Message], params: dict[str, Any]) -> ConsumeStream:
        stream = self.adapter.current().stream(messages, **params)

        def consume() -> StreamResult:
            with stream:
                events = tuple(stream)
            return StreamResult(events, stream.response)

        return consume

    def astream_later(self, messages: Sequence[Message], params: dict[str, Any]) -> AConsumeStream:
        stream = self.adapter.current().astream(messages, **params)

        async def consume() -> StreamResult:
            async with stream:
                events = tuple([event async for event in stream])
            return StreamResult(events, stream.response)

        return consume


def deferred_streams(adapter: ClientAdapter) -> DeferredStreams | None:
    """The adapter's ``DeferredStreams`` capability, or None when it has none."""
    if isinstance(adapter, DeferredStreams):  # both methods defined by the adapter itself
        return adapter
    if isinstance(adapter, ReferenceAdapter):
        return _ReferenceDeferredStreams(adapter)
    return None
