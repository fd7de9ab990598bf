"""The emulator core: recognizes a request, takes the next script step, renders it.

Pure: no sockets, no sleeping (a delay is returned for the shell to apply).
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from harness.emulator import anthropic, bedrock, gemini, openai
from harness.emulator.script import (
    Call,
    CutStream,
    Drop,
    Fault,
    Malformed,
    Reply,
    ScriptError,
    Slow,
    Step,
    StreamFault,
    Wire,
    dumps,
)

_ANSWERS: dict[str, Callable[[Call, Reply], Wire]] = {
    "openai": openai.answer,
    "anthropic": anthropic.answer,
    "gemini": gemini.answer,
    "bedrock": bedrock.answer,
}
_STREAM_FAULTS: dict[str, Callable[[Call, StreamFault], Wire]] = {
    "openai": openai.stream_fault,
    "anthropic": anthropic.stream_fault,
    "gemini": gemini.stream_fault,
    "bedrock": bedrock.stream_fault,
}
_FAILURES: dict[str, Callable[[Call, int, str], Wire]] = {
    "openai": openai.failure,
    "anthropic": anthropic.failure,
    "gemini": gemini.failure,
    "bedrock": bedrock.failure,
}


def stream_fault_status(provider: str, status: int) -> int | None:
    """The HTTP status a client can know from ``provider``'s error event for ``status``
    inside a 200 stream: Gemini's error element carries it as ``code``; OpenAI's error
    chunk, Anthropic's ``error`` event and Bedrock's exception frame carry none."""
    return status if provider == "gemini" else None


_BEDROCK = re.compile(r"/model/([^/]+)/(converse|invoke)(-stream|-with-response-stream)?$")
_GEMINI = re.compile(r"/models/([^/:]+):(generateContent|streamGenerateContent)$")


@dataclass(frozen=True)
class EmulatedRequest:
    """A request the emulator received. Header names are lower-case."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class EmulatedResponse:
    """What to send back: wait ``delay`` seconds, then the status, headers and chunks.

    ``stream`` marks a streamed answer (sent with chunked transfer by the loopback server);
    ``cut`` a truncated body (the loopback server closes the connection after it);
    ``dropped`` no answer at all (the connection is closed instead).
    Framing headers (content-length, transfer-encoding) are left to the shell.
    """

    status: int
    headers: dict[str, str]
    chunks: tuple[bytes, ...]
    delay: float = 0.0
    stream: bool = False
    cut: bool = False
    dropped: bool = False
    reset: bool = False
    """With ``dropped``: the connection is reset rather than closed."""

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


@dataclass
class Emulator:
    """Serves ``steps`` in order, one per recognized request, in the wire format of the
    provider the request was sent to (recognized from its URL and body).

    A request beyond the script gets a 500 saying the script is exhausted; a request to
    an unknown endpoint a 404 (it takes no step). ``requests`` keeps every request.
    Thread-safe.
    """

    steps: Sequence[Step]
    requests: list[EmulatedRequest] = field(default_factory=list, init=False)
    calls: list[Call] = field(default_factory=list, init=False)
    """Every recognized request, as understood (provider, model, stream...), in order."""
    served: int = field(default=0, init=False)
    """Steps taken so far."""
    waiting: int = field(default=0, init=False)
    """Requests received whose answer has not started yet (loopback server only)."""
    most_waiting: int = field(default=0, init=False)
    """The most requests ever waiting for their answer at once (loopback server only):
    how many a client had in flight."""
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.steps = tuple(self.steps)

    @property
    def remaining(self) -> int:
        """Steps not served yet."""
        return len(self.steps) - self.served

    def handle(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> EmulatedResponse:
        """Answer one request."""
        request = EmulatedRequest(method, url, {k.lower(): v for k, v in headers.items()}, body)
        with self._lock:
            self.requests.append(request)
            self.waiting += 1
            self.most_waiting = max(self.most_waiting, self.waiting)
        recognized = _recognize(request)
        if recognized is None:
            message = f"the emulator serves no endpoint at {method} {urlsplit(url).path}"
            body = dumps({"error": {"message": message}}).encode()
            return EmulatedResponse(404, {"content-type": "application/json"}, (body,))
        data, make = recognized
        if data is None:
            return _fault(make(-1), Fault(400, "the request body is not a JSON object"))
        with self._lock:
            index = self.served
            if index < len(self.steps):
                self.served += 1
        call = make(index)
        with self._lock:
            self.calls.append(call)
        if index >= len(self.steps):
            message = f"emulator script exhausted: all {len(self.steps)} step(s) were served"
            return _fault(call, Fault(500, message))
        try:
            return _respond(call, self.steps[index])
        except ScriptError as exc:
            return _fault(call, Fault(500, f"emulator script error: {exc}"))

    def answering(self) -> None:
        """One request's answer starts now (after its delay): it no longer waits."""
        with self._lock:
            self.waiting -= 1


def _respond(call: Call, step: Step) -> EmulatedResponse:
    _check_expressible(call, step)
    if isinstance(step, Fault):
        return _fault(call, step)
    if isinstance(step, Slow):
        return replace(_respond(call, step.then), delay=step.seconds)
    if isinstance(step, Drop):
        return EmulatedResponse(0, {}, (), dropped=True, reset=step.reset)
    if isinstance(step, StreamFault):
        if not call.stream:
            raise ScriptError("a StreamFault answers only a streamed request")
        wire = _STREAM_FAULTS[call.provider](call, step)
        return EmulatedResponse(200, wire.headers, wire.events, stream=True)
    if isinstance(step, Malformed):
        headers = {"content-type": step.content_type} if step.content_type else {}
        if step.content_encoding is not None:
            headers["content-encoding"] = step.content_encoding
        if not call.stream:
            return EmulatedResponse(200, headers, (step.body.encode(),))
        if step.whole:
            return EmulatedResponse(200, headers, (step.body.encode(),), stream=True)
        if call.provider != "openai":
            raise ScriptError("a streamed Malformed answer is written for OpenAI only")
        wire = _ANSWERS[call.provider](call, step.reply)
        bad = f"data: {step.body}\n\n".encode()
        events = (*wire.events[: step.after_events], bad, b"data: [DONE]\n\n")
        return EmulatedResponse(200, wire.headers, events, stream=True)
    if isinstance(step, CutStream):
        wire = _ANSWERS[call.provider](call, step.reply)
        cut = min(max(step.after_events, 0), len(wire.events) - 1)
        last = wire.events[cut]
        chunks = (*wire.events[:cut], last[: max(1, len(last) // 2)])
        return EmulatedResponse(200, wire.headers, chunks, stream=call.stream, cut=True)
    wire = _ANSWERS[call.provider](call, step)
    return EmulatedResponse(200, wire.headers, wire.events, stream=call.stream)


def _check_expressible(call: Call, step: Step) -> None:
    """``ScriptError`` for a step using what only the OpenAI wire can express."""
    if call.provider == "openai":
        return
    inner = step.then if isinstance(step, Slow) else step
    replies = [inner] if isinstance(inner, Reply) else []
    if isinstance(inner, (CutStream, StreamFault, Malformed)):
        replies.append(inner.reply)
    if isinstance(inner, StreamFault) and inner.variants:
        raise ScriptError(f"{call.provider} has no wire variants {sorted(inner.variants)}")
    for reply in replies:
        if reply.refusal or reply.variants:
            raise ScriptError(f"{call.provider} cannot express a refusal or wire variants")


def _fault(call: Call, fault: Fault) -> EmulatedResponse:
    wire = _FAILURES[call.provider](call, fault.status, fault.message)
    if fault.body is not None:
        wire = Wire({"content-type": fault.content_type}, (fault.body.encode(),))
    headers = dict(wire.headers)
    if fault.retry_after is not None:
        headers["retry-after"] = str(max(0, math.ceil(fault.retry_after)))
        headers["retry-after-ms"] = str(max(0, round(fault.retry_after * 1000)))
    return EmulatedResponse(fault.status, headers, wire.events)


def _recognize(
    request: EmulatedRequest,
) -> tuple[dict[str, Any] | None, Callable[[int], Call]] | None:
    """``(JSON body, or None if not an object; Call factory taking the step index)``."""
    parts = urlsplit(request.url)
    try:
        data: Any = json.loads(request.body or b"{}")
    except ValueError:
        data = None
    body = data if isinstance(data, dict) else None
    options = body or {}
    stream = options.get("stream") is True
    if found := _BEDROCK.search(parts.path):
        api, model, stream = found[2], unquote(found[1]), found[3] is not None
        return body, lambda i: Call("bedrock", api, model, stream, i)
    if found := _GEMINI.search(parts.path):
        model, stream = unquote(found[1]), found[2] == "streamGenerateContent"
        sse = "sse" in parse_qs(parts.query).get("alt", [])
        return body, lambda i: Call("gemini", "generate", model, stream, i, sse=sse)
    model = str(options.get("model") or "")
    if parts.path.endswith("/chat/completions"):
        usage = bool((options.get("stream_options") or {}).get("include_usage"))
        return body, lambda i: Call("openai", "chat", model, stream, i, include_usage=usage)
    if parts.path.endswith("/messages"):
        return body, lambda i: Call("anthropic", "messages", model, stream, i)
    return None
