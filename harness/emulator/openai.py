"""OpenAI Chat Completions wire format: ``chat.completion`` bodies and SSE chunks.

OpenAI itself never returns reasoning text (only ``reasoning_tokens``); OpenAI-compatible
servers that do (DeepSeek, vLLM, ...) send it as ``reasoning_content`` beside ``content``,
in the message and in stream deltas, and so is ``Reply.reasoning`` sent.
"""

from __future__ import annotations

from typing import Any

from harness.emulator.script import (
    ARGUMENTS_PIECE,
    CREATED,
    TEXT_PIECE,
    Call,
    Reply,
    StreamFault,
    Wire,
    arguments_text,
    dumps,
    finish_value,
    json_wire,
    pieces,
)
from harness.types import Usage

FINISH = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
    "other": "insufficient_system_resource",
}
"""OpenAI's own four, and for ``other`` a reason outside them, as OpenAI-compatible
servers send: DeepSeek's ``insufficient_system_resource`` (its API reference's
``finish_reason`` list)."""
ERRORS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", "invalid_value"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}
"""``(type, code)`` of the error envelope; other 4xx are ``invalid_request_error`` and
5xx ``server_error``, both with a null code."""


def answer(call: Call, reply: Reply) -> Wire:
    """A ``chat.completion`` body, or its SSE chunks ending with ``data: [DONE]``."""
    finish = finish_value(reply, FINISH, "openai")
    head = {
        "id": f"chatcmpl-{call.token('id', 29)}",
        "object": "chat.completion.chunk" if call.stream else "chat.completion",
        "created": CREATED + call.index,
        "model": call.model_name(reply),
        "system_fingerprint": f"fp_{call.token('fp', 10).lower()}",
    }
    calls: list[dict[str, Any]] = [
        {
            "id": call.tool_id(i, tool, "call_"),
            "type": "function",
            "function": {"name": tool.name, "arguments": arguments_text(tool)},
        }
        for i, tool in enumerate(reply.tool_calls)
    ]
    headers = {"x-request-id": f"req_{call.token('request', 32).lower()}"}
    if not call.stream:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.text or (None if calls else ""),
            "refusal": None,
        }
        if reply.reasoning:
            message["reasoning_content"] = reply.reasoning
        if calls:
            message["tool_calls"] = calls
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        body = {**head, "choices": [choice], "usage": _usage(reply.usage)}
        return json_wire(body, {"content-type": "application/json", **headers})

    def chunk(delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
        return {**head, "choices": [choice], **({"usage": None} if call.include_usage else {})}

    first = {"role": "assistant", "content": "" if reply.text or not calls else None}
    chunks = [chunk({**first, "refusal": None})]
    chunks += [chunk({"reasoning_content": piece}) for piece in pieces(reply.reasoning, TEXT_PIECE)]
    chunks += [chunk({"content": piece}) for piece in pieces(reply.text, TEXT_PIECE)]
    for i, tool in enumerate(calls):
        start = {**tool, "function": {"name": tool["function"]["name"], "arguments": ""}}
        chunks.append(chunk({"tool_calls": [{"index": i, **start}]}))
        chunks += [
            chunk({"tool_calls": [{"index": i, "function": {"arguments": fragment}}]})
            for fragment in pieces(tool["function"]["arguments"], ARGUMENTS_PIECE)
        ]
    chunks.append(chunk({}, finish))
    if call.include_usage:
        chunks.append({**head, "choices": [], "usage": _usage(reply.usage)})
    events = [f"data: {dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]
    return Wire({"content-type": "text/event-stream; charset=utf-8", **headers}, tuple(events))


def failure(call: Call, status: int, message: str) -> Wire:
    """``{"error": {"message", "type", "param", "code"}}``."""
    body = {"error": _error(status, message)}
    return json_wire(body, {"content-type": "application/json; charset=utf-8"})


def stream_fault(call: Call, fault: StreamFault) -> Wire:
    """The first events of the answer, then ``data: {"error": {...}}`` (no ``[DONE]``)."""
    wire = answer(call, fault.reply)
    error = f"data: {dumps({'error': _error(fault.status, fault.message)})}\n\n".encode()
    return Wire(wire.headers, (*wire.events[: fault.after_events], error))


def _error(status: int, message: str) -> dict[str, Any]:
    kind, code = ERRORS.get(status) or (
        ("server_error", None) if status >= 500 else ("invalid_request_error", None)
    )
    return {"message": message, "type": kind, "param": None, "code": code}


def _usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
