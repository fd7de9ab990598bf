"""Codec for AWS Bedrock Runtime: the Converse API, or InvokeModel with Anthropic bodies.

botocore is imported here only (this module is loaded only for ``bedrock/`` models) and
only for what it does best: finding region and credentials, SigV4 signing and parsing
the AWS eventstream framing. Everything else is plain data. InvokeModel bodies and their
stream events are Anthropic's: they are built and decoded by the Anthropic codec's own
code, so the two cannot drift apart.

Notes on choices:

- Converse bodies do not say which model answered: ``Response.model`` is ``""`` and the
  ``LM`` fills in the model id it asked for. InvokeModel (Anthropic) bodies name the model.
- Converse has no "none" tool choice: with ``tool_choice="none"`` the tools are left out,
  unless the conversation already holds tool calls or results, which Converse refuses
  without a ``toolConfig``; the tools are then sent with no ``toolChoice``.
- Consecutive turns of the same role (tool results, then a user message) are merged, as
  both APIs require the roles to alternate.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal, TypeVar
from urllib.parse import quote

from harness.providers import anthropic, aws
from harness.providers.base import (
    BodyStart,
    HttpRequest,
    error_class_for_status,
    load_json,
    make_error,
    malformed,
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
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ReasoningDelta,
    RequestTimeoutError,
    Response,
    ServerError,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageUpdate,
)

T = TypeVar("T")
PROVIDER = "bedrock"
ANTHROPIC_VERSION = "bedrock-2023-05-31"
_MESSAGES = anthropic.AnthropicCodec(api_key="unused: Bedrock requests are signed with SigV4")
"""Builds and decodes InvokeModel's Anthropic Messages bodies (its API key never leaves)."""
_SHAPE_ERRORS = (LookupError, TypeError, AttributeError, ValueError)
"""What valid JSON of the wrong shape raises while it is decoded."""
_PATHS = {
    ("converse", False): "converse",
    ("converse", True): "converse-stream",
    ("invoke", False): "invoke",
    ("invoke", True): "invoke-with-response-stream",
}

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "content_filtered": "content_filter",
    "guardrail_intervened": "content_filter",
    "refusal": "content_filter",
}
"""Converse ``stopReason`` values; others map to ``other``."""

_ERRORS: dict[str, type[LLMError]] = {
    "validationexception": BadRequestError,
    "accessdeniedexception": PermissionDeniedError,
    "unrecognizedclientexception": AuthenticationError,
    "expiredtokenexception": AuthenticationError,
    "invalidsignatureexception": AuthenticationError,
    "resourcenotfoundexception": NotFoundError,
    "throttlingexception": RateLimitError,
    "servicequotaexceededexception": RateLimitError,
    "modeltimeoutexception": RequestTimeoutError,
    "internalserverexception": ServerError,
    "serviceunavailableexception": ServerError,
    "modelnotreadyexception": ServerError,
    "modelerrorexception": ServerError,
    "modelstreamerrorexception": ServerError,
}
"""AWS exception names, lower-cased (stream frames spell them ``throttlingException``)."""

_STATUS_FALLBACK: dict[int, type[LLMError]] = {408: RequestTimeoutError, 424: ServerError}
_PRELUDE = 12
"""Bytes of an eventstream prelude: total length, headers length, prelude CRC."""


class BedrockCodec:
    """Bedrock Runtime wire format; requests are signed with SigV4 per attempt."""

    provider = PROVIDER

    def __init__(
        self,
        region: str | None = None,
        api: Literal["converse", "invoke"] = "converse",
        endpoint_url: str | None = None,
        credentials: Any = None,
        profile: str | None = None,
        signing_time: datetime | None = None,
    ) -> None:
        if api not in ("converse", "invoke"):
            raise ConfigurationError(f"Bedrock api must be 'converse' or 'invoke', not {api!r}")
        if signing_time is not None and not isinstance(signing_time, datetime):
            raise ConfigurationError(
                f"signing_time must be a datetime (UTC if naive), not {signing_time!r}"
            )
        self.api = api
        self.signing_time = signing_time
        self.region, self.credentials = aws.resolve(region, credentials, profile)
        endpoint = endpoint_url or f"https://bedrock-runtime.{self.region}.amazonaws.com"
        self.endpoint_url = endpoint.rstrip("/")

    def build_request(self, params: CallParams, *, stream: bool) -> HttpRequest:
        """``POST /model/{id}/converse`` (or ``converse-stream``, ``invoke``,
        ``invoke-with-response-stream``); unsigned."""
        path = _PATHS[(self.api, stream)]
        url = f"{self.endpoint_url}/model/{quote(params.model, safe='')}/{path}"
        body = converse_body(params) if self.api == "converse" else invoke_body(params)
        headers = {"content-type": "application/json", "accept": "application/json"}
        if stream:
            headers["accept"] = "application/vnd.amazon.eventstream"
            if self.api == "invoke":
                headers["x-amzn-bedrock-accept"] = "application/json"
        return HttpRequest("POST", url, headers, json.dumps(body).encode())

    def sign(self, request: HttpRequest) -> HttpRequest:
        """A copy of ``request`` signed with SigV4 (botocore's signer) at the current time,
        or at ``signing_time`` when the codec was given one, with one consistent snapshot
        of the credentials (refreshable ones may rotate)."""
        headers = aws.sign(
            request.method,
            request.url,
            request.headers,
            request.body,
            credentials=self.credentials,
            service="bedrock",
            region=self.region,
            signing_time=self.signing_time,
        )
        return replace(request, headers=headers)

    def decode_response(self, body: bytes) -> Response:
        """Decode a Converse body or an InvokeModel (Anthropic Messages) body."""
        data = load_json(PROVIDER, body)
        if isinstance(data, dict) and isinstance(data.get("output"), dict):
            try:
                return _converse_response(data)
            except _SHAPE_ERRORS as exc:
                raise malformed(PROVIDER, f"unexpected Converse body ({exc!r})", body) from None
        if isinstance(data, dict) and isinstance(data.get("content"), list):
            try:
                return _MESSAGES.decode_response(body)
            except LLMError as exc:
                raise _ours(exc) from None
        raise MalformedResponseError(
            f"not a Converse or Anthropic Messages body: {body[:200]!r}", provider=PROVIDER
        )

    def decode_error(self, status: int, headers: Mapping[str, str], body: bytes) -> LLMError:
        """Map by the ``x-amzn-ErrorType`` header, else by the HTTP status."""
        try:
            data: Any = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            data = body.decode("utf-8", "replace")
        lowered = {k.lower(): v for k, v in headers.items()}
        name = lowered.get("x-amzn-errortype")
        if not name and isinstance(data, dict):
            name = data.get("__type")
        cls = _error_class(name) or _STATUS_FALLBACK.get(status) or error_class_for_status(status)
        return make_error(
            cls,
            _message(data, status),
            provider=PROVIDER,
            status=status,
            headers=headers,
            body=data,
        )

    def stream_decoder(self, content_type: str) -> EventStreamDecoder:
        """An AWS eventstream decoder, whatever the content type says (an error says it
        when the body was no eventstream)."""
        return EventStreamDecoder(content_type)


def _converse_response(data: dict[str, Any]) -> Response:
    message = data["output"].get("message") or {}
    text, reasoning, calls = [], [], []
    for block in _typed(message.get("content") or [], list):
        if "text" in _typed(block, dict):
            text.append(_typed(block["text"], str))
        elif "toolUse" in block:
            calls.append(_tool_call(block["toolUse"]))
        elif "reasoningContent" in block:
            thought = block["reasoningContent"].get("reasoningText") or {}
            reasoning.append(_typed(thought.get("text", ""), str))
    return Response(
        text="".join(text),
        tool_calls=tuple(calls),
        finish_reason=_finish(data.get("stopReason")),
        usage=_converse_usage(data.get("usage")),
        model="",  # Converse bodies do not name the model; the LM fills it in
        reasoning="".join(reasoning),
        raw=data,
    )


# --- request bodies ------------------------------------------------------------------


def converse_body(params: CallParams) -> dict[str, Any]:
    """The JSON body of a Converse / ConverseStream request."""
    messages: list[dict[str, Any]] = []
    for message in params.messages:
        if message.role == "system":
            continue
        role, block = _converse_turn(message)
        _append(messages, role, block)
    body: dict[str, Any] = {"messages": messages}
    system = [{"text": m.content} for m in params.messages if m.role == "system"]
    if system:
        body["system"] = system
    config = _drop_none(
        maxTokens=params.max_tokens,
        temperature=params.temperature,
        topP=params.top_p,
        stopSequences=list(params.stop) or None,
    )
    if config:
        body["inferenceConfig"] = config
    if params.tools and (params.tool_choice != "none" or _has_tool_blocks(params.messages)):
        tools = [
            {"toolSpec": _tool_spec(tool.name, tool.description, {"json": tool.parameters})}
            for tool in params.tools
        ]
        body["toolConfig"] = {"tools": tools}
        modes: dict[str, dict[str, Any]] = {"auto": {"auto": {}}, "required": {"any": {}}}
        named = _named_choice(params)
        choice = {"tool": {"name": named}} if named else modes.get(str(params.tool_choice))
        if choice is not None:
            body["toolConfig"]["toolChoice"] = choice
    return body


def _converse_turn(message: Message) -> tuple[str, list[dict[str, Any]]]:
    if message.role == "user":
        return "user", [{"text": message.content}]
    if message.role == "assistant":
        blocks: list[dict[str, Any]] = []
        if message.content or not message.tool_calls:
            blocks.append({"text": message.content})
        for call in message.tool_calls:
            use = {"toolUseId": call.id, "name": call.name, "input": call.arguments}
            blocks.append({"toolUse": use})
        return "assistant", blocks
    result: dict[str, Any] = {
        "toolUseId": message.tool_call_id or "",
        "content": [{"text": message.content}],
    }
    if message.is_error:
        result["status"] = "error"
    return "user", [{"toolResult": result}]


def invoke_body(params: CallParams) -> dict[str, Any]:
    """The Anthropic Messages body of an InvokeModel request: the Anthropic codec's body,
    with ``anthropic_version`` and without ``model`` and ``stream`` (the URL says them)."""
    _named_choice(params)
    body = _MESSAGES.build_request(params, stream=False).json()
    del body["model"]
    return {"anthropic_version": ANTHROPIC_VERSION, **body}


def _append(messages: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    """Add a turn, merging it into the previous one when the role is the same."""
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"].extend(blocks)
    else:
        messages.append({"role": role, "content": blocks})


def _has_tool_blocks(messages: tuple[Message, ...]) -> bool:
    return any(m.role == "tool" or m.tool_calls for m in messages)


def _tool_spec(name: str, description: str, schema: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name}
    if description:
        spec["description"] = description
    spec["inputSchema"] = schema
    return spec


def _named_choice(params: CallParams) -> str | None:
    """The tool ``params.tool_choice`` names, if it names one (it must be a tool passed)."""
    choice = params.tool_choice
    if choice is None or choice in ("auto", "required", "none"):
        return None
    if choice not in {tool.name for tool in params.tools}:
        raise ConfigurationError(f"tool_choice {choice!r} is not one of the tools passed")
    return choice


def _drop_none(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


# --- decoding helpers ----------------------------------------------------------------


def _finish(reason: Any) -> FinishReason | None:
    return _FINISH.get(str(reason), "other") if reason else None


def _tool_call(use: Any) -> ToolCall:
    """A Converse ``toolUse`` block, decoded as the Anthropic codec decodes ``tool_use``."""
    return anthropic._tool_call(
        {"id": use["toolUseId"], "name": use["name"], "input": use.get("input")}
    )


def _converse_usage(usage: Any) -> Usage:
    """Converse's counts under Anthropic's names: both count cache reads and writes apart
    from the input tokens, and the Anthropic codec folds them in as for other providers."""
    if not isinstance(usage, dict):
        return Usage()
    names = {
        "inputTokens": "input_tokens",
        "outputTokens": "output_tokens",
        "cacheReadInputTokens": "cache_read_input_tokens",
        "cacheWriteInputTokens": "cache_creation_input_tokens",
    }
    return anthropic._usage({ours: usage.get(theirs) for theirs, ours in names.items()})


def _block_index(data: dict[str, Any]) -> int:
    index = data["contentBlockIndex"]
    if not isinstance(index, int) or isinstance(index, bool):
        raise TypeError(f"contentBlockIndex {index!r} is not an integer")
    return index


def _typed(value: Any, kind: type[T]) -> T:
    """``value`` if it is a ``kind``, else ``TypeError``: the body has the wrong shape."""
    if not isinstance(value, kind):
        raise TypeError(f"expected {kind.__name__}, got {value!r}")
    return value


def _ours(error: LLMError) -> LLMError:
    """An error the Anthropic codec raised about an InvokeModel body, as Bedrock's."""
    return type(error)(
        error.provider_message, provider=PROVIDER, status=error.status, body=error.body
    )


def _error_class(name: Any) -> type[LLMError] | None:
    """``ValidationException:http://...`` or ``com.amazon...#ValidationException`` -> class."""
    if not isinstance(name, str):
        return None
    short = name.split(":", 1)[0].rsplit("#", 1)[-1].strip().lower()
    return _ERRORS.get(short)


def _message(data: Any, status: int | None) -> str:
    if isinstance(data, dict):
        text = data.get("message") or data.get("Message")
        if text:
            return str(text)
    if isinstance(data, str) and data.strip():
        return data[:1000]
    return f"HTTP {status}" if status is not None else "stream error"


# --- streams -------------------------------------------------------------------------


class EventStreamDecoder:
    """AWS eventstream frames (parsed by botocore) from ConverseStream or
    InvokeModelWithResponseStream, whose ``chunk`` events wrap Anthropic stream events,
    handed to the Anthropic codec's own stream decoder.

    The stream must reach the end of the message: Converse ``messageStop`` (the
    ``metadata`` frame after it is optional) or Anthropic ``message_stop``."""

    def __init__(self, content_type: str = "") -> None:
        from botocore.eventstream import EventStreamBuffer

        self.raw: list[Any] = []
        self._body = BodyStart(content_type)  # what arrived, for errors before any frame
        self._decoded = 0  # frames
        self._frames = EventStreamBuffer()
        self._buffer = bytearray()  # bytes fed and not handed to botocore yet
        self._start = 0  # where they begin in ``_buffer``
        self._frame_length = 0  # of the next frame once its prelude has been checked
        self._messages = anthropic.AnthropicStreamDecoder()
        self._messages.raw = self.raw  # one list of decoded payloads, in stream order
        self._chunks = False  # an InvokeModel stream
        self._stopped = False  # Converse messageStop seen
        self._calls: dict[int, int] = {}
        """Content block index of each Converse ``toolUse`` block -> tool call index."""

    def feed(self, data: bytes) -> list[StreamEvent]:
        """Take the next bytes, return the events of the frames they complete.

        botocore's ``EventStreamBuffer`` appends every chunk to one ``bytes`` object
        (quadratic for a large frame arriving in many chunks), so the bytes wait here in
        a ``bytearray`` and botocore gets each frame whole, once it has arrived (its
        prelude is checked as soon as it is here, so garbage fails early)."""
        from botocore.eventstream import ParserError

        self._body.add(data)
        self._buffer += data
        events: list[StreamEvent] = []
        try:
            while self._frame_complete():
                for message in self._frames:
                    self._decoded += 1
                    events.extend(self._frame(message.headers, message.payload))
        except ParserError as exc:
            if not self._decoded:
                raise MalformedResponseError(
                    f"the stream is not an AWS eventstream ({exc}): {self._body}",
                    provider=PROVIDER,
                ) from None
            raise MalformedResponseError(
                f"bad eventstream frame: {exc}", provider=PROVIDER
            ) from None
        if self._start > len(self._buffer) // 2:  # amortized: each byte moves O(1) times
            del self._buffer[: self._start]
            self._start = 0
        return events

    def _frame_complete(self) -> bool:
        """Hand botocore the next frame if it has arrived whole; whether it did. A frame's
        prelude is checked by botocore (CRC, lengths) as soon as it is here."""
        from botocore.eventstream import EventStreamBuffer, ParserError

        available = len(self._buffer) - self._start
        if not self._frame_length:
            if available < _PRELUDE:
                return False
            prelude = bytes(self._buffer[self._start : self._start + _PRELUDE])
            check = EventStreamBuffer()
            check.add_data(prelude)
            for _ in check:  # parses (and checks) the prelude; a frame is longer
                raise ParserError("eventstream frame shorter than its prelude")
            self._frame_length = int.from_bytes(prelude[:4], "big")
        if available < self._frame_length:
            return False
        end = self._start + self._frame_length
        with memoryview(self._buffer) as view:
            frame = bytes(view[self._start : end])  # one copy; botocore's buffer is empty
        self._start, self._frame_length = end, 0
        if self._start == len(self._buffer):  # all consumed: free it before decoding
            del self._buffer[:]
            self._start = 0
        self._frames.add_data(frame)
        return True

    def close(self) -> list[StreamEvent]:
        """Raise ``MalformedResponseError`` if the stream stopped inside a frame or
        before the end of the message."""
        pending = len(self._buffer) - self._start
        if pending:
            raise self._malformed(
                f"stream ended inside an eventstream frame ({pending} bytes left)"
            )
        if not (self._stopped or self._messages.finished):
            end = "message_stop" if self._chunks else "messageStop"
            raise self._malformed(f"stream ended before {end}")
        return []

    def _malformed(self, problem: str) -> MalformedResponseError:
        """The error for a stream that cannot be decoded; before any frame, it also
        says what the body held (a proxy's HTML page, a JSON error...)."""
        if not self._decoded:
            problem += f" and no eventstream frame arrived: {self._body}"
        return MalformedResponseError(problem, provider=PROVIDER)

    def _frame(self, headers: dict[str, Any], payload: bytes) -> list[StreamEvent]:
        kind = headers.get(":message-type")
        if kind == "exception":
            data = _payload(payload)
            self.raw.append(data)
            name = headers.get(":exception-type")
            cls = _error_class(name) or ServerError
            raise cls(_message(data, None), provider=PROVIDER, body=data)
        if kind == "error":
            code, text = headers.get(":error-code"), headers.get(":error-message")
            cls = _error_class(code) or ServerError
            raise cls(f"{code}: {text}", provider=PROVIDER, body=dict(headers))
        event_type = str(headers.get(":event-type", ""))
        data = _payload(payload)
        if event_type == "chunk":
            return self._chunk(data)
        data.pop("p", None)
        self.raw.append({event_type: data})
        try:
            return self._converse(event_type, data)
        except _SHAPE_ERRORS as exc:
            raise malformed(PROVIDER, f"unexpected {event_type} event ({exc!r})", payload) from None

    def _chunk(self, data: dict[str, Any]) -> list[StreamEvent]:
        """An InvokeModel ``chunk``: one Anthropic stream event, base64-encoded JSON."""
        self._chunks = True
        try:
            inner = base64.b64decode(data["bytes"]).decode("utf-8")
        except (KeyError, TypeError, ValueError) as exc:  # bad base64 or UTF-8 too
            raise MalformedResponseError(f"bad chunk event: {exc}", provider=PROVIDER) from None
        if self._messages.finished:
            return []  # as over SSE, nothing counts after message_stop
        try:
            return self._messages.event("", inner)
        except LLMError as exc:
            raise _ours(exc) from None

    def _converse(self, kind: str, data: dict[str, Any]) -> list[StreamEvent]:
        index = _block_index(data) if kind.startswith("contentBlock") else -1
        if kind == "contentBlockStart":
            use = (data.get("start") or {}).get("toolUse")
            if use is not None:
                call = self._calls[index] = len(self._calls)
                return [ToolCallDelta(call, use.get("toolUseId"), use.get("name"))]
        elif kind == "contentBlockDelta":
            delta = data["delta"]
            if delta.get("text"):
                return [TextDelta(_typed(delta["text"], str))]
            use = delta.get("toolUse")
            if use is not None and index in self._calls:  # as Anthropic: started calls only
                arguments = _typed(use.get("input", ""), str)
                return [ToolCallDelta(self._calls[index], arguments=arguments)]
            reasoning = delta.get("reasoningContent")
            if reasoning is not None and reasoning.get("text"):
                return [ReasoningDelta(_typed(reasoning["text"], str))]
        elif kind == "messageStop":
            self._stopped = True
            finish = _finish(data.get("stopReason"))
            return [Finish(finish)] if finish else []
        elif kind == "metadata" and "usage" in data:
            return [UsageUpdate(_converse_usage(data["usage"]))]
        return []


def _payload(payload: bytes) -> dict[str, Any]:
    if not payload:
        return {}
    data = load_json(PROVIDER, payload)
    if not isinstance(data, dict):
        raise MalformedResponseError(
            f"eventstream payload is not an object: {payload[:200]!r}", provider=PROVIDER
        )
    return data
