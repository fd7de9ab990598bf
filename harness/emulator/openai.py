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
    ScriptError,
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


VARIANTS = frozenset(
    {"reasoning_key", "two_choices", "whole_tool_calls", "azure_filter", "no_choice_index"}
)
"""Forms of the wire that OpenAI-compatible servers of other makes send (``Reply.variants``):

- ``reasoning_key``: the reasoning text under ``reasoning`` instead of
  ``reasoning_content`` (OpenRouter's key, and vLLM's since it renamed the field);
- ``two_choices``: a second choice (``index`` 1, saying ``SECOND_CHOICE``) beside the
  answer's, as a server sends for ``n=2``; streamed one choice per chunk, the two
  choices' chunks alternating (OpenAI's API reference: every chunk's choice has its
  ``index``, by which a client follows each choice);
- ``whole_tool_calls``: streamed tool calls sent whole in one delta, id, name and
  complete arguments, with no ``index`` (mistral.rs's server before
  EricLBuehler/mistral.rs#1507; Moonshot's schema leaves it out, vercel/ai#19546);
- ``no_choice_index``: streamed chunks whose choice has no ``index`` (one-api's, before
  songquanpeng/one-api#1037);
- ``azure_filter``: Azure OpenAI's content-filter chunks around a stream: a first chunk
  with no choice and ``prompt_filter_results``, and an annotation chunk whose choice has
  ``content_filter_results`` and no ``delta``, both with ``id``, ``model`` and ``object``
  empty (openai/openai-python#1677 shows them); the annotation comes last, after the
  usage chunk (the asynchronous filter annotates text already sent, so its chunks trail
  the answer).
"""
SECOND_CHOICE = "Another answer."
"""The text of the second choice of the ``two_choices`` variant."""
_FILTERED = {
    category: {"filtered": False, "severity": "safe"}
    for category in ("hate", "self_harm", "sexual", "violence")
}


def answer(call: Call, reply: Reply) -> Wire:
    """A ``chat.completion`` body, or its SSE chunks ending with ``data: [DONE]``."""
    unknown = reply.variants - VARIANTS
    if unknown:
        raise ScriptError(f"no OpenAI wire variant {sorted(unknown)}")
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
    reasoning_key = "reasoning" if "reasoning_key" in reply.variants else "reasoning_content"
    two = "two_choices" in reply.variants
    headers = {"x-request-id": f"req_{call.token('request', 32).lower()}"}
    if not call.stream:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.text or (None if calls or reply.refusal else ""),
            "refusal": reply.refusal or None,
        }
        if reply.reasoning:
            message[reasoning_key] = reply.reasoning
        if calls:
            message["tool_calls"] = calls
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        choices = [choice]
        if two:
            second = {"role": "assistant", "content": SECOND_CHOICE, "refusal": None}
            choices.append({**choice, "index": 1, "message": second, "finish_reason": "stop"})
        body = {**head, "choices": choices, "usage": _usage(reply.usage)}
        return json_wire(body, {"content-type": "application/json", **headers})

    def chunk(delta: dict[str, Any], reason: str | None = None, index: int = 0) -> dict[str, Any]:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": reason}
        if "no_choice_index" in reply.variants:
            del choice["index"]
        return {**head, "choices": [choice], **({"usage": None} if call.include_usage else {})}

    def with_second(first: dict[str, Any], *second: dict[str, Any]) -> list[dict[str, Any]]:
        """``first``, then the second choice's chunks when there is a second choice."""
        return [first, *second] if two else [first]

    starts_with_text = reply.text or not (calls or reply.refusal)
    first = {"role": "assistant", "content": "" if starts_with_text else None}
    opening = {**first, "refusal": "" if reply.refusal else None}
    chunks = with_second(chunk(opening), chunk({**first, "content": "", "refusal": None}, index=1))
    chunks += [chunk({reasoning_key: piece}) for piece in pieces(reply.reasoning, TEXT_PIECE)]
    others = pieces(SECOND_CHOICE, TEXT_PIECE) if two else []
    for i, piece in enumerate(pieces(reply.text, TEXT_PIECE)):
        other = [chunk({"content": others[i]}, index=1)] if i < len(others) else []
        chunks += with_second(chunk({"content": piece}), *other)
    rest = others[len(pieces(reply.text, TEXT_PIECE)) :]
    chunks += [chunk({"content": piece}, index=1) for piece in rest]
    chunks += [chunk({"refusal": piece}) for piece in pieces(reply.refusal, TEXT_PIECE)]
    if "whole_tool_calls" in reply.variants and calls:
        chunks.append(chunk({"tool_calls": calls}))
    else:
        for i, tool in enumerate(calls):
            start = {**tool, "function": {"name": tool["function"]["name"], "arguments": ""}}
            chunks.append(chunk({"tool_calls": [{"index": i, **start}]}))
            chunks += [
                chunk({"tool_calls": [{"index": i, "function": {"arguments": fragment}}]})
                for fragment in pieces(tool["function"]["arguments"], ARGUMENTS_PIECE)
            ]
    chunks += with_second(chunk({}, finish), chunk({}, "stop", index=1))
    if call.include_usage:
        chunks.append({**head, "choices": [], "usage": _usage(reply.usage)})
    if "azure_filter" in reply.variants:
        blank = {"id": "", "object": "", "created": 0, "model": ""}
        prompt = {"prompt_index": 0, "content_filter_results": _FILTERED}
        chunks.insert(0, {**blank, "choices": [], "prompt_filter_results": [prompt]})
        annotation = {"index": 0, "finish_reason": None, "content_filter_results": _FILTERED}
        chunks.append({**blank, "choices": [annotation]})
    events = [f"data: {dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]
    return Wire({"content-type": "text/event-stream; charset=utf-8", **headers}, tuple(events))


def failure(call: Call, status: int, message: str) -> Wire:
    """``{"error": {"message", "type", "param", "code"}}``."""
    body = {"error": _error(status, message)}
    return json_wire(body, {"content-type": "application/json; charset=utf-8"})


def stream_fault(call: Call, fault: StreamFault) -> Wire:
    """The first events of the answer, then ``data: {"error": {...}}`` (no ``[DONE]``);
    with the variant ``string_error``, ``data: {"error": "message"}``."""
    unknown = fault.variants - {"string_error"}
    if unknown:
        raise ScriptError(f"no OpenAI stream error variant {sorted(unknown)}")
    wire = answer(call, fault.reply)
    envelope: Any = _error(fault.status, fault.message)
    if "string_error" in fault.variants:
        envelope = fault.message
    error = f"data: {dumps({'error': envelope})}\n\n".encode()
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
