"""OpenAI Chat Completions codec: request encoding, response/error/stream decoding.

Expected values for recorded answers were read off the recorded bodies in
tests/corpus/recorded/openai (text, tool names, arguments, usage numbers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.providers.openai import OpenAICodec
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
    Response,
    ServerError,
    StreamEvent,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
    UsageUpdate,
)
from tests.corpus import cassette, feed, fold

DATA = Path(__file__).parent / "data" / "openai"
CODEC = OpenAICodec(api_key="sk-test")


def stream(body: bytes, *, bytewise: bool) -> tuple[list[StreamEvent], Response]:
    decoder = CODEC.stream_decoder("text/event-stream; charset=utf-8")
    events = feed(decoder, body, step=1 if bytewise else None)
    return events, fold(events, raw=decoder.raw)


def params(**overrides: Any) -> CallParams:
    return CallParams(**{"model": "gpt-4o-mini", "messages": (Message.user("hi"),), **overrides})


# --- construction ----------------------------------------------------------------------


def test_key_from_argument_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    assert OpenAICodec(api_key="sk-arg").api_key == "sk-arg"
    request = OpenAICodec().build_request(params(), stream=False)
    assert request.headers["authorization"] == "Bearer sk-env"


def test_missing_key_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match=r"api_key=.*OPENAI_API_KEY"):
        OpenAICodec()


def test_compatible_server_needs_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    codec = OpenAICodec(base_url="http://localhost:8000/v1/")
    request = codec.build_request(params(), stream=False)
    assert request.url == "http://localhost:8000/v1/chat/completions"
    assert "authorization" not in request.headers


def test_organization_header() -> None:
    codec = OpenAICodec(api_key="sk-test", organization="org-123")
    assert codec.build_request(params(), stream=False).headers["openai-organization"] == "org-123"


# --- build_request -----------------------------------------------------------------------

PARIS = ToolCall("call_1", "get_weather", {"city": "Paris"})
ROME = ToolCall("call_2", "get_weather", {"city": "Rome"})
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
            model="gpt-4o",
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
    assert (request.method, request.url) == ("POST", "https://api.openai.com/v1/chat/completions")
    assert request.headers == {
        "content-type": "application/json",
        "accept": "application/json",
        "authorization": "Bearer sk-test",
    }
    expected = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": "no data"},
            {"role": "assistant", "content": "Paris is sunny."},
            {"role": "user", "content": "Thanks"},
        ],
        "temperature": 0.2,
        "top_p": 0.9,
        "max_completion_tokens": 50,
        "stop": ["END", "STOP"],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Current weather",
                    "parameters": WEATHER.parameters,
                },
            }
        ],
        "tool_choice": "auto",
    }
    # Compact separators and this exact key order.
    assert request.body == json.dumps(expected, separators=(",", ":")).encode()


def test_minimal_request_sends_only_model_and_messages() -> None:
    assert CODEC.build_request(params(), stream=False).json() == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
    }


def test_streaming_request_asks_for_usage() -> None:
    request = CODEC.build_request(params(), stream=True)
    body = request.json()
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert request.headers["accept"] == "text/event-stream"


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("required", "required"),
        ("none", "none"),
        ("get_weather", {"type": "function", "function": {"name": "get_weather"}}),
    ],
)
def test_tool_choice(choice: str, wire: Any) -> None:
    body = CODEC.build_request(params(tools=(WEATHER,), tool_choice=choice), stream=False).json()
    assert body["tool_choice"] == wire


@pytest.mark.parametrize("choice", ["auto", "required", "none", "get_weather"])
def test_tool_choice_without_tools_is_not_sent(choice: str) -> None:
    """OpenAI answers 400 "'tool_choice' is only allowed when 'tools' are specified"."""
    body = CODEC.build_request(params(tool_choice=choice), stream=False).json()
    assert "tool_choice" not in body
    assert "tools" not in body


@pytest.mark.parametrize(
    "name", ["chat_text_max_completion_tokens.yaml", "chat_text_o3_mini_reasoning_usage.yaml"]
)
def test_openai_api_gets_max_completion_tokens_as_recorded(name: str) -> None:
    """``max_tokens`` is deprecated on OpenAI and refused by o-series and gpt-5 models."""
    recorded = cassette("openai", name)[0].request.json()
    sent = CODEC.build_request(
        params(model=recorded["model"], max_tokens=recorded["max_completion_tokens"]),
        stream=False,
    ).json()
    assert sent["max_completion_tokens"] == recorded["max_completion_tokens"]
    assert "max_tokens" not in sent


@pytest.mark.parametrize(
    "base_url", [None, "https://api.openai.com/v1", "https://api.openai.com/v1/"]
)
def test_default_base_url_gets_max_completion_tokens(base_url: str | None) -> None:
    codec = OpenAICodec(api_key="sk-test", base_url=base_url)
    body = codec.build_request(params(max_tokens=7), stream=False).json()
    assert (body.get("max_completion_tokens"), "max_tokens" in body) == (7, False)


@pytest.mark.parametrize(
    "base_url", ["http://localhost:8000/v1", "https://llama.example.com/v1", "http://vllm:80/v1"]
)
def test_compatible_server_gets_max_tokens(base_url: str) -> None:
    """vLLM, llama.cpp and older servers only know ``max_tokens``."""
    codec = OpenAICodec(base_url=base_url)
    body = codec.build_request(params(max_tokens=7), stream=False).json()
    assert (body.get("max_tokens"), "max_completion_tokens" in body) == (7, False)


def test_tool_calls_without_text_and_unparsable_arguments_sent_back_verbatim() -> None:
    broken = ToolCall("call_9", "get_weather", {}, arguments_json='{"city": "Par')
    body = CODEC.build_request(
        params(messages=(Message.user("hi"), Message.assistant("", (broken,)))), stream=False
    ).json()
    assert body["messages"][1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_9",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Par'},
            }
        ],
    }


def test_tool_result_turn_matches_recorded_request() -> None:
    first, second = cassette("openai", "chat_tool_call_roundtrip_4turns.yaml")[:2]
    question = Message.user("What is the weather in Paris? Use the tool.")
    answer = CODEC.decode_response(first.response.body)
    conversation = (
        question,
        answer.message(),
        Message.tool(answer.tool_calls[0], "sunny in Paris"),
    )
    tool = ToolSpec(
        "get_weather",
        "",
        {
            "additionalProperties": False,
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "type": "object",
        },
    )
    body = CODEC.build_request(
        CallParams("gpt-4o", conversation, tools=(tool,), tool_choice="auto"), stream=False
    ).json()
    recorded = second.request.json()
    assert body["messages"] == recorded["messages"]
    assert body["tool_choice"] == recorded["tool_choice"]
    recorded_tool = recorded["tools"][0]["function"]
    assert body["tools"][0]["function"]["parameters"] == recorded_tool["parameters"]


def test_sign_returns_the_request_unchanged() -> None:
    request = CODEC.build_request(params(), stream=False)
    assert CODEC.sign(request) is request


# --- decode_response ---------------------------------------------------------------------

GPT4O_MINI = "gpt-4o-mini-2024-07-18"
RECORDED_ANSWERS = [
    (
        "chat_text_basic.yaml",
        0,
        Response("This is a test.", (), "stop", Usage(12, 5), GPT4O_MINI),
    ),
    (
        "chat_text_max_completion_tokens.yaml",
        0,
        Response("Hello! How can I assist you today?", (), "stop", Usage(8, 9), GPT4O_MINI),
    ),
    (
        "chat_text_o3_mini_reasoning_usage.yaml",
        0,
        Response(
            "Hello there! How can I help you today?",
            (),
            "stop",
            Usage(7, 87, reasoning_tokens=64),
            "o3-mini-2025-01-31",
        ),
    ),
    (
        "chat_parallel_tool_calls_then_results.yaml",
        0,
        Response(
            "",
            (
                ToolCall(
                    "call_JpNb8OiAkbIbHzDggfpdDHpi",
                    "get_current_weather",
                    {"location": "Seattle, WA"},
                ),
                ToolCall(
                    "call_vaFQc3zK6hHTRZKXRI5Eo2cJ",
                    "get_current_weather",
                    {"location": "San Francisco, CA"},
                ),
            ),
            "tool_calls",
            Usage(75, 51),
            GPT4O_MINI,
        ),
    ),
    (
        "chat_parallel_tool_calls_then_results.yaml",
        1,
        Response(
            "Today, the weather in Seattle is 50 degrees and raining, "
            "while in San Francisco, it's 70 degrees and sunny.",
            (),
            "stop",
            Usage(99, 25),
            GPT4O_MINI,
        ),
    ),
    (
        "chat_tool_call_roundtrip_4turns.yaml",
        0,
        Response(
            "",
            (ToolCall("call_J3ajtA7qivswzXp8A9sJ7foO", "get_weather", {"city": "Paris"}),),
            "tool_calls",
            Usage(48, 14),
            "gpt-4o-2024-08-06",
        ),
    ),
    (
        "chat_tool_call_roundtrip_4turns.yaml",
        1,
        Response(
            "The weather in Paris is currently sunny.",
            (),
            "stop",
            Usage(74, 9),
            "gpt-4o-2024-08-06",
        ),
    ),
]


@pytest.mark.parametrize(("name", "index", "expected"), RECORDED_ANSWERS)
def test_decode_recorded_answer(name: str, index: int, expected: Response) -> None:
    body = cassette("openai", name)[index].response.body
    response = CODEC.decode_response(body)
    assert response == expected
    assert response.raw == json.loads(body)


def test_decode_fixture_with_cached_and_reasoning_tokens() -> None:
    response = CODEC.decode_response((DATA / "tool_answer.json").read_bytes())
    assert response == Response(
        text="Checking the weather ☀ now.",
        tool_calls=(
            ToolCall("call_A1", "get_weather", {"city": "Paris"}),
            ToolCall("call_B2", "get_weather", {"city": "Zürich"}),
        ),
        finish_reason="tool_calls",
        usage=Usage(input_tokens=120, output_tokens=45, cached_tokens=100, reasoning_tokens=30),
        model="local-reasoner-v1",
        reasoning="Two cities, two calls.",
    )


def completion(message: dict[str, Any], finish_reason: Any = "stop") -> bytes:
    choice = {"index": 0, "message": message, "finish_reason": finish_reason}
    return json.dumps({"model": "m", "choices": [choice]}).encode()


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("tool_calls", "tool_calls"),
        ("function_call", "tool_calls"),
        ("content_filter", "content_filter"),
        ("something_new", "other"),
        (None, None),
    ],
)
def test_finish_reasons(wire: Any, reason: Any) -> None:
    body = completion({"role": "assistant", "content": "x"}, wire)
    assert CODEC.decode_response(body).finish_reason == reason


def test_unparsable_tool_arguments_are_kept_as_text() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
    response = CODEC.decode_response(completion({"content": None, "tool_calls": [call]}))
    assert response.tool_calls == (ToolCall("c1", "f", {}),)
    assert response.tool_calls[0].arguments_json == "{oops"


def test_refusal_is_the_answer_text() -> None:
    body = completion({"content": None, "refusal": "I can't help with that."})
    assert CODEC.decode_response(body).text == "I can't help with that."


@pytest.mark.parametrize(
    "body",
    [
        b"<html>oops</html>",
        b"",
        b"[]",
        b"{}",
        b'{"choices": []}',
        b'{"choices": ["text"]}',
        b'{"choices": [{"message": {"tool_calls": [{"id": "c1"}]}}]}',
    ],
)
def test_undecodable_bodies(body: bytes) -> None:
    with pytest.raises(MalformedResponseError) as info:
        CODEC.decode_response(body)
    assert info.value.provider == "openai"


# --- decode_error ------------------------------------------------------------------------


def test_recorded_model_not_found() -> None:
    error = CODEC.decode_error(
        404,
        {"content-type": "application/json"},
        cassette("openai", "chat_error_404_model_not_found.yaml")[0].response.body,
    )
    assert type(error) is NotFoundError
    assert error.status == 404
    assert error.provider == "openai"
    assert error.provider_message == (
        "The model `this-model-does-not-exist` does not exist or you do not have access to it."
    )
    assert "this-model-does-not-exist" in str(error)
    assert error.body["error"]["code"] == "model_not_found"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, BadRequestError),
        (413, BadRequestError),
        (418, BadRequestError),
        (422, BadRequestError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
    ],
)
def test_error_class_by_status(status: int, cls: type[LLMError]) -> None:
    body = json.dumps(
        {"error": {"message": "Provider says no.", "type": "some_type", "code": None}}
    ).encode()
    error = CODEC.decode_error(status, {}, body)
    assert type(error) is cls
    assert (error.status, error.provider_message) == (status, "Provider says no.")


def test_non_json_error_body() -> None:
    error = CODEC.decode_error(502, {}, b"<html><body>502 Bad Gateway</body></html>")
    assert type(error) is ServerError
    assert "502 Bad Gateway" in error.provider_message


def test_empty_error_body() -> None:
    error = CODEC.decode_error(503, {}, b"")
    assert type(error) is ServerError
    assert error.provider_message == "HTTP 503"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"error": "model is loading"}', "model is loading"),
        (b'{"object": "error", "message": "bad prompt", "code": 400}', "bad prompt"),
        (b'{"detail": "Not authenticated"}', "Not authenticated"),
    ],
)
def test_compatible_server_error_shapes(body: bytes, message: str) -> None:
    assert CODEC.decode_error(400, {}, body).provider_message == message


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [({"retry-after": "7"}, 7.0), ({"Retry-After-Ms": "1500"}, 1.5), ({}, None)],
)
def test_rate_limit_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    body = b'{"error": {"message": "Rate limit reached", "type": "requests", "code": null}}'
    error = CODEC.decode_error(429, headers, body)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == seconds
    assert error.provider_message == "Rate limit reached"


# --- streaming ---------------------------------------------------------------------------

RECORDED_STREAMS = [
    (
        "chat_stream_text.yaml",
        0,
        Response('"This is a test."', (), "stop", Usage(12, 5), "gpt-4-0613"),
    ),
    (
        "chat_stream_parallel_tool_calls.yaml",
        0,
        Response(
            "",
            (
                ToolCall(
                    "call_fHCjJqt9Pysde6vcJcvbXGBx",
                    "get_current_weather",
                    {"location": "Seattle, WA"},
                ),
                ToolCall(
                    "call_3J9foSw3CUb48lrqIXoTky6U",
                    "get_current_weather",
                    {"location": "San Francisco, CA"},
                ),
            ),
            "tool_calls",
            Usage(75, 51),
            GPT4O_MINI,
        ),
    ),
    (
        "chat_stream_tool_call_then_result.yaml",
        0,
        Response(
            "",
            (ToolCall("call_ZR5UUuTt3pf61kjwAJIYdVMj", "get_capital", {"country": "UK"}),),
            "tool_calls",
            Usage(53, 15),
            GPT4O_MINI,
        ),
    ),
    (
        "chat_stream_tool_call_then_result.yaml",
        1,
        Response("The capital of the UK is London.", (), "stop", Usage(78, 9), GPT4O_MINI),
    ),
]


@pytest.mark.parametrize(("name", "index", "expected"), RECORDED_STREAMS)
def test_recorded_stream_whole_and_bytewise(name: str, index: int, expected: Response) -> None:
    body = cassette("openai", name)[index].response.body
    events, response = stream(body, bytewise=False)
    assert stream(body, bytewise=True) == (events, response)
    assert response == expected
    chunks = [line for line in body.decode().splitlines() if line.startswith("data: {")]
    assert response.raw == [json.loads(line[len("data: ") :]) for line in chunks]


def test_recorded_tool_stream_events() -> None:
    body = cassette("openai", "chat_stream_tool_call_then_result.yaml")[0].response.body
    events, _ = stream(body, bytewise=False)
    assert events == [
        ModelName(GPT4O_MINI),
        ToolCallDelta(0, "call_ZR5UUuTt3pf61kjwAJIYdVMj", "get_capital", ""),
        ToolCallDelta(0, arguments='{"'),
        ToolCallDelta(0, arguments="country"),
        ToolCallDelta(0, arguments='":"'),
        ToolCallDelta(0, arguments="UK"),
        ToolCallDelta(0, arguments='"}'),
        Finish("tool_calls"),
        UsageUpdate(Usage(53, 15)),
    ]


def test_stream_and_body_of_the_same_answer_decode_equal() -> None:
    body = (DATA / "tool_answer.sse").read_bytes()
    events, streamed = stream(body, bytewise=False)
    assert stream(body, bytewise=True) == (events, streamed)
    assert streamed == CODEC.decode_response((DATA / "tool_answer.json").read_bytes())
    assert streamed.reasoning == "Two cities, two calls."
    assert len(streamed.raw) == 12


def test_crlf_line_endings() -> None:
    body = cassette("openai", "chat_stream_text.yaml")[0].response.body
    crlf = body.replace(b"\n", b"\r\n")
    assert stream(crlf, bytewise=True) == stream(body, bytewise=False)


def test_stream_without_done_is_malformed() -> None:
    body = cassette("openai", "chat_stream_text.yaml")[0].response.body
    body = body.replace(b"data: [DONE]", b"")
    decoder = CODEC.stream_decoder("text/event-stream")
    decoder.feed(body)
    with pytest.raises(MalformedResponseError, match=r"\[DONE\]"):
        decoder.close()


def test_stream_cut_inside_an_event_is_malformed() -> None:
    body = cassette("openai", "chat_stream_text.yaml")[0].response.body
    decoder = CODEC.stream_decoder("text/event-stream")
    decoder.feed(body[: body.index(b'"usage":{') + 20])
    with pytest.raises(MalformedResponseError):
        decoder.close()


def test_stream_cut_inside_a_character_is_malformed() -> None:
    decoder = CODEC.stream_decoder("text/event-stream")
    decoder.feed('data: {"model": "m", "choices": [{"delta": {"content": "☀'.encode()[:-1])
    with pytest.raises(MalformedResponseError):
        decoder.close()


def test_stream_chunk_that_is_not_json_is_malformed() -> None:
    decoder = CODEC.stream_decoder("text/event-stream")
    with pytest.raises(MalformedResponseError):
        decoder.feed(b"data: {not json\n\n")


def test_events_after_done_are_ignored() -> None:
    decoder = CODEC.stream_decoder("text/event-stream")
    assert decoder.feed(b'data: [DONE]\n\ndata: {"model": "late"}\n\n') == []
    assert decoder.close() == []
    assert decoder.raw == []


@pytest.mark.parametrize(
    ("error", "cls"),
    [
        ({"message": "The server had an error", "type": "server_error"}, ServerError),
        ({"message": "Slow down", "type": "tokens", "code": "rate_limit_exceeded"}, RateLimitError),
        ({"message": "Bad input", "type": "invalid_request_error"}, BadRequestError),
    ],
)
def test_error_inside_stream_raises(error: dict[str, Any], cls: type[LLMError]) -> None:
    decoder = CODEC.stream_decoder("text/event-stream")
    with pytest.raises(cls) as info:
        decoder.feed(b"data: " + json.dumps({"error": error}).encode() + b"\n\n")
    assert info.value.provider_message == error["message"]
    assert decoder.raw == [{"error": error}]
