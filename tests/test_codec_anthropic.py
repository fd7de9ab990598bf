"""Anthropic Messages codec: request encoding, response/error/stream decoding.

Expected values for recorded answers were read off the recorded bodies in
tests/corpus/recorded/anthropic (text, tool names, arguments, usage numbers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.providers.anthropic import AnthropicCodec
from harness.types import (
    AuthenticationError,
    BadRequestError,
    CallParams,
    ConfigurationError,
    Finish,
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
    ToolSpec,
    Usage,
    UsageUpdate,
)
from tests.corpus import cassette, feed, fold

DATA = Path(__file__).parent / "data" / "anthropic"
CODEC = AnthropicCodec(api_key="sk-ant-test")


def stream(body: bytes, *, bytewise: bool) -> tuple[list[StreamEvent], Response]:
    decoder = CODEC.stream_decoder("text/event-stream; charset=utf-8")
    events = feed(decoder, body, step=1 if bytewise else None)
    return events, fold(events, raw=decoder.raw)


def params(**overrides: Any) -> CallParams:
    fields = {"model": "claude-sonnet-4-5", "messages": (Message.user("hi"),), **overrides}
    return CallParams(**fields)


def sse(*payloads: dict[str, Any]) -> bytes:
    return b"".join(f"event: {p['type']}\ndata: {json.dumps(p)}\n\n".encode() for p in payloads)


# --- construction ----------------------------------------------------------------------


def test_key_from_argument_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-env")
    assert AnthropicCodec(api_key="sk-ant-arg").api_key == "sk-ant-arg"
    assert AnthropicCodec().build_request(params(), stream=False).headers["x-api-key"] == (
        "sk-ant-env"
    )


def test_missing_key_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match=r"api_key=.*ANTHROPIC_API_KEY"):
        AnthropicCodec()


def test_custom_base_url() -> None:
    codec = AnthropicCodec(api_key="k", base_url="http://localhost:9000/")
    assert codec.build_request(params(), stream=False).url == "http://localhost:9000/v1/messages"


# --- build_request -----------------------------------------------------------------------

PARIS = ToolCall("toolu_1", "get_weather", {"city": "Paris"})
ROME = ToolCall("toolu_2", "get_weather", {"city": "Rome"})
WEATHER = ToolSpec(
    "get_weather",
    "Current weather",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
CONVERSATION = (
    Message.system("Be brief."),
    Message.user("Weather in Paris and Rome?"),
    Message.assistant("Checking.", (PARIS, ROME)),
    Message.tool(PARIS, "sunny"),
    Message.tool(ROME, "no data", is_error=True),
    Message.assistant("Paris is sunny."),
    Message.user("Thanks"),
)


def test_build_request_every_message_kind_and_parameter() -> None:
    request = CODEC.build_request(
        CallParams(
            model="claude-sonnet-4-5",
            messages=CONVERSATION,
            temperature=0.2,
            max_tokens=50,
            stop=("END", "STOP"),
            top_p=0.9,
            tools=(WEATHER,),
            tool_choice="auto",
        ),
        stream=False,
    )
    assert (request.method, request.url) == ("POST", "https://api.anthropic.com/v1/messages")
    assert request.headers == {
        "content-type": "application/json",
        "accept": "application/json",
        "x-api-key": "sk-ant-test",
        "anthropic-version": "2023-06-01",
    }
    expected = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 50,
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    },
                    {
                        "type": "tool_use",
                        "id": "toolu_2",
                        "name": "get_weather",
                        "input": {"city": "Rome"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": "sunny",
                        "is_error": False,
                    },
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "content": "no data",
                        "is_error": True,
                    },
                ],
            },
            {"role": "assistant", "content": [{"type": "text", "text": "Paris is sunny."}]},
            {"role": "user", "content": [{"type": "text", "text": "Thanks"}]},
        ],
        "temperature": 0.2,
        "top_p": 0.9,
        "stop_sequences": ["END", "STOP"],
        "tools": [
            {
                "name": "get_weather",
                "description": "Current weather",
                "input_schema": WEATHER.parameters,
            }
        ],
        "tool_choice": {"type": "auto"},
    }
    # Compact separators and this exact key order.
    assert request.body == json.dumps(expected, separators=(",", ":")).encode()


def test_minimal_request_defaults_max_tokens() -> None:
    assert CODEC.build_request(params(), stream=False).json() == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }


def test_several_system_messages_are_joined() -> None:
    messages = (Message.system("One."), Message.user("hi"), Message.system("Two."))
    assert CODEC.build_request(params(messages=messages), stream=False).json()["system"] == (
        "One.\n\nTwo."
    )


def test_tool_call_without_text_has_no_empty_text_block() -> None:
    messages = (Message.user("hi"), Message.assistant("", (PARIS,)))
    body = CODEC.build_request(params(messages=messages), stream=False).json()
    assert body["messages"][1]["content"] == [
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
    ]


def test_streaming_request() -> None:
    request = CODEC.build_request(params(), stream=True)
    assert request.json()["stream"] is True
    assert request.headers["accept"] == "text/event-stream"


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        ("get_weather", {"type": "tool", "name": "get_weather"}),
    ],
)
def test_tool_choice(choice: str, wire: Any) -> None:
    body = CODEC.build_request(params(tools=(WEATHER,), tool_choice=choice), stream=False).json()
    assert body["tool_choice"] == wire


@pytest.mark.parametrize("choice", ["auto", "required", "none", "get_weather"])
def test_tool_choice_without_tools_is_not_sent(choice: str) -> None:
    """Anthropic rejects ``tool_choice`` without ``tools``; Gemini and Bedrock drop it too."""
    body = CODEC.build_request(params(tool_choice=choice), stream=False).json()
    assert "tool_choice" not in body
    assert "tools" not in body


def test_tool_result_turns_match_recorded_request() -> None:
    turns = cassette("anthropic", "messages_tool_use_then_result_3turns.yaml")
    recorded = turns[2].request.json()
    first = CODEC.decode_response(turns[0].response.body)
    second = CODEC.decode_response(turns[1].response.body)
    conversation = (
        Message.system(recorded["system"]),
        Message.user("Use the registered tools and respond exactly as `Capital: <city>`."),
        first.message(),
        Message.tool(first.tool_calls[0], "Japan"),
        second.message(),
        Message.tool(second.tool_calls[0], "Tokyo"),
    )
    tools = tuple(
        ToolSpec(tool["name"], tool["description"], tool["input_schema"])
        for tool in recorded["tools"]
    )
    body = CODEC.build_request(
        CallParams(
            "claude-sonnet-4-5", conversation, max_tokens=4096, tools=tools, tool_choice="auto"
        ),
        stream=False,
    ).json()
    assert body["messages"] == recorded["messages"]
    for key in ("model", "max_tokens", "system", "tool_choice"):
        assert body[key] == recorded[key]
    assert body["tools"] == [
        {k: v for k, v in tool.items() if k != "strict"} for tool in recorded["tools"]
    ]


def test_sign_returns_the_request_unchanged() -> None:
    request = CODEC.build_request(params(), stream=False)
    assert CODEC.sign(request) is request


# --- decode_response ---------------------------------------------------------------------

SONNET_45 = "claude-sonnet-4-5-20250929"
OPUS_JOKE = (
    "Sure, here's a joke about OpenTelemetry:\n\n"
    "Why did the developer adopt OpenTelemetry?\n"
    "Because they wanted to trace their steps and meter their progress!\n\n"
    "Explanation:\n"
    "OpenTelemetry is an open-source observability framework that provides a set of APIs, "
    "libraries, and tools to instrument, generate, collect, and export telemetry data "
    "(traces, metrics, and logs) for distributed systems. The joke plays on the words "
    '"trace" and "meter," which are key concepts in OpenTelemetry.\n\n'
    '- "Trace their steps" refers to distributed tracing, which involves recording the path '
    "of a request as it travels through a system of microservices.\n"
    '- "Meter their progress" refers to metrics, which are quantitative measurements of a '
    "system's performance and behavior.\n\n"
    "The joke suggests that the developer adopted OpenTelemetry to gain better visibility and "
    "understanding of their application's behavior and performance, just like how one might "
    "trace their steps and meter their progress in real life."
)
RECORDED_ANSWERS = [
    (
        "messages_text_raw_gzip.yaml",
        0,
        Response(OPUS_JOKE, (), "stop", Usage(17, 220), "claude-3-opus-20240229"),
    ),
    (
        "messages_text_instructions.yaml",
        0,
        Response(
            "The capital of France is Paris.", (), "stop", Usage(20, 10), "claude-3-opus-20240229"
        ),
    ),
    (
        "messages_tool_use_parallel_raw_gzip.yaml",
        0,
        Response(
            "Certainly! I'd be happy to help you with both the current weather in New York and "
            "the current time there. Let's use the available tools to get this information "
            "for you.",
            (
                ToolCall(
                    "toolu_012r6TBCWjRHG71j6zruYyUL",
                    "get_weather",
                    {"location": "New York, NY", "unit": "fahrenheit"},
                ),
                ToolCall(
                    "toolu_01SkeBKkLCNYWNuivqFerGDd", "get_time", {"timezone": "America/New_York"}
                ),
            ),
            "tool_calls",
            Usage(514, 152),
            "claude-3-5-sonnet-20240620",
        ),
    ),
    (
        "messages_tool_use_then_result_3turns.yaml",
        0,
        Response(
            "I'll help you find the capital city using the available tools.",
            (ToolCall("toolu_01Ttepb9joVoQFHP568v7UAL", "country_source", {}),),
            "tool_calls",
            Usage(628, 50),
            SONNET_45,
        ),
    ),
    (
        "messages_tool_use_then_result_3turns.yaml",
        1,
        Response(
            "",
            (ToolCall("toolu_011j5uC2Tg3TZJo3nmLtJ8Mm", "capital_lookup", {"country": "Japan"}),),
            "tool_calls",
            Usage(691, 53),
            SONNET_45,
        ),
    ),
    (
        "messages_tool_use_then_result_3turns.yaml",
        2,
        Response("Capital: Tokyo", (), "stop", Usage(757, 6), SONNET_45),
    ),
    (
        "messages_tool_use_then_result_strict.yaml",
        0,
        Response(
            "",
            (ToolCall("toolu_01DeBjbbqmpp3RkK5ANyNZ8o", "get_weather", {"city": "San Francisco"}),),
            "tool_calls",
            Usage(561, 54),
            SONNET_45,
        ),
    ),
    (
        "messages_tool_use_then_result_strict.yaml",
        1,
        Response(
            "The weather in San Francisco is currently sunny with a temperature of 22°C "
            "(approximately 72°F).",
            (),
            "stop",
            Usage(640, 26),
            SONNET_45,
        ),
    ),
]


@pytest.mark.parametrize(("name", "index", "expected"), RECORDED_ANSWERS)
def test_decode_recorded_answer(name: str, index: int, expected: Response) -> None:
    body = cassette("anthropic", name)[index].response.body
    response = CODEC.decode_response(body)
    assert response == expected
    assert response.raw == json.loads(body)


MIXED_ANSWER = Response(
    text="Let me look that up ☀. Now the tools.",
    tool_calls=(
        ToolCall("toolu_01A", "get_weather", {"city": "Zürich", "unit": "c"}),
        ToolCall("toolu_01B", "get_time", {}),
    ),
    finish_reason="tool_calls",
    # input_tokens counts the whole prompt: 12 fresh + 5 written to cache + 400 read from it.
    usage=Usage(input_tokens=417, output_tokens=87, cached_tokens=400),
    model=SONNET_45,
    reasoning="Weather for Paris, then the time.",
)


def test_decode_thinking_server_tools_and_cache_reads() -> None:
    response = CODEC.decode_response((DATA / "mixed_answer.json").read_bytes())
    assert response == MIXED_ANSWER


def message(content: list[dict[str, Any]], stop_reason: Any = "end_turn") -> bytes:
    return json.dumps(
        {"type": "message", "model": "m", "content": content, "stop_reason": stop_reason}
    ).encode()


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "other"),
        ("something_new", "other"),
        (None, None),
    ],
)
def test_stop_reasons(wire: Any, reason: Any) -> None:
    body = message([{"type": "text", "text": "x"}], wire)
    assert CODEC.decode_response(body).finish_reason == reason


@pytest.mark.parametrize(
    "body",
    [
        b"<html>oops</html>",
        b"",
        b"[]",
        b"{}",
        b'{"content": "text"}',
        b'{"content": [{"type": "tool_use"}], "model": "m"}',
    ],
)
def test_undecodable_bodies(body: bytes) -> None:
    with pytest.raises(MalformedResponseError) as info:
        CODEC.decode_response(body)
    assert info.value.provider == "anthropic"


# --- decode_error ------------------------------------------------------------------------


def test_recorded_invalid_request() -> None:
    body = cassette("anthropic", "messages_error_400_invalid_request.yaml")[0].response.body
    error = CODEC.decode_error(400, {"content-type": "application/json"}, body)
    assert type(error) is BadRequestError
    assert (error.provider, error.status) == ("anthropic", 400)
    assert error.provider_message == (
        "This model does not support effort level 'xhigh'. "
        "Supported levels: high, low, max, medium."
    )
    assert "effort level 'xhigh'" in str(error)


def envelope(kind: str, text: str) -> bytes:
    return json.dumps({"type": "error", "error": {"type": kind, "message": text}}).encode()


@pytest.mark.parametrize(
    ("kind", "status", "cls"),
    [
        ("invalid_request_error", 400, BadRequestError),
        ("authentication_error", 401, AuthenticationError),
        ("billing_error", 402, PermissionDeniedError),
        ("permission_error", 403, PermissionDeniedError),
        ("not_found_error", 404, NotFoundError),
        ("request_too_large", 413, BadRequestError),
        ("rate_limit_error", 429, RateLimitError),
        ("api_error", 500, ServerError),
        ("timeout_error", 504, RequestTimeoutError),
        ("overloaded_error", 529, ServerError),
    ],
)
def test_error_types(kind: str, status: int, cls: type[LLMError]) -> None:
    error = CODEC.decode_error(status, {}, envelope(kind, "Provider says no."))
    assert type(error) is cls
    assert (error.status, error.provider_message) == (status, "Provider says no.")


def test_error_type_wins_over_status() -> None:
    error = CODEC.decode_error(500, {}, envelope("overloaded_error", "Overloaded"))
    assert type(error) is ServerError
    assert type(CODEC.decode_error(400, {}, envelope("rate_limit_error", "x"))) is RateLimitError


def test_unknown_error_type_falls_back_on_status() -> None:
    error = CODEC.decode_error(404, {}, envelope("brand_new_error", "Gone fishing"))
    assert type(error) is NotFoundError
    assert error.provider_message == "Gone fishing"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (429, RateLimitError),
        (502, ServerError),
    ],
)
def test_non_json_error_body_falls_back_on_status(status: int, cls: type[LLMError]) -> None:
    error = CODEC.decode_error(status, {}, b"<html><h1>upstream trouble</h1></html>")
    assert type(error) is cls
    assert "upstream trouble" in error.provider_message


def test_json_error_body_that_is_not_the_envelope() -> None:
    error = CODEC.decode_error(503, {}, b'{"status": "unavailable"}')
    assert type(error) is ServerError
    assert "unavailable" in error.provider_message


def test_empty_error_body() -> None:
    assert CODEC.decode_error(500, {}, b"").provider_message == "HTTP 500"


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [({"retry-after": "12"}, 12.0), ({"retry-after-ms": "250"}, 0.25), ({}, None)],
)
def test_rate_limit_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    error = CODEC.decode_error(429, headers, envelope("rate_limit_error", "Too many requests"))
    assert isinstance(error, RateLimitError)
    assert error.retry_after == seconds


# --- streaming ---------------------------------------------------------------------------

HAIKU_JOKE = (
    "Here's an OpenTelemetry-themed joke for you:\n\n"
    "Why did the developer feel so lost when using OpenTelemetry?\n"
    "They were in a Span of Confusion!\n\n"
    'The idea behind this joke is that OpenTelemetry uses the concept of "spans" to represent '
    "individual operations or requests within a distributed system. When a developer is first "
    "getting started with OpenTelemetry, they may feel a bit disoriented or lost trying to "
    'understand all the different spans and how they fit together - hence the "Span of '
    'Confusion" pun.\n\n'
    "Hopefully this gives you a chuckle and provides a lighthearted introduction to some of "
    "the key concepts in OpenTelemetry. Let me know if you'd like to hear any other "
    "tech-themed jokes!"
)
CODE_EXECUTION_TEXT = (
    "I'll calculate that expression for you right away!"
    "Following the standard **order of operations (PEMDAS/BODMAS)** — multiplication is "
    "performed before addition and subtraction — here's the breakdown:\n\n"
    "| Step | Operation | Result |\n"
    "|------|-----------|--------|\n"
    "| 1️⃣ | `6544 \u00d7 65464` | `428,394,416` |\n"  # U+00D7 multiplication sign, as recorded
    "| 2️⃣ | `65465 - 428,394,416` | `-428,328,951` |\n"
    "| 3️⃣ | `-428,328,951 - 6` | `-428,328,957` |\n"
    "| 4️⃣ | `-428,328,957 + 1.02255` | **`-428,328,955.97745`** |\n\n"
    "### ✅ Final Answer: **-428,330,955.97745**"
)
STREET_THINKING = (
    "This is a straightforward question about pedestrian safety. I should provide clear, "
    "helpful advice about how to safely cross a street. This is basic safety information "
    "that could help prevent accidents."
)
STREET_TEXT = (
    "Here are the basic steps for safely crossing the street:\n\n"
    "**At intersections with traffic lights:**\n"
    '- Wait for the pedestrian "Walk" signal\n'
    "- Look both ways before stepping into the street\n"
    "- Make eye contact with drivers when possible\n"
    "- Stay alert for turning vehicles\n\n"
    "**At intersections without signals:**\n"
    "- Use crosswalks when available\n"
    "- Stop at the curb and look left, right, then left again\n"
    "- Wait for a clear gap in traffic\n"
    "- Walk briskly but don't run\n"
    "- Keep looking for traffic as you cross\n\n"
    "**General safety tips:**\n"
    "- Put away phones and remove headphones\n"
    "- Wear bright or reflective clothing in low light\n"
    "- Never assume drivers see you\n"
    "- Avoid crossing between parked cars\n"
    "- Walk facing traffic when there's no sidewalk\n\n"
    "**In busy urban areas:**\n"
    "- Follow pedestrian signals strictly\n"
    "- Be extra cautious of cyclists in bike lanes\n"
    "- Watch for buses and large vehicles with blind spots\n\n"
    "The key is to be visible, alert, and predictable in your movements. "
    "Always prioritize safety over speed when crossing streets."
)
RECORDED_STREAMS = [
    (
        "messages_stream_text_raw.yaml",
        # message_start says 3 output tokens so far; message_delta's final 171 replaces it.
        Response(HAIKU_JOKE, (), "stop", Usage(17, 171), "claude-3-haiku-20240307"),
    ),
    (
        "messages_stream_server_tool_use_code_execution.yaml",
        # The server tool call and its result are not client tool calls; message_delta
        # reports the final input count (4714, after the tool ran) over message_start's 2293.
        Response(
            CODE_EXECUTION_TEXT,
            (),
            "stop",
            Usage(4714, 304),
            "claude-sonnet-4-6",
            reasoning="Let me calculate this mathematical expression.",
        ),
    ),
    (
        "messages_stream_thinking.yaml",
        Response(
            STREET_TEXT,
            (),
            "stop",
            Usage(43, 282),
            "claude-sonnet-4-20250514",
            reasoning=STREET_THINKING,
        ),
    ),
]


@pytest.mark.parametrize(("name", "expected"), RECORDED_STREAMS)
def test_recorded_stream_whole_and_bytewise(name: str, expected: Response) -> None:
    body = cassette("anthropic", name)[0].response.body
    events, response = stream(body, bytewise=False)
    assert stream(body, bytewise=True) == (events, response)
    assert response == expected
    payloads = [line for line in body.decode().splitlines() if line.startswith("data: ")]
    assert response.raw == [json.loads(line[len("data: ") :]) for line in payloads]


def test_stream_and_body_of_the_same_answer_decode_equal() -> None:
    body = (DATA / "mixed_answer.sse").read_bytes()
    events, streamed = stream(body, bytewise=False)
    assert stream(body, bytewise=True) == (events, streamed)
    assert streamed == CODEC.decode_response((DATA / "mixed_answer.json").read_bytes())
    assert streamed == MIXED_ANSWER
    assert events == [
        ModelName(SONNET_45),
        UsageUpdate(Usage(input_tokens=417, output_tokens=1, cached_tokens=400)),
        ReasoningDelta("Weather for Paris,"),
        ReasoningDelta(" then the time."),
        TextDelta("Let me look"),
        TextDelta(" that up ☀."),
        TextDelta(" Now the tools."),
        ToolCallDelta(0, "toolu_01A", "get_weather", ""),
        ToolCallDelta(0, arguments='{"city": "Z'),
        ToolCallDelta(0, arguments='ürich", "unit": "c"}'),
        ToolCallDelta(1, "toolu_01B", "get_time", ""),
        Finish("tool_calls"),
        UsageUpdate(Usage(output_tokens=87)),
    ]


def test_crlf_line_endings() -> None:
    body = cassette("anthropic", "messages_stream_thinking.yaml")[0].response.body
    crlf = body.replace(b"\n", b"\r\n")
    assert stream(crlf, bytewise=True) == stream(body, bytewise=False)


def test_stream_without_message_stop_is_malformed() -> None:
    body = cassette("anthropic", "messages_stream_text_raw.yaml")[0].response.body
    decoder = CODEC.stream_decoder("text/event-stream")
    decoder.feed(body[: body.index(b"event: message_stop")])
    with pytest.raises(MalformedResponseError, match="message_stop"):
        decoder.close()


def test_stream_cut_inside_an_event_is_malformed() -> None:
    body = cassette("anthropic", "messages_stream_text_raw.yaml")[0].response.body
    decoder = CODEC.stream_decoder("text/event-stream")
    decoder.feed(body[: body.index(b'"stop_reason":"end_turn"')])
    with pytest.raises(MalformedResponseError):
        decoder.close()


def test_stream_payload_that_is_not_json_is_malformed() -> None:
    decoder = CODEC.stream_decoder("text/event-stream")
    with pytest.raises(MalformedResponseError):
        decoder.feed(b"event: message_start\ndata: {nope\n\n")


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("overloaded_error", ServerError),
        ("api_error", ServerError),
        ("rate_limit_error", RateLimitError),
        ("invalid_request_error", BadRequestError),
    ],
)
def test_error_event_raises(kind: str, cls: type[LLMError]) -> None:
    decoder = CODEC.stream_decoder("text/event-stream")
    start = {"type": "message_start", "message": {"model": "m", "usage": {"input_tokens": 3}}}
    assert decoder.feed(sse(start)) == [ModelName("m"), UsageUpdate(Usage(input_tokens=3))]
    error = {"type": "error", "error": {"type": kind, "message": "Overloaded"}}
    with pytest.raises(cls) as info:
        decoder.feed(sse({"type": "ping"}, error))
    assert info.value.provider_message == "Overloaded"
    assert decoder.raw == [start, {"type": "ping"}, error]
