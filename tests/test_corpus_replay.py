"""Every corpus cassette replayed through the real client (``harness.lm.LM``), sync and async.

Each cassette is one conversation: interaction n answers the n-th call made on one ``LM``
and one ``ReplayTransport``. Stream cassettes (SSE, AWS eventstream, Gemini
``streamGenerateContent``) go through ``stream``/``astream``, the others through
``__call__``/``acall``. Requests are not matched (the corpus was recorded by other
clients), responses are served in order, streamed 7 bytes at a time.

Every expectation in ``CASES`` was written by reading the recorded response bodies
(tests/corpus/recorded, decoded with ``harness.cassettes.load_cassette``), never from the
client's output. Normalization rules the table follows:

- ``text``: the answer text blocks/parts concatenated with nothing in between; thinking
  (Anthropic ``thinking``, Gemini ``thought: true`` parts) goes to ``reasoning`` instead.
  Nova's inline ``<thinking>`` tags are plain text as far as the API is concerned.
- ``tool_calls``: client-side function calls only, in order (Anthropic server tools such
  as code execution are not the client's to run). Gemini sends no call ids: any non-empty
  id is accepted there (``id=None`` in the table).
- ``finish_reason``: ``stop`` / ``length`` / ``tool_calls``; a Gemini ``STOP`` whose
  candidate contains a function call is ``tool_calls`` (as OpenAI, Anthropic and Bedrock
  report it).
- ``usage``: ``input_tokens`` counts every prompt token (cached ones included),
  ``output_tokens`` every generated token, reasoning included (OpenAI's
  ``completion_tokens`` already include ``reasoning_tokens``; Gemini reports
  ``thoughtsTokenCount`` apart from ``candidatesTokenCount``, so output = candidates +
  thoughts there). For streams, the last value the provider reported wins.
- ``model``: the model the provider says answered (OpenAI/Anthropic ``model``, Gemini
  ``modelVersion``); Bedrock Converse bodies name no model, so it is the model id the
  recorded request asked for (``/model/{id}/converse``, URL-decoded).
- errors: the exception type (``x-amzn-ErrorType`` when present, else the HTTP status),
  the status, the provider, and the provider's own message contained in the exception's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from harness.cassettes import ReplayTransport
from harness.lm import LM
from harness.types import (
    BadRequestError,
    FinishReason,
    LLMError,
    Message,
    NotFoundError,
    Response,
    StreamEvent,
    ToolSpec,
    Usage,
)
from tests.corpus import cassette, cassette_files, refuse_network


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to resolve a name or open a connection fails the test."""
    refuse_network(monkeypatch)


# --- the expectation table's vocabulary ------------------------------------------------


@dataclass(frozen=True)
class Long:
    """A long text: its exact beginning and its length in characters."""

    prefix: str
    length: int


Text = str | Long


@dataclass(frozen=True)
class Call:
    """One expected tool call. ``id=None``: the provider sends none (any id accepted)."""

    id: str | None
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Ok:
    """The expected normalized ``Response`` of one interaction."""

    text: Text
    finish: FinishReason
    usage: Usage
    model: str
    tool_calls: tuple[Call, ...] = ()
    reasoning: Text = ""


@dataclass(frozen=True)
class Fails:
    """The expected error of one interaction."""

    error: type[LLMError]
    status: int
    message: str
    """The provider's own message, which the exception's message must contain."""


@dataclass(frozen=True)
class Case:
    file: str
    model: str
    turns: tuple[Ok | Fails, ...]
    stream: bool = False
    tools: tuple[str, ...] = ()
    """Names of the tools offered (as in the recorded request)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Extra ``LM`` options (Bedrock ``region``, ``api``)."""

    @property
    def provider(self) -> str:
        return self.model.split("/", 1)[0]


def U(input_tokens: int, output_tokens: int, *, cached: int = 0, reasoning: int = 0) -> Usage:
    return Usage(input_tokens, output_tokens, cached, reasoning)


EAST = {"region": "us-east-1"}

# Bedrock Converse bodies name no model: the expected model is the id the request asked for.
NOVA_US = "us.amazon.nova-micro-v1:0"
NOVA = "amazon.nova-micro-v1:0"
TITAN = "amazon.titan-text-lite-v1"
CLAUDE3 = "anthropic.claude-3-sonnet-20240229-v1:0"
SONNET45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
SONNET5 = "us.anthropic.claude-sonnet-5"


# --- the table: one entry per cassette, one Ok/Fails per interaction --------------------

# fmt: off
CASES: list[Case] = [
    # --------------------------------------------------------------------- openai
    Case("openai/chat_text_basic.yaml", "openai/gpt-4o-mini", (
        Ok("This is a test.", "stop", U(12, 5), "gpt-4o-mini-2024-07-18"),
    )),
    Case("openai/chat_text_max_completion_tokens.yaml", "openai/gpt-4o-mini", (
        Ok("Hello! How can I assist you today?", "stop", U(8, 9), "gpt-4o-mini-2024-07-18"),
    )),
    Case("openai/chat_text_o3_mini_reasoning_usage.yaml", "openai/o3-mini", (
        Ok("Hello there! How can I help you today?", "stop", U(7, 87, reasoning=64),
           "o3-mini-2025-01-31"),
    )),
    Case("openai/chat_parallel_tool_calls_then_results.yaml", "openai/gpt-4o-mini", (
        Ok("", "tool_calls", U(75, 51), "gpt-4o-mini-2024-07-18", (
            Call("call_JpNb8OiAkbIbHzDggfpdDHpi", "get_current_weather",
                 {"location": "Seattle, WA"}),
            Call("call_vaFQc3zK6hHTRZKXRI5Eo2cJ", "get_current_weather",
                 {"location": "San Francisco, CA"}),
        )),
        Ok("Today, the weather in Seattle is 50 degrees and raining, while in San Francisco, "
           "it's 70 degrees and sunny.", "stop", U(99, 25), "gpt-4o-mini-2024-07-18"),
    ), tools=("get_current_weather",)),
    Case("openai/chat_tool_call_roundtrip_4turns.yaml", "openai/gpt-4o", (
        Ok("", "tool_calls", U(48, 14), "gpt-4o-2024-08-06", (
            Call("call_J3ajtA7qivswzXp8A9sJ7foO", "get_weather", {"city": "Paris"}),
        )),
        Ok("The weather in Paris is currently sunny.", "stop", U(74, 9), "gpt-4o-2024-08-06"),
        Ok("OK", "stop", U(65, 1), "gpt-4o-2024-08-06"),
        Ok("OK", "stop", U(65, 1), "gpt-4o-2024-08-06"),
    ), tools=("get_weather",)),
    Case("openai/chat_stream_text.yaml", "openai/gpt-4", (
        Ok('"This is a test."', "stop", U(12, 5), "gpt-4-0613"),
    ), stream=True),
    Case("openai/chat_stream_parallel_tool_calls.yaml", "openai/gpt-4o-mini", (
        Ok("", "tool_calls", U(75, 51), "gpt-4o-mini-2024-07-18", (
            Call("call_fHCjJqt9Pysde6vcJcvbXGBx", "get_current_weather",
                 {"location": "Seattle, WA"}),
            Call("call_3J9foSw3CUb48lrqIXoTky6U", "get_current_weather",
                 {"location": "San Francisco, CA"}),
        )),
    ), stream=True, tools=("get_current_weather",)),
    Case("openai/chat_stream_tool_call_then_result.yaml", "openai/gpt-4o-mini", (
        Ok("", "tool_calls", U(53, 15), "gpt-4o-mini-2024-07-18", (
            Call("call_ZR5UUuTt3pf61kjwAJIYdVMj", "get_capital", {"country": "UK"}),
        )),
        Ok("The capital of the UK is London.", "stop", U(78, 9), "gpt-4o-mini-2024-07-18"),
    ), stream=True, tools=("get_capital",)),
    Case("openai/chat_error_404_model_not_found.yaml", "openai/this-model-does-not-exist", (
        Fails(NotFoundError, 404, "The model `this-model-does-not-exist` does not exist or you "
                                  "do not have access to it."),
    )),
    # ------------------------------------------------------------------ anthropic
    Case("anthropic/messages_text_raw_gzip.yaml", "anthropic/claude-3-opus-20240229", (
        Ok(Long("Sure, here's a joke about OpenTelemetry:\n\nWhy did the developer adopt "
                "OpenTelemetry?\nBecause they wanted to trace their steps and meter their "
                "progress!", 978),
           "stop", U(17, 220), "claude-3-opus-20240229"),
    )),
    Case("anthropic/messages_text_instructions.yaml", "anthropic/claude-3-opus-latest", (
        Ok("The capital of France is Paris.", "stop", U(20, 10), "claude-3-opus-20240229"),
    )),
    Case("anthropic/messages_tool_use_parallel_raw_gzip.yaml",
         "anthropic/claude-3-5-sonnet-20240620", (
        Ok("Certainly! I'd be happy to help you with both the current weather in New York and "
           "the current time there. Let's use the available tools to get this information "
           "for you.", "tool_calls", U(514, 152), "claude-3-5-sonnet-20240620", (
            Call("toolu_012r6TBCWjRHG71j6zruYyUL", "get_weather",
                 {"location": "New York, NY", "unit": "fahrenheit"}),
            Call("toolu_01SkeBKkLCNYWNuivqFerGDd", "get_time", {"timezone": "America/New_York"}),
        )),
    ), tools=("get_weather", "get_time")),
    Case("anthropic/messages_tool_use_then_result_3turns.yaml", "anthropic/claude-sonnet-4-5", (
        Ok("I'll help you find the capital city using the available tools.", "tool_calls",
           U(628, 50), "claude-sonnet-4-5-20250929", (
            Call("toolu_01Ttepb9joVoQFHP568v7UAL", "country_source", {}),
        )),
        Ok("", "tool_calls", U(691, 53), "claude-sonnet-4-5-20250929", (
            Call("toolu_011j5uC2Tg3TZJo3nmLtJ8Mm", "capital_lookup", {"country": "Japan"}),
        )),
        Ok("Capital: Tokyo", "stop", U(757, 6), "claude-sonnet-4-5-20250929"),
    ), tools=("country_source", "capital_lookup")),
    Case("anthropic/messages_tool_use_then_result_strict.yaml", "anthropic/claude-sonnet-4-5", (
        Ok("", "tool_calls", U(561, 54), "claude-sonnet-4-5-20250929", (
            Call("toolu_01DeBjbbqmpp3RkK5ANyNZ8o", "get_weather", {"city": "San Francisco"}),
        )),
        Ok("The weather in San Francisco is currently sunny with a temperature of 22\u00b0C "
           "(approximately 72\u00b0F).", "stop", U(640, 26), "claude-sonnet-4-5-20250929"),
    ), tools=("get_weather",)),
    Case("anthropic/messages_stream_text_raw.yaml", "anthropic/claude-3-haiku-20240307", (
        Ok(Long("Here's an OpenTelemetry-themed joke for you:\n\nWhy did the developer feel so "
                "lost when using OpenTelemetry?\nThey were in a Span of Confusion!", 689),
           "stop", U(17, 171), "claude-3-haiku-20240307"),
    ), stream=True),
    # blocks: thinking, text, server_tool_use (bash), its result, text
    Case("anthropic/messages_stream_server_tool_use_code_execution.yaml",
         "anthropic/claude-sonnet-4-6", (
        Ok(Long("I'll calculate that expression for you right away!Following the standard "
                "**order of operations (PEMDAS/BODMAS)**", 50 + 451),
           "stop", U(4714, 304), "claude-sonnet-4-6",
           reasoning="Let me calculate this mathematical expression."),
    ), stream=True),
    Case("anthropic/messages_stream_thinking.yaml", "anthropic/claude-sonnet-4-0", (
        Ok(Long("Here are the basic steps for safely crossing the street:\n\n**At intersections "
                "with traffic lights:**\n- Wait for the pedestrian \"Walk\" signal", 1021),
           "stop", U(43, 282), "claude-sonnet-4-20250514",
           reasoning="This is a straightforward question about pedestrian safety. I should "
                     "provide clear, helpful advice about how to safely cross a street. This "
                     "is basic safety information that could help prevent accidents."),
    ), stream=True),
    Case("anthropic/messages_error_400_invalid_request.yaml", "anthropic/claude-opus-4-6", (
        Fails(BadRequestError, 400, "This model does not support effort level 'xhigh'. "
                                    "Supported levels: high, low, max, medium."),
    )),
    # --------------------------------------------------------------------- gemini
    Case("gemini/generate_text_instructions.yaml", "gemini/gemini-2.0-flash", (
        Ok("The capital of France is Paris.\n", "stop", U(13, 8), "gemini-2.0-flash"),
    )),
    Case("gemini/generate_text_raw_gzip.yaml", "gemini/gemini-2.5-flash", (
        Ok(Long("AI stands for **Artificial Intelligence**.\n\nAt its core, AI is a field of "
                "computer science focused on creating machines", 4037),
           "stop", U(5, 877 + 1058, reasoning=1058), "gemini-2.5-flash"),
    )),
    Case("gemini/generate_function_call_then_result.yaml", "gemini/gemini-2.0-flash", (
        Ok("", "tool_calls", U(33, 5), "gemini-2.0-flash", (
            Call(None, "get_user_country", {}),
        )),
        Ok("", "tool_calls", U(47, 8), "gemini-2.0-flash", (
            Call(None, "final_result", {"city": "Mexico City", "country": "Mexico"}),
        )),
    ), tools=("get_user_country", "final_result")),
    Case("gemini/generate_function_call_no_args.yaml", "gemini/gemini-2.0-flash", (
        Ok("", "tool_calls", U(21, 1), "gemini-2.0-flash", (Call(None, "bar", {}),)),
        Ok("", "tool_calls", U(27, 5), "gemini-2.0-flash", (
            Call(None, "final_result", {"bar": "hello"}),
        )),
    ), tools=("bar", "final_result")),
    # one JSON array streamed as application/json (no alt=sse)
    Case("gemini/stream_json_array_text.yaml", "gemini/gemini-flash-latest", (
        Ok("Scoop", "stop", U(11, 2 + 291, reasoning=291), "gemini-3.6-flash",
           reasoning="**Considering the Constraint**\n\nI'm focusing intently on the \"just "
                     "the name\" constraint. It demands a single, direct name; no fluff, no "
                     "preliminaries. I'm actively suppressing any inclination to offer "
                     "multiple options or explain my reasoning. This constraint is "
                     "paramount.\n\n\n"),
    ), stream=True),
    Case("gemini/stream_json_array_tools_3turns.yaml", "gemini/gemini-2.5-flash", (
        Ok("", "tool_calls", U(32, 12 + 42, reasoning=42), "gemini-2.5-flash", (
            Call(None, "pelican_name_generator", {}),
        ), reasoning="**Generating Pelican Names**\n\nOkay, I'm thinking I should use the "
                     "`pelican_name_generator` tool to address the user's request. It seems "
                     "straightforward: call it twice to get two different names for the pet "
                     "pelican. It's a quick plan.\n\n\n"),
        Ok("", "tool_calls", U(105, 13), "gemini-2.5-flash", (
            Call(None, "pelican_name_generator", {}),
        )),
        Ok("How about Charles and Sammy?", "stop", U(137, 6), "gemini-2.5-flash"),
    ), stream=True, tools=("pelican_name_generator",)),
    Case("gemini/stream_sse_text.yaml", "gemini/gemini-2.0-flash-exp", (
        Ok("The capital of France is Paris.\n", "stop", U(13, 8), "gemini-2.0-flash-exp"),
    ), stream=True),
    Case("gemini/stream_sse_function_call_thought_signature.yaml", "gemini/gemini-3-pro-preview", (
        Ok("", "tool_calls", U(29, 10 + 202, reasoning=202), "gemini-3-pro-preview", (
            Call(None, "get_country", {}),
        )),
        Ok("The capital of Mexico is Mexico City.", "stop", U(257, 8), "gemini-3-pro-preview"),
    ), stream=True, tools=("get_country",)),
    Case("gemini/error_404_model_not_found.yaml", "gemini/gemini-3.6-flahs", (
        Fails(NotFoundError, 404, "models/gemini-3.6-flahs is not found for API version "
                                  "v1beta, or is not supported for generateContent."),
    )),
    # -------------------------------------------------------------------- bedrock
    Case("bedrock/converse_text_titan.yaml", f"bedrock/{TITAN}", (
        Ok("Hi, how can I help you", "length", U(8, 10), TITAN),
    ), options=EAST),
    Case("bedrock/converse_text_nova.yaml", f"bedrock/{NOVA_US}", (
        Ok("Hello! How can I assist you today? Whether you have questions, need information, "
           "or just want to chat, I'm here to help.", "stop", U(7, 30), NOVA_US),
    ), options=EAST),
    Case("bedrock/converse_tool_use_then_result_nova.yaml", f"bedrock/{NOVA}", (
        Ok("<thinking> To provide the weather information for both Seattle and San Francisco, "
           "I will use the `get_current_weather` tool for each city. I will start with Seattle "
           "and then proceed with San Francisco.</thinking>\n", "tool_calls", U(415, 190), NOVA, (
            Call("tooluse_tggNKJbGSrm48inRqf3Rvw", "get_current_weather", {"location": "Seattle"}),
            Call("tooluse_bRV9WIcFSxyrLY6-MVkZRA", "get_current_weather",
                 {"location": "San Francisco"}),
        )),
        Ok("<thinking> I have received the weather information for both cities. Now I will "
           "compile this information and present it to the User.</thinking>\n\nThe current "
           "weather in Seattle is 50 degrees and it's raining. In San Francisco, it's 70 "
           "degrees and sunny today.", "stop", U(553, 59), NOVA),
    ), tools=("get_current_weather",), options=EAST),
    # Nova sends no contentBlockStart for its text block
    Case("bedrock/converse_stream_text_nova.yaml", f"bedrock/{NOVA_US}", (
        Ok(Long("The capital of France is Paris. Paris is not only the capital city but also the "
                "most populous city in France", 375), "stop", U(13, 82), NOVA_US),
    ), stream=True, options=EAST),
    Case("bedrock/converse_stream_tool_use_claude3.yaml", f"bedrock/{CLAUDE3}", (
        Ok("Okay, let me check the weather for Barcelona using the available tool:",
           "tool_calls", U(236, 58), CLAUDE3, (
            Call("tooluse_yypYDr71TwCwByoyao4-Vg", "get_weather", {"location": "Barcelona"}),
        )),
    ), stream=True, tools=("get_weather",), options=EAST),
    Case("bedrock/converse_stream_tool_use_then_result.yaml", f"bedrock/{NOVA_US}", (
        Ok("<thinking> To find the temperature of the capital of France, I need to first "
           "determine the capital of France and then get the current temperature in that city. "
           "The capital of France is Paris. I will use the \"get_temperature\" tool to find the "
           "current temperature in Paris.</thinking>\n", "tool_calls", U(471, 91), NOVA_US, (
            Call("tooluse_lAG_zP8QRHmSYOwZzzaCqA", "get_temperature", {"city": "Paris"}),
        )),
        Ok("The current temperature in Paris, the capital of France, is 30\u00b0C.", "stop",
           U(577, 18), NOVA_US),
    ), stream=True, tools=("get_capital", "get_temperature"), options=EAST),
    Case("bedrock/invoke_anthropic_tool_use_then_result.yaml",
         "bedrock/us.anthropic.claude-3-5-sonnet-20240620-v1:0", (
        Ok("Certainly! I'll check the current weather for both Seattle and San Francisco using "
           "the available tool. I'll make two separate calls to the get_current_weather "
           "function, one for each city.", "tool_calls", U(392, 135),
           "claude-3-5-sonnet-20240620", (
            Call("toolu_bdrk_01Y5MJKoHE4VJ5ZrhcVfM1gP", "get_current_weather",
                 {"location": "Seattle"}),
            Call("toolu_bdrk_014yQPSMntXHRmzGYxCbmBHE", "get_current_weather",
                 {"location": "San Francisco"}),
        )),
        Ok(Long("Based on the results from our weather tool, here's the current weather for "
                "Seattle and San Francisco:\n\n1. Seattle: The current weather in Seattle is 50 "
                "degrees and raining.", 656),
           "stop", U(604, 146), "claude-3-5-sonnet-20240620"),
    ), tools=("get_current_weather",), options={**EAST, "api": "invoke"}),
    Case("bedrock/invoke_stream_anthropic_text.yaml",
         f"bedrock/{CLAUDE3}", (
        Ok("Why did the distributed tracing span cross the road? To get to the other service!",
           "stop", U(16, 21), "claude-3-sonnet-20240229"),
    ), stream=True, options={**EAST, "api": "invoke"}),
    Case("bedrock/converse_error_400_invalid_model.yaml", "bedrock/does-not-exist", (
        Fails(BadRequestError, 400, "The provided model identifier is invalid."),
    ), options=EAST),
    # pydantic-ai stripped x-amzn-ErrorType: the error type comes from the status
    Case("bedrock/converse_tool_use_then_error_400.yaml",
         f"bedrock/{SONNET45}", (
        Ok("I'll retrieve the file for you now.", "tool_calls", U(558, 46), SONNET45, (
            Call("tooluse_uiSZBrnqkDXebgTnW0ybmm", "get_file", {}),
        )),
        Fails(BadRequestError, 400,
              "This model doesn't support the s3Uri field. Remove s3Uri and try again."),
    ), tools=("get_file",), options=EAST),
    # langchain-aws: gzip YAML, requests/responses lists, content-type redacted
    Case("bedrock/agent_loop_converse_tool_use_then_result.yaml.gz",
         f"bedrock/{SONNET5}", (
        Ok("", "tool_calls", U(446, 55), SONNET5, (
            Call("tooluse_hi2yncmb3TRabw7kPLFJX3", "get_weather",
                 {"location": "San Francisco, CA"}),
        )),
        Ok("The weather in San Francisco, CA is currently sunny! \u2600\ufe0f", "stop",
           U(512, 25), SONNET5),
    ), tools=("get_weather",), options={"region": "us-west-2"}),
]
# fmt: on


BY_FILE = {case.file: case for case in CASES}
STREAM_CASES = [case for case in CASES if case.stream]


# --- running a cassette ---------------------------------------------------------------

Outcome = Response | LLMError


@dataclass
class Run:
    outcomes: list[Outcome]
    events: list[list[StreamEvent]]
    transport: ReplayTransport


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake, complete AWS credentials; no profile, config file or instance metadata."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)


def make_lm(case: Case, transport: ReplayTransport) -> LM:
    options = dict(case.options)
    if case.provider != "bedrock":
        options["api_key"] = "test-key"
    return LM(case.model, transport=transport, max_retries=0, **options)


def tool_specs(case: Case) -> list[ToolSpec]:
    return [
        ToolSpec(name, f"The {name} tool.", {"type": "object", "properties": {}})
        for name in case.tools
    ]


def next_prompt(messages: list[Message], response: Response) -> list[Message]:
    """Continue the conversation: the assistant turn, then tool results or a user turn."""
    follow: list[Message] = [response.message()]
    if response.tool_calls:
        follow += [Message.tool(call, f"result of {call.name}") for call in response.tool_calls]
    else:
        follow.append(Message.user("Thanks. Once more, please."))
    return [*messages, *follow]


def transport_for(case: Case, chunk_size: int) -> ReplayTransport:
    interactions = cassette(case.file)
    return ReplayTransport(interactions, name=case.file, chunk_size=chunk_size)


def replay_sync(case: Case, chunk_size: int = 7) -> Run:
    transport = transport_for(case, chunk_size)
    lm = make_lm(case, transport)
    run = Run([], [], transport)
    messages = [Message.user("Hello, please answer.")]
    for _ in case.turns:
        try:
            if case.stream:
                stream = lm.stream(messages, tools=tool_specs(case))
                run.events.append(list(stream))
                response = stream.response
            else:
                response = lm(messages, tools=tool_specs(case))
        except LLMError as exc:
            run.outcomes.append(exc)
            break
        run.outcomes.append(response)
        messages = next_prompt(messages, response)
    return run


async def replay_async(case: Case, chunk_size: int = 7) -> Run:
    transport = transport_for(case, chunk_size)
    lm = make_lm(case, transport)
    run = Run([], [], transport)
    messages = [Message.user("Hello, please answer.")]
    for _ in case.turns:
        try:
            if case.stream:
                astream = lm.astream(messages, tools=tool_specs(case))
                run.events.append([event async for event in astream])
                response = astream.response
            else:
                response = await lm.acall(messages, tools=tool_specs(case))
        except LLMError as exc:
            run.outcomes.append(exc)
            break
        run.outcomes.append(response)
        messages = next_prompt(messages, response)
    return run


# --- checking ---------------------------------------------------------------------------


def _text(expected: Text, got: str) -> Any:
    if isinstance(expected, Long):
        return {"prefix": got[: len(expected.prefix)], "length": len(got)}
    return got


def _wanted_text(expected: Text) -> Any:
    if isinstance(expected, Long):
        return {"prefix": expected.prefix, "length": expected.length}
    return expected


def _summary(expected: Ok, got: Response) -> dict[str, Any]:
    """The parts of ``got`` the table pins down, shaped like the expectation."""
    calls = []
    for index, call in enumerate(got.tool_calls):
        wanted_id = expected.tool_calls[index].id if index < len(expected.tool_calls) else ""
        any_id = wanted_id is None and isinstance(call.id, str) and call.id != ""
        calls.append((None if any_id else call.id, call.name, call.arguments))
    return {
        "text": _text(expected.text, got.text),
        "tool_calls": calls,
        "finish_reason": got.finish_reason,
        "usage": got.usage,
        "model": got.model,
        "reasoning": _text(expected.reasoning, got.reasoning),
    }


def _wanted(expected: Ok) -> dict[str, Any]:
    return {
        "text": _wanted_text(expected.text),
        "tool_calls": [(c.id, c.name, c.arguments) for c in expected.tool_calls],
        "finish_reason": expected.finish,
        "usage": expected.usage,
        "model": expected.model,
        "reasoning": _wanted_text(expected.reasoning),
    }


def check(case: Case, run: Run) -> None:
    recorded = run.transport.interactions
    served = run.transport.requests
    assert len(run.outcomes) == len(case.turns), (
        f"{case.file}: {len(run.outcomes)} calls made, {len(case.turns)} expected "
        f"(last outcome: {run.outcomes[-1]!r})"
    )
    for number, (expected, got) in enumerate(zip(case.turns, run.outcomes, strict=True), start=1):
        where = f"{case.file} interaction {number}"
        host = urlsplit(recorded[number - 1].request.uri).hostname
        assert (served[number - 1].method, served[number - 1].url.host) == ("POST", host), where
        if isinstance(expected, Fails):
            assert isinstance(got, expected.error), f"{where}: expected {expected}, got {got!r}"
            assert (got.provider, got.status) == (case.provider, expected.status), where
            assert expected.message in got.provider_message, where
            assert expected.message in str(got), where
        else:
            assert isinstance(got, Response), f"{where}: expected a Response, got {got!r}"
            assert _summary(expected, got) == _wanted(expected), where
            assert all(isinstance(call.id, str) and call.id for call in got.tool_calls), where
    assert run.transport.unplayed == [], f"{case.file}: interactions left unplayed"
    if case.stream:
        assert all(run.events), f"{case.file}: a stream yielded no events"


def ids(case: Case) -> str:
    return case.file


# --- tests ------------------------------------------------------------------------------


def test_the_table_covers_every_corpus_cassette() -> None:
    on_disk = cassette_files()
    assert set(BY_FILE) == on_disk
    assert len(CASES) == len(BY_FILE) == 38
    for case in CASES:
        interactions = cassette(case.file)
        assert len(case.turns) == len(interactions), case.file
        if case.provider == "bedrock":  # the LM asks for the model the recording asked for
            path = unquote(urlsplit(interactions[0].request.uri).path)
            assert path.split("/")[2] == case.model.split("/", 1)[1], case.file


def test_stream_cases_are_the_streamed_recordings() -> None:
    for case in CASES:
        first = cassette(case.file)[0]
        content_type = first.response.headers["content-type"]
        streamed = ":streamGenerateContent" in first.request.uri or content_type.startswith(
            ("text/event-stream", "application/vnd.amazon.eventstream")
        )
        assert case.stream == streamed, case.file


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_replay_sync(case: Case) -> None:
    check(case, replay_sync(case))


@pytest.mark.parametrize("case", CASES, ids=ids)
async def test_replay_async(case: Case) -> None:
    check(case, await replay_async(case))


@pytest.mark.parametrize("case", CASES, ids=ids)
async def test_sync_and_async_agree(case: Case) -> None:
    sync, async_ = replay_sync(case), await replay_async(case)
    assert sync.outcomes == async_.outcomes
    assert [type(o) for o in sync.outcomes] == [type(o) for o in async_.outcomes]
    assert sync.events == async_.events
    assert [r.content for r in sync.transport.requests] == [
        r.content for r in async_.transport.requests
    ]


@pytest.mark.parametrize("case", STREAM_CASES, ids=ids)
async def test_stream_result_does_not_depend_on_chunking(case: Case) -> None:
    """Byte-at-a-time and whole-body delivery give the same normalized results."""
    check(case, replay_sync(case, chunk_size=1))
    check(case, await replay_async(case, chunk_size=1 << 20))


def test_raw_body_is_kept_for_non_streamed_responses() -> None:
    case = BY_FILE["openai/chat_text_basic.yaml"]
    [response] = replay_sync(case).outcomes
    assert isinstance(response, Response)
    assert response.raw == json.loads(cassette(case.file)[0].response.body)
