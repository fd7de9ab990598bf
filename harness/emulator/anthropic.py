"""Anthropic Messages wire format: ``message`` bodies and SSE events.

``message`` and ``stream_events`` are shared with Bedrock InvokeModel, whose bodies are
Anthropic-native.
"""

from __future__ import annotations

from typing import Any

from harness.emulator.script import (
    ARGUMENTS_PIECE,
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

STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
    "other": "pause_turn",
}
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
"""Other 4xx are ``invalid_request_error``, other 5xx ``api_error``."""


def answer(call: Call, reply: Reply) -> Wire:
    """A ``message`` body, or its SSE events from ``message_start`` to ``message_stop``."""
    headers = {"request-id": f"req_{call.token('request')}"}
    if not call.stream:
        body = message(call, reply)
        return json_wire(body, {"content-type": "application/json", **headers})
    events = []
    for event in stream_events(call, reply, ping=True):
        data = '{"type": "ping"}' if event["type"] == "ping" else _padded(call, event)
        events.append(f"event: {event['type']}\ndata: {data}\n\n".encode())
    return Wire({"content-type": "text/event-stream; charset=utf-8", **headers}, tuple(events))


def failure(call: Call, status: int, message: str) -> Wire:
    """``{"type": "error", "error": {"type", "message"}, "request_id"}``."""
    body = {
        "type": "error",
        "error": _error(status, message),
        "request_id": f"req_{call.token('request')}",
    }
    return json_wire(body, {"content-type": "application/json"})


def stream_fault(call: Call, fault: StreamFault) -> Wire:
    """The first events of the answer, then ``event: error`` (the stream ends there)."""
    wire = answer(call, fault.reply)
    data = dumps({"type": "error", "error": _error(fault.status, fault.message)})
    error = f"event: error\ndata: {data}\n\n".encode()
    return Wire(wire.headers, (*wire.events[: fault.after_events], error))


def _error(status: int, message: str) -> dict[str, str]:
    kind = ERROR_TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")
    return {"type": kind, "message": message}


def message(call: Call, reply: Reply, prefix: str = "") -> dict[str, Any]:
    """The ``message`` object of a non-streamed answer (``prefix`` ``bdrk_`` for Bedrock's
    ``msg_bdrk_``/``toolu_bdrk_`` ids)."""
    content: list[dict[str, Any]] = []
    if reply.reasoning:
        content.append(
            {"type": "thinking", "thinking": reply.reasoning, "signature": _signature(call)}
        )
    if reply.text or not reply.tool_calls:
        content.append({"type": "text", "text": reply.text})
    content += [
        {
            "type": "tool_use",
            "id": call.tool_id(i, tool, f"toolu_{prefix}01"),
            "name": tool.name,
            "input": tool.arguments,
        }
        for i, tool in enumerate(reply.tool_calls)
    ]
    return {
        **_head(call, reply, prefix),
        "content": content,
        "stop_reason": finish_value(reply, STOP, call.provider),
        "stop_sequence": None,
        "usage": _usage(reply.usage),
    }


def stream_events(
    call: Call, reply: Reply, prefix: str = "", *, ping: bool
) -> list[dict[str, Any]]:
    """The stream's event payloads, ``message_start`` to ``message_stop``."""
    stop_reason = finish_value(reply, STOP, call.provider)
    start_usage = {**_usage(reply.usage), "output_tokens": min(1, reply.usage.output_tokens)}
    start = {**_head(call, reply, prefix), "content": [], "stop_reason": None}
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {**start, "stop_sequence": None, "usage": start_usage}}
    ]
    for index, (block, deltas) in enumerate(_blocks(call, reply, prefix)):
        events.append({"type": "content_block_start", "index": index, "content_block": block})
        if ping and index == 0:
            events.append({"type": "ping"})
        events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", "index": index})
    events += [
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": reply.usage.output_tokens},
        },
        {"type": "message_stop"},
    ]
    return events


Block = tuple[dict[str, Any], list[dict[str, Any]]]
"""A content block: its ``content_block_start`` block and its deltas."""


def _blocks(call: Call, reply: Reply, prefix: str) -> list[Block]:
    """The content blocks of a streamed answer, in order."""
    blocks: list[Block] = []
    if reply.reasoning:
        thinking = [
            {"type": "thinking_delta", "thinking": piece}
            for piece in pieces(reply.reasoning, TEXT_PIECE)
        ]
        signature = {"type": "signature_delta", "signature": _signature(call)}
        start = {"type": "thinking", "thinking": "", "signature": ""}
        blocks.append((start, [*thinking, signature]))
    if reply.text or not reply.tool_calls:
        text = [{"type": "text_delta", "text": piece} for piece in pieces(reply.text, TEXT_PIECE)]
        blocks.append(({"type": "text", "text": ""}, text))
    for i, tool in enumerate(reply.tool_calls):
        block = {
            "type": "tool_use",
            "id": call.tool_id(i, tool, f"toolu_{prefix}01"),
            "name": tool.name,
            "input": {},
        }
        fragments = ["", *pieces(arguments_text(tool), ARGUMENTS_PIECE)]
        json_deltas = [{"type": "input_json_delta", "partial_json": f} for f in fragments]
        blocks.append((block, json_deltas))
    return blocks


def _head(call: Call, reply: Reply, prefix: str) -> dict[str, Any]:
    return {
        "id": f"msg_{prefix}01{call.token('id', 22)}",
        "type": "message",
        "role": "assistant",
        "model": call.model_name(reply),
    }


def _usage(usage: Usage) -> dict[str, Any]:
    """Anthropic counts cache reads apart from ``input_tokens``."""
    return {
        "input_tokens": max(0, usage.input_tokens - usage.cached_tokens),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": usage.cached_tokens,
        "output_tokens": usage.output_tokens,
    }


def _signature(call: Call) -> str:
    return call.token("signature", 64)


def _padded(call: Call, event: dict[str, Any]) -> str:
    """The service pads event JSON with spaces before the closing brace."""
    text = dumps(event)
    spaces = call.number(f"pad{text}", 0, 15)
    return text[:-1] + " " * spaces + "}"
