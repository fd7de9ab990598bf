"""Gemini ``generateContent`` / ``streamGenerateContent`` wire format.

A stream is one ``GenerateContentResponse`` per piece: SSE events separated by CRLF
(``alt=sse``), or without ``alt=sse`` one pretty-printed JSON array sent element by element
(``[{...}\\n,\\r\\n{...}\\n]``). Gemini gives function calls no ids and says ``STOP`` when it
calls one, so ``tool_calls`` can only be expressed with tool calls present.
"""

from __future__ import annotations

import json
from typing import Any

from harness.emulator.script import (
    TEXT_PIECE,
    Call,
    Reply,
    ScriptError,
    StreamFault,
    Wire,
    dumps,
    finish_value,
    json_wire,
    pieces,
)
from harness.types import Usage

FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY", "other": "OTHER"}
STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
"""google.rpc status names by HTTP status; others are ``FAILED_PRECONDITION`` (4xx) or
``INTERNAL`` (5xx)."""
JSON_TYPE = "application/json; charset=UTF-8"


def answer(call: Call, reply: Reply) -> Wire:
    """A ``GenerateContentResponse``, or the stream of them."""
    finish = _finish(reply)
    parts: list[dict[str, Any]] = [
        *([{"text": reply.reasoning, "thought": True}] if reply.reasoning else []),
        *([{"text": reply.text}] if reply.text or not reply.tool_calls else []),
        *_calls(reply),
    ]
    if not call.stream:
        return json_wire(_response(call, reply, parts, _usage(reply.usage), finish), _json())
    streamed: list[dict[str, Any]] = [
        *({"text": piece, "thought": True} for piece in pieces(reply.reasoning, TEXT_PIECE)),
        *({"text": piece} for piece in pieces(reply.text, TEXT_PIECE)),
        *_calls(reply),
    ] or [{"text": ""}]
    usage = reply.usage
    partial = {
        "promptTokenCount": usage.input_tokens,
        "totalTokenCount": usage.input_tokens,
        "promptTokensDetails": _details(usage.input_tokens),
    }
    chunks = [_response(call, reply, [part], partial) for part in streamed[:-1]]
    chunks.append(_response(call, reply, streamed[-1:], _usage(usage), finish))
    if call.sse:
        events = [f"data: {dumps(c, separators=(',', ': '))}\r\n\r\n" for c in chunks]
        return Wire({"content-type": "text/event-stream"}, tuple(e.encode() for e in events))
    elements = [json.dumps(c, ensure_ascii=False, indent=2) for c in chunks]
    events = ["[" + elements[0], *("\n,\r\n" + e for e in elements[1:])]
    events[-1] += "\n]"
    return Wire(_json(), tuple(e.encode() for e in events))


def failure(call: Call, status: int, message: str) -> Wire:
    """``{"error": {"code", "message", "status"}}``."""
    return json_wire({"error": _error(status, message)}, _json())


def stream_fault(call: Call, fault: StreamFault) -> Wire:
    """The first elements of the answer's stream, then an ``{"error": {...}}`` element
    (an SSE event with ``alt=sse``, else the JSON array's last element)."""
    wire = answer(call, fault.reply)
    kept = list(wire.events[: fault.after_events])
    error = {"error": _error(fault.status, fault.message)}
    if call.sse:
        event = f"data: {dumps(error, separators=(',', ': '))}\r\n\r\n".encode()
        return Wire(wire.headers, (*kept, event))
    element = json.dumps(error, ensure_ascii=False, indent=2)
    if kept:
        last = kept[-1].decode()
        kept[-1] = (last[: -len("\n]")] if last.endswith("\n]") else last).encode()
        events = [*kept, f"\n,\r\n{element}\n]".encode()]
    else:
        events = [f"[{element}\n]".encode()]
    return Wire(wire.headers, tuple(events))


def _error(status: int, message: str) -> dict[str, Any]:
    name = STATUS.get(status) or ("INTERNAL" if status >= 500 else "FAILED_PRECONDITION")
    return {"code": status, "message": message, "status": name}


def _finish(reply: Reply) -> str:
    if reply.finish == "tool_calls":
        if not reply.tool_calls:
            raise ScriptError("gemini cannot express finish_reason 'tool_calls' without calls")
        return "STOP"
    return finish_value(reply, FINISH, "gemini")


def _calls(reply: Reply) -> list[dict[str, Any]]:
    return [{"functionCall": {"name": c.name, "args": c.arguments}} for c in reply.tool_calls]


def _response(
    call: Call,
    reply: Reply,
    parts: list[dict[str, Any]],
    usage: dict[str, Any],
    finish: str | None = None,
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
    if finish is not None:
        candidate["finishReason"] = finish
    candidate["index"] = 0
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": call.model_name(reply),
        "responseId": call.token("id", 22),
    }


def _usage(usage: Usage) -> dict[str, Any]:
    """``candidatesTokenCount`` excludes the thoughts, which are counted apart."""
    thoughts = usage.reasoning_tokens
    meta: dict[str, Any] = {
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": max(0, usage.output_tokens - thoughts),
        "totalTokenCount": usage.input_tokens + max(usage.output_tokens, thoughts),
        "promptTokensDetails": _details(usage.input_tokens),
    }
    if thoughts:
        meta["thoughtsTokenCount"] = thoughts
    if usage.cached_tokens:
        meta["cachedContentTokenCount"] = usage.cached_tokens
    return meta


def _details(count: int) -> list[dict[str, Any]]:
    return [{"modality": "TEXT", "tokenCount": count}]


def _json() -> dict[str, str]:
    return {"content-type": JSON_TYPE}
