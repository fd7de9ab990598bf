"""Codec for AWS Bedrock Runtime: the Converse API, or InvokeModel with Anthropic bodies.

botocore is imported here only (this module is loaded only for ``bedrock/`` models) and
only for what it does best: finding region and credentials, SigV4 signing and parsing
the AWS eventstream framing. Everything else is plain data.

Notes on choices:

- Bedrock bodies do not say which model answered, so ``Response.model`` is the model id of
  the last request this codec built (InvokeModel bodies name the model and win).
- Converse has no "none" tool choice: with ``tool_choice="none"`` the tools are left out,
  unless the conversation already holds tool calls or results, which Converse refuses
  without a ``toolConfig``; the tools are then sent with no ``toolChoice``.
- Consecutive turns of the same role (tool results, then a user message) are merged, as
  both APIs require the roles to alternate.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Literal
from urllib.parse import quote

from harness.providers.base import HttpRequest, error_class_for_status, load_json, make_error
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
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageUpdate,
)

PROVIDER = "bedrock"
ANTHROPIC_VERSION = "bedrock-2023-05-31"
DEFAULT_MAX_TOKENS = 1024
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
"""Converse ``stopReason`` and Anthropic ``stop_reason`` values; others map to ``other``."""

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
    ) -> None:
        if api not in ("converse", "invoke"):
            raise ConfigurationError(f"Bedrock api must be 'converse' or 'invoke', not {api!r}")
        self.api = api
        self.region, self.credentials = _resolve(region, credentials, profile)
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
        """A copy of ``request`` signed with SigV4 (botocore's signer) at the current time."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        stale = {"authorization", "x-amz-date", "x-amz-security-token"}
        headers = {k: v for k, v in request.headers.items() if k.lower() not in stale}
        aws = AWSRequest(method=request.method, url=request.url, data=request.body, headers=headers)
        SigV4Auth(self.credentials, "bedrock", self.region).add_auth(aws)
        return replace(request, headers={k.lower(): str(v) for k, v in aws.headers.items()})

    def decode_response(self, body: bytes) -> Response:
        """Decode a Converse body or an InvokeModel (Anthropic Messages) body."""
        data = load_json(PROVIDER, body)
        if isinstance(data, dict) and isinstance(data.get("output"), dict):
            return self._converse_response(data)
        if isinstance(data, dict) and isinstance(data.get("content"), list):
            return self._anthropic_response(data)
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
        """An AWS eventstream decoder, whatever the content type says."""
        return EventStreamDecoder()

    def _converse_response(self, data: dict[str, Any]) -> Response:
        message = data["output"].get("message") or {}
        text, reasoning, calls = [], [], []
        for block in message.get("content") or []:
            if "text" in block:
                text.append(str(block["text"]))
            elif isinstance(block.get("toolUse"), dict):
                use = block["toolUse"]
                calls.append(_tool_call(use.get("toolUseId"), use.get("name"), use.get("input")))
            elif isinstance(block.get("reasoningContent"), dict):
                reasoning.append(
                    str(block["reasoningContent"].get("reasoningText", {}).get("text", ""))
                )
        return Response(
            text="".join(text),
            tool_calls=tuple(calls),
            finish_reason=_finish(data.get("stopReason")),
            usage=_converse_usage(data.get("usage")),
            model="",  # Converse bodies do not name the model; the LM fills it in
            reasoning="".join(reasoning),
            raw=data,
        )

    def _anthropic_response(self, data: dict[str, Any]) -> Response:
        text, reasoning, calls = [], [], []
        for block in data["content"]:
            kind = block.get("type")
            if kind == "text":
                text.append(str(block.get("text", "")))
            elif kind == "tool_use":
                calls.append(_tool_call(block.get("id"), block.get("name"), block.get("input")))
            elif kind == "thinking":
                reasoning.append(str(block.get("thinking", "")))
        return Response(
            text="".join(text),
            tool_calls=tuple(calls),
            finish_reason=_finish(data.get("stop_reason")),
            usage=_anthropic_usage(data.get("usage")),
            model=str(data.get("model") or ""),
            reasoning="".join(reasoning),
            raw=data,
        )


def _resolve(region: str | None, credentials: Any, profile: str | None) -> tuple[str, Any]:
    """Region and credentials from the arguments, the environment or botocore's chain."""
    try:
        import botocore.exceptions
        import botocore.session
    except ImportError:  # pragma: no cover - botocore is a declared extra
        raise ConfigurationError(
            "Bedrock needs botocore: pip install 'llm-parity[bedrock]'"
        ) from None
    session: Any = None
    try:
        region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            session = botocore.session.Session(profile=profile)
            region = session.get_config_variable("region")
        if not region:
            raise ConfigurationError(
                "no AWS region for Bedrock: pass region=... or set AWS_REGION "
                "(or a region in your AWS profile)"
            )
        if credentials is None:
            session = session or botocore.session.Session(profile=profile)
            credentials = session.get_credentials()
    except botocore.exceptions.BotoCoreError as exc:
        raise ConfigurationError(f"cannot configure Bedrock: {exc}") from None
    if credentials is None:
        raise ConfigurationError(
            "no AWS credentials for Bedrock: pass credentials=..., or set "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (or profile=...)"
        )
    return str(region), credentials


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
        choice = _choice(params, modes, lambda name: {"tool": {"name": name}})
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
    """The Anthropic Messages body of an InvokeModel request (no ``model``/``stream``)."""
    messages: list[dict[str, Any]] = []
    for message in params.messages:
        if message.role == "system":
            continue
        role, block = _anthropic_turn(message)
        _append(messages, role, block)
    body: dict[str, Any] = {
        "anthropic_version": ANTHROPIC_VERSION,
        "max_tokens": params.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    system = [m.content for m in params.messages if m.role == "system"]
    if system:
        body["system"] = "\n\n".join(system)
    body.update(
        _drop_none(
            temperature=params.temperature,
            top_p=params.top_p,
            stop_sequences=list(params.stop) or None,
        )
    )
    if params.tools:
        body["tools"] = [
            _tool_spec(tool.name, tool.description, tool.parameters, schema_key="input_schema")
            for tool in params.tools
        ]
        modes = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}
        choice = _choice(params, modes, lambda name: {"type": "tool", "name": name})
        if choice is not None:
            body["tool_choice"] = choice
    return body


def _anthropic_turn(message: Message) -> tuple[str, list[dict[str, Any]]]:
    if message.role == "user":
        return "user", [{"type": "text", "text": message.content}]
    if message.role == "assistant":
        blocks: list[dict[str, Any]] = []
        if message.content or not message.tool_calls:
            blocks.append({"type": "text", "text": message.content})
        for call in message.tool_calls:
            blocks.append(
                {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
            )
        return "assistant", blocks
    result: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": message.tool_call_id or "",
        "content": message.content,
    }
    if message.is_error:
        result["is_error"] = True
    return "user", [result]


def _append(messages: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    """Add a turn, merging it into the previous one when the role is the same."""
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"].extend(blocks)
    else:
        messages.append({"role": role, "content": blocks})


def _has_tool_blocks(messages: tuple[Message, ...]) -> bool:
    return any(m.role == "tool" or m.tool_calls for m in messages)


def _tool_spec(
    name: str, description: str, schema: Any, *, schema_key: str = "inputSchema"
) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name}
    if description:
        spec["description"] = description
    spec[schema_key] = schema
    return spec


def _choice(
    params: CallParams,
    modes: dict[str, dict[str, Any]],
    named: Callable[[str], dict[str, Any]],
) -> dict[str, Any] | None:
    """The wire form of ``params.tool_choice``: ``modes[choice]`` or ``named(tool)``;
    ``None`` when unset or not expressible."""
    choice = params.tool_choice
    if choice is None:
        return None
    if choice in ("auto", "required", "none"):
        return modes.get(choice)
    if choice not in {tool.name for tool in params.tools}:
        raise ConfigurationError(f"tool_choice {choice!r} is not one of the tools passed")
    return named(choice)


def _drop_none(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


# --- decoding helpers ----------------------------------------------------------------


def _finish(reason: Any) -> FinishReason | None:
    return _FINISH.get(str(reason), "other") if reason else None


def _tool_call(call_id: Any, name: Any, arguments: Any) -> ToolCall:
    if isinstance(arguments, dict):
        return ToolCall(str(call_id or ""), str(name or ""), arguments)
    return ToolCall(str(call_id or ""), str(name or ""), {}, json.dumps(arguments))


def _converse_usage(usage: Any) -> Usage:
    return _usage(
        usage, "inputTokens", "outputTokens", "cacheReadInputTokens", "cacheWriteInputTokens"
    )


def _anthropic_usage(usage: Any) -> Usage:
    return _usage(
        usage,
        "input_tokens",
        "output_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
    )


def _usage(usage: Any, inputs: str, outputs: str, reads: str, writes: str) -> Usage:
    """Both APIs count cache reads and writes apart from the input tokens; here, as for the
    other providers, ``input_tokens`` is the whole prompt and ``cached_tokens`` part of it."""
    usage = usage if isinstance(usage, dict) else {}
    read = int(usage.get(reads) or 0)
    return Usage(
        input_tokens=int(usage.get(inputs) or 0) + read + int(usage.get(writes) or 0),
        output_tokens=int(usage.get(outputs) or 0),
        cached_tokens=read,
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
    InvokeModelWithResponseStream (``chunk`` events wrapping Anthropic stream events)."""

    def __init__(self) -> None:
        from botocore.eventstream import EventStreamBuffer

        self.raw: list[Any] = []
        self._frames = EventStreamBuffer()
        self._pending = 0  # bytes fed but not yet part of a complete frame

    def feed(self, data: bytes) -> list[StreamEvent]:
        """Take the next bytes, return the events of the frames they complete."""
        from botocore.eventstream import ParserError

        self._frames.add_data(data)
        self._pending += len(data)
        events: list[StreamEvent] = []
        try:
            for frame in self._frames:
                self._pending -= frame.prelude.total_length
                events.extend(self._frame(frame.headers, frame.payload))
        except ParserError as exc:
            raise MalformedResponseError(
                f"bad eventstream frame: {exc}", provider=PROVIDER
            ) from None
        return events

    def close(self) -> list[StreamEvent]:
        """Raise ``MalformedResponseError`` if the stream stopped inside a frame."""
        if self._pending:
            raise MalformedResponseError(
                f"stream ended inside an eventstream frame ({self._pending} bytes left)",
                provider=PROVIDER,
            )
        return []

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
            try:
                inner = json.loads(base64.b64decode(data["bytes"]))
            except (KeyError, TypeError, ValueError, binascii.Error) as exc:
                raise MalformedResponseError(f"bad chunk event: {exc}", provider=PROVIDER) from None
            self.raw.append(inner)
            return self._anthropic(inner) if isinstance(inner, dict) else []
        data.pop("p", None)
        self.raw.append({event_type: data})
        return self._converse(event_type, data)

    def _converse(self, event_type: str, data: dict[str, Any]) -> list[StreamEvent]:
        index = int(data.get("contentBlockIndex") or 0)
        if event_type == "messageStart":
            return []
        if event_type == "contentBlockStart":
            use = (data.get("start") or {}).get("toolUse")
            if isinstance(use, dict):
                return [ToolCallDelta(index, use.get("toolUseId"), use.get("name"))]
        elif event_type == "contentBlockDelta":
            delta = data.get("delta") or {}
            if delta.get("text"):
                return [TextDelta(str(delta["text"]))]
            if isinstance(delta.get("toolUse"), dict):
                return [ToolCallDelta(index, arguments=str(delta["toolUse"].get("input", "")))]
            reasoning = delta.get("reasoningContent")
            if isinstance(reasoning, dict) and reasoning.get("text"):
                return [ReasoningDelta(str(reasoning["text"]))]
        elif event_type == "messageStop":
            finish = _finish(data.get("stopReason"))
            return [Finish(finish)] if finish else []
        elif event_type == "metadata" and "usage" in data:
            return [UsageUpdate(_converse_usage(data["usage"]))]
        return []

    def _anthropic(self, event: dict[str, Any]) -> list[StreamEvent]:
        kind = event.get("type")
        index = int(event.get("index") or 0)
        if kind == "message_start":
            message = event.get("message") or {}
            model = str(message.get("model") or "")
            usage = UsageUpdate(_anthropic_usage(message.get("usage")))
            return [ModelName(model), usage] if model else [usage]
        if kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                arguments = json.dumps(block["input"]) if block.get("input") else ""
                return [ToolCallDelta(index, block.get("id"), block.get("name"), arguments)]
            if block.get("type") == "text" and block.get("text"):
                return [TextDelta(str(block["text"]))]
            if block.get("type") == "thinking" and block.get("thinking"):
                return [ReasoningDelta(str(block["thinking"]))]
        elif kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta":
                return [TextDelta(str(delta.get("text", "")))]
            if delta.get("type") == "input_json_delta":
                return [ToolCallDelta(index, arguments=str(delta.get("partial_json", "")))]
            if delta.get("type") == "thinking_delta":
                return [ReasoningDelta(str(delta.get("thinking", "")))]
        elif kind == "message_delta":
            events: list[StreamEvent] = []
            finish = _finish((event.get("delta") or {}).get("stop_reason"))
            if finish:
                events.append(Finish(finish))
            if isinstance(event.get("usage"), dict):
                events.append(UsageUpdate(_anthropic_usage(event["usage"])))
            return events
        elif kind == "error":
            error = event.get("error") or {}
            cls = RateLimitError if error.get("type") == "rate_limit_error" else ServerError
            raise cls(str(error.get("message", "stream error")), provider=PROVIDER, body=event)
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
