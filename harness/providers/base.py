"""What every provider codec provides, and the pieces they share.

A codec is sans-I/O (like h11): it turns ``CallParams`` into an ``HttpRequest``, a response
body into a ``Response``, an error body into an ``LLMError``, and streamed bytes into
``StreamEvent`` values. It never opens a socket, sleeps or starts a thread.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from harness.types import (
    AuthenticationError,
    BadRequestError,
    CallParams,
    Finish,
    LLMError,
    MalformedResponseError,
    ModelName,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ReasoningDelta,
    Response,
    ServerError,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageUpdate,
)


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request as plain data. ``headers`` keys are lower-case."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class StreamDecoder(Protocol):
    """Incremental decoder: bytes may be split anywhere, including inside a character."""

    raw: list[Any]
    """Every decoded provider payload so far (dicts), for ``Response.raw``."""

    def feed(self, data: bytes) -> list[StreamEvent]:
        """Take the next bytes, return the events they complete."""
        ...

    def close(self) -> list[StreamEvent]:
        """The stream ended: return what is left, or raise ``MalformedResponseError``
        if it ended inside an event."""
        ...


class Codec(Protocol):
    """One provider's wire format."""

    provider: str

    def build_request(self, params: CallParams, *, stream: bool) -> HttpRequest:
        """The request for one call (unsigned; see ``sign``)."""
        ...

    def sign(self, request: HttpRequest) -> HttpRequest:
        """Add per-attempt authentication (SigV4 for Bedrock); identity elsewhere."""
        ...

    def decode_response(self, body: bytes) -> Response:
        """Decode a successful (2xx) non-streamed body."""
        ...

    def decode_error(self, status: int, headers: Mapping[str, str], body: bytes) -> LLMError:
        """Map a non-2xx response to the error hierarchy."""
        ...

    def stream_decoder(self, content_type: str) -> StreamDecoder:
        """A fresh decoder for a streamed 2xx body of this content type."""
        ...


# --- shared helpers ------------------------------------------------------------------


def compact_json(value: Any) -> str:
    """JSON text without spaces, as request bodies are sent."""
    return json.dumps(value, separators=(",", ":"))


def malformed(provider: str, what: str, body: bytes | str) -> MalformedResponseError:
    """The error for a body that could not be decoded: says what, quotes its start."""
    snippet = body[:200] if isinstance(body, str) else body[:200].decode("utf-8", "replace")
    return MalformedResponseError(f"{what}: {snippet!r}", provider=provider)


def error_body(body: bytes) -> tuple[Any, str]:
    """``(JSON value or None, text snippet)`` of an error response body."""
    text = body.decode("utf-8", "replace").strip()[:1000]
    try:
        return json.loads(body), text
    except ValueError:
        return None, text


def load_json(provider: str, body: bytes | str) -> Any:
    """Parse a body (or a decoded event's text) as JSON or raise ``MalformedResponseError``
    naming the provider."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise malformed(provider, f"response body is not JSON ({exc})", body) from None


def parse_arguments(text: str) -> tuple[dict[str, Any], str | None]:
    """Tool-call arguments text -> (arguments, None), or ({}, text) if not a JSON object."""
    if not text.strip():
        return {}, None
    try:
        value = json.loads(text)
    except ValueError:
        return {}, text
    if not isinstance(value, dict):
        return {}, text
    return value, None


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import datetime, timezone
        from email.utils import parsedate_to_datetime  # rare: kept off `import harness`

        when = parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
    except (TypeError, ValueError):
        return None


_STATUS_ERRORS: dict[int, type[LLMError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: BadRequestError,
    413: BadRequestError,
    422: BadRequestError,
    429: RateLimitError,
}


def error_class_for_status(status: int) -> type[LLMError]:
    """The exception class for an HTTP status when the body says nothing more precise."""
    if status in _STATUS_ERRORS:
        return _STATUS_ERRORS[status]
    if status >= 500:
        return ServerError
    return BadRequestError


def make_error(
    cls: type[LLMError],
    message: str,
    *,
    provider: str,
    status: int,
    headers: Mapping[str, str],
    body: Any,
) -> LLMError:
    """Instantiate ``cls``; rate-limit errors also get ``retry_after`` from the headers."""
    if issubclass(cls, RateLimitError):
        return cls(
            message,
            provider=provider,
            status=status,
            body=body,
            retry_after=parse_retry_after(headers),
        )
    return cls(message, provider=provider, status=status, body=body)


class SSEParser:
    """Incremental Server-Sent Events parser (WHATWG rules: LF, CR or CRLF line ends).

    ``feed`` returns completed ``(event, data)`` pairs; ``event`` is ``""`` when the
    event had no ``event:`` field. Comment lines (``:``) are skipped.

    Linear in the size of the stream however it is cut: each fed chunk is searched once
    for line ends, and the pieces of an unfinished line are kept in a list and joined
    once, when its line end arrives (a 50 MB event sent in 64 KiB chunks is not rescanned
    or recopied per chunk; see bench/bench_stream.py).
    """

    def __init__(self) -> None:
        self._partial: list[bytes] = []
        """The bytes of the line being read, one piece per feed, not joined yet."""
        self._event = ""
        self._data: list[str] = []
        self._pending_cr = False

    def feed(self, data: bytes) -> list[tuple[str, str]]:
        """Take the next bytes, return the events they complete."""
        if not data:
            return []
        pos = 0
        if self._pending_cr and data[:1] == b"\n":
            pos = 1  # the LF of a CRLF whose CR ended the previous feed
        self._pending_cr = False
        out: list[tuple[str, str]] = []
        size = len(data)
        lf, cr = data.find(b"\n", pos), data.find(b"\r", pos)
        while lf >= 0 or cr >= 0:
            if cr >= 0 and (lf < 0 or cr < lf):
                end = after = cr + 1
                if after == size:
                    self._pending_cr = True  # maybe the first half of a split CRLF
                elif data[after] == 0x0A:
                    after += 1
            else:
                end = after = lf + 1
            self._end_line(data[pos : end - 1], out)
            pos = after
            if 0 <= lf < pos:
                lf = data.find(b"\n", pos)
            if 0 <= cr < pos:
                cr = data.find(b"\r", pos)
        if pos < size:
            self._partial.append(data[pos:])
        return out

    def close(self) -> list[tuple[str, str]]:
        """End of stream: a final event without its blank line is still delivered."""
        out: list[tuple[str, str]] = []
        if self._partial:
            self._end_line(b"", out)
        self._line(b"", out)
        return out

    def _end_line(self, tail: bytes, out: list[tuple[str, str]]) -> None:
        """A line ended with ``tail``: join it to its earlier pieces and handle it."""
        if self._partial:
            self._partial.append(tail)
            tail = b"".join(self._partial)
            self._partial = []
        self._line(tail, out)

    def _line(self, line: bytes, out: list[tuple[str, str]]) -> None:
        """One line, still bytes: a ``data:`` value is decoded straight from the line (a
        memoryview, no intermediate copy of a large event); other lines are small."""
        if not line:
            if self._data:
                out.append((self._event, "\n".join(self._data)))
            self._event, self._data = "", []
            return
        colon = line.find(b":")
        if colon == 0:
            line.decode("utf-8")  # a comment: ignored, but the stream must still be UTF-8
            return
        if colon < 0:
            name, start = line, len(line)
        else:
            name, start = line[:colon], colon + 1
            if line[start : start + 1] == b" ":
                start += 1
        if name == b"data":
            self._data.append(str(memoryview(line)[start:], "utf-8"))
            return
        text = line.decode("utf-8")
        if name == b"event":
            self._event = text[start:]


class BodyStart:
    """The content type, size and first bytes of a streamed body, for the error that
    says what was received when the body is not the stream expected (a proxy's HTML
    error page sent with status 200, a JSON error...)."""

    KEEP = 200

    def __init__(self, content_type: str = "") -> None:
        self.content_type = content_type
        self.size = 0
        self._head = bytearray()

    def add(self, data: bytes) -> None:
        """Count the next bytes (the first ``KEEP`` are kept)."""
        if len(self._head) < self.KEEP:
            self._head += data[: self.KEEP - len(self._head)]
        self.size += len(data)

    def __str__(self) -> str:
        kind = self.content_type or "no content type"
        if not self.size:
            return f"received an empty body ({kind})"
        snippet = bytes(self._head).decode("utf-8", "replace")
        more = "..." if self.size > len(self._head) else ""
        return f"received {kind} ({self.size} bytes) starting {snippet!r}{more}"


class SSEStreamDecoder:
    """The frame of an SSE stream decoder: subclasses turn each event into stream events.

    ``end`` names the event that must close the stream (``None``: any end is fine); a
    subclass sets ``self.finished`` when it sees it, and events after it are ignored.
    ``content_type`` (of the response) only serves the error raised when the body held
    no event at all, which says what it held instead.
    """

    provider = ""
    end: str | None = None

    def __init__(self, content_type: str = "") -> None:
        self.raw: list[Any] = []
        self.finished = False
        self._sse = SSEParser()
        self._body = BodyStart(content_type)
        self._events = 0  # server-sent events received

    def feed(self, data: bytes) -> list[StreamEvent]:
        """Take the next bytes, return the events they complete."""
        self._body.add(data)
        return self._decode(data)

    def close(self) -> list[StreamEvent]:
        """End of stream: the last events, or ``MalformedResponseError`` if it ended early."""
        events = self._decode(None)
        if self.end is not None and not self.finished:
            problem = f"stream ended before {self.end}"
            if not self._events:
                problem += f" and no server-sent event arrived: {self._body}"
            raise MalformedResponseError(problem, provider=self.provider)
        return events

    def event(self, name: str, data: str) -> list[StreamEvent]:
        """The stream events of one SSE event (``name`` is ``""`` without ``event:``)."""
        raise NotImplementedError

    def _decode(self, data: bytes | None) -> list[StreamEvent]:
        try:
            pairs = self._sse.close() if data is None else self._sse.feed(data)
        except UnicodeDecodeError as exc:
            problem = f"stream is not UTF-8: {exc}"
            if not self._events:
                problem += f"; {self._body}"
            raise MalformedResponseError(problem, provider=self.provider) from None
        self._events += len(pairs)
        events: list[StreamEvent] = []
        for name, text in pairs:
            if not self.finished:
                events.extend(self.event(name, text))
        return events


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    provider_data: dict[str, Any] | None = None


class StreamAccumulator:
    """Folds stream events into the ``Response`` the non-streamed call would return."""

    def __init__(self) -> None:
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, _PartialCall] = {}
        self._usage = Usage()
        self._finish: Any = None
        self._model = ""

    def add(self, event: StreamEvent) -> None:
        if isinstance(event, TextDelta):
            self._text.append(event.text)
        elif isinstance(event, ReasoningDelta):
            self._reasoning.append(event.text)
        elif isinstance(event, ToolCallDelta):
            call = self._calls.setdefault(event.index, _PartialCall())
            if event.id:
                call.id = event.id
            if event.name:
                call.name = event.name
            if event.provider_data:
                call.provider_data = {**(call.provider_data or {}), **event.provider_data}
            call.arguments.append(event.arguments)
        elif isinstance(event, UsageUpdate):
            self._usage = replace(
                self._usage,
                **{k: v for k, v in vars(event.usage).items() if v},
            )
        elif isinstance(event, Finish):
            self._finish = event.reason
        elif isinstance(event, ModelName):
            self._model = event.model

    def response(self, raw: Any = None) -> Response:
        calls = []
        for index in sorted(self._calls):
            partial = self._calls[index]
            arguments, bad = parse_arguments("".join(partial.arguments))
            calls.append(ToolCall(partial.id, partial.name, arguments, bad, partial.provider_data))
        return Response(
            text="".join(self._text),
            tool_calls=tuple(calls),
            finish_reason=self._finish,
            usage=self._usage,
            model=self._model,
            reasoning="".join(self._reasoning),
            raw=raw,
        )
