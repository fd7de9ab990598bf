"""The OpenAI Chat Completions shapes that litellm and simonw's llm speak, both ways.

Pure translation between ``harness.types`` and the dicts (or attribute objects) of the
Chat Completions format: messages and tools out; messages, usage, finish reasons and
stream chunks in. No library is imported here, so the adapters' translation is testable
without them. ``field`` reads a key from a dict or an attribute from an object alike
(litellm's response types are pydantic objects, llm's response JSON is dicts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.providers.base import StreamAccumulator, parse_arguments
from harness.providers.openai import encode_message, encode_tool, encode_tool_choice
from harness.types import (
    Finish,
    FinishReason,
    Message,
    ModelName,
    ReasoningDelta,
    Response,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageUpdate,
)

FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "end_turn": "stop",
    "length": "length",
    "max_tokens": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
}
"""Finish reasons as the libraries report them -> the harness's five."""


def field(obj: Any, name: str, default: Any = None) -> Any:
    """``obj[name]`` for a mapping, ``obj.name`` otherwise; ``default`` when absent/None."""
    if obj is None:
        return default
    value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
    return default if value is None else value


# --- out: harness -> Chat Completions ---------------------------------------------------


def chat_message(message: Message, *, tool_name: bool = True) -> dict[str, Any]:
    """One harness message as a Chat Completions message dict: the reference codec's
    encoding, plus the tool's ``name`` on tool results where ``tool_name`` (litellm reads
    it to build Gemini's ``functionResponse``)."""
    encoded = encode_message(message)
    if tool_name and message.role == "tool":
        encoded["name"] = message.name
    return encoded


def chat_messages(messages: Sequence[Message], *, tool_name: bool = True) -> list[dict[str, Any]]:
    return [chat_message(message, tool_name=tool_name) for message in messages]


chat_tool = encode_tool
chat_tool_choice = encode_tool_choice


# --- in: Chat Completions -> harness ----------------------------------------------------


def finish_reason(value: Any) -> FinishReason | None:
    """A reported finish reason, normalized (unknown ones are ``other``; none is None)."""
    if value is None or value == "":
        return None
    return FINISH_REASONS.get(str(value), "other")


def usage(value: Any) -> Usage:
    """Chat Completions usage (prompt/completion tokens, cached and reasoning details)."""
    if value is None:
        return Usage()
    return Usage(
        input_tokens=int(field(value, "prompt_tokens", 0)),
        output_tokens=int(field(value, "completion_tokens", 0)),
        cached_tokens=int(field(field(value, "prompt_tokens_details"), "cached_tokens", 0)),
        reasoning_tokens=int(
            field(field(value, "completion_tokens_details"), "reasoning_tokens", 0)
        ),
    )


def tool_call(value: Any) -> ToolCall:
    """One Chat Completions tool call, its arguments parsed (kept as text when not JSON)."""
    function = field(value, "function")
    arguments, bad = parse_arguments(str(field(function, "arguments", "")))
    return ToolCall(str(field(value, "id", "")), str(field(function, "name", "")), arguments, bad)


def response(message: Any, finish: Any, usage_value: Any, model: Any, raw: Any) -> Response:
    """A Chat Completions choice's message (plus its finish reason, the usage and the
    answering model) as a harness ``Response``."""
    return Response(
        text=str(field(message, "content", "")),
        tool_calls=tuple(tool_call(call) for call in field(message, "tool_calls", ())),
        finish_reason=finish_reason(finish),
        usage=usage(usage_value),
        model=str(model or ""),
        reasoning=str(field(message, "reasoning_content", "")),
        raw=raw,
    )


class ChunkTranslator:
    """Chat Completions stream chunks -> harness stream events, and the folded response.

    ``events(chunk)`` translates one chunk; ``response()`` folds every event seen so far
    into the ``Response`` (harness's own ``StreamAccumulator``), the way a caller reading
    the stream would assemble it.
    """

    def __init__(self) -> None:
        self._accumulator = StreamAccumulator()
        self._model = ""
        self.raw: list[Any] = []

    def events(self, chunk: Any) -> list[StreamEvent]:
        self.raw.append(chunk)
        found: list[StreamEvent] = []
        model = str(field(chunk, "model", ""))
        if model and model != self._model:
            self._model = model
            found.append(ModelName(model))
        for choice in field(chunk, "choices", ()):
            found += _delta_events(field(choice, "delta"))
            reason = finish_reason(field(choice, "finish_reason"))
            if reason is not None:
                found.append(Finish(reason))
        reported = field(chunk, "usage")
        if reported is not None:
            found.append(UsageUpdate(usage(reported)))
        for event in found:
            self._accumulator.add(event)
        return found

    def response(self) -> Response:
        return self._accumulator.response(raw=list(self.raw))


def _delta_events(delta: Any) -> list[StreamEvent]:
    found: list[StreamEvent] = []
    reasoning = field(delta, "reasoning_content", "")
    if reasoning:
        found.append(ReasoningDelta(str(reasoning)))
    text = field(delta, "content", "")
    if text:
        found.append(TextDelta(str(text)))
    for position, call in enumerate(field(delta, "tool_calls", ())):
        function = field(call, "function")
        found.append(
            ToolCallDelta(
                index=int(field(call, "index", position)),
                id=field(call, "id"),
                name=field(function, "name"),
                arguments=str(field(function, "arguments", "")),
            )
        )
    return found
