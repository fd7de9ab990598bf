"""The only module that sends bytes: httpx.Client and httpx.AsyncClient around codecs.

The retry policy is written once as pure functions (``retry_delay``); ``Transport.send``
and ``Transport.asend`` run the same loop and differ only in the lines that await.
Streams are retried only until the response headers arrive: once bytes have been handed
to the caller, a failure is raised, never replayed.

A network failure is described from its cause chain (refused, unresolvable host, TLS,
closed without an answer, body cut, timed out and in which phase), never from the
transport library's own wording, so the same failure raises the same type with the same
message on both paths (``_failure``).
"""

from __future__ import annotations

import functools
import os
import random
import socket
import ssl
import threading
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from errno import ECONNRESET
from typing import TYPE_CHECKING, Any

import httpx

from harness.providers.base import Codec, HttpRequest
from harness.types import (
    APIConnectionError,
    LLMError,
    MalformedResponseError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
)

if TYPE_CHECKING:
    import asyncio

DEFAULT_TIMEOUT = 60.0
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter; ``Retry-After`` is honoured.

    ``max_retries`` is the number of retries after the first attempt (0 disables them).
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    """A provider asking to wait longer than this is not retried: the error is raised."""


RETRYABLE = (RateLimitError, ServerError, APIConnectionError, RequestTimeoutError)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every client: loading the CA bundle costs ~25 ms each time."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def retry_delay(
    policy: RetryPolicy, retries_done: int, error: LLMError, rng: random.Random
) -> float | None:
    """Seconds to wait before the next attempt, or None when ``error`` must be raised."""
    if retries_done >= policy.max_retries or not isinstance(error, RETRYABLE):
        return None
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        return retry_after if retry_after <= policy.max_retry_after else None
    ceiling = min(policy.max_delay, policy.initial_delay * 2**retries_done)
    return rng.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class StreamStart:
    """A streamed 2xx response whose body has not been read yet."""

    content_type: str
    response: httpx.Response


class Transport:
    """Sends codec requests over httpx with the retry policy, sync or async.

    One ``httpx.Client`` serves every thread. ``httpx.AsyncClient`` connections belong to
    the event loop that opened them, so there is one async client per running loop
    (asyncify and worker threads run their own loops).

    The async client runs over aiohttp (``httpx_aiohttp``) unless ``transport`` is given:
    on the loopback benchmark (bench/bench_client.py) httpx's own async pool managed about
    a tenth of the throughput at concurrency 50. The API stays httpx's, so replay
    transports and vcrpy's httpx hooks work the same on both paths.
    """

    def __init__(
        self,
        *,
        policy: RetryPolicy | None = None,
        timeout: float | None = None,
        transport: Any = None,
        seed: int | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self._transport = transport
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._async_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[httpx.AsyncClient, AsyncGenerator[None, None]]
        ] = weakref.WeakKeyDictionary()

    # --- clients ------------------------------------------------------------------

    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=self.timeout,
                    transport=self._transport,
                    limits=LIMITS,
                    verify=tls_context(),
                )
            return self._client

    async def async_client(self) -> httpx.AsyncClient:
        """The async client of the running loop, closed when that loop shuts down."""
        import asyncio  # imported here, not at `import harness`: it costs half of httpx

        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._async_clients.get(loop)
            if entry is not None:
                return entry[0]
            client = self._new_async_client()
            guard = self._close_at_loop_shutdown(loop, client)
            self._async_clients[loop] = (client, guard)
        await guard.__anext__()
        return client

    async def _close_at_loop_shutdown(
        self, loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient
    ) -> AsyncGenerator[None, None]:  # pragma: no mutate block (see below)
        """Started once per loop: ``asyncio.run`` closes pending async generators when its
        loop shuts down (``shutdown_asyncgens``), and this one then releases the client.

        Kept free of logic and out of mutation testing: mutmut wraps an async generator
        in another, and the loop's shutdown closes both at once, which fails."""
        try:
            yield
        finally:
            await self._release(loop, client)

    async def _release(self, loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient) -> None:
        """Forget the async client of ``loop`` (which is ending) and close it."""
        with self._lock:
            self._async_clients.pop(loop, None)
        await client.aclose()

    def _new_async_client(self) -> httpx.AsyncClient:
        if self._transport is not None:
            return httpx.AsyncClient(timeout=self.timeout, transport=self._transport)
        from httpx_aiohttp import HttpxAiohttpClient  # aiohttp is slow to import: lazily

        return HttpxAiohttpClient(timeout=self.timeout, transport=_exact_url_transport())

    def close(self) -> None:
        """Close the sync client (async clients: ``aclose`` from their loop)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the async client of the running loop."""
        import asyncio

        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._async_clients.get(loop)
        if entry is not None:
            await entry[1].aclose()

    # --- one attempt ----------------------------------------------------------------

    def _prepare(self, codec: Codec, request: HttpRequest, timeout: float | None) -> httpx.Request:
        signed = codec.sign(request)
        extensions = {} if timeout is None else {"timeout": httpx.Timeout(timeout).as_dict()}
        return httpx.Request(
            signed.method,
            signed.url,
            headers=signed.headers,
            content=signed.body,
            extensions=extensions,
        )

    def _delay(
        self, policy: RetryPolicy | None, retries_done: int, error: LLMError
    ) -> float | None:
        with self._lock:
            return retry_delay(policy or self.policy, retries_done, error, self._rng)

    @staticmethod
    def _error(codec: Codec, response: httpx.Response) -> LLMError:
        return codec.decode_error(response.status_code, response.headers, response.content)

    # --- sync -------------------------------------------------------------------

    def send(
        self,
        codec: Codec,
        request: HttpRequest,
        *,
        policy: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> bytes:
        """Send with retries and return the 2xx body; raise the mapped ``LLMError``.

        The body is read inside the retry loop: nothing has reached the caller yet, so a
        connection cut mid-body is retried like one cut before the headers."""
        with self._open(codec, request, whole=True, policy=policy, timeout=timeout) as start:
            return start.response.content

    @contextmanager
    def stream(
        self,
        codec: Codec,
        request: HttpRequest,
        *,
        policy: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> Iterator[StreamStart]:
        """Send with retries until headers arrive; the body is read by the caller."""
        with self._open(codec, request, whole=False, policy=policy, timeout=timeout) as start:
            yield start

    @contextmanager
    def _open(
        self,
        codec: Codec,
        request: HttpRequest,
        *,
        whole: bool,
        policy: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> Iterator[StreamStart]:
        retries_done = 0
        while True:
            try:
                response = _map_transport_errors(
                    codec,
                    lambda: self.client().send(self._prepare(codec, request, timeout), stream=True),
                )
                failed = response.status_code >= 400
                try:
                    if whole or failed:
                        _map_transport_errors(codec, response.read)
                except BaseException:
                    response.close()
                    raise
                if failed:
                    response.close()
                    raise self._error(codec, response)
            except LLMError as error:
                delay = self._delay(policy, retries_done, error)
                if delay is None:
                    raise
                retries_done += 1
                time.sleep(delay)
                continue
            try:
                yield StreamStart(_content_type(response), response)
            finally:
                response.close()
            return

    # --- async ------------------------------------------------------------------

    async def asend(
        self,
        codec: Codec,
        request: HttpRequest,
        *,
        policy: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> bytes:
        """Async twin of ``send``: same attempts, same errors."""
        async with self._aopen(codec, request, whole=True, policy=policy, timeout=timeout) as start:
            return start.response.content

    @asynccontextmanager
    async def astream(
        self,
        codec: Codec,
        request: HttpRequest,
        *,
        policy: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[StreamStart]:
        """Async twin of ``stream``."""
        async with self._aopen(
            codec, request, whole=False, policy=policy, timeout=timeout
        ) as start:
            yield start

    @asynccontextmanager
    async def _aopen(
        self,
        codec: Codec,
        request: HttpRequest,
        *,
        whole: bool,
        policy: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[StreamStart]:
        retries_done = 0
        while True:
            try:
                client = await self.async_client()
                response = await _amap_transport_errors(
                    codec, client.send(self._prepare(codec, request, timeout), stream=True)
                )
                failed = response.status_code >= 400
                try:
                    if whole or failed:
                        await _amap_transport_errors(codec, response.aread())
                except BaseException:
                    await response.aclose()
                    raise
                if failed:
                    await response.aclose()
                    raise self._error(codec, response)
            except LLMError as error:
                delay = self._delay(policy, retries_done, error)
                if delay is None:
                    raise
                retries_done += 1
                import asyncio

                await asyncio.sleep(delay)
                continue
            try:
                yield StreamStart(_content_type(response), response)
            finally:
                await response.aclose()
            return


def _exact_url_transport() -> httpx.AsyncBaseTransport:
    """httpx-aiohttp's transport, sending every URL exactly as the codec built it
    (``_exact_url_transport_class``)."""
    transport: httpx.AsyncBaseTransport = _exact_url_transport_class()(
        verify=tls_context(), limits=LIMITS
    )
    return transport


@functools.cache
def _exact_url_transport_class() -> Any:
    """httpx-aiohttp's transport class, sending every URL exactly as the codec built it.

    aiohttp parses a URL string with yarl, which re-quotes it: ``%3A`` in a path becomes
    ``:``. A request signed over one path (SigV4 signs the path, and Bedrock model ids
    hold ``:``) and sent with another fails the provider's signature check, so the
    session here takes each URL as already encoded (``yarl.URL(url, encoded=True)``),
    as aiobotocore does. The connector is httpx-aiohttp's own."""
    import warnings

    import aiohttp
    import yarl
    from httpx_aiohttp.transport import AiohttpTransport

    with warnings.catch_warnings():  # aiohttp discourages subclassing; request() is public
        warnings.simplefilter("ignore", DeprecationWarning)

        class ExactURLSession(aiohttp.ClientSession):
            def request(self, method: str, url: Any, **kwargs: Any) -> Any:
                if isinstance(url, str):
                    url = yarl.URL(url, encoded=True)
                return super().request(method, url, **kwargs)

    class ExactURLTransport(AiohttpTransport):
        def get_client(self) -> aiohttp.ClientSession:
            connector = aiohttp.TCPConnector(
                keepalive_timeout=self.limits.keepalive_expiry,
                ssl=self.ssl_context,
                limit=self.limits.max_connections or 0,
            )
            return ExactURLSession(connector=connector)

    return ExactURLTransport


# --- helpers shared by both paths ------------------------------------------------------


def _content_type(response: httpx.Response) -> str:
    value: str = response.headers.get("content-type", "")
    return value.split(";")[0].strip().lower()


def _mapped(codec: Codec, exc: httpx.HTTPError) -> LLMError:
    if isinstance(exc, httpx.DecodingError):
        return MalformedResponseError(
            f"response body could not be decoded ({exc})", provider=codec.provider
        )
    cls, message = _failure(exc)
    return cls(message, provider=codec.provider)


_TIMEOUT_PHASES = {
    "ConnectTimeout": "while connecting",  # httpx
    "ConnectionTimeoutError": "while connecting",  # aiohttp
    "ReadTimeout": "while waiting for the response",  # httpx
    "SocketTimeoutError": "while waiting for the response",  # aiohttp
    "WriteTimeout": "while sending the request",
    "PoolTimeout": "while waiting for a free connection",
}


def _failure(exc: httpx.HTTPError) -> tuple[type[LLMError], str]:
    """The error class and message for a transport failure, the same for the sync path
    (httpx over httpcore) and the async one (httpx over aiohttp), whose exceptions differ
    in type and wording for the same failure (httpx_aiohttp reports any aiohttp connection
    error as ``ConnectTimeout``): the cause chain is read for what really happened."""
    import asyncio  # not at `import harness`; TimeoutError's twin on Python 3.10

    host, where, scheme = _address(exc)
    chain = _causes(exc)
    names = {type(error).__name__ for error in chain}
    if _from_aiohttp(exc):  # its httpx type says nothing: look at what aiohttp raised
        timed_out = any(isinstance(e, (TimeoutError, asyncio.TimeoutError)) for e in chain)
    else:
        timed_out = isinstance(exc, httpx.TimeoutException)
    if timed_out:
        phase = next((_TIMEOUT_PHASES[n] for n in _TIMEOUT_PHASES if n in names), "")
        return RequestTimeoutError, f"request to {where} timed out" + (f" {phase}" if phase else "")
    tls = [e for e in chain if isinstance(e, ssl.SSLError)]
    if tls:
        reason = getattr(tls[-1], "verify_message", None) or tls[-1].reason or tls[-1]
        return APIConnectionError, f"TLS handshake with {where} failed ({reason})"
    reset = any(isinstance(e, ConnectionResetError) for e in chain)
    connecting = isinstance(exc, httpx.ConnectError) or "ClientConnectorError" in names
    if reset and scheme == "https" and connecting:
        # a reset after the TCP connection, before the request: the server broke the
        # TLS handshake off (httpcore and aiohttp both report it as a reset while connecting)
        return APIConnectionError, f"TLS handshake with {where} failed (connection reset)"
    for error in chain:
        if isinstance(error, socket.gaierror):
            detail = error.strerror or str(error)
            return APIConnectionError, f"cannot resolve host {host} ({detail}): check the URL"
    if any(isinstance(error, ConnectionRefusedError) for error in chain):
        return APIConnectionError, (
            f"connection refused to {where}: nothing accepts connections there "
            "(is the server running, and is the URL right?)"
        )
    text = " ".join(str(error) for error in chain)
    if "ServerDisconnectedError" in names or "without sending a response" in text:
        return APIConnectionError, f"{where} closed the connection without sending a response"
    if "ClientPayloadError" in names or "without sending complete message body" in text:
        return APIConnectionError, f"the connection to {where} was cut before the body ended"
    errno = next((e.errno for e in reversed(chain) if isinstance(e, OSError) and e.errno), None)
    if errno is None and reset:
        errno = ECONNRESET
    if errno is not None:
        return APIConnectionError, f"connection to {where} failed: {os.strerror(errno)}"
    return APIConnectionError, f"connection to {where} failed ({exc!r})"


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what caused it, outermost first (``__cause__``, ``__context__``, and
    aiohttp's ``os_error``)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        nested = getattr(current, "os_error", None)
        current = current.__cause__ or current.__context__
        if current is None and isinstance(nested, BaseException):
            current = nested
    return chain


def _from_aiohttp(exc: BaseException) -> bool:
    cause = exc.__cause__
    return cause is not None and type(cause).__module__.startswith("aiohttp")


def _address(exc: httpx.HTTPError) -> tuple[str, str, str]:
    """``(host, "host:port", scheme)`` of the request that failed (the port implied by
    the scheme when the URL has none)."""
    try:
        url = exc.request.url
    except RuntimeError:  # an exception raised without its request
        return "the server", "the server", ""
    port = url.port or {"https": 443, "http": 80}.get(url.scheme)
    return url.host, f"{url.host}:{port}" if port else url.host, url.scheme


def _map_transport_errors(codec: Codec, fn: Any) -> Any:
    try:
        return fn()
    except (httpx.TransportError, httpx.DecodingError) as exc:
        raise _mapped(codec, exc) from exc


async def _amap_transport_errors(codec: Codec, awaitable: Any) -> Any:
    try:
        return await awaitable
    except (httpx.TransportError, httpx.DecodingError) as exc:
        raise _mapped(codec, exc) from exc


def iter_bytes(codec: Codec, response: httpx.Response) -> Iterator[bytes]:
    """The body of a streamed response, chunk by chunk, transport errors mapped."""
    chunks = response.iter_bytes()
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise _mapped(codec, exc) from exc
        yield chunk


async def aiter_bytes(codec: Codec, response: httpx.Response) -> AsyncIterator[bytes]:
    """Async twin of ``iter_bytes``."""
    chunks = response.aiter_bytes()
    while True:
        try:
            chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise _mapped(codec, exc) from exc
        yield chunk
