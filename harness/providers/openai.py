"""OpenAI Chat Completions codec; also serves any OpenAI-compatible server via ``base_url``.

Wire format: ``POST {base_url}/chat/completions``; a streamed answer is SSE made of
``data: {chunk}`` lines and a final ``data: [DONE]``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
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
    BadRequestError,
    CallParams,
    ConfigurationError,
    Finish,
    FinishReason,
    LLMError,
    Message,
    ModelName,
    RateLimitError,
    ReasoningDelta,
    Response,
    ServerError,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolChoice,
    ToolSpec,
    Usage,
    UsageUpdate,
)

PROVIDER = "openai"
DEFAULT_BASE_URL = "https://api.openai.com/v1"

_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


class OpenAICodec:
    """Sans-I/O codec for the OpenAI Chat Completions API.

    The key comes from ``api_key`` or ``OPENAI_API_KEY``; it may be missing only when a
    custom ``base_url`` points at a server that needs none (a local model server).

    Output limit: ``CallParams.max_tokens`` is sent as ``max_completion_tokens`` to the
    OpenAI API itself (``base_url`` left out or equal to ``DEFAULT_BASE_URL``):
    ``max_tokens`` is deprecated there and o-series / gpt-5 models reject it with a 400.
    Any other ``base_url`` is taken for an OpenAI-compatible server (vLLM, llama.cpp,
    older servers...), many of which only know ``max_tokens``, so that name is sent.

    Tools: ``tool_choice`` is sent only together with ``tools``; without tools it is
    dropped (OpenAI rejects it with a 400), as the other codecs do.
    """

    provider = PROVIDER

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        organization: str | None = None,
    ) -> None:
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or None
        if self.api_key is None and base_url is None:
            raise ConfigurationError("no OpenAI API key: pass api_key=... or set OPENAI_API_KEY")
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.organization = organization
        self._max_tokens_field = (
            "max_completion_tokens" if self.base_url == DEFAULT_BASE_URL else "max_tokens"
        )
        """The body field carrying ``CallParams.max_tokens`` (see the class docstring)."""

    def build_request(self, params: CallParams, *, stream: bool) -> HttpRequest:
        """The ``chat/completions`` request for ``params``."""
        body: dict[str, Any] = {
            "model": params.model,
            "messages": [encode_message(message) for message in params.messages],
        }
        if params.temperature is not None:
            body["temperature"] = params.temperature
        if params.top_p is not None:
            body["top_p"] = params.top_p
        if params.max_tokens is not None:
            body[self._max_tokens_field] = params.max_tokens
        if params.stop:
            body["stop"] = list(params.stop)
        if params.tools:
            body["tools"] = [encode_tool(tool) for tool in params.tools]
            if params.tool_choice is not None:
                body["tool_choice"] = encode_tool_choice(params.tool_choice)
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
        }
        if self.api_key:
            headers["authorization"] = f"Bearer {self.api_key}"
        if self.organization:
            headers["openai-organization"] = self.organization
        url = f"{self.base_url}/chat/completions"
        return HttpRequest("POST", url, headers, compact_json(body).encode())

    def sign(self, request: HttpRequest) -> HttpRequest:
        """The key is already a header: nothing to add per attempt."""
        return request

    def decode_response(self, body: bytes) -> Response:
        """Decode a ``chat.completion`` object (only the first choice is used)."""
        data = load_json(PROVIDER, body)
        try:
            choice = data["choices"][0]
            message = choice.get("message") or {}
            calls = tuple(_tool_call(call) for call in message.get("tool_calls") or ())
            return Response(
                text=_text(message),
                tool_calls=calls,
                finish_reason=_finish(choice.get("finish_reason")),
                usage=_usage(data.get("usage")),
                model=data.get("model") or "",
                reasoning=_reasoning(message),
                raw=data,
            )
        except (LookupError, TypeError, AttributeError) as exc:
            raise malformed(PROVIDER, f"unexpected chat completion ({exc!r})", body) from None

    def decode_error(self, status: int, headers: Mapping[str, str], body: bytes) -> LLMError:
        """Map ``{"error": {"message", "type", "code"}}`` (or any body) by HTTP status."""
        data, text = error_body(body)
        message = _error_message(data) or text or f"HTTP {status}"
        return make_error(
            error_class_for_status(status),
            message,
            provider=PROVIDER,
            status=status,
            headers=headers,
            body=data if data is not None else text,
        )

    def stream_decoder(self, content_type: str) -> OpenAIStreamDecoder:
        """A decoder for a ``text/event-stream`` answer."""
        return OpenAIStreamDecoder(content_type)


class OpenAIStreamDecoder(SSEStreamDecoder):
    """Incremental decoder of Chat Completions SSE chunks, ending with ``data: [DONE]``."""

    provider = PROVIDER
    end = "data: [DONE]"

    def __init__(self, content_type: str = "") -> None:
        super().__init__(content_type)
        self._model = ""

    def event(self, name: str, data: str) -> list[StreamEvent]:
        if data.strip() == "[DONE]":
            self.finished = True
            return []
        chunk = load_json(PROVIDER, data)
        self.raw.append(chunk)
        try:
            return self._chunk(chunk)
        except (LookupError, TypeError, AttributeError) as exc:
            raise malformed(PROVIDER, f"unexpected chunk ({exc!r})", data) from None

    def _chunk(self, chunk: Any) -> list[StreamEvent]:
        if chunk.get("error"):
            raise _stream_error(chunk["error"], chunk)
        events: list[StreamEvent] = []
        model = chunk.get("model")
        if model and model != self._model:
            self._model = model
            events.append(ModelName(model))
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if reasoning := _reasoning(delta):
                events.append(ReasoningDelta(reasoning))
            if text := _text(delta):
                events.append(TextDelta(text))
            for position, call in enumerate(delta.get("tool_calls") or ()):
                function = call.get("function") or {}
                events.append(
                    ToolCallDelta(
                        index=call.get("index", position),
                        id=call.get("id"),
                        name=function.get("name"),
                        arguments=function.get("arguments") or "",
                    )
                )
            reason = _finish(choice.get("finish_reason"))
            if reason is not None:
                events.append(Finish(reason))
        if chunk.get("usage"):
            events.append(UsageUpdate(_usage(chunk["usage"])))
        return events


# --- encoding ------------------------------------------------------------------------


def encode_message(message: Message) -> dict[str, Any]:
    """One message as a Chat Completions message (the adapters over Chat Completions
    clients send the same)."""
    if message.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "content": message.content,
        }
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": arguments_text(call)},
                }
                for call in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}


def arguments_text(call: ToolCall) -> str:
    """Arguments as sent back to the model: its own text when that was not valid JSON."""
    if call.arguments_json is not None:
        return call.arguments_json
    return compact_json(call.arguments)


def encode_tool(tool: ToolSpec) -> dict[str, Any]:
    """A tool spec as a Chat Completions function tool."""
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    }


def encode_tool_choice(choice: ToolChoice | str) -> Any:
    """``auto``/``required``/``none`` as they are; a tool's name as a named choice."""
    if choice in ("auto", "required", "none"):
        return choice
    return {"type": "function", "function": {"name": choice}}


# --- decoding ------------------------------------------------------------------------


def _text(message: Any) -> str:
    """Answer text of a message or delta; a refusal counts as the answer."""
    for key in ("content", "refusal"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _reasoning(message: Any) -> str:
    """Reasoning text some OpenAI-compatible servers add (``reasoning_content``)."""
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _tool_call(call: Any) -> ToolCall:
    function = call["function"]
    arguments, bad = parse_arguments(function.get("arguments") or "")
    return ToolCall(call.get("id") or "", function.get("name") or "", arguments, bad)


def _finish(reason: Any) -> FinishReason | None:
    if not reason:
        return None
    return _FINISH_REASONS.get(reason, "other")


def _usage(usage: Any) -> Usage:
    if not isinstance(usage, dict):
        return Usage()
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=usage.get("prompt_tokens") or 0,
        output_tokens=usage.get("completion_tokens") or 0,
        cached_tokens=prompt.get("cached_tokens") or 0,
        reasoning_tokens=completion.get("reasoning_tokens") or 0,
    )


def _error_message(data: Any) -> str | None:
    """The message of ``{"error": {"message"}}``, ``{"error": "..."}`` or ``{"message"}``."""
    if not isinstance(data, dict):
        return None
    error = data.get("error", data)
    if isinstance(error, str) and error:
        return error
    if isinstance(error, dict):
        for key in ("message", "detail"):
            value = error.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def _stream_error(error: Any, chunk: Any) -> LLMError:
    """An error object sent inside a 200 stream (no HTTP status to go by)."""
    message = _error_message({"error": error}) or "error in stream"
    kind = f"{error.get('type')} {error.get('code')}" if isinstance(error, dict) else ""
    cls: type[LLMError] = ServerError
    if "rate_limit" in kind:
        cls = RateLimitError
    elif "invalid_request" in kind:
        cls = BadRequestError
    return cls(message, provider=PROVIDER, body=chunk)
