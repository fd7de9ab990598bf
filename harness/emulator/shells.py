"""Two thin shells over one ``Emulator``: an in-process httpx transport and a loopback
HTTP server."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import struct
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx

from harness.emulator.core import EmulatedResponse, Emulator
from harness.types import ConfigurationError

EMULATOR_SIGNING_TIME = datetime(2025, 1, 1, tzinfo=timezone.utc)
"""The fixed clock of requests signed for the emulator (see ``EmulatorTransport``)."""

IDLE_TIMEOUT = 30.0
"""Seconds the loopback server waits for a client's next bytes before closing the
connection: longer than the keep-alive expiry of httpx (5 s) and aiohttp (15 s), so
clients close their idle connections first and never reuse one the server closed."""


class _Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """The response chunks, after the delay: ``time.sleep`` when read by a sync client,
    ``asyncio.sleep`` when read by an async one."""

    def __init__(self, response: EmulatedResponse) -> None:
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        if self._response.delay > 0:
            time.sleep(self._response.delay)
        yield from self._response.chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._response.delay > 0:
            await asyncio.sleep(self._response.delay)
        for chunk in self._response.chunks:
            yield chunk


class EmulatorTransport(httpx.MockTransport):
    """Serves ``emulator`` in-process to ``httpx.Client`` and ``httpx.AsyncClient``, for any
    host, so clients keep the real provider URLs.

    A subclass of ``httpx.MockTransport`` that leaves its request methods alone, so vcrpy
    (which patches them) records what goes through it. The body is a stream of the
    emulator's chunks; a ``Slow`` delay is served before its first byte. A ``CutStream``
    body simply ends early here.

    ``signing_time`` is the instant requests sent through it are signed at: ``LM`` reads
    it and gives it to the Bedrock codec (unless ``signing_time=`` was passed), so the
    SigV4 date and ``x-amz-date`` of recordings made against the emulator never change
    and re-recording without changes rewrites no cassette.
    """

    signing_time: ClassVar[datetime] = EMULATOR_SIGNING_TIME

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        super().__init__(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        answer = self.emulator.handle(
            request.method, str(request.url), dict(request.headers), request.content
        )
        if answer.dropped and answer.reset:
            reset = ConnectionResetError(errno.ECONNRESET, os.strerror(errno.ECONNRESET))
            raise httpx.ReadError(str(reset), request=request) from reset
        if answer.dropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return httpx.Response(answer.status, headers=answer.headers, stream=_Body(answer))


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close joins the handler threads
    request_queue_size = 1024

    def __init__(self, emulator: Emulator, idle_timeout: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.emulator = emulator
        self.idle_timeout = idle_timeout
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def open_connections(self) -> frozenset[socket.socket]:
        with self._open_lock:
            return frozenset(self._open)

    def drop_connections(self) -> None:
        """Wake the handler threads waiting on idle keep-alive connections."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is not an error worth a traceback."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        assert isinstance(self.server, _Server)
        self.connection.settimeout(self.server.idle_timeout)

    def do_POST(self) -> None:
        assert isinstance(self.server, _Server)
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        host = self.headers.get("host") or "127.0.0.1"
        emulator = self.server.emulator
        answer = emulator.handle(
            self.command, f"http://{host}{self.path}", dict(self.headers.items()), body
        )
        if answer.delay > 0:
            time.sleep(answer.delay)
        emulator.answering()  # before a byte of it: the client cannot send its next yet
        if answer.dropped:
            if answer.reset:  # closed at once with linger 0, no FIN before: the kernel sends RST
                linger = struct.pack("ii", 1, 0)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                os.close(self.connection.detach())
            self.close_connection = True  # the request was read: close without a word
            return
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        chunked = answer.stream or answer.cut
        if chunked:
            self.send_header("transfer-encoding", "chunked")
        else:
            self.send_header("content-length", str(len(answer.body)))
        self.end_headers()
        if not chunked:
            self.wfile.write(answer.body)
            return
        for chunk in answer.chunks:
            if chunk:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
        if answer.cut:
            self.close_connection = True  # mid-body: no terminating chunk
        else:
            self.wfile.write(b"0\r\n\r\n")

    do_GET = do_PUT = do_DELETE = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class LoopbackServer:
    """An emulator on a threaded HTTP server on 127.0.0.1 (ephemeral port), serving until
    ``close()``. ``emulator`` may be replaced between runs: the server stays on the same
    port (so error messages naming the address stay the same) and each request is
    answered by the emulator set when it arrives.

    Streams use chunked transfer with a flush per chunk; a ``CutStream`` body is followed
    by closing the connection, so the client sees a broken transfer; a ``Drop`` closes
    the connection without answering.

    A connection that sends nothing for ``idle_timeout`` seconds is closed, so a client
    that never ends its request line (a TLS handshake sent to this plain-HTTP server, a
    stalled upload) cannot hold a handler thread, nor ``close()``, for longer than that.
    """

    def __init__(self, emulator: Emulator, idle_timeout: float = IDLE_TIMEOUT) -> None:
        self._server = _Server(emulator, idle_timeout)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="emulator-server",
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        """The base URL (origin) to send requests to."""

    @property
    def emulator(self) -> Emulator:
        return self._server.emulator

    @emulator.setter
    def emulator(self, emulator: Emulator) -> None:
        self._server.emulator = emulator

    def connections(self) -> frozenset[socket.socket]:
        """The client connections open now (each closed by the server once the client
        closed its end and the handler read that)."""
        return self._server.open_connections()

    def close(self) -> None:
        """Stop serving and join every thread the server started."""
        self._server.shutdown()
        self._server.drop_connections()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@contextmanager
def serve(emulator: Emulator) -> Iterator[str]:
    """Run ``emulator`` on a ``LoopbackServer`` and yield its base URL; on exit, stop it
    and join every thread it started."""
    with LoopbackServer(emulator) as server:
        yield server.url


def client_options(provider: str, base_url: str) -> dict[str, str]:
    """The ``LM`` options that point ``provider`` at an emulator served at ``base_url``."""
    options = {
        "openai": {"base_url": f"{base_url}/v1"},
        "anthropic": {"base_url": base_url},
        "gemini": {"base_url": f"{base_url}/v1beta"},
        "bedrock": {"endpoint_url": base_url},
    }
    if provider not in options:
        known = ", ".join(options)
        raise ConfigurationError(f"unknown provider {provider!r}: choose one of {known}")
    return options[provider]


def public_origin(provider: str, region: str = "us-east-1") -> str:
    """The origin (scheme and host) of ``provider``'s public API: where a request sent to
    an emulator's loopback server would have gone, and what its recording names."""
    origins = {
        "openai": "https://api.openai.com",
        "anthropic": "https://api.anthropic.com",
        "gemini": "https://generativelanguage.googleapis.com",
        "bedrock": f"https://bedrock-runtime.{region}.amazonaws.com",
    }
    if provider not in origins:
        known = ", ".join(origins)
        raise ConfigurationError(f"unknown provider {provider!r}: choose one of {known}")
    return origins[provider]
