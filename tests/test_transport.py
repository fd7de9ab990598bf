"""The retry policy and both transports: same attempts, same errors, sync and async."""

from __future__ import annotations

import random
import re
import socket
import threading
from collections.abc import Callable, Mapping

import httpx
import pytest

from harness.lm import LM
from harness.providers.base import HttpRequest, error_class_for_status, make_error
from harness.transport import RetryPolicy, Transport, retry_delay
from harness.types import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    LLMError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
)

FAST = RetryPolicy(max_retries=3, initial_delay=0.001, max_delay=0.002)


class EchoCodec:
    """The least a codec must do, so these tests exercise the transport alone."""

    provider = "echo"

    def sign(self, request: HttpRequest) -> HttpRequest:
        return request

    def decode_error(self, status: int, headers: Mapping[str, str], body: bytes) -> LLMError:
        cls = error_class_for_status(status)
        return make_error(
            cls, body.decode(), provider="echo", status=status, headers=headers, body=body
        )


REQUEST = HttpRequest("POST", "http://llm.test/v1/x", {"content-type": "application/json"}, b"{}")


def scripted(*outcomes: int | Exception) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport answering each attempt with the next status (or raising the error)."""
    seen: list[httpx.Request] = []
    queue = list(outcomes)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        outcome = queue.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        headers = {"retry-after": "0"} if outcome == 429 else {}
        return httpx.Response(outcome, headers=headers, content=f"status {outcome}".encode())

    return httpx.MockTransport(handler), seen


# --- the pure policy ---------------------------------------------------------------


def rate_limited(retry_after: float | None) -> RateLimitError:
    return RateLimitError("slow down", provider="p", status=429, retry_after=retry_after)


def test_retry_after_is_honoured_exactly() -> None:
    assert retry_delay(RetryPolicy(), 0, rate_limited(3.5), random.Random(0)) == 3.5


def test_retry_after_beyond_the_cap_is_not_retried() -> None:
    policy = RetryPolicy(max_retry_after=10)
    assert retry_delay(policy, 0, rate_limited(11), random.Random(0)) is None


@pytest.mark.parametrize("retries_done", [0, 1, 2, 3, 4])
def test_backoff_is_exponential_with_jitter_and_bounded(retries_done: int) -> None:
    policy = RetryPolicy(max_retries=10, initial_delay=0.5, max_delay=4.0)
    ceiling = min(4.0, 0.5 * 2**retries_done)
    error = ServerError("boom", provider="p", status=500)
    delays = {retry_delay(policy, retries_done, error, random.Random(seed)) for seed in range(50)}
    assert all(d is not None and ceiling / 2 <= d <= ceiling for d in delays)
    assert len(delays) > 1, "jitter must spread the delays"


@pytest.mark.parametrize(
    "error",
    [
        BadRequestError("bad", provider="p", status=400),
        AuthenticationError("who", provider="p", status=401),
    ],
)
def test_client_errors_are_not_retried(error: LLMError) -> None:
    assert retry_delay(RetryPolicy(), 0, error, random.Random(0)) is None


@pytest.mark.parametrize(
    "error",
    [
        ServerError("boom", provider="p", status=503),
        APIConnectionError("reset", provider="p"),
        RequestTimeoutError("slow", provider="p"),
        rate_limited(None),
    ],
)
def test_transient_errors_are_retried_until_the_budget_is_spent(error: LLMError) -> None:
    policy = RetryPolicy(max_retries=2)
    assert retry_delay(policy, 1, error, random.Random(0)) is not None
    assert retry_delay(policy, 2, error, random.Random(0)) is None


# --- sync and async make the same attempts ------------------------------------------


OUTCOMES = [
    ((429, 500, 200), 3, None),
    ((503, 503, 503, 503, 503), 4, ServerError),
    ((400, 200), 1, BadRequestError),
    ((httpx.ConnectError("refused"), 200), 2, None),
    ((httpx.ReadTimeout("slow"), httpx.ReadTimeout("slow"), 200), 3, None),
    ((httpx.ConnectError("refused"),) * 4, 4, APIConnectionError),
]


@pytest.mark.parametrize(("outcomes", "attempts", "error"), OUTCOMES)
def test_sync_attempts(
    outcomes: tuple[int | Exception, ...], attempts: int, error: type[LLMError] | None
) -> None:
    mock, seen = scripted(*outcomes)
    transport = Transport(policy=FAST, transport=mock)
    if error is None:
        assert transport.send(EchoCodec(), REQUEST) == b"status 200"  # type: ignore[arg-type]
    else:
        with pytest.raises(error):
            transport.send(EchoCodec(), REQUEST)  # type: ignore[arg-type]
    assert len(seen) == attempts


@pytest.mark.parametrize(("outcomes", "attempts", "error"), OUTCOMES)
async def test_async_attempts(
    outcomes: tuple[int | Exception, ...], attempts: int, error: type[LLMError] | None
) -> None:
    mock, seen = scripted(*outcomes)
    transport = Transport(policy=FAST, transport=mock)
    if error is None:
        assert await transport.asend(EchoCodec(), REQUEST) == b"status 200"  # type: ignore[arg-type]
    else:
        with pytest.raises(error):
            await transport.asend(EchoCodec(), REQUEST)  # type: ignore[arg-type]
    assert len(seen) == attempts
    await transport.aclose()


def test_the_same_failure_raises_equal_errors_sync_and_async() -> None:
    import asyncio

    def fail(t: Transport) -> LLMError:
        with pytest.raises(LLMError) as info:
            t.send(EchoCodec(), REQUEST)  # type: ignore[arg-type]
        return info.value

    async def afail(t: Transport) -> LLMError:
        with pytest.raises(LLMError) as info:
            await t.asend(EchoCodec(), REQUEST)  # type: ignore[arg-type]
        return info.value

    sync_error = fail(Transport(policy=FAST, transport=scripted(*[500] * 4)[0]))
    async_error = asyncio.run(afail(Transport(policy=FAST, transport=scripted(*[500] * 4)[0])))
    assert sync_error == async_error
    assert str(sync_error) == str(async_error) == "echo HTTP 500: status 500"


def test_a_stream_is_retried_before_headers_only() -> None:
    mock, seen = scripted(500, 200)
    transport = Transport(policy=FAST, transport=mock)
    with transport.stream(EchoCodec(), REQUEST) as start:  # type: ignore[arg-type]
        assert start.response.read() == b"status 200"
    assert len(seen) == 2


class CutBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that sends a few bytes, then the connection drops."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield b'{"partial": '
        raise httpx.ReadError("connection reset by peer")

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        yield b'{"partial": '
        raise httpx.ReadError("connection reset by peer")


def cut_then_whole() -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(200, stream=CutBody())
        return httpx.Response(200, content=b'{"whole": true}')

    return httpx.MockTransport(handler), seen


def test_a_body_cut_before_the_caller_saw_it_is_retried_sync() -> None:
    mock, seen = cut_then_whole()
    assert Transport(policy=FAST, transport=mock).send(EchoCodec(), REQUEST) == b'{"whole": true}'  # type: ignore[arg-type]
    assert len(seen) == 2


async def test_a_body_cut_before_the_caller_saw_it_is_retried_async() -> None:
    mock, seen = cut_then_whole()
    transport = Transport(policy=FAST, transport=mock)
    assert await transport.asend(EchoCodec(), REQUEST) == b'{"whole": true}'  # type: ignore[arg-type]
    assert len(seen) == 2
    await transport.aclose()


def test_a_stream_cut_after_bytes_reached_the_caller_is_not_replayed() -> None:
    from harness.transport import iter_bytes

    mock, seen = cut_then_whole()
    received: list[bytes] = []
    transport = Transport(policy=FAST, transport=mock)
    with (
        pytest.raises(APIConnectionError, match="connection"),
        transport.stream(EchoCodec(), REQUEST) as start,  # type: ignore[arg-type]
    ):
        for chunk in iter_bytes(EchoCodec(), start.response):  # type: ignore[arg-type]
            received.append(chunk)
    assert received == [b'{"partial": '] and len(seen) == 1


def test_an_undecodable_body_is_malformed_not_an_httpx_error() -> None:
    from harness.types import MalformedResponseError

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-encoding": "gzip"}, content=b"not gzip")

    transport = Transport(policy=FAST, transport=httpx.MockTransport(handler))
    with pytest.raises(MalformedResponseError, match="could not be decoded"):
        transport.send(EchoCodec(), REQUEST)  # type: ignore[arg-type]


# --- the same network failure reads the same, sync and async ----------------------------


def _failures(lm: LM) -> dict[str, LLMError]:
    """The error of one call made in each mode (sync and async, whole and streamed)."""
    import asyncio

    errors: dict[str, LLMError] = {}
    calls: dict[str, Callable[[], object]] = {
        "sync": lambda: lm("hi"),
        "async": lambda: asyncio.run(lm.acall("hi")),
        "stream": lambda: lm.stream("hi").collect(),
        "async stream": lambda: asyncio.run(lm.astream("hi").collect()),
    }
    for mode, call in calls.items():
        with pytest.raises(LLMError) as info:
            call()
        errors[mode] = info.value
    return errors


def _one_failure(errors: dict[str, LLMError]) -> LLMError:
    """All modes raised the same type with the same message: that error."""
    assert len({(type(e), str(e)) for e in errors.values()}) == 1, {
        mode: f"{type(e).__name__}: {e}" for mode, e in errors.items()
    }
    return errors["sync"]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_connection_reads_the_same_in_every_mode() -> None:
    port = _closed_port()
    lm = LM("openai/gpt-test", api_key="k", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    error = _one_failure(_failures(lm))
    assert isinstance(error, APIConnectionError)
    assert str(error) == (
        f"openai: connection refused to 127.0.0.1:{port}: nothing accepts connections there "
        "(is the server running, and is the URL right?)"
    )


def _read_request(connection: socket.socket) -> None:
    """Read one whole HTTP request, so that closing sends FIN, never RST.

    Closing a socket with unread bytes makes the kernel reset the connection, and the
    client then reads "connection reset" or "closed", depending on timing.
    """
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    remaining = int(length.group(1)) - len(body) if length else 0
    while remaining > 0:
        chunk = connection.recv(remaining)
        if not chunk:
            return
        remaining -= len(chunk)


def test_a_tls_handshake_the_server_resets_reads_the_same_in_every_mode() -> None:
    """httpcore reports a reset during the handshake as a plain connection reset, aiohttp
    as a failed connection: both are the TLS handshake failing."""
    from conformance.runs import ResettingServer

    server = ResettingServer()
    try:
        lm = LM("openai/gpt-test", api_key="k", base_url=server.url + "/v1", max_retries=0)
        error = _one_failure(_failures(lm))
    finally:
        server.close()
    assert isinstance(error, APIConnectionError)
    where = server.url.removeprefix("https://")
    assert str(error) == f"openai: TLS handshake with {where} failed (connection reset)"


def test_a_server_closing_without_an_answer_reads_the_same_in_every_mode() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        def close_each() -> None:
            while True:
                try:
                    connection, _ = server.accept()
                except OSError:  # the test closed the listening socket
                    return
                with connection:
                    _read_request(connection)

        thread = threading.Thread(target=close_each)
        thread.start()
        try:
            url = f"http://127.0.0.1:{port}/v1"
            lm = LM("openai/gpt-test", api_key="k", base_url=url, max_retries=0)
            error = _one_failure(_failures(lm))
        finally:
            server.shutdown(socket.SHUT_RDWR)
            server.close()
            thread.join()
    assert isinstance(error, APIConnectionError)
    expected = f"openai: 127.0.0.1:{port} closed the connection without sending a response"
    assert str(error) == expected


def test_a_cut_body_and_a_timeout_read_the_same_in_every_mode() -> None:
    from harness.emulator import CutStream, Emulator, Reply, Slow, client_options, serve

    with serve(Emulator([CutStream(Reply("cut me off, please"), 1)] * 4)) as url:
        lm = LM("openai/gpt-test", api_key="k", max_retries=0, **client_options("openai", url))
        cut = _one_failure(_failures(lm))
    with serve(Emulator([Slow(0.5, Reply("too late"))] * 4)) as url:
        options = client_options("openai", url)
        lm = LM("openai/gpt-test", api_key="k", max_retries=0, timeout=0.05, **options)
        slow = _one_failure(_failures(lm))
    where = url.removeprefix("http://")
    assert isinstance(cut, APIConnectionError)
    assert str(cut).endswith("was cut before the body ended")
    assert isinstance(slow, RequestTimeoutError)
    assert str(slow) == f"openai: request to {where} timed out while waiting for the response"
