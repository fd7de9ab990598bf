"""What the conformance suite needs from a client under test.

An adapter wraps one client library (the reference client, an official SDK, litellm,
DSPy...) behind this small interface. Every result is converted to ``harness.types``
values so that the suite compares every client, mode and provider the same way.
A feature the client lacks is declared in ``supports``; the suite then reports
"not supported" instead of a failure.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from harness.types import Message, Response, StreamEvent

FEATURES = frozenset(
    {
        "call",  # sync call
        "acall",  # async call
        "stream",  # sync stream
        "astream",  # async stream
        "chain",  # sync tool chain
        "achain",  # async tool chain
        "context",  # configure + scoped context overrides
        "thread_pool",  # a context-carrying executor submit
        "asyncify",  # run a sync program from async code
        "parallel",  # run many programs in threads
        "deferred",  # create a stream now, consume it later (stream_later/astream_later)
        "transport",  # accepts Target.transport, an httpx transport
    }
)


@dataclass(frozen=True)
class Target:
    """Where a client must point, in terms any client understands."""

    provider: str
    model: str
    """The provider's own model name (no ``provider/`` prefix)."""
    api_key: str | None = None
    """None: the client's usual environment variable."""
    region: str | None = None
    """Bedrock region."""
    aws_credentials: Any = None
    """Bedrock: a botocore ``Credentials``; None: the credential chain."""
    max_retries: int = 2
    fast_retries: bool = True
    """Retry without waiting (the suite counts attempts, it does not time backoff)."""
    transport: Any = None
    """An httpx transport to send through (the emulator when recording), or None."""


@dataclass(frozen=True)
class StreamResult:
    """A consumed stream: the events in order and the whole answer."""

    events: tuple[StreamEvent, ...]
    response: Response


@dataclass(frozen=True)
class ChainOutcome:
    """A finished tool chain: the final answer and the tool results sent back, in order."""

    response: Response
    tool_results: tuple[Message, ...]


Tools = Sequence[Callable[..., Any]]


class ClientAdapter(abc.ABC):
    """The client-under-test protocol. Subclass it to hold another client to the suite."""

    name: str = "client"

    @abc.abstractmethod
    def supports(self, feature: str, provider: str) -> bool:
        """Whether the client has ``feature`` (one of ``FEATURES``) for ``provider``."""

    @abc.abstractmethod
    def connect(self, target: Target) -> Any:
        """Build a client for ``target``."""

    def close(self, client: Any) -> None:  # noqa: B027 (optional hook)
        """Release a client's connections (optional)."""

    # --- calls ------------------------------------------------------------------

    @abc.abstractmethod
    def call(self, client: Any, messages: Sequence[Message], params: dict[str, Any]) -> Response:
        """One sync call."""

    async def acall(
        self, client: Any, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        """One async call."""
        raise NotImplementedError

    def stream(
        self, client: Any, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        """One sync stream, consumed."""
        raise NotImplementedError

    async def astream(
        self, client: Any, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        """One async stream, consumed."""
        raise NotImplementedError

    def chain(
        self, client: Any, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        """A sync tool chain: call, run tools, send results, until a plain answer."""
        raise NotImplementedError

    async def achain(
        self, client: Any, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        """An async tool chain."""
        raise NotImplementedError

    def stream_later(
        self, messages: Sequence[Message], params: dict[str, Any]
    ) -> Callable[[], StreamResult]:
        """Create a stream now, on the client the caller's context selects, with that
        context's settings; calling the result consumes it (maybe after the context)."""
        raise NotImplementedError

    def astream_later(
        self, messages: Sequence[Message], params: dict[str, Any]
    ) -> Callable[[], Awaitable[StreamResult]]:
        """The async twin of ``stream_later``: create now, ``await consume()`` later."""
        raise NotImplementedError

    # --- context primitives ------------------------------------------------------

    def configure(self, client: Any) -> None:
        """Make ``client`` the process-wide default."""
        raise NotImplementedError

    def context(self, client: Any) -> AbstractContextManager[Any]:
        """A block in which ``client`` overrides the default (this thread/task only)."""
        raise NotImplementedError

    def current(self) -> Any:
        """The client the caller's context selects."""
        raise NotImplementedError

    def submit(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on a worker thread with the caller's context; return its result."""
        raise NotImplementedError

    def asyncify(self, fn: Callable[[], Any]) -> Awaitable[Any]:
        """Run the sync ``fn`` from async code with the caller's context."""
        raise NotImplementedError

    def parallel(self, fns: Sequence[Callable[[], Any]]) -> list[Any]:
        """Run every one of ``fns`` on worker threads with the caller's context; results
        in order, a program's exception in its own slot (one failure stops no other)."""
        raise NotImplementedError
