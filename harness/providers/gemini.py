"""Codec for the Gemini API (``generateContent`` / ``streamGenerateContent``), sans-I/O.

Gemini returns no tool-call ids, so calls are numbered ``call_0``, ``call_1``... in the
order they appear in one response; a tool result is sent back by *name*, so the id only
has to be unique within the conversation turn. A non-streamed body is decoded as a stream
of one chunk, so both paths share the same mapping and give equal ``Response`` values.

Usage: ``output_tokens`` is ``candidatesTokenCount + thoughtsTokenCount`` (what is billed
as output, like OpenAI's ``completion_tokens``) and ``reasoning_tokens`` the thoughts part.

A stream is complete only once a candidate's ``finishReason`` (or a prompt block,
``promptFeedback.blockReason``) has been seen: a connection that closes cleanly before
that is a ``MalformedResponseError``, not a partial answer.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from harness.providers.base import (
    BodyStart,
    HttpRequest,
    SSEStreamDecoder,
    StreamAccumulator,
    StreamDecoder,
    error_class_for_status,
    load_json,
    parse_retry_after,
)
from harness.types import (
    AuthenticationError,
    BadRequestError,
    CallParams,
    ConfigurationError,
    Finish,
    FinishReason,
    LLMError,
    MalformedResponseError,
    Message,
    ModelName,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ReasoningDelta,
    RequestTimeoutError,
    Response,
    ServerError,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolSpec,
    Usage,
    UsageUpdate,
)

PROVIDER = "gemini"
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"

_FINISH: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}
"""Gemini ``finishReason`` values; anything else (MALFORMED_FUNCTION_CALL, OTHER...) is
``other``."""

_STATUS_ERRORS: dict[str, type[LLMError]] = {
    "UNAUTHENTICATED": AuthenticationError,
    "PERMISSION_DENIED": PermissionDeniedError,
    "NOT_FOUND": NotFoundError,
    "INVALID_ARGUMENT": BadRequestError,
    "FAILED_PRECONDITION": BadRequestError,
    "OUT_OF_RANGE": BadRequestError,
    "RESOURCE_EXHAUSTED": RateLimitError,
    "INTERNAL": ServerError,
    "UNAVAILABLE": ServerError,
    "UNKNOWN": ServerError,
    "DEADLINE_EXCEEDED": RequestTimeoutError,
}

_TOOL_MODES = {"auto": "AUTO", "required": "ANY", "none": "NONE"}


class GeminiCodec:
    """Gemini API wire format. The key goes in the ``x-goog-api-key`` header."""

    provider = PROVIDER

    def __init__(self, api_key: str | None = None, base_url: str | None = None) -> None:
        key = api_key or os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
        if not key:
            raise ConfigurationError(
                "no Gemini API key: pass api_key=... or set GEMINI_API_KEY "
                "(GOOGLE_API_KEY is also accepted)"
            )
        self.api_key = key
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")

    def build_request(self, params: CallParams, *, stream: bool) -> HttpRequest:
        """``POST {base}/models/{model}:generateContent`` (``:streamGenerateContent?alt=sse``)."""
        model = quote(params.model.removeprefix("models/"), safe="-._~")
        action = "streamGenerateContent?alt=sse" if stream else "generateContent"
        headers = {"content-type": "application/json", "x-goog-api-key": self.api_key}
        if stream:
            headers["accept"] = "text/event-stream"
        body = json.dumps(request_body(params)).encode()
        return HttpRequest("POST", f"{self.base_url}/models/{model}:{action}", headers, body)

    def sign(self, request: HttpRequest) -> HttpRequest:
        """Nothing to add per attempt: the key is already a header."""
        return request

    def decode_response(self, body: bytes) -> Response:
        """Decode a ``GenerateContentResponse``."""
        data = load_json(PROVIDER, body)
        accumulator = StreamAccumulator()
        try:
            for event in ChunkEvents()(data):
                accumulator.add(event)
            return accumulator.response(raw=data)
        except (LookupError, TypeError, AttributeError, ValueError) as exc:
            raise _malformed("response", exc) from None

    def decode_error(self, status: int, headers: Mapping[str, str], body: bytes) -> LLMError:
        """Map ``{"error": {"code", "message", "status"}}`` (or the HTTP status) to an error."""
        try:
            data: Any = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            data = body.decode("utf-8", "replace")
        return error_from(data, status=status, headers=headers)

    def stream_decoder(self, content_type: str) -> StreamDecoder:
        """SSE for ``text/event-stream`` (``alt=sse``), the streamed JSON array for
        ``application/json``; without a content type, whichever the body starts as."""
        kind = content_type.lower()
        if "event-stream" in kind:
            return SSEDecoder(content_type)
        if "json" in kind:
            return JSONArrayDecoder(content_type)
        return SniffingDecoder(content_type)


# --- request -------------------------------------------------------------------------


def request_body(params: CallParams) -> dict[str, Any]:
    """The JSON body of a ``generateContent`` request."""
    body: dict[str, Any] = {"contents": _contents(params.messages)}
    system = [{"text": m.content} for m in params.messages if m.role == "system"]
    if system:
        body["systemInstruction"] = {"parts": system}
    config = {
        key: value
        for key, value in (
            ("temperature", params.temperature),
            ("maxOutputTokens", params.max_tokens),
            ("stopSequences", list(params.stop) or None),
            ("topP", params.top_p),
        )
        if value is not None
    }
    if config:
        body["generationConfig"] = config
    if params.tools:
        body["tools"] = [{"functionDeclarations": [_declaration(t) for t in params.tools]}]
        if params.tool_choice is not None:
            body["toolConfig"] = {"functionCallingConfig": _calling_config(params)}
    return body


def _contents(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    contents: list[dict[str, Any]] = []
    call_names: dict[str, str] = {}
    for message in messages:
        if message.role == "system":
            continue
        if message.role == "user":
            contents.append({"role": "user", "parts": [{"text": message.content}]})
        elif message.role == "assistant":
            parts: list[dict[str, Any]] = []
            if message.content or not message.tool_calls:
                parts.append({"text": message.content})
            for call in message.tool_calls:
                call_names[call.id] = call.name
                part: dict[str, Any] = {"functionCall": {"name": call.name, "args": call.arguments}}
                signature = (call.provider_data or {}).get("thoughtSignature")
                if signature:
                    part["thoughtSignature"] = signature  # Gemini 3 requires it back
                parts.append(part)
            contents.append({"role": "model", "parts": parts})
        else:
            key = "error" if message.is_error else "result"
            part = {
                "functionResponse": {
                    "name": _result_name(message, call_names),
                    "response": {key: message.content},
                }
            }
            last = contents[-1] if contents else None
            if last and last["role"] == "user" and "functionResponse" in last["parts"][0]:
                last["parts"].append(part)
            else:
                contents.append({"role": "user", "parts": [part]})
    return contents


def _result_name(message: Message, call_names: dict[str, str]) -> str:
    name = message.name or call_names.get(message.tool_call_id or "")
    if not name:
        raise ConfigurationError(
            "a tool result sent to Gemini needs the tool name: build it with "
            "Message.tool(call, content) or set name="
        )
    return name


def _declaration(tool: ToolSpec) -> dict[str, Any]:
    """``parametersJsonSchema`` takes full JSON Schema (``additionalProperties``, ``$defs``,
    ``{"type": "null"}`` unions), which ``parameters``, an OpenAPI subset, rejects (400)."""
    declaration: dict[str, Any] = {"name": tool.name}
    if tool.description:
        declaration["description"] = tool.description
    declaration["parametersJsonSchema"] = tool.parameters
    return declaration


def _calling_config(params: CallParams) -> dict[str, Any]:
    choice = params.tool_choice
    if choice in _TOOL_MODES:
        return {"mode": _TOOL_MODES[choice]}
    if choice not in {tool.name for tool in params.tools}:
        raise ConfigurationError(f"tool_choice {choice!r} is not one of the tools passed")
    return {"mode": "ANY", "allowedFunctionNames": [choice]}


# --- responses and stream chunks -----------------------------------------------------


class ChunkEvents:
    """Turns ``GenerateContentResponse`` objects (a whole body or each stream chunk) into
    events. Keeps the state that spans chunks: the tool-call counter and the finish reason,
    which becomes ``tool_calls`` when the response called a function (Gemini says STOP).

    ``finished`` becomes true once a chunk has ended the answer (a candidate
    ``finishReason`` or a prompt ``blockReason``); a chunk of the wrong shape raises
    ``MalformedResponseError``."""

    def __init__(self) -> None:
        self.finished = False
        self._calls = 0
        self._model = ""
        self._finish: FinishReason | None = None

    def __call__(self, chunk: Any) -> list[StreamEvent]:
        if not isinstance(chunk, dict):
            snippet = repr(chunk)[:200]
            raise MalformedResponseError(
                f"expected a JSON object, got {snippet}", provider=PROVIDER
            )
        if "error" in chunk:
            raise error_from(chunk, status=None, headers={})
        try:
            return self._chunk(chunk)
        except (LookupError, TypeError, AttributeError, ValueError) as exc:
            raise _malformed("chunk", exc) from None

    def _chunk(self, chunk: dict[str, Any]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        model = chunk.get("modelVersion")
        if isinstance(model, str) and model and model != self._model:
            self._model = model
            events.append(ModelName(model))
        candidates = _field(chunk, "candidates", list) or [{}]
        candidate = candidates[0] if candidates[0] is not None else {}
        if not isinstance(candidate, dict):
            raise MalformedResponseError(
                f"a candidate should be a JSON object, got {candidate!r:.100}", provider=PROVIDER
            )
        content = _field(candidate, "content", dict) or {}
        for part in _field(content, "parts", list) or []:
            events.extend(self._part(part))
        meta = _field(chunk, "usageMetadata", dict)
        if meta is not None:
            events.append(UsageUpdate(_usage(meta)))
        reason = _field(candidate, "finishReason", str)
        feedback = _field(chunk, "promptFeedback", dict) or {}
        if not reason and feedback.get("blockReason"):
            reason = "SAFETY"  # the prompt itself was blocked: no candidates at all
        if reason:
            self.finished = True
        finish = _FINISH.get(reason, "other") if reason else self._finish
        if finish == "stop" and self._calls:
            finish = "tool_calls"
        if finish is not None and (reason or finish != self._finish):
            events.append(Finish(finish))
        self._finish = finish
        return events

    def _part(self, part: Any) -> list[StreamEvent]:
        if not isinstance(part, dict):
            return []
        call = part.get("functionCall")
        if isinstance(call, dict):
            index = self._calls
            self._calls += 1
            call_id = call.get("id") or f"call_{index}"
            arguments = json.dumps(call.get("args") or {})
            signature = part.get("thoughtSignature")
            extra = {"thoughtSignature": signature} if isinstance(signature, str) else None
            name = str(call.get("name", ""))
            return [ToolCallDelta(index, str(call_id), name, arguments, extra)]
        text = part.get("text")
        if not isinstance(text, str) or not text:
            return []
        return [ReasoningDelta(text) if part.get("thought") else TextDelta(text)]


def _usage(meta: dict[str, Any]) -> Usage:
    thoughts = _count(meta, "thoughtsTokenCount")
    return Usage(
        input_tokens=_count(meta, "promptTokenCount"),
        output_tokens=_count(meta, "candidatesTokenCount") + thoughts,
        cached_tokens=_count(meta, "cachedContentTokenCount"),
        reasoning_tokens=thoughts,
    )


def _count(meta: dict[str, Any], key: str) -> int:
    """A token count: a JSON integer, or its string form (proto JSON); absent is 0."""
    value = meta.get(key)
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise MalformedResponseError(
        f"usageMetadata.{key} is not a token count: {value!r:.100}", provider=PROVIDER
    )


def _field(obj: dict[str, Any], key: str, kind: type) -> Any:
    """``obj[key]`` if it is a ``kind``, ``None`` if absent or null, else a
    ``MalformedResponseError`` naming the field."""
    value = obj.get(key)
    if value is None or isinstance(value, kind):
        return value
    raise MalformedResponseError(
        f"{key} should be a JSON {_KINDS[kind]}, got {value!r:.100}", provider=PROVIDER
    )


_KINDS: dict[type, str] = {dict: "object", list: "array", str: "string"}


def _malformed(what: str, exc: Exception) -> MalformedResponseError:
    return MalformedResponseError(f"unexpected Gemini {what} ({exc!r})", provider=PROVIDER)


class SSEDecoder(SSEStreamDecoder):
    """``streamGenerateContent?alt=sse``: each ``data:`` event is one response chunk.

    The stream must carry a finish reason before it closes. Unlike ``message_stop``, the
    finish is not a last event: chunks after it are still decoded (a function call or the
    usage may come later), so ``finished`` is only set once the stream has ended."""

    provider = PROVIDER
    end = "a finishReason"

    def __init__(self, content_type: str = "") -> None:
        super().__init__(content_type)
        self._chunks = ChunkEvents()

    def event(self, name: str, data: str) -> list[StreamEvent]:
        if not data.strip():
            return []
        chunk = load_json(PROVIDER, data)
        self.raw.append(chunk)
        return self._chunks(chunk)

    def close(self) -> list[StreamEvent]:
        """End of stream: the last events, or ``MalformedResponseError`` if it ended
        before a finish reason (or inside an event)."""
        events = self._decode(None)  # the last event, decoded before the check
        self.finished = self._chunks.finished
        return events + super().close()  # nothing left to decode: only checks the end


class SniffingDecoder:
    """Picks the decoder from the body's first non-blank byte (``[``: a JSON array, else
    SSE), for responses whose content type was lost (some recorders and proxies drop it)."""

    def __init__(self, content_type: str = "") -> None:
        self.raw: list[Any] = []
        self._decoder: StreamDecoder | None = None
        self._held = b""
        self._content_type = content_type

    def feed(self, data: bytes) -> list[StreamEvent]:
        """Take the next bytes, return the events they complete."""
        if self._decoder is None:
            self._held += data
            start = self._held.lstrip()
            if not start:
                return []
            kind = JSONArrayDecoder if start[:1] == b"[" else SSEDecoder
            self._decoder = kind(self._content_type)
            self._decoder.raw = self.raw  # one list: what the chosen decoder decodes
            data, self._held = self._held, b""
        return self._decoder.feed(data)

    def close(self) -> list[StreamEvent]:
        """End of stream (an empty body is a malformed stream)."""
        if self._decoder is None:
            body = BodyStart(self._content_type)
            body.add(self._held)
            raise MalformedResponseError(
                f"the stream ended before any data: {body}", provider=PROVIDER
            )
        return self._decoder.close()


class JSONArrayDecoder:
    """``streamGenerateContent`` without ``alt=sse``: one JSON array sent in pieces
    (``[{...}\\n,\\r\\n{...}\\n]``); each element is decoded as soon as it is complete.

    While no element has arrived, an error also says what the body held instead."""

    def __init__(self, content_type: str = "") -> None:
        self.raw: list[Any] = []
        self._parser = JSONArrayParser()
        self._chunks = ChunkEvents()
        self._body = BodyStart(content_type)

    def feed(self, data: bytes) -> list[StreamEvent]:
        """Take the next bytes, return the events they complete."""
        self._body.add(data)
        try:
            elements = self._parser.feed(data)
        except MalformedResponseError as exc:
            raise self._explained(exc.provider_message) from None
        events: list[StreamEvent] = []
        for element in elements:
            chunk = load_json(PROVIDER, element)
            self.raw.append(chunk)
            events.extend(self._chunks(chunk))
        return events

    def close(self) -> list[StreamEvent]:
        """Raise ``MalformedResponseError`` unless the array was complete and carried a
        finish reason."""
        try:
            self._parser.close()
        except MalformedResponseError as exc:
            raise self._explained(exc.provider_message) from None
        if not self._chunks.finished:
            raise self._explained("stream ended before a finishReason")
        return []

    def _explained(self, problem: str) -> MalformedResponseError:
        if not self.raw:
            problem += f" and no element arrived: {self._body}"
        return MalformedResponseError(problem, provider=PROVIDER)


_WHITESPACE = frozenset(b" \t\r\n")
_OPENERS = frozenset(b"{[")
_CLOSERS = frozenset(b"}]")
_QUOTE, _BACKSLASH, _COMMA = ord('"'), ord("\\"), ord(",")
_STRUCTURE = re.compile(rb'["{}\[\]]')
"""Inside an element, outside strings: quotes and brackets."""


class JSONArrayParser:
    """Splits a streamed JSON array of objects into the bytes of each element.

    Scans bytes once, tracking strings, escapes and bracket depth (UTF-8 continuation
    bytes never look like ASCII, so a character split across feeds is harmless), jumping
    from one quote or bracket to the next with C-level searches. A stream of bare objects
    without the enclosing ``[...]`` is accepted too.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._pos = 0
        self._start = -1  # offset of the element being read, -1 between elements
        self._depth = 0
        self._in_string = False
        self._opened = False
        self._closed = False

    def feed(self, data: bytes) -> list[bytes]:
        """Take the next bytes, return the elements they complete."""
        buffer = self._buffer
        buffer += data
        elements: list[bytes] = []
        pos, end = self._pos, len(buffer)
        while pos < end:
            if self._start < 0:
                byte = buffer[pos]
                self._between(byte)
                if byte == ord("{"):
                    self._start, self._depth = pos, 1
            elif self._in_string:  # jump to the closing quote: one not escaped
                pos = buffer.find(b'"', pos)
                if pos < 0:
                    break
                self._in_string = _escaped(buffer, pos)
            else:  # jump to the next quote or bracket (the regex scans in C)
                found = _STRUCTURE.search(buffer, pos)
                if found is None:
                    break
                pos = found.start()
                byte = buffer[pos]
                if byte == _QUOTE:
                    self._in_string = True
                elif byte in _OPENERS:
                    self._depth += 1
                else:
                    self._depth -= 1
                    if self._depth == 0:
                        elements.append(bytes(buffer[self._start : pos + 1]))
                        self._start = -1
            pos += 1
        keep = self._start if self._start >= 0 else len(buffer)
        del buffer[:keep]
        self._pos = len(buffer)
        self._start = 0 if self._start >= 0 else -1
        return elements

    def _between(self, byte: int) -> None:
        """Check a byte outside any element: ``[``, ``,``, ``]``, whitespace or ``{``."""
        if byte in _WHITESPACE or (byte == _COMMA and self._opened and not self._closed):
            return
        if byte == ord("[") and not self._opened:
            self._opened = True
        elif byte == ord("]") and self._opened and not self._closed:
            self._closed = True
        elif byte != ord("{") or self._closed:
            raise MalformedResponseError(
                f"unexpected {chr(byte)!r} in the streamed JSON array", provider=PROVIDER
            )

    def close(self) -> None:
        """Raise ``MalformedResponseError`` if the stream stopped inside the array."""
        if self._start >= 0:
            problem = "inside an element"
        elif self._opened and not self._closed:
            problem = "before the closing ']'"
        elif not self._opened:
            problem = "before the JSON array started"
        else:
            return
        raise MalformedResponseError(f"stream ended {problem}", provider=PROVIDER)


def _escaped(buffer: bytearray, quote: int) -> bool:
    """Whether the quote at ``quote`` (inside a string) is escaped: preceded by an odd
    number of backslashes. The buffer holds the whole string so far, opening quote
    included, so the count never runs past the string's start."""
    before = quote
    while buffer[before - 1] == _BACKSLASH:
        before -= 1
    return (quote - before) % 2 == 1


# --- errors --------------------------------------------------------------------------


def error_from(data: Any, *, status: int | None, headers: Mapping[str, str]) -> LLMError:
    """The ``LLMError`` for a decoded error body (or a text body) and HTTP status.

    ``status`` is ``None`` for an error sent inside a 200 stream; the envelope's ``code``
    is used then.
    """
    envelope = data[0] if isinstance(data, list) and data else data
    error = envelope.get("error") if isinstance(envelope, dict) else None
    if not isinstance(error, dict):
        error = {}
    code = error.get("code")
    if status is None and isinstance(code, int):
        status = code
    cls = _STATUS_ERRORS.get(str(error.get("status")))
    if _reason(error) == "API_KEY_INVALID":
        cls = AuthenticationError  # Gemini reports a bad key as 400 INVALID_ARGUMENT
    if cls is None:
        cls = error_class_for_status(status) if status is not None else ServerError
    message = str(error.get("message") or (data if isinstance(data, str) and data else ""))
    message = message[:1000] or f"HTTP {status}"
    if issubclass(cls, RateLimitError):
        retry = parse_retry_after(headers)
        if retry is None:
            retry = _retry_delay(error)
        return cls(message, provider=PROVIDER, status=status, body=data, retry_after=retry)
    return cls(message, provider=PROVIDER, status=status, body=data)


def _details(error: dict[str, Any]) -> list[dict[str, Any]]:
    details = error.get("details")
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def _reason(error: dict[str, Any]) -> str | None:
    for detail in _details(error):
        if str(detail.get("@type", "")).endswith("ErrorInfo"):
            return str(detail.get("reason"))
    return None


def _retry_delay(error: dict[str, Any]) -> float | None:
    """Seconds from a ``google.rpc.RetryInfo`` detail (``"retryDelay": "37s"``)."""
    for detail in _details(error):
        delay = detail.get("retryDelay")
        if str(detail.get("@type", "")).endswith("RetryInfo") and isinstance(delay, str):
            try:
                return max(0.0, float(delay.rstrip("s")))
            except ValueError:
                return None
    return None
