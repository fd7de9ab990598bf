"""Bedrock Runtime wire format: Converse / ConverseStream, and InvokeModel (with response
stream) carrying Anthropic-native bodies.

Streams are AWS eventstream frames built by ``encode_frame``. ConverseStream payloads
carry a ``p`` padding field like the real service's; InvokeModel streams wrap each
Anthropic event as ``{"bytes": base64}`` in a ``chunk`` event. Converse bodies name no
model, so ``Reply.model`` only shows through InvokeModel.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Mapping
from typing import Any

from harness.emulator import anthropic
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
    "content_filter": "content_filtered",
    "other": "malformed_model_output",
}
ERRORS = {
    400: "ValidationException",
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
"""``x-amzn-ErrorType`` by HTTP status; others are ``ValidationException`` (4xx) or
``InternalServerException`` (5xx)."""
EVENTSTREAM = "application/vnd.amazon.eventstream"
_PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def encode_frame(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One AWS eventstream message: prelude (total length, headers length, CRC32),
    string-valued headers, payload, CRC32 of everything before it."""
    encoded = b"".join(
        struct.pack(">B", len(name.encode()))
        + name.encode()
        + b"\x07"
        + struct.pack(">H", len(value.encode()))
        + value.encode()
        for name, value in headers.items()
    )
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def event_frame(event_type: str, payload: dict[str, Any]) -> bytes:
    """An ``event`` message with a JSON payload."""
    headers = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return encode_frame(headers, dumps(payload, sort_keys=True).encode())


def answer(call: Call, reply: Reply) -> Wire:
    """Converse or InvokeModel, streamed or not, as the request asked."""
    headers = {"x-amzn-requestid": _request_id(call)}
    if call.api == "invoke":
        if not call.stream:
            body = anthropic.message(call, reply, "bdrk_")
            return json_wire(body, {"content-type": "application/json", **headers})
        headers["x-amzn-bedrock-content-type"] = "application/json"
        return Wire({"content-type": EVENTSTREAM, **headers}, _invoke_frames(call, reply))
    if not call.stream:
        body = {
            "metrics": {"latencyMs": call.number("latency", 100, 900)},
            "output": {"message": {"content": _content(call, reply), "role": "assistant"}},
            "stopReason": finish_value(reply, STOP, "bedrock"),
            "usage": _usage(reply.usage),
        }
        return json_wire(body, {"content-type": "application/json", **headers})
    frames = [
        event_frame(kind, {**payload, "p": _padding(call, n)})
        for n, (kind, payload) in enumerate(_converse_events(call, reply))
    ]
    return Wire({"content-type": EVENTSTREAM, **headers}, tuple(frames))


def failure(call: Call, status: int, message: str) -> Wire:
    """``{"message"}`` with the exception name in ``x-amzn-ErrorType``."""
    name = _exception_name(status)
    headers = {
        "content-type": "application/json",
        "x-amzn-errortype": f"{name}:http://internal.amazon.com/coral/com.amazon.bedrock/",
        "x-amzn-requestid": _request_id(call),
    }
    return json_wire({"message": message}, headers)


def stream_fault(call: Call, fault: StreamFault) -> Wire:
    """The first frames of the answer's stream, then an exception frame
    (``:message-type: exception``, ``:exception-type`` the exception's name in camel case,
    payload ``{"message"}``), as ConverseStream and InvokeModelWithResponseStream send."""
    wire = answer(call, fault.reply)
    name = _exception_name(fault.status)
    headers = {
        ":exception-type": name[0].lower() + name[1:],
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    frame = encode_frame(headers, dumps({"message": fault.message}).encode())
    return Wire(wire.headers, (*wire.events[: fault.after_events], frame))


def _exception_name(status: int) -> str:
    return ERRORS.get(status) or (
        "InternalServerException" if status >= 500 else "ValidationException"
    )


def _content(call: Call, reply: Reply) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    if reply.reasoning:
        text = {"text": reply.reasoning, "signature": _signature(call)}
        content.append({"reasoningContent": {"reasoningText": text}})
    if reply.text or not reply.tool_calls:
        content.append({"text": reply.text})
    for i, tool in enumerate(reply.tool_calls):
        use = {"input": tool.arguments, "name": tool.name, "toolUseId": _tool_id(call, i, reply)}
        content.append({"toolUse": use})
    return content


def _converse_events(call: Call, reply: Reply) -> list[tuple[str, dict[str, Any]]]:
    """``(event type, payload)`` of a ConverseStream answer (text blocks have no start
    event, as with Nova and Claude)."""
    events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"})]
    blocks: list[tuple[dict[str, Any] | None, list[dict[str, Any]]]] = []
    start: dict[str, Any] | None
    if reply.reasoning:
        deltas = [{"reasoningContent": {"text": p}} for p in pieces(reply.reasoning, TEXT_PIECE)]
        blocks.append((None, [*deltas, {"reasoningContent": {"signature": _signature(call)}}]))
    if reply.text:
        blocks.append((None, [{"text": piece} for piece in pieces(reply.text, TEXT_PIECE)]))
    for i, tool in enumerate(reply.tool_calls):
        start = {"toolUse": {"name": tool.name, "toolUseId": _tool_id(call, i, reply)}}
        fragments = pieces(arguments_text(tool), ARGUMENTS_PIECE)
        blocks.append((start, [{"toolUse": {"input": fragment}} for fragment in fragments]))
    for index, (start, deltas) in enumerate(blocks):
        if start is not None:
            events.append(("contentBlockStart", {"contentBlockIndex": index, "start": start}))
        events += [("contentBlockDelta", {"contentBlockIndex": index, "delta": d}) for d in deltas]
        events.append(("contentBlockStop", {"contentBlockIndex": index}))
    events.append(("messageStop", {"stopReason": finish_value(reply, STOP, "bedrock")}))
    metadata = {"metrics": {"latencyMs": call.number("latency", 100, 900)}}
    events.append(("metadata", {**metadata, "usage": _usage(reply.usage)}))
    return events


def _invoke_frames(call: Call, reply: Reply) -> tuple[bytes, ...]:
    events = anthropic.stream_events(call, reply, "bdrk_", ping=False)
    usage = reply.usage
    events[-1]["amazon-bedrock-invocationMetrics"] = {
        "inputTokenCount": usage.input_tokens,
        "outputTokenCount": usage.output_tokens,
        "invocationLatency": call.number("latency", 100, 900),
        "firstByteLatency": call.number("first-byte", 50, 99),
    }
    return tuple(
        event_frame("chunk", {"bytes": base64.b64encode(dumps(e).encode()).decode()})
        for e in events
    )


def _usage(usage: Usage) -> dict[str, Any]:
    """Converse counts cache reads apart from ``inputTokens``."""
    body = {
        "inputTokens": max(0, usage.input_tokens - usage.cached_tokens),
        "outputTokens": usage.output_tokens,
        "totalTokens": usage.input_tokens + usage.output_tokens,
    }
    if usage.cached_tokens:
        body |= {"cacheReadInputTokens": usage.cached_tokens, "cacheWriteInputTokens": 0}
    return body


def _tool_id(call: Call, position: int, reply: Reply) -> str:
    return call.tool_id(position, reply.tool_calls[position], "tooluse_")


def _signature(call: Call) -> str:
    return call.token("signature", 64)


def _padding(call: Call, n: int) -> str:
    return _PADDING[: call.number(f"p{n}", 1, len(_PADDING))]


def _request_id(call: Call) -> str:
    hexa = call.digest("request").hex()
    return "-".join((hexa[:8], hexa[8:12], hexa[12:16], hexa[16:20], hexa[20:32]))
