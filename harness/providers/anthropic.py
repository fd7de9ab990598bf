"""Anthropic Messages API codec.

Wire format: ``POST {base_url}/v1/messages``; a streamed answer is SSE with ``event:`` +
``data:`` pairs from ``message_start`` to ``message_stop``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from harness.providers.base import (
    HttpRequest,
    SSEStreamDecoder,
    compact_json,
    error_body,
    error_class_for_status,
    load_json,
    make_error,
    malformed,
    parse_arguments,
)
from harness.types import (
    AuthenticationError,
    BadRequestError,
    CallParams,
    ConfigurationError,
    Finish,
    FinishReason,
    LLMError,
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
    ToolChoice,
    Usage,
    UsageUpdate,
)

PROVIDER = "anthropic"
DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
"""Anthropic requires ``max_tokens``; used when ``CallParams.max_tokens`` is None."""

_STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
"""Anything else (``pause_turn``, future reasons) becomes ``"other"``."""

ERROR_TYPES: dict[str, type[LLMError]] = {
    "invalid_request_error": BadRequestError,
    "request_too_large": BadRequestError,
    "authentication_error": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "billing_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "rate_limit_error": RateLimitError,
    "api_error": ServerError,
    "overloaded_error": ServerError,
    "timeout_error": RequestTimeoutError,
}
"""``error.type`` of Anthropic's error envelope -> exception class."""


class AnthropicCodec:
    """Sans-I/O codec for the Anthropic Messages API (key from ``ANTHROPIC_API_KEY``).

    ``tool_choice`` is sent only together with ``tools``; without tools it is dropped
    (the API rejects it), as the other codecs do.
    """

    provider = PROVIDER

    def __init__(self, api_key: str | None = None, base_url: str | None = None) -> None:
        key = api_key or os.environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise ConfigurationError(
                "no Anthropic API key: pass api_key=... or set ANTHROPIC_API_KEY"
            )
        self.api_key = key
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")

    def build_request(self, params: CallParams, *, stream: bool) -> HttpRequest:
        """The ``/v1/messages`` request for ``params``."""
        system, messages = encode_messages(params.messages)
        max_tokens = DEFAULT_MAX_TOKENS if params.max_tokens is None else params.max_tokens
        body: dict[str, Any] = {"model": params.model, "max_tokens": max_tokens}
        if system:
            body["system"] = system
        body["messages"] = messages
        if params.temperature is not None:
            body["temperature"] = params.temperature
        if params.top_p is not None:
            body["top_p"] = params.top_p
        if params.stop:
            body["stop_sequences"] = list(params.stop)
        if params.tools:
            body["tools"] = [
                {
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.parameters,
                }
                for tool in params.tools
            ]
            if params.tool_choice is not None:  # only with tools, as the other codecs do
                body["tool_choice"] = encode_tool_choice(params.tool_choice)
        if stream:
            body["stream"] = True
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
            "x-api-key": self.api_key,
            "anthropic-version": API_VERSION,
        }
        url = f"{self.base_url}/v1/messages"
        return HttpRequest("POST", url, headers, compact_json(body).encode())

    def sign(self, request: HttpRequest) -> HttpRequest:
        """The key is already a header: nothing to add per attempt."""
        return request

    def decode_response(self, body: bytes) -> Response:
        """Decode a ``message`` object. Server-tool blocks are not client tool calls."""
        data = load_json(PROVIDER, body)
        try:
            text: list[str] = []
            reasoning: list[str] = []
            calls: list[ToolCall] = []
            for block in data["content"]:
                kind = block.get("type")
                if kind == "text":
                    text.append(block.get("text") or "")
                elif kind == "thinking":
                    reasoning.append(block.get("thinking") or "")
                elif kind == "tool_use":
                    calls.append(_tool_call(block))
            return Response(
                text="".join(text),
                tool_calls=tuple(calls),
                finish_reason=_finish(data.get("stop_reason")),
                usage=_usage(data.get("usage")),
                model=data.get("model") or "",
                reasoning="".join(reasoning),
                raw=data,
            )
        except (LookupError, TypeError, AttributeError) as exc:
            raise malformed(PROVIDER, f"unexpected message ({exc!r})", body) from None

    def decode_error(self, status: int, headers: Mapping[str, str], body: bytes) -> LLMError:
        """Map ``{"type": "error", "error": {"type", "message"}}``, else by HTTP status."""
        data, text = error_body(body)
        error = data.get("error") if isinstance(data, dict) else None
        cls, message = error_class_for_status(status), text or f"HTTP {status}"
        if isinstance(error, dict):
            cls = ERROR_TYPES.get(str(error.get("type")), cls)
            message = str(error.get("message") or message)
        return make_error(
            cls,
            message,
            provider=PROVIDER,
            status=status,
            headers=headers,
            body=data if data is not None else text,
        )

    def stream_decoder(self, content_type: str) -> AnthropicStreamDecoder:
        """A decoder for a ``text/event-stream`` answer."""
        return AnthropicStreamDecoder(content_type)


class AnthropicStreamDecoder(SSEStreamDecoder):
    """Incremental decoder of Messages SSE events, ending with ``message_stop``."""

    provider = PROVIDER
    end = "message_stop"

    def __init__(self, content_type: str = "") -> None:
        super().__init__(content_type)
        self._calls: dict[int, int] = {}
        """Content block index of each client ``tool_use`` block -> tool call index."""

    def event(self, name: str, data: str) -> list[StreamEvent]:
        payload = load_json(PROVIDER, data)
        self.raw.append(payload)
        try:
            return self._event(payload.get("type") or name, payload)
        except (LookupError, TypeError, AttributeError) as exc:
            raise malformed(PROVIDER, f"unexpected event ({exc!r})", data) from None

    def _event(self, kind: str, payload: Any) -> list[StreamEvent]:
        if kind == "message_start":
            message = payload["message"]
            events: list[StreamEvent] = []
            if message.get("model"):
                events.append(ModelName(message["model"]))
            if message.get("usage"):
                events.append(UsageUpdate(_usage(message["usage"])))
            return events
        if kind == "content_block_start":
            return self._block_start(payload["index"], payload["content_block"])
        if kind == "content_block_delta":
            return self._block_delta(payload["index"], payload["delta"])
        if kind == "message_delta":
            events = []
            reason = _finish((payload.get("delta") or {}).get("stop_reason"))
            if reason is not None:
                events.append(Finish(reason))
            if payload.get("usage"):
                events.append(UsageUpdate(_usage(payload["usage"])))
            return events
        if kind == "message_stop":
            self.finished = True
        elif kind == "error":
            raise _stream_error(payload)
        return []  # ping, content_block_stop, and event types added later

    def _block_start(self, index: int, block: Any) -> list[StreamEvent]:
        kind = block.get("type")
        if kind == "text" and block.get("text"):
            return [TextDelta(block["text"])]
        if kind == "thinking" and block.get("thinking"):
            return [ReasoningDelta(block["thinking"])]
        if kind == "tool_use":
            call = self._calls[index] = len(self._calls)
            start = block.get("input")
            arguments = compact_json(start) if start else ""
            return [ToolCallDelta(call, block.get("id"), block.get("name"), arguments)]
        return []  # server_tool_use, *_tool_result, redacted_thinking...

    def _block_delta(self, index: int, delta: Any) -> list[StreamEvent]:
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            return [TextDelta(delta["text"])]
        if kind == "thinking_delta" and delta.get("thinking"):
            return [ReasoningDelta(delta["thinking"])]
        if kind == "input_json_delta" and index in self._calls and delta.get("partial_json"):
            return [ToolCallDelta(self._calls[index], arguments=delta["partial_json"])]
        return []  # signature_delta, citations, server tool input...


# --- encoding ------------------------------------------------------------------------


def encode_messages(messages: Sequence[Message]) -> tuple[str, list[dict[str, Any]]]:
    """``(system prompt, turns)``: system messages go to the top-level ``system``, and
    consecutive messages of one Anthropic role (tool results are ``user``) are merged."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            system.append(message.content)
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = content_blocks(message)
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return "\n\n".join(system), turns


def content_blocks(message: Message) -> list[dict[str, Any]]:
    """One message as Messages-API content blocks."""
    if message.role == "tool":
        return [
            {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": message.content,
                "is_error": message.is_error,
            }
        ]
    blocks: list[dict[str, Any]] = []
    if message.content or message.role == "user":
        blocks.append({"type": "text", "text": message.content})
    blocks.extend(
        {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
        for call in message.tool_calls
    )
    return blocks


def encode_tool_choice(choice: ToolChoice | str) -> dict[str, str]:
    """``auto``/``none``/``required`` (``any``), or a tool's name."""
    if choice == "auto":
        return {"type": "auto"}
    if choice == "required":
        return {"type": "any"}
    if choice == "none":
        return {"type": "none"}
    return {"type": "tool", "name": choice}


# --- decoding ------------------------------------------------------------------------


def _tool_call(block: Any) -> ToolCall:
    value = block.get("input")
    if isinstance(value, dict):
        arguments, bad = value, None
    else:
        arguments, bad = parse_arguments(compact_json(value))
    return ToolCall(block["id"], block["name"], arguments, bad)


def _finish(reason: Any) -> FinishReason | None:
    if not reason:
        return None
    return _STOP_REASONS.get(reason, "other")


def _usage(usage: Any) -> Usage:
    """Anthropic counts cache reads and writes apart from ``input_tokens``; here, as for the
    other providers, ``input_tokens`` is the whole prompt and ``cached_tokens`` part of it."""
    if not isinstance(usage, dict):
        return Usage()
    cached = usage.get("cache_read_input_tokens") or 0
    written = usage.get("cache_creation_input_tokens") or 0
    return Usage(
        input_tokens=(usage.get("input_tokens") or 0) + cached + written,
        output_tokens=usage.get("output_tokens") or 0,
        cached_tokens=cached,
    )


def _stream_error(payload: Any) -> LLMError:
    """An ``error`` event inside a 200 stream (no HTTP status to go by)."""
    error = payload.get("error") or {}
    cls = ERROR_TYPES.get(str(error.get("type")), ServerError)
    return cls(error.get("message") or "error in stream", provider=PROVIDER, body=payload)
