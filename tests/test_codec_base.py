"""Pieces every codec shares: SSE parsing, argument parsing, Retry-After, accumulation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.providers.anthropic import AnthropicStreamDecoder
from harness.providers.base import (
    SSEParser,
    StreamAccumulator,
    error_class_for_status,
    parse_arguments,
    parse_retry_after,
)
from harness.providers.gemini import SSEDecoder as GeminiSSEDecoder
from harness.providers.openai import OpenAIStreamDecoder
from harness.types import (
    BadRequestError,
    Finish,
    MalformedResponseError,
    ModelName,
    NotFoundError,
    RateLimitError,
    ReasoningDelta,
    Response,
    ServerError,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageUpdate,
)

SSE = (
    b": comment\r\n"
    b'event: message_start\r\ndata: {"a": 1}\r\n\r\n'
    b"data: line one\ndata: line two\n\n"
    b"event: ping\rdata: {}\r\r" + "data: caf\u00e9 \u2603\n\n".encode() + b"data: [DONE]\n\n"
)
EXPECTED = [
    ("message_start", '{"a": 1}'),
    ("", "line one\nline two"),
    ("ping", "{}"),
    ("", "caf\u00e9 \u2603"),
    ("", "[DONE]"),
]


def parse_in_pieces(data: bytes, cuts: list[int]) -> list[tuple[str, str]]:
    parser = SSEParser()
    events: list[tuple[str, str]] = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        events += parser.feed(data[start:cut])
        start = cut
    return events + parser.close()


def test_sse_whole() -> None:
    assert parse_in_pieces(SSE, []) == EXPECTED


def test_sse_one_byte_at_a_time() -> None:
    assert parse_in_pieces(SSE, list(range(1, len(SSE)))) == EXPECTED


@given(st.lists(st.integers(min_value=0, max_value=len(SSE)), max_size=30))
def test_sse_any_split(cuts: list[int]) -> None:
    assert parse_in_pieces(SSE, cuts) == EXPECTED


def test_sse_empty_feed_between_cr_and_lf_is_harmless() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"") == []
    assert parser.feed(b"\n\r\n") == [("", "a")]


def test_sse_last_event_without_blank_line_is_delivered_on_close() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: tail") == []
    assert parser.close() == [("", "tail")]


def test_parse_arguments() -> None:
    assert parse_arguments('{"city": "Paris"}') == ({"city": "Paris"}, None)
    assert parse_arguments("") == ({}, None)
    assert parse_arguments('{"city": ') == ({}, '{"city": ')
    assert parse_arguments("[1, 2]") == ({}, "[1, 2]")


def test_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None


def test_status_classes() -> None:
    assert error_class_for_status(404) is NotFoundError
    assert error_class_for_status(429) is RateLimitError
    assert error_class_for_status(503) is ServerError
    assert error_class_for_status(418) is BadRequestError


def test_accumulator_folds_events_into_a_response() -> None:
    acc = StreamAccumulator()
    for event in [
        ModelName("m-1"),
        ReasoningDelta("think "),
        ReasoningDelta("hard"),
        TextDelta("Hel"),
        TextDelta("lo"),
        ToolCallDelta(1, id="b", name="second", arguments='{"x"'),
        ToolCallDelta(0, id="a", name="first", arguments=""),
        ToolCallDelta(1, arguments=": 2}"),
        UsageUpdate(Usage(input_tokens=5)),
        UsageUpdate(Usage(output_tokens=7, reasoning_tokens=3)),
        Finish("tool_calls"),
    ]:
        acc.add(event)
    assert acc.response() == Response(
        text="Hello",
        tool_calls=(ToolCall("a", "first", {}), ToolCall("b", "second", {"x": 2})),
        finish_reason="tool_calls",
        usage=Usage(input_tokens=5, output_tokens=7, reasoning_tokens=3),
        model="m-1",
        reasoning="think hard",
    )


def test_accumulator_keeps_invalid_arguments_text() -> None:
    acc = StreamAccumulator()
    acc.add(ToolCallDelta(0, id="a", name="f", arguments="{not json"))
    call = acc.response().tool_calls[0]
    assert call.arguments == {} and call.arguments_json == "{not json"


@pytest.mark.parametrize(
    "decoder",
    [OpenAIStreamDecoder, AnthropicStreamDecoder, GeminiSSEDecoder],
    ids=["openai", "anthropic", "gemini"],
)
def test_every_sse_decoder_reports_invalid_utf8_as_malformed(decoder: type) -> None:
    with pytest.raises(MalformedResponseError, match="not UTF-8"):
        decoder().feed(b"data: \xff\xfe\n\n")
