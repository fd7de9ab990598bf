"""The anthropic-sdk adapter: translation of requests, results, stream events, errors and
the SDK's tool runner.

Runs against the real ``anthropic`` SDK pointed at the project's emulator over loopback
(the adapter's ``base_url`` feature); every test that needs the SDK skips when it is not
installed (the project's default test run does not install it). The last test runs the
conformance suite itself for the adapter on a small selection.
"""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.adapters.anthropic_sdk import (
    AnthropicSDKAdapter,
    EventTranslator,
    finish_reason,
    request,
    response,
    tool_results,
)
from harness.adapters.base import FEATURES, Target
from harness.adapters.sdk_support import sdk_error
from harness.emulator import Emulator, Fault, Reply, Step, client_options, serve
from harness.lm import LM
from harness.providers.anthropic import ERROR_TYPES, encode_messages
from harness.types import (
    APIConnectionError,
    Finish,
    Message,
    ModelName,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ReasoningDelta,
    ServerError,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
    UsageUpdate,
)

ROOT = Path(__file__).resolve().parent.parent
MODEL = "claude-sonnet-4-5"
ASK = (Message.user("Say hello."),)
WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture
def sdk() -> Any:
    return pytest.importorskip("anthropic")


class Served:
    """An emulator on loopback, and connections to it through the adapter."""

    def __init__(self, adapter: AnthropicSDKAdapter, base_url: str, emulator: Emulator) -> None:
        self.adapter, self.base_url, self.emulator = adapter, base_url, emulator

    def connect(self, **options: Any) -> Any:
        return self.adapter.connect(
            Target("anthropic", MODEL, api_key="sk-ant-test", base_url=self.base_url, **options)
        )

    def sent(self, index: int = 0) -> Any:
        return self.emulator.requests[index].json()


@pytest.fixture
def adapter(sdk: Any) -> AnthropicSDKAdapter:
    return AnthropicSDKAdapter()


@pytest.fixture
def served(sdk: Any, adapter: AnthropicSDKAdapter) -> Iterator[Any]:
    """``served(steps)`` -> a ``Served`` for a fresh emulator answering ``steps``."""
    with ExitStack() as servers:

        def start(steps: Sequence[Step]) -> Served:
            emulator = Emulator(steps)
            return Served(adapter, servers.enter_context(serve(emulator)), emulator)

        yield start


def reference(base_url: str, messages: Sequence[Message], **params: Any) -> Any:
    """The reference client's answer from the same kind of emulator script."""
    options: dict[str, Any] = dict(client_options("anthropic", base_url))
    lm = LM(f"anthropic/{MODEL}", api_key="sk-ant-test", **options)
    try:
        return lm(messages, **params)
    finally:
        lm.close()


# --- features, imports -----------------------------------------------------------------


def test_features_are_declared_for_anthropic_only(adapter: AnthropicSDKAdapter) -> None:
    supported = {f for f in FEATURES if adapter.supports(f, "anthropic")}
    assert supported == {
        "call",
        "acall",
        "stream",
        "astream",
        "chain",
        "achain",
        "tool_choice",
        "error_body",
        "describes_failures",
        "reasoning",
        "base_url",
        "history",
        "tool_calls",
        "finish_reason",
        "max_turns",
        "timeout",
        "max_retries",
    }
    assert not any(adapter.supports(f, "openai") for f in FEATURES)
    assert adapter.name == "anthropic-sdk" and adapter.library == "anthropic"


def test_without_the_sdk_the_adapter_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "anthropic" else real(name, *a),
    )
    with pytest.raises(ImportError, match=r"pip install 'llm-parity\[anthropic-sdk\]'"):
        AnthropicSDKAdapter()


def test_the_module_does_not_import_the_sdk() -> None:
    code = "import sys, harness.adapters.anthropic_sdk; print('anthropic' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("sdk_reason", "expected"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "other"),
        (None, None),
    ],
)
def test_finish_reasons(sdk_reason: str | None, expected: str | None) -> None:
    assert finish_reason(sdk_reason) == expected


# --- translation, without the SDK (stand-ins with the SDK objects' attributes) --------


def ns(**fields: Any) -> SimpleNamespace:
    return SimpleNamespace(**fields)


def test_messages_become_the_sdks_turns() -> None:
    calls = (ToolCall("toolu_0", "get_weather", {"city": "Paris"}), ToolCall("toolu_1", "x"))
    system, turns = encode_messages(
        (
            Message.system("Be brief."),
            Message.system("Answer in French."),
            *ASK,
            Message.assistant("Checking.", calls),
            Message.tool(calls[0], "Sunny"),
            Message.tool(calls[1], "boom", is_error=True),
        )
    )
    assert system == "Be brief.\n\nAnswer in French."
    assert [turn["role"] for turn in turns] == ["user", "assistant", "user"]
    assert [b["type"] for b in turns[1]["content"]] == ["text", "tool_use", "tool_use"]
    assert turns[2]["content"][1] == {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": "boom",
        "is_error": True,
    }
    client: Any = ns(target=Target("anthropic", MODEL))
    assert request(client, ASK, {})["max_tokens"] == 1024
    kwargs = request(client, ASK, {"tools": [WEATHER], "tool_choice": "none", "top_p": 0.5})
    assert kwargs["tool_choice"] == {"type": "none"} and kwargs["extra_body"] == {"top_p": 0.5}
    assert "system" not in kwargs


def test_a_message_becomes_a_response() -> None:
    message = ns(
        content=[
            ns(type="thinking", thinking="Hmm."),
            ns(type="text", text="Let me check."),
            ns(type="tool_use", id="toolu_0", name="get_weather", input={"city": "Oslo"}),
            ns(type="tool_use", id="toolu_1", name="odd", input=[1]),
            ns(type="server_tool_use", id="srvtoolu_0", name="web_search", input={}),
        ],
        stop_reason="tool_use",
        usage=ns(
            input_tokens=10,
            output_tokens=9,
            cache_read_input_tokens=1024,
            cache_creation_input_tokens=6,
        ),
        model=MODEL,
    )
    got = response(message)
    assert (got.text, got.reasoning, got.finish_reason) == ("Let me check.", "Hmm.", "tool_calls")
    assert got.tool_calls == (
        ToolCall("toolu_0", "get_weather", {"city": "Oslo"}),
        ToolCall("toolu_1", "odd", {}),
    )
    assert got.tool_calls[1].arguments_json == "[1]"
    assert got.usage == Usage(1040, 9, cached_tokens=1024)


def test_raw_events_become_stream_events() -> None:
    translator = EventTranslator()
    start_usage = ns(input_tokens=12, output_tokens=1, cache_read_input_tokens=None)
    for event in (
        ns(type="message_start", message=ns(model=MODEL, usage=start_usage)),
        ns(type="content_block_start", index=0, content_block=ns(type="thinking", thinking="")),
        ns(type="content_block_delta", index=0, delta=ns(type="thinking_delta", thinking="Hm")),
        ns(type="content_block_delta", index=0, delta=ns(type="signature_delta")),
        ns(type="content_block_start", index=1, content_block=ns(type="text", text="Hi")),
        ns(type="text", text="Hi", snapshot="Hi"),  # the helper's own event: skipped
        ns(type="content_block_delta", index=1, delta=ns(type="text_delta", text="!")),
        ns(
            type="content_block_start",
            index=2,
            content_block=ns(type="tool_use", id="toolu_0", name="get_weather", input={}),
        ),
        ns(
            type="content_block_delta",
            index=2,
            delta=ns(type="input_json_delta", partial_json='{"city": "Oslo"}'),
        ),
        ns(type="content_block_stop", index=2),
        ns(type="message_delta", delta=ns(stop_reason="tool_use"), usage=ns(output_tokens=9)),
        ns(type="message_stop"),
    ):
        translator.add(event)
    assert translator.events == [
        ModelName(MODEL),
        UsageUpdate(Usage(12, 1)),
        ReasoningDelta("Hm"),
        TextDelta("Hi"),
        TextDelta("!"),
        ToolCallDelta(0, "toolu_0", "get_weather", ""),
        ToolCallDelta(0, None, None, '{"city": "Oslo"}'),
        Finish("tool_calls"),
        UsageUpdate(Usage(output_tokens=9)),
    ]


def test_the_runners_tool_results_become_messages() -> None:
    message = ns(content=[ns(type="tool_use", id="toolu_0", name="lookup")])
    reply = {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_0",
                "content": [{"type": "text", "text": "a"}],
            },
            {"type": "tool_result", "tool_use_id": "toolu_9", "content": None, "is_error": True},
        ],
    }
    assert tool_results(message, reply) == [
        Message("tool", "a", tool_call_id="toolu_0", name="lookup"),
        Message("tool", "", tool_call_id="toolu_9", is_error=True),
    ]
    assert tool_results(message, None) == []


def test_error_types_decide_the_class() -> None:
    class SDKError(Exception):
        def __init__(self, message: str, body: Any = None) -> None:
            super().__init__(message)
            self.message, self.body = message, body

    class SDKStatusError(SDKError):
        def __init__(self, status: int, body: Any) -> None:
            super().__init__(f"Error code: {status}", body)
            self.status_code = status
            self.response = ns(headers={"retry-after": "4"}, text="")

    sdk: Any = ns(
        APIError=SDKError,
        APIStatusError=SDKStatusError,
        APIConnectionError=type("SDKConnectionError", (SDKError,), {}),
        APITimeoutError=type("SDKTimeoutError", (SDKError,), {}),
    )
    billing = {"type": "error", "error": {"type": "billing_error", "message": "no credit"}}
    error = sdk_error(SDKStatusError(402, billing), sdk, "anthropic", ERROR_TYPES)
    assert isinstance(error, PermissionDeniedError) and error.status == 402
    limited = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}}
    error = sdk_error(SDKStatusError(429, limited), sdk, "anthropic", ERROR_TYPES)
    assert isinstance(error, RateLimitError) and error.retry_after == 4.0
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    error = sdk_error(SDKStatusError(200, overloaded), sdk, "anthropic", ERROR_TYPES)
    assert isinstance(error, ServerError) and (error.status, error.provider_message) == (
        None,
        "busy",
    )


# --- results ---------------------------------------------------------------------------


def test_a_call_equals_the_reference_clients(served: Any, adapter: AnthropicSDKAdapter) -> None:
    reply = Reply("51", reasoning="17 * 3 = 51.", usage=Usage(1200, 8, cached_tokens=1024))
    server = served([reply, reply])
    got = adapter.call(server.connect(), ASK, {})
    assert got == reference(server.base_url, ASK)
    assert (got.text, got.reasoning, got.finish_reason) == ("51", "17 * 3 = 51.", "stop")
    assert got.usage == Usage(1200, 8, cached_tokens=1024)  # the whole prompt, cache included


def test_the_request_in_the_sdks_terms(served: Any, adapter: AnthropicSDKAdapter) -> None:
    server = served([Reply("1, 2, 3")])
    messages = (Message.system("Be brief."), Message.user("Count to ten."))
    params = {"temperature": 0.2, "top_p": 0.9, "max_tokens": 64, "stop": ["4"]}
    adapter.call(server.connect(), messages, params)
    sent = server.sent()
    assert (sent["system"], sent["max_tokens"], sent["stop_sequences"]) == ("Be brief.", 64, ["4"])
    assert (sent["temperature"], sent["top_p"]) == (0.2, 0.9)  # through extra_body


def test_tool_calls_and_tool_choice(served: Any, adapter: AnthropicSDKAdapter) -> None:
    calls = (ToolCall("toolu_0", "get_weather", {"city": "Paris"}), ToolCall("", "get_date"))
    server = served([Reply(tool_calls=calls), Reply("ok")])
    got = adapter.call(server.connect(), ASK, {"tools": [WEATHER], "tool_choice": "required"})
    assert got.finish_reason == "tool_calls"
    assert [(c.name, c.arguments) for c in got.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_date", {}),
    ]
    sent = server.sent()
    assert sent["tool_choice"] == {"type": "any"}
    assert sent["tools"] == [
        {
            "name": "get_weather",
            "description": WEATHER.description,
            "input_schema": WEATHER.parameters,
        }
    ]
    history = (*ASK, got.message(), *(Message.tool(c, "done") for c in got.tool_calls))
    adapter.call(server.connect(), history, {"tools": [WEATHER], "tool_choice": "get_weather"})
    turns = server.sent(1)["messages"]
    assert [turn["role"] for turn in turns] == ["user", "assistant", "user"]
    assert [block["type"] for block in turns[2]["content"]] == ["tool_result", "tool_result"]
    assert server.sent(1)["tool_choice"] == {"type": "tool", "name": "get_weather"}


def test_stream_events_and_the_final_response(served: Any, adapter: AnthropicSDKAdapter) -> None:
    calls = (ToolCall("toolu_0", "get_weather", {"city": "Oslo"}),)
    reply = Reply("Let me check.", tool_calls=calls, reasoning="Oslo, then.", usage=Usage(20, 9))
    server = served([reply, reply])
    client = server.connect()
    result = adapter.stream(client, ASK, {"tools": [WEATHER]})
    assert result.response == adapter.call(client, ASK, {"tools": [WEATHER]})
    events = result.events
    assert isinstance(events[0], ModelName) and isinstance(events[1], UsageUpdate)
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Oslo, then."
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Let me check."
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert (deltas[0].index, deltas[0].id, deltas[0].name) == (0, "toolu_0", "get_weather")
    assert Finish("tool_calls") in events and events[-1] == UsageUpdate(Usage(output_tokens=9))
    assert server.sent()["stream"] is True


def test_async_call_and_stream_equal_sync(served: Any, adapter: AnthropicSDKAdapter) -> None:
    server = served([Reply("Hi there.")] * 4)
    client = server.connect()
    assert asyncio.run(adapter.acall(client, ASK, {})) == adapter.call(client, ASK, {})
    streamed = adapter.stream(client, ASK, {})
    assert asyncio.run(adapter.astream(client, ASK, {})) == streamed


# --- chains ----------------------------------------------------------------------------


def get_weather(city: str) -> str:
    """Current weather for a city.

    Args:
        city: The city name.
    """
    return f"Sunny in {city}, 21 C"


def broken_tool(query: str) -> str:
    """A tool that always fails.

    Args:
        query: Anything.
    """
    raise RuntimeError(f"backend unavailable for {query!r}")


async def get_time(city: str) -> str:
    """Local time in a city.

    Args:
        city: The city name.
    """
    return f"14:05 in {city}"


def test_the_sdks_tool_runner_runs_the_chain(served: Any, adapter: AnthropicSDKAdapter) -> None:
    asks = Reply(
        tool_calls=(
            ToolCall("", "broken_tool", {"query": "x"}),
            ToolCall("", "get_weather", {"city": "Paris"}),
        )
    )
    server = served([asks, Reply("Sunny in Paris.")])
    outcome = adapter.chain(server.connect(), ASK, (broken_tool, get_weather), {})
    assert outcome.response.text == "Sunny in Paris."
    results = [(m.name, m.is_error) for m in outcome.tool_results]
    assert results == [("broken_tool", True), ("get_weather", False)]
    assert outcome.tool_results[1].content == "Sunny in Paris, 21 C"
    assert "backend unavailable" in outcome.tool_results[0].content
    second = server.sent(1)
    assert "thread" not in second and len(second["messages"]) == 3  # the whole history
    schema = second["tools"][1]["input_schema"]
    assert schema["properties"]["city"]["description"] == "The city name."


def test_max_turns_is_the_runners_max_iterations(served: Any, adapter: AnthropicSDKAdapter) -> None:
    """The runner asks for max_iterations replies, then stops; it runs the last reply's
    tools all the same (docs/compat/anthropic-sdk.md), which the outcome reports."""
    asks = Reply(tool_calls=(ToolCall("", "get_weather", {"city": "Quito"}),))
    server = served([asks, Reply("Sunny.")])
    outcome = adapter.chain(server.connect(), ASK, (get_weather,), {"max_turns": 1})
    assert [call.name for call in outcome.response.tool_calls] == ["get_weather"]
    assert [m.content for m in outcome.tool_results] == ["Sunny in Quito, 21 C"]
    assert len(server.emulator.requests) == 1


def test_the_async_runner_with_async_tools(served: Any, adapter: AnthropicSDKAdapter) -> None:
    server = served([Reply(tool_calls=(ToolCall("", "get_time", {"city": "Oslo"}),)), Reply("ok")])
    outcome = asyncio.run(adapter.achain(server.connect(), ASK, (get_time,), {}))
    assert [m.content for m in outcome.tool_results] == ["14:05 in Oslo"]


def test_a_tool_of_the_other_flavour_is_refused_before_any_request(
    served: Any, adapter: AnthropicSDKAdapter
) -> None:
    """The SDK's runners take only their own flavour of tool (docs/compat/anthropic-sdk.md):
    the difference shows as the SDK's TypeError, never as a request."""
    server = served([Reply("unused")])
    with pytest.raises(TypeError, match="synchronous tool_runner"):
        adapter.chain(server.connect(), ASK, (get_time,), {})
    with pytest.raises(TypeError, match="asynchronous tool_runner"):
        asyncio.run(adapter.achain(server.connect(), ASK, (get_weather,), {}))
    assert server.emulator.requests == []


# --- errors ----------------------------------------------------------------------------


def test_a_rate_limit_carries_retry_after_and_the_providers_message(
    served: Any, adapter: AnthropicSDKAdapter
) -> None:
    server = served([Fault(429, "slow down", retry_after=3)])
    with pytest.raises(RateLimitError) as raised:
        adapter.call(server.connect(max_retries=0), ASK, {})
    error = raised.value
    assert (error.provider, error.status, error.provider_message) == ("anthropic", 429, "slow down")
    assert error.retry_after == 3.0


@pytest.mark.parametrize("mode", ["call", "acall", "stream", "astream"])
def test_errors_are_the_same_in_every_mode(
    served: Any, adapter: AnthropicSDKAdapter, mode: str
) -> None:
    server = served([Fault(404, "model not found")])
    client = server.connect(max_retries=0)
    with pytest.raises(NotFoundError) as raised:
        result = getattr(adapter, mode)(client, ASK, {})
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    assert raised.value.provider_message == "model not found"


def test_fast_retries_make_every_attempt_without_waiting(
    served: Any, adapter: AnthropicSDKAdapter
) -> None:
    server = served([Fault(529, "overloaded")] * 3)
    started = time.monotonic()
    with pytest.raises(ServerError) as raised:
        asyncio.run(adapter.acall(server.connect(max_retries=2), ASK, {}))
    assert raised.value.status == 529 and len(server.emulator.requests) == 3
    assert time.monotonic() - started < 0.4  # the SDK's own backoff sleeps 0.5 s and more


def test_an_error_event_inside_a_stream(sdk: Any) -> None:
    import httpx2

    request = httpx2.Request("POST", "https://api.anthropic.com/v1/messages")
    response = httpx2.Response(200, request=request)
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    exc = sdk.APIStatusError(str(body), response=response, body=body)
    error = sdk_error(exc, sdk, "anthropic", {"overloaded_error": ServerError})
    assert isinstance(error, ServerError) and error.provider_message == "Overloaded"


def test_a_connection_error(sdk: Any, adapter: AnthropicSDKAdapter) -> None:
    target = Target("anthropic", MODEL, api_key="k", base_url="http://127.0.0.1:9", max_retries=0)
    with pytest.raises(APIConnectionError):
        adapter.call(adapter.connect(target), ASK, {})


# --- the suite -------------------------------------------------------------------------


def test_the_suite_passes_a_selection(sdk: Any, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(ROOT / "conformance"),
            "--client=anthropic-sdk",
            "--provider=anthropic",
            f"--rootdir={ROOT}",
            "-p",
            "no:cacheprovider",
            "-q",
            "-k",
            "plain_text or reasoning_text or tool_choice_named or retry_after_5xx "
            "or chain_single_tool-sync or chain_failing_tool-sync",
            f"--parity-json={tmp_path / 'parity.json'}",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    tail = result.stdout[-3000:]
    assert result.returncode == 0, tail
    assert " passed" in tail and "failed" not in tail, tail
