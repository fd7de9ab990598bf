"""GeminiCodec: request encoding, decoding, errors and both stream formats.

Expected values for recorded traffic were written by reading the recorded bodies in
tests/corpus/recorded/gemini.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.providers.gemini import GeminiCodec, JSONArrayDecoder, JSONArrayParser, SSEDecoder
from harness.tools import tool
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

BASE = "https://generativelanguage.googleapis.com/v1beta"


# --- helpers -------------------------------------------------------------------------


@pytest.fixture
def codec(monkeypatch: pytest.MonkeyPatch) -> GeminiCodec:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    return GeminiCodec(api_key="test-key")


def params(*messages: Message, **options: Any) -> CallParams:
    return CallParams(model="gemini-2.0-flash", messages=messages, **options)


def body_of(codec: GeminiCodec, p: CallParams) -> Any:
    return codec.build_request(p, stream=False).json()


WEATHER = ToolSpec(
    "get_weather",
    "Weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
TIME = ToolSpec("get_time")


# --- configuration -------------------------------------------------------------------


def test_key_from_argument_env_and_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "from-gemini-env")
    monkeypatch.setenv("GOOGLE_API_KEY", "from-google-env")
    assert GeminiCodec(api_key="explicit").api_key == "explicit"
    assert GeminiCodec().api_key == "from-gemini-env"
    monkeypatch.delenv("GEMINI_API_KEY")
    assert GeminiCodec().api_key == "from-google-env"


def test_missing_key_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="GEMINI_API_KEY") as info:
        GeminiCodec()
    assert "api_key" in str(info.value)


def test_urls_and_headers(codec: GeminiCodec) -> None:
    p = params(Message.user("hi"))
    plain = codec.build_request(p, stream=False)
    streamed = codec.build_request(p, stream=True)
    assert plain.method == streamed.method == "POST"
    assert plain.url == f"{BASE}/models/gemini-2.0-flash:generateContent"
    assert streamed.url == f"{BASE}/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    for request in (plain, streamed):
        assert request.headers["x-goog-api-key"] == "test-key"
        assert request.headers["content-type"] == "application/json"
        assert "test-key" not in request.url
        assert codec.sign(request) == request


def test_custom_base_url_and_models_prefix() -> None:
    codec = GeminiCodec(api_key="k", base_url="http://localhost:9000/v1beta/")
    request = codec.build_request(
        CallParams(model="models/gemini-2.5-flash", messages=(Message.user("x"),)), stream=False
    )
    assert request.url == "http://localhost:9000/v1beta/models/gemini-2.5-flash:generateContent"


# --- request bodies ------------------------------------------------------------------


def test_system_and_user_match_recorded_request(codec: GeminiCodec) -> None:
    recorded = cassette("gemini", "generate_text_instructions.yaml")[0].request.json()
    body = body_of(
        codec,
        params(
            Message.system("You are a helpful assistant."),
            Message.user("What is the capital of France?"),
        ),
    )
    assert body["contents"] == recorded["contents"]
    assert body["systemInstruction"]["parts"] == recorded["systemInstruction"]["parts"]
    assert "generationConfig" not in body
    assert "tools" not in body and "toolConfig" not in body


def test_every_message_kind(codec: GeminiCodec) -> None:
    first = ToolCall("call_0", "get_weather", {"city": "Paris"})
    second = ToolCall("call_1", "get_time", {})
    body = body_of(
        codec,
        params(
            Message.system("Be brief."),
            Message.system("Use tools."),
            Message.user("Weather and time in Paris?"),
            Message.assistant("Checking.", (first, second)),
            Message.tool(first, "sunny"),
            Message.tool(second, "clock broken", is_error=True),
            Message.user("Thanks"),
            Message.assistant("You're welcome."),
        ),
    )
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}, {"text": "Use tools."}]}
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Weather and time in Paris?"}]},
        {
            "role": "model",
            "parts": [
                {"text": "Checking."},
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                {"functionCall": {"name": "get_time", "args": {}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"result": "sunny"}}},
                {"functionResponse": {"name": "get_time", "response": {"error": "clock broken"}}},
            ],
        },
        {"role": "user", "parts": [{"text": "Thanks"}]},
        {"role": "model", "parts": [{"text": "You're welcome."}]},
    ]


def test_assistant_with_only_tool_calls_has_no_empty_text(codec: GeminiCodec) -> None:
    call = ToolCall("call_0", "get_time", {})
    body = body_of(codec, params(Message.user("time?"), Message.assistant("", (call,))))
    assert body["contents"][1] == {
        "role": "model",
        "parts": [{"functionCall": {"name": "get_time", "args": {}}}],
    }


def test_tool_result_name_found_from_the_call_id(codec: GeminiCodec) -> None:
    call = ToolCall("call_0", "get_time", {})
    result = Message("tool", "noon", tool_call_id="call_0")
    body = body_of(codec, params(Message.user("t?"), Message.assistant("", (call,)), result))
    assert body["contents"][2]["parts"][0]["functionResponse"]["name"] == "get_time"


def test_tool_result_without_any_name_is_rejected(codec: GeminiCodec) -> None:
    with pytest.raises(ConfigurationError, match="tool name"):
        codec.build_request(params(Message("tool", "x", tool_call_id="nope")), stream=False)


def test_generation_config(codec: GeminiCodec) -> None:
    body = body_of(
        codec,
        params(Message.user("x"), temperature=0.0, max_tokens=50, stop=("END", "STOP"), top_p=0.9),
    )
    assert body["generationConfig"] == {
        "temperature": 0.0,
        "maxOutputTokens": 50,
        "stopSequences": ["END", "STOP"],
        "topP": 0.9,
    }


def test_tools_declarations(codec: GeminiCodec) -> None:
    body = body_of(codec, params(Message.user("x"), tools=(WEATHER, TIME)))
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Weather for a city",
                    "parametersJsonSchema": WEATHER.parameters,
                },
                {"name": "get_time", "parametersJsonSchema": {"type": "object", "properties": {}}},
            ]
        }
    ]
    assert "toolConfig" not in body


@dataclass
class _Point:
    x: int
    y: int


def _where(city: str, unit: str | None = None, at: _Point | None = None) -> str:
    """Find a place."""
    return city


def test_tool_schema_is_sent_as_full_json_schema(codec: GeminiCodec) -> None:
    """``parameters`` takes only Gemini's OpenAPI subset (the API answers 400 ``Unknown name
    "additionalProperties"``); harness.tools schemas go in ``parametersJsonSchema``."""
    spec = tool(_where).spec
    assert spec.parameters["additionalProperties"] is False
    assert {"type": "null"} in spec.parameters["properties"]["at"]["anyOf"]
    assert spec.parameters["properties"]["unit"]["type"] == ["string", "null"]
    [declaration] = body_of(codec, params(Message.user("x"), tools=(spec,)))["tools"][0][
        "functionDeclarations"
    ]
    assert "parameters" not in declaration
    assert declaration["parametersJsonSchema"] == spec.parameters


def test_tool_schema_field_matches_recorded_request(codec: GeminiCodec) -> None:
    """pydantic-ai (google-genai) sends ``parameters_json_schema``: the SDK's name for the
    REST field ``parametersJsonSchema``."""
    recorded = cassette("gemini", "stream_sse_function_call_thought_signature.yaml")[0]
    [sent] = recorded.request.json()["tools"][0]["functionDeclarations"]
    spec = ToolSpec(sent["name"], sent["description"], sent["parameters_json_schema"])
    [ours] = body_of(codec, params(Message.user("x"), tools=(spec,)))["tools"][0][
        "functionDeclarations"
    ]

    def camel(key: str) -> str:
        head, *rest = key.split("_")
        return head + "".join(word.title() for word in rest)

    assert ours == {camel(k): v for k, v in sent.items() if v != ""}


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("required", {"mode": "ANY"}),
        ("none", {"mode": "NONE"}),
        ("get_time", {"mode": "ANY", "allowedFunctionNames": ["get_time"]}),
    ],
)
def test_tool_choice(codec: GeminiCodec, choice: str, config: dict[str, Any]) -> None:
    body = body_of(codec, params(Message.user("x"), tools=(WEATHER, TIME), tool_choice=choice))
    assert body["toolConfig"] == {"functionCallingConfig": config}


def test_tool_choice_naming_an_unknown_tool(codec: GeminiCodec) -> None:
    with pytest.raises(ConfigurationError, match="get_stock"):
        codec.build_request(
            params(Message.user("x"), tools=(WEATHER,), tool_choice="get_stock"), stream=False
        )


def test_recorded_tool_turn_has_the_same_shape(codec: GeminiCodec) -> None:
    """Our second request of the recorded tool exchange has the recorded turn structure."""
    recorded = cassette("gemini", "generate_function_call_then_result.yaml")[1].request.json()
    call = ToolCall("call_0", "get_user_country", {})
    body = body_of(
        codec,
        params(
            Message.user("What is the largest city in the user country?"),
            Message.assistant("", (call,)),
            Message.tool(call, "Mexico"),
        ),
    )

    def shape(contents: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
        return [(c["role"], [next(iter(p)) for p in c["parts"]]) for c in contents]

    assert shape(body["contents"]) == shape(recorded["contents"])
    assert body["contents"][0] == recorded["contents"][0]
    recorded_call = recorded["contents"][1]["parts"][0]["functionCall"]
    assert body["contents"][1]["parts"][0]["functionCall"] == {
        "name": recorded_call["name"],
        "args": recorded_call["args"],
    }


# --- decoding ------------------------------------------------------------------------


def test_decode_text_recorded(codec: GeminiCodec) -> None:
    response = codec.decode_response(
        cassette("gemini", "generate_text_instructions.yaml")[0].response.body
    )
    assert response == Response(
        text="The capital of France is Paris.\n",
        finish_reason="stop",
        usage=Usage(input_tokens=13, output_tokens=8),
        model="gemini-2.0-flash",
    )
    assert response.raw["responseId"] == "41peaK-wOMSenvgPh-vRiAY"


def test_decode_gzip_recorded_with_thought_tokens(codec: GeminiCodec) -> None:
    response = codec.decode_response(
        cassette("gemini", "generate_text_raw_gzip.yaml")[0].response.body
    )
    assert response.text.startswith("AI stands for **Artificial Intelligence**.\n\nAt its core")
    assert response.text.endswith("and the need for responsible development.")
    assert response.finish_reason == "stop"
    assert response.model == "gemini-2.5-flash"
    # candidatesTokenCount 877 + thoughtsTokenCount 1058 are both billed output.
    assert response.usage == Usage(5, 877 + 1058, 0, 1058)


MEXICO = {"city": "Mexico City", "country": "Mexico"}


@pytest.mark.parametrize(
    ("name", "index", "call", "usage"),
    [
        (
            "generate_function_call_then_result.yaml",
            0,
            ToolCall("call_0", "get_user_country"),
            Usage(33, 5),
        ),
        (
            "generate_function_call_then_result.yaml",
            1,
            ToolCall("call_0", "final_result", MEXICO),
            Usage(47, 8),
        ),
        ("generate_function_call_no_args.yaml", 0, ToolCall("call_0", "bar"), Usage(21, 1)),
        (
            "generate_function_call_no_args.yaml",
            1,
            ToolCall("call_0", "final_result", {"bar": "hello"}),
            Usage(27, 5),
        ),
    ],
)
def test_decode_function_calls_recorded(
    codec: GeminiCodec, name: str, index: int, call: ToolCall, usage: Usage
) -> None:
    response = codec.decode_response(cassette("gemini", name)[index].response.body)
    assert response == Response(
        text="",
        tool_calls=(call,),
        finish_reason="tool_calls",  # Gemini said STOP
        usage=usage,
        model="gemini-2.0-flash",
    )


def test_decode_parts_thoughts_calls_and_usage(codec: GeminiCodec) -> None:
    body = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "Let me think. ", "thought": True},
                        {"text": "I'll call "},
                        {"text": "two tools."},
                        {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}},
                        {"functionCall": {"name": "get_time"}, "thoughtSignature": "abc"},
                        {"functionCall": {"id": "given-id", "name": "get_time", "args": {}}},
                        {"text": "", "thoughtSignature": "xyz"},
                    ],
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 100,
            "candidatesTokenCount": 20,
            "cachedContentTokenCount": 64,
            "thoughtsTokenCount": 7,
        },
        "modelVersion": "gemini-2.5-pro",
    }
    response = codec.decode_response(json.dumps(body).encode())
    assert response == Response(
        text="I'll call two tools.",
        reasoning="Let me think. ",
        tool_calls=(
            ToolCall("call_0", "get_weather", {"city": "Oslo"}),
            ToolCall("call_1", "get_time", {}),
            ToolCall("given-id", "get_time", {}),
        ),
        finish_reason="tool_calls",
        usage=Usage(input_tokens=100, output_tokens=27, cached_tokens=64, reasoning_tokens=7),
        model="gemini-2.5-pro",
    )


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "other"),
        ("OTHER", "other"),
        ("SOMETHING_NEW", "other"),
    ],
)
def test_finish_reasons(codec: GeminiCodec, reason: str, expected: str) -> None:
    body = {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": reason}]}
    assert codec.decode_response(json.dumps(body).encode()).finish_reason == expected


def test_blocked_prompt_has_no_candidates(codec: GeminiCodec) -> None:
    body = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}}
    response = codec.decode_response(json.dumps(body).encode())
    assert response == Response(text="", finish_reason="content_filter", usage=Usage(4))


def test_decode_not_json(codec: GeminiCodec) -> None:
    with pytest.raises(MalformedResponseError):
        codec.decode_response(b"<html>oops</html>")
    with pytest.raises(MalformedResponseError):
        codec.decode_response(b"[1, 2]")


MALFORMED_CHUNKS = [
    ({"candidates": [{"content": "x"}]}, "content"),
    ({"candidates": [{"content": {"parts": "abc"}}]}, "parts"),
    ({"candidates": "x"}, "candidates"),
    ({"candidates": [1]}, "candidate"),
    ({"promptFeedback": "blocked"}, "promptFeedback"),
    ({"candidates": [{"finishReason": ["STOP"]}]}, "finishReason"),
    ({"candidates": [{"finishReason": 1}]}, "finishReason"),
    ({"usageMetadata": {"promptTokenCount": "many"}}, "promptTokenCount"),
    ({"usageMetadata": {"candidatesTokenCount": [3]}}, "candidatesTokenCount"),
    ({"usageMetadata": {"thoughtsTokenCount": 1.5}}, "thoughtsTokenCount"),
    ({"usageMetadata": "lots"}, "usageMetadata"),
]


@pytest.mark.parametrize(("body", "problem"), MALFORMED_CHUNKS)
def test_bad_but_valid_json_is_malformed(codec: GeminiCodec, body: Any, problem: str) -> None:
    with pytest.raises(MalformedResponseError, match=problem) as info:
        codec.decode_response(json.dumps(body).encode())
    assert info.value.provider == "gemini"


@pytest.mark.parametrize(("body", "problem"), MALFORMED_CHUNKS)
@pytest.mark.parametrize("kind", ["text/event-stream", "application/json"])
def test_bad_but_valid_json_in_a_stream_is_malformed(
    codec: GeminiCodec, body: Any, problem: str, kind: str
) -> None:
    chunk = json.dumps(body)
    data = f"data: {chunk}\n\n" if "event-stream" in kind else f"[{chunk}]"
    with pytest.raises(MalformedResponseError, match=problem):
        codec.stream_decoder(kind).feed(data.encode())


def test_token_counts_as_strings_are_accepted(codec: GeminiCodec) -> None:
    """Proto JSON may spell integers as strings."""
    body = {"usageMetadata": {"promptTokenCount": "7", "candidatesTokenCount": 2}}
    assert codec.decode_response(json.dumps(body).encode()).usage == Usage(7, 2)


# --- errors --------------------------------------------------------------------------


def test_error_recorded_404(codec: GeminiCodec) -> None:
    interaction = cassette("gemini", "error_404_model_not_found.yaml")[0]
    assert interaction.response.status == 404
    error = codec.decode_error(404, {}, interaction.response.body)
    assert type(error) is NotFoundError
    assert error.status == 404
    assert error.provider == "gemini"
    assert error.provider_message.startswith(
        "models/gemini-3.6-flahs is not found for API version v1beta"
    )


def envelope(code: int, status: str, message: str = "boom", **extra: Any) -> bytes:
    return json.dumps(
        {"error": {"code": code, "message": message, "status": status, **extra}}
    ).encode()


@pytest.mark.parametrize(
    ("status_name", "http", "cls"),
    [
        ("UNAUTHENTICATED", 401, AuthenticationError),
        ("PERMISSION_DENIED", 403, PermissionDeniedError),
        ("NOT_FOUND", 404, NotFoundError),
        ("INVALID_ARGUMENT", 400, BadRequestError),
        ("FAILED_PRECONDITION", 400, BadRequestError),
        ("RESOURCE_EXHAUSTED", 429, RateLimitError),
        ("INTERNAL", 500, ServerError),
        ("UNAVAILABLE", 503, ServerError),
        ("DEADLINE_EXCEEDED", 504, RequestTimeoutError),
    ],
)
def test_error_status_names(
    codec: GeminiCodec, status_name: str, http: int, cls: type[LLMError]
) -> None:
    error = codec.decode_error(http, {}, envelope(http, status_name, "the message"))
    assert type(error) is cls
    assert (error.status, error.provider_message) == (http, "the message")


def test_error_status_name_wins_over_http_status(codec: GeminiCodec) -> None:
    assert type(codec.decode_error(500, {}, envelope(500, "DEADLINE_EXCEEDED"))) is (
        RequestTimeoutError
    )


def test_invalid_api_key_is_authentication(codec: GeminiCodec) -> None:
    details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]
    error = codec.decode_error(400, {}, envelope(400, "INVALID_ARGUMENT", details=details))
    assert type(error) is AuthenticationError


def test_rate_limit_retry_after(codec: GeminiCodec) -> None:
    details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}]
    body = envelope(429, "RESOURCE_EXHAUSTED", details=details)
    from_body = codec.decode_error(429, {}, body)
    assert isinstance(from_body, RateLimitError) and from_body.retry_after == 37.0
    from_header = codec.decode_error(429, {"Retry-After": "5"}, body)
    assert isinstance(from_header, RateLimitError) and from_header.retry_after == 5.0


@pytest.mark.parametrize(
    ("http", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
    ],
)
def test_error_falls_back_on_http_status(
    codec: GeminiCodec, http: int, cls: type[LLMError]
) -> None:
    html = codec.decode_error(http, {}, b"<html>Bad Gateway</html>")
    assert type(html) is cls and html.provider_message == "<html>Bad Gateway</html>"
    unknown = codec.decode_error(http, {}, envelope(http, "SOMETHING_ELSE", "msg"))
    assert type(unknown) is cls and unknown.provider_message == "msg"
    empty = codec.decode_error(http, {}, b"")
    assert type(empty) is cls and empty.provider_message == f"HTTP {http}"


def test_error_envelope_in_a_list(codec: GeminiCodec) -> None:
    body = b"[" + envelope(403, "PERMISSION_DENIED", "no") + b"]"
    error = codec.decode_error(403, {}, body)
    assert type(error) is PermissionDeniedError and error.provider_message == "no"


# --- streams: recorded ---------------------------------------------------------------

REASONING_PELICAN = (
    '**Considering the Constraint**\n\nI\'m focusing intently on the "just the name" '
    "constraint. It demands a single, direct name; no fluff, no preliminaries. I'm actively "
    "suppressing any inclination to offer multiple options or explain my reasoning. This "
    "constraint is paramount.\n\n\n"
)
REASONING_TOOLS = (
    "**Generating Pelican Names**\n\nOkay, I'm thinking I should use the "
    "`pelican_name_generator` tool to address the user's request. It seems straightforward: "
    "call it twice to get two different names for the pet pelican. It's a quick plan.\n\n\n"
)
PELICAN_CALL = ToolCall("call_0", "pelican_name_generator", {})

STREAMS = [
    (
        "stream_sse_text.yaml",
        0,
        Response(
            text="The capital of France is Paris.\n",
            finish_reason="stop",
            usage=Usage(13, 8),
            model="gemini-2.0-flash-exp",
        ),
    ),
    (
        "stream_sse_function_call_thought_signature.yaml",
        0,
        Response(
            text="",
            tool_calls=(ToolCall("call_0", "get_country", {}),),
            finish_reason="tool_calls",
            usage=Usage(29, 10 + 202, 0, 202),
            model="gemini-3-pro-preview",
        ),
    ),
    (
        "stream_sse_function_call_thought_signature.yaml",
        1,
        Response(
            text="The capital of Mexico is Mexico City.",
            finish_reason="stop",
            usage=Usage(257, 8),  # the last chunk's counts replace the earlier ones
            model="gemini-3-pro-preview",
        ),
    ),
    (
        "stream_json_array_text.yaml",
        0,
        Response(
            text="Scoop",
            reasoning=REASONING_PELICAN,
            finish_reason="stop",
            usage=Usage(11, 2 + 291, 0, 291),
            model="gemini-3.6-flash",
        ),
    ),
    (
        "stream_json_array_tools_3turns.yaml",
        0,
        Response(
            text="",
            reasoning=REASONING_TOOLS,
            tool_calls=(PELICAN_CALL,),
            finish_reason="tool_calls",
            usage=Usage(32, 12 + 42, 0, 42),
            model="gemini-2.5-flash",
        ),
    ),
    (
        "stream_json_array_tools_3turns.yaml",
        1,
        Response(
            text="",
            tool_calls=(PELICAN_CALL,),
            finish_reason="tool_calls",
            usage=Usage(105, 13),
            model="gemini-2.5-flash",
        ),
    ),
    (
        "stream_json_array_tools_3turns.yaml",
        2,
        Response(
            text="How about Charles and Sammy?",
            finish_reason="stop",
            usage=Usage(137, 6),
            model="gemini-2.5-flash",
        ),
    ),
]


@pytest.mark.parametrize(("name", "index", "expected"), STREAMS)
def test_recorded_stream_whole_and_byte_by_byte(
    codec: GeminiCodec, name: str, index: int, expected: Response
) -> None:
    interaction = cassette("gemini", name)[index]
    data = interaction.response.body
    kind = interaction.response.headers["content-type"]
    whole_decoder = codec.stream_decoder(kind)
    whole = feed(whole_decoder, data)
    bytewise = feed(codec.stream_decoder(kind), data, step=1)
    assert whole == bytewise
    assert fold(whole) == expected
    assert isinstance(whole_decoder, SSEDecoder if "event-stream" in kind else JSONArrayDecoder)
    assert all(isinstance(chunk, dict) and "candidates" in chunk for chunk in whole_decoder.raw)


@pytest.mark.parametrize("step", [2, 3, 7, 64])
def test_recorded_json_array_any_split(codec: GeminiCodec, step: int) -> None:
    interaction = cassette("gemini", "stream_json_array_text.yaml")[0]
    data = interaction.response.body
    assert b"\n,\r\n" in data  # the separator seen in real recordings
    whole = feed(codec.stream_decoder("application/json; charset=UTF-8"), data)
    assert feed(codec.stream_decoder("application/json"), data, step=step) == whole


def test_recorded_sse_uses_crlf_separators(codec: GeminiCodec) -> None:
    data = cassette("gemini", "stream_sse_text.yaml")[0].response.body
    assert b"\r\n\r\n" in data
    decoder = codec.stream_decoder("text/event-stream")
    events = feed(decoder, data, step=1)
    assert len(decoder.raw) == 3
    assert [e for e in events if isinstance(e, TextDelta)] == [
        TextDelta("The"),
        TextDelta(" capital of France"),
        TextDelta(" is Paris.\n"),
    ]


def test_sse_empty_feeds_between_cr_and_lf() -> None:
    # One event whose JSON spans two data lines (joined with a newline, valid SSE).
    data = (
        b'data: {"candidates":\r\ndata: [{"content": {"parts": [{"text": "hi"}]},'
        b' "finishReason": "STOP"}]}\r\n\r\n'
    )
    decoder = SSEDecoder()
    events: list[StreamEvent] = []
    for i in range(len(data)):
        events += decoder.feed(data[i : i + 1]) + decoder.feed(b"")
    assert events + decoder.close() == [TextDelta("hi"), Finish("stop")]


def test_recorded_function_call_delta_is_complete(codec: GeminiCodec) -> None:
    data = cassette("gemini", "stream_json_array_tools_3turns.yaml")[0].response.body
    events = feed(codec.stream_decoder("application/json"), data)
    calls = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [(c.index, c.id, c.name, c.arguments) for c in calls] == [
        (0, "call_0", "pelican_name_generator", "{}")
    ]
    assert calls[0].provider_data is not None
    assert calls[0].provider_data["thoughtSignature"].startswith("ClgBEU0yD8z3")
    assert events[0] == ModelName("gemini-2.5-flash")
    assert isinstance(events[1], ReasoningDelta)
    assert events[-1] == Finish("tool_calls")


def test_stream_equals_non_streamed_decode(codec: GeminiCodec) -> None:
    """Folding the streamed chunks gives what the one-body decode gives for the same data."""
    chunks = [
        {"candidates": [{"content": {"parts": [{"text": "a", "thought": True}]}}]},
        {
            "candidates": [
                {
                    "content": {
                        "parts": [
                            {"text": "Hello "},
                            {"functionCall": {"name": "f", "args": {"x": [1, "}"]}}},
                        ]
                    }
                }
            ],
            "modelVersion": "gemini-x",
        },
        {
            "candidates": [
                {
                    "content": {"parts": [{"functionCall": {"name": "g", "args": {}}}]},
                    "finishReason": "STOP",
                }
            ],
            "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 4},
        },
    ]
    whole = {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {"text": "a", "thought": True},
                        {"text": "Hello "},
                        {"functionCall": {"name": "f", "args": {"x": [1, "}"]}}},
                        {"functionCall": {"name": "g", "args": {}}},
                    ]
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 4},
        "modelVersion": "gemini-x",
    }
    sse = "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks).encode()
    array = ("[" + "\n,\r\n".join(json.dumps(c, indent=2) for c in chunks) + "\n]").encode()
    expected = codec.decode_response(json.dumps(whole).encode())
    assert expected.tool_calls == (
        ToolCall("call_0", "f", {"x": [1, "}"]}),
        ToolCall("call_1", "g", {}),
    )
    for kind, data in (("text/event-stream", sse), ("application/json", array)):
        assert fold(feed(codec.stream_decoder(kind), data, step=1)) == expected


def test_function_call_after_finish_turns_it_into_tool_calls(codec: GeminiCodec) -> None:
    chunks = [
        {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "STOP"}]},
        {"candidates": [{"content": {"parts": [{"functionCall": {"name": "f"}}]}}]},
    ]
    data = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode()
    events = feed(codec.stream_decoder("text/event-stream"), data)
    assert [e for e in events if isinstance(e, Finish)] == [Finish("stop"), Finish("tool_calls")]


def test_stream_usage_update_events(codec: GeminiCodec) -> None:
    chunk = {
        "candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 3, "cachedContentTokenCount": 2},
    }
    events = feed(SSEDecoder(), f"data: {json.dumps(chunk)}\n\n".encode())
    assert events == [TextDelta("x"), UsageUpdate(Usage(3, 0, 2, 0)), Finish("stop")]


# --- streams: the JSON-array parser --------------------------------------------------


def test_json_array_parser_strings_escapes_and_nesting() -> None:
    elements = [
        {"a": "brace } and bracket ] inside", "b": [{"c": "\\"}, 'quote " here']},
        {"emoji": "déjà vu 🐦", "empty": {}, "list": [[], [[]]]},
        {"x": "ends with backslash \\\\"},
    ]
    data = ("[" + ",\r\n".join(json.dumps(e, ensure_ascii=False) for e in elements) + "]").encode()
    for step in (1, 2, 5, len(data)):
        parser = JSONArrayParser()
        found = []
        for i in range(0, len(data), step):
            found.extend(parser.feed(data[i : i + step]))
        parser.close()
        assert [json.loads(f) for f in found] == elements


ESCAPES = [
    {"a": 'x\\"y', "b": "\\\\", "c": '\\\\"', "d": "}]\\"},
    {"e": ['"', "\\", "\\\\\\"], "f": "ünïcode ☃"},
]
ESCAPES_BODY = ("[" + ",\n".join(json.dumps(e, ensure_ascii=False) for e in ESCAPES) + "]").encode()


@given(st.lists(st.integers(min_value=0, max_value=len(ESCAPES_BODY)), max_size=20))
def test_json_array_parser_any_split_through_runs_of_backslashes(cuts: list[int]) -> None:
    """Whether a quote ends a string depends on the backslashes before it, which a cut
    may leave in an earlier feed."""
    parser = JSONArrayParser()
    found, start = [], 0
    for cut in [*sorted(cuts), len(ESCAPES_BODY)]:
        found.extend(parser.feed(ESCAPES_BODY[start:cut]))
        start = cut
    parser.close()
    assert [json.loads(f) for f in found] == ESCAPES


def test_json_array_parser_yields_each_element_as_soon_as_complete() -> None:
    parser = JSONArrayParser()
    assert parser.feed(b'[{"a": 1}') == [b'{"a": 1}']
    assert parser.feed(b'\n,\r\n{"b":') == []
    assert parser.feed(b" 2}") == [b'{"b": 2}']
    assert parser.feed(b"\n]") == []
    parser.close()


def test_json_array_empty_array_has_no_finish_reason() -> None:
    decoder = JSONArrayDecoder()
    assert decoder.feed(b"[]") == []
    with pytest.raises(MalformedResponseError, match="before a finishReason"):
        decoder.close()


@pytest.mark.parametrize(
    "data",
    [
        b'[{"candidates": [{"content": {"parts": [{"text": "cut',  # inside a string
        b'[{"candidates": []}',  # element done, array never closed
        b'[{"candidates": []},\n{"candi',  # inside the second element
        b"",  # nothing at all
    ],
)
def test_json_array_cut_raises_on_close(data: bytes) -> None:
    decoder = JSONArrayDecoder()
    for i in range(len(data)):
        decoder.feed(data[i : i + 1])
    with pytest.raises(MalformedResponseError):
        decoder.close()


@pytest.mark.parametrize("data", [b"<html>", b"[1, 2]", b'[{"a": 1}] x', b'[{"a": 1}]]'])
def test_json_array_garbage_raises(data: bytes) -> None:
    with pytest.raises(MalformedResponseError):
        feed(JSONArrayDecoder(), data)


def test_recorded_json_array_cut_mid_element(codec: GeminiCodec) -> None:
    data = cassette("gemini", "stream_json_array_text.yaml")[0].response.body
    decoder = codec.stream_decoder("application/json")
    events = decoder.feed(data[: len(data) // 2])
    assert events  # the first element was complete
    with pytest.raises(MalformedResponseError):
        decoder.close()


def test_sse_cut_mid_event_raises_on_close(codec: GeminiCodec) -> None:
    data = cassette("gemini", "stream_sse_text.yaml")[0].response.body
    decoder = codec.stream_decoder("text/event-stream")
    decoder.feed(data[:-40])
    with pytest.raises(MalformedResponseError):
        decoder.close()


def test_sse_cut_between_events_raises_on_close(codec: GeminiCodec) -> None:
    """A connection closed cleanly after any event but the last is not a whole answer."""
    data = cassette("gemini", "stream_sse_text.yaml")[0].response.body
    ends = [i + 4 for i in range(len(data)) if data.startswith(b"\r\n\r\n", i)]
    assert len(ends) == 3 and ends[-1] == len(data)
    for end in ends[:-1]:
        decoder = codec.stream_decoder("text/event-stream")
        assert decoder.feed(data[:end])  # the complete events are still delivered
        with pytest.raises(MalformedResponseError, match="stream ended before a finishReason"):
            decoder.close()


@pytest.mark.parametrize("kind", ["text/event-stream", "application/json", ""])
def test_stream_without_a_finish_reason_raises_on_close(codec: GeminiCodec, kind: str) -> None:
    chunk = json.dumps({"candidates": [{"content": {"parts": [{"text": "partial"}]}}]})
    data = f"data: {chunk}\r\n\r\n" if "json" not in kind else f"[{chunk}\n]"
    decoder = codec.stream_decoder(kind)
    assert decoder.feed(data.encode()) == [TextDelta("partial")]
    with pytest.raises(MalformedResponseError, match="before a finishReason"):
        decoder.close()


def test_recorded_json_array_closed_early_raises(codec: GeminiCodec) -> None:
    """The first elements of a recorded array, properly closed, still lack the finish."""
    data = cassette("gemini", "stream_json_array_tools_3turns.yaml")[2].response.body
    first = data[: data.index(b"\n,\r\n")]
    decoder = codec.stream_decoder("application/json")
    assert decoder.feed(first + b"\n]") == [
        ModelName("gemini-2.5-flash"),
        TextDelta("How"),
        UsageUpdate(Usage(137, 1)),
    ]
    with pytest.raises(MalformedResponseError, match="before a finishReason"):
        decoder.close()


@pytest.mark.parametrize("kind", ["text/event-stream", "application/json"])
def test_a_blocked_prompt_ends_a_stream(codec: GeminiCodec, kind: str) -> None:
    chunk = json.dumps({"promptFeedback": {"blockReason": "OTHER"}})
    data = f"data: {chunk}\r\n\r\n" if "json" not in kind else f"[{chunk}]"
    assert feed(codec.stream_decoder(kind), data.encode()) == [Finish("content_filter")]


def test_chunks_after_the_finish_are_still_decoded(codec: GeminiCodec) -> None:
    chunks = [
        {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "STOP"}]},
        {"usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 1}},
    ]
    data = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode()
    decoder = codec.stream_decoder("text/event-stream")
    events = feed(decoder, data)
    assert events == [TextDelta("x"), Finish("stop"), UsageUpdate(Usage(4, 1))]
    assert len(decoder.raw) == 2


@pytest.mark.parametrize("kind", ["text/event-stream", "application/json"])
def test_error_inside_a_stream(codec: GeminiCodec, kind: str) -> None:
    error = {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}
    ok = {"candidates": [{"content": {"parts": [{"text": "hi"}]}}]}
    if kind == "text/event-stream":
        data = f"data: {json.dumps(ok)}\n\ndata: {json.dumps(error)}\n\n".encode()
    else:
        data = f"[{json.dumps(ok)},\n{json.dumps(error)}]".encode()
    decoder = codec.stream_decoder(kind)
    with pytest.raises(RateLimitError) as info:
        feed(decoder, data)
    assert (info.value.status, info.value.provider_message) == (429, "quota")


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("stream_json_array_tools_3turns.yaml", "application/json"),
        ("stream_sse_function_call_thought_signature.yaml", "text/event-stream"),
    ],
)
def test_thought_signature_goes_back_with_its_call(
    codec: GeminiCodec, name: str, content_type: str
) -> None:
    """Gemini 3 rejects a follow-up turn whose function call lacks its thoughtSignature:
    the recorded follow-up requests (real clients) echo it next to the functionCall."""
    first, second = cassette("gemini", name)[:2]
    answer = fold(feed(codec.stream_decoder(content_type), first.response.body))
    recorded_parts = [
        part
        for content in second.request.json()["contents"]
        for part in content["parts"]
        if "thoughtSignature" in part and ("functionCall" in part or "function_call" in part)
    ]
    follow_up = codec.build_request(
        CallParams("m", (Message.user("q"), answer.message())), stream=False
    ).json()
    sent = [p for c in follow_up["contents"] for p in c["parts"] if "functionCall" in p]

    def decoded(signature: str) -> bytes:  # google-genai re-encodes with the URL-safe alphabet
        return base64.urlsafe_b64decode(signature.replace("+", "-").replace("/", "_"))

    assert recorded_parts, "the recorded follow-up carries a signature"
    assert [decoded(p["thoughtSignature"]) for p in sent] == [
        decoded(p["thoughtSignature"]) for p in recorded_parts
    ]


@pytest.mark.parametrize("name", ["stream_sse_text.yaml", "stream_json_array_text.yaml"])
@pytest.mark.parametrize("step", [None, 1])
def test_a_lost_content_type_is_decided_from_the_body(
    codec: GeminiCodec, name: str, step: int | None
) -> None:
    """Proxies and recorders can drop the content type (vcrpy 8's aiohttp stub did)."""
    interaction = cassette("gemini", name)[0]
    labelled = codec.stream_decoder(interaction.response.headers["content-type"])
    unlabelled = codec.stream_decoder("")
    body = interaction.response.body
    assert feed(unlabelled, body, step) == feed(labelled, body)
    assert unlabelled.raw == labelled.raw


def test_an_empty_unlabelled_stream_is_malformed(codec: GeminiCodec) -> None:
    decoder = codec.stream_decoder("")
    assert decoder.feed(b"  \n") == []
    with pytest.raises(MalformedResponseError, match="before any data"):
        decoder.close()
