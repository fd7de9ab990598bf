"""The openai-sdk adapter: translation of requests, results, stream events and errors.

Runs against the real ``openai`` SDK pointed at the project's emulator over loopback (the
adapter's ``base_url`` feature); every test that needs the SDK skips when it is not
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

from harness.adapters.base import FEATURES, Target
from harness.adapters.openai_sdk import (
    ChunkTranslator,
    OpenAISDKAdapter,
    finish_reason,
    request,
    response,
)
from harness.adapters.sdk_support import sdk_error
from harness.emulator import Emulator, Fault, Reply, Step, client_options, returned_model, serve
from harness.lm import LM
from harness.types import (
    APIConnectionError,
    BadRequestError,
    Finish,
    Message,
    ModelName,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
    UsageUpdate,
)

ROOT = Path(__file__).resolve().parent.parent
MODEL = "gpt-4o-mini"
ASK = (Message.user("Say hello."),)
WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture
def sdk() -> Any:
    return pytest.importorskip("openai")


@pytest.fixture
def adapter(sdk: Any) -> OpenAISDKAdapter:
    return OpenAISDKAdapter()


class Served:
    """An emulator on loopback, and connections to it through the adapter."""

    def __init__(self, adapter: OpenAISDKAdapter, base_url: str, emulator: Emulator) -> None:
        self.adapter, self.base_url, self.emulator = adapter, base_url, emulator

    def connect(self, **options: Any) -> Any:
        return self.adapter.connect(
            Target("openai", MODEL, api_key="sk-test", base_url=self.base_url, **options)
        )


@pytest.fixture
def served(sdk: Any, adapter: OpenAISDKAdapter) -> Iterator[Any]:
    """``served(steps)`` -> a ``Served`` for a fresh emulator answering ``steps``."""
    with ExitStack() as servers:

        def start(steps: Sequence[Step]) -> Served:
            emulator = Emulator(steps)
            return Served(adapter, servers.enter_context(serve(emulator)), emulator)

        yield start


def reference(base_url: str, messages: Sequence[Message], **params: Any) -> Any:
    """The reference client's answer from the same kind of emulator script."""
    options: dict[str, Any] = dict(client_options("openai", base_url))
    lm = LM(f"openai/{MODEL}", api_key="sk-test", **options)
    try:
        return lm(messages, **params)
    finally:
        lm.close()


# --- features, imports -----------------------------------------------------------------


def test_features_are_declared_for_openai_only(adapter: OpenAISDKAdapter) -> None:
    supported = {f for f in FEATURES if adapter.supports(f, "openai")}
    from harness.adapters.openai_sdk import on_httpx

    expected = {"call", "acall", "stream", "astream", "tool_choice", "base_url"}
    expected |= {"history", "tool_calls", "finish_reason", "error_body"}
    expected |= {"timeout", "max_retries", "organization"}
    assert supported == expected | ({"transport"} if on_httpx() else set())
    assert not any(adapter.supports(f, "anthropic") for f in FEATURES)
    assert adapter.name == "openai-sdk" and adapter.library == "openai"


def test_without_the_sdk_the_adapter_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "openai" else real(name, *a)
    )
    with pytest.raises(ImportError, match=r"pip install 'llm-parity\[openai-sdk\]'"):
        OpenAISDKAdapter()


def test_the_module_does_not_import_the_sdk() -> None:
    code = "import sys, harness.adapters.openai_sdk; print('openai' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("sdk_reason", "expected"),
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
def test_finish_reasons(sdk_reason: str | None, expected: str | None) -> None:
    assert finish_reason(sdk_reason) == expected


# --- translation, without the SDK (stand-ins with the SDK objects' attributes) --------


def ns(**fields: Any) -> SimpleNamespace:
    return SimpleNamespace(**fields)


def sdk_usage(prompt: int, completion: int, cached: int = 0, reasoning: int = 0) -> Any:
    return ns(
        prompt_tokens=prompt,
        completion_tokens=completion,
        prompt_tokens_details=ns(cached_tokens=cached),
        completion_tokens_details=ns(reasoning_tokens=reasoning),
    )


def function_call(call_id: str, name: str, arguments: str) -> Any:
    return ns(id=call_id, type="function", function=ns(name=name, arguments=arguments))


def test_request_keywords() -> None:
    client: Any = ns(target=Target("openai", MODEL))
    call = ToolCall("call_0", "get_weather", {"city": "Paris"})
    messages = (
        Message.system("Be brief."),
        *ASK,
        Message.assistant("", (call,)),
        Message.tool(call, "Sunny"),
    )
    params = {"temperature": 0.2, "top_p": 0.9, "max_tokens": 64, "stop": ["4"]}
    kwargs = request(client, messages, {**params, "tools": [WEATHER], "tool_choice": "required"})
    assert kwargs["model"] == MODEL and kwargs["max_completion_tokens"] == 64
    assert (kwargs["temperature"], kwargs["top_p"], kwargs["stop"]) == (0.2, 0.9, ["4"])
    assert kwargs["tool_choice"] == "required" and "stream" not in kwargs
    assert [m["role"] for m in kwargs["messages"]] == ["system", "user", "assistant", "tool"]
    assert kwargs["messages"][2]["content"] is None
    streamed = request(client, ASK, {}, stream=True)
    assert streamed["stream"] is True and streamed["stream_options"] == {"include_usage": True}


def test_a_completion_becomes_a_response() -> None:
    message = ns(
        content=None,
        refusal=None,
        tool_calls=[
            function_call("call_0", "get_weather", '{"city": "Paris"}'),
            function_call("call_1", "get_weather", '{"city": "Par'),
            ns(id="call_2", type="custom", custom=ns(name="grammar", input="x")),
        ],
    )
    completion = ns(
        choices=[ns(message=message, finish_reason="tool_calls")],
        usage=sdk_usage(20, 9, cached=4, reasoning=3),
        model=MODEL,
    )
    got = response(completion)
    assert got.tool_calls == (
        ToolCall("call_0", "get_weather", {"city": "Paris"}),
        ToolCall("call_1", "get_weather", {}),
    )
    assert got.tool_calls[1].arguments_json == '{"city": "Par'
    assert (got.text, got.finish_reason, got.model) == ("", "tool_calls", MODEL)
    assert got.usage == Usage(20, 9, cached_tokens=4, reasoning_tokens=3)
    refused = ns(content=None, refusal="I can't.", tool_calls=None)
    completion = ns(choices=[ns(message=refused, finish_reason="stop")], usage=None, model="")
    assert (response(completion).text, response(completion).usage) == ("I can't.", Usage())


class StandInState:
    """The SDK's accumulator, reduced to what the adapter uses."""

    def __init__(self) -> None:
        self.chunks: list[Any] = []
        self.current_completion_snapshot = ns(choices=[], usage=None, model=MODEL)

    def handle_chunk(self, chunk: Any) -> None:
        self.chunks.append(chunk)


def chunk(*choices: Any, usage: Any = None, model: str = MODEL) -> Any:
    return ns(model=model, choices=list(choices), usage=usage)


def choice(index: int = 0, finish: str | None = None, **delta: Any) -> Any:
    fields = {"content": None, "refusal": None, "tool_calls": None, **delta}
    return ns(index=index, delta=ns(**fields), finish_reason=finish)


def test_chunks_become_stream_events() -> None:
    state = StandInState()
    translator = ChunkTranslator(state)
    first_call = ns(index=0, id="call_0", function=ns(name="get_weather", arguments=""))
    more = ns(index=0, id=None, function=ns(name=None, arguments='{"city": "Oslo"}'))
    for piece in (
        chunk(choice(content="Let me")),
        chunk(choice(content=" check."), choice(index=1, content="ignored")),
        chunk(choice(tool_calls=[first_call])),
        chunk(choice(tool_calls=[more])),
        chunk(choice(finish="tool_calls")),
        chunk(usage=sdk_usage(20, 9)),
    ):
        translator.add(piece)
    assert translator.events == [
        ModelName(MODEL),
        TextDelta("Let me"),
        TextDelta(" check."),
        ToolCallDelta(0, "call_0", "get_weather", ""),
        ToolCallDelta(0, None, None, '{"city": "Oslo"}'),
        Finish("tool_calls"),
        UsageUpdate(Usage(20, 9)),
    ]
    assert len(state.chunks) == 6
    assert translator.result().response.model == MODEL


def test_sdk_errors_become_llm_errors() -> None:
    class SDKError(Exception):
        def __init__(self, message: str, body: Any = None) -> None:
            super().__init__(message)
            self.message, self.body = message, body

    class SDKStatusError(SDKError):
        def __init__(self, status: int, body: Any, headers: dict[str, str]) -> None:
            super().__init__(f"Error code: {status} - {body}", body)
            self.status_code = status
            self.response = ns(headers=headers, text="")

    class SDKConnectionError(SDKError):
        pass

    class SDKTimeoutError(SDKConnectionError):
        pass

    sdk: Any = ns(
        APIError=SDKError,
        APIStatusError=SDKStatusError,
        APIConnectionError=SDKConnectionError,
        APITimeoutError=SDKTimeoutError,
    )
    limited = sdk_error(
        SDKStatusError(429, {"message": "slow down"}, {"retry-after": "2"}), sdk, "openai"
    )
    assert isinstance(limited, RateLimitError) and limited.retry_after == 2.0
    assert (limited.status, limited.provider_message) == (429, "slow down")
    failed = sdk_error(SDKStatusError(503, "overloaded", {}), sdk, "openai")
    assert isinstance(failed, ServerError) and failed.provider_message == "overloaded"
    assert isinstance(sdk_error(SDKTimeoutError("slow"), sdk, "openai"), RequestTimeoutError)
    assert isinstance(sdk_error(SDKConnectionError("down"), sdk, "openai"), APIConnectionError)
    bad = sdk_error(SDKError("no", {"type": "invalid_request_error"}), sdk, "openai")
    assert isinstance(bad, BadRequestError)
    assert isinstance(sdk_error(SDKError("boom", None), sdk, "openai"), ServerError)
    assert sdk_error(KeyError("a bug"), sdk, "openai") is None


# --- results ---------------------------------------------------------------------------


def test_a_call_equals_the_reference_clients(served: Any, adapter: OpenAISDKAdapter) -> None:
    reply = Reply("Hello!", usage=Usage(1200, 8, cached_tokens=1024, reasoning_tokens=5))
    server = served([reply, reply])
    got = adapter.call(server.connect(), ASK, {})
    assert got == reference(server.base_url, ASK)
    assert (got.text, got.finish_reason, got.model) == (
        "Hello!",
        "stop",
        returned_model("openai", MODEL),  # the emulator answers with the dated snapshot
    )
    assert got.usage == Usage(1200, 8, cached_tokens=1024, reasoning_tokens=5)


def test_tool_calls_and_tool_choice(served: Any, adapter: OpenAISDKAdapter) -> None:
    calls = (ToolCall("call_0", "get_weather", {"city": "Paris"}), ToolCall("", "get_date"))
    server = served([Reply(tool_calls=calls)])
    params = {"tools": [WEATHER], "tool_choice": "get_weather", "max_tokens": 50}
    got = adapter.call(server.connect(), ASK, params)
    assert got.finish_reason == "tool_calls"
    assert [(c.name, c.arguments, c.arguments_json) for c in got.tool_calls] == [
        ("get_weather", {"city": "Paris"}, None),
        ("get_date", {}, None),
    ]
    assert got.tool_calls[0].id == "call_0" and got.tool_calls[1].id
    sent = server.emulator.requests[0].json()
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert sent["max_completion_tokens"] == 50 and "max_tokens" not in sent
    assert sent["tools"][0]["function"]["parameters"] == WEATHER.parameters


def test_arguments_that_are_not_json_are_kept_raw(served: Any, adapter: OpenAISDKAdapter) -> None:
    call = ToolCall("call_0", "get_weather", {}, arguments_json='{"city": "Par')
    server = served([Reply(tool_calls=(call,))])
    got = adapter.call(server.connect(), ASK, {"tools": [WEATHER]})
    assert (got.tool_calls[0].arguments, got.tool_calls[0].arguments_json) == ({}, '{"city": "Par')


def test_a_tool_turn_goes_back_in_the_sdks_format(served: Any, adapter: OpenAISDKAdapter) -> None:
    call = ToolCall("call_0", "get_weather", {"city": "Paris"})
    history = (*ASK, Message.assistant("", (call,)), Message.tool(call, "Sunny"))
    server = served([Reply("It is sunny.")])
    adapter.call(server.connect(), history, {"tools": [WEATHER]})
    sent = server.emulator.requests[0].json()["messages"]
    assert sent[1]["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": '{"city":"Paris"}',
    }
    assert sent[2] == {"role": "tool", "tool_call_id": "call_0", "content": "Sunny"}


def test_stream_events_and_the_final_response(served: Any, adapter: OpenAISDKAdapter) -> None:
    calls = (ToolCall("call_0", "get_weather", {"city": "Oslo"}),)
    reply = Reply("Let me check.", tool_calls=calls, usage=Usage(20, 9, cached_tokens=4))
    server = served([reply, reply, reply])
    client = server.connect()
    result = adapter.stream(client, ASK, {"tools": [WEATHER]})
    assert result.response == adapter.call(client, ASK, {"tools": [WEATHER]})
    assert result.response == reference(server.base_url, ASK, tools=[WEATHER])
    kinds = [type(event) for event in result.events]
    assert kinds[0] is ModelName and Finish(reason="tool_calls") in result.events
    assert "".join(e.text for e in result.events if isinstance(e, TextDelta)) == "Let me check."
    deltas = [e for e in result.events if isinstance(e, ToolCallDelta)]
    assert (deltas[0].index, deltas[0].id, deltas[0].name) == (0, "call_0", "get_weather")
    assert "".join(d.arguments for d in deltas) == '{"city": "Oslo"}'
    assert result.events[-1] == UsageUpdate(Usage(20, 9, cached_tokens=4))
    sent = server.emulator.requests[0].json()
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}


def test_a_stream_cut_by_the_token_limit(served: Any, adapter: OpenAISDKAdapter) -> None:
    """The SDK's own accumulator would raise here (repro/openai/stream_state_length.py)."""
    server = served([Reply("Once upon a", finish_reason="length")])
    result = adapter.stream(server.connect(), ASK, {"max_tokens": 3})
    assert (result.response.text, result.response.finish_reason) == ("Once upon a", "length")


def test_async_call_and_stream_equal_sync(served: Any, adapter: OpenAISDKAdapter) -> None:
    server = served([Reply("Hi there.")] * 4)
    client = server.connect()
    assert asyncio.run(adapter.acall(client, ASK, {})) == adapter.call(client, ASK, {})
    streamed = adapter.stream(client, ASK, {})
    assert asyncio.run(adapter.astream(client, ASK, {})) == streamed


# --- errors ----------------------------------------------------------------------------


def test_a_rate_limit_carries_retry_after_and_the_providers_message(
    served: Any, adapter: OpenAISDKAdapter
) -> None:
    server = served([Fault(429, "slow down", retry_after=7)])
    with pytest.raises(RateLimitError) as raised:
        adapter.call(server.connect(max_retries=0), ASK, {})
    error = raised.value
    assert (error.provider, error.status, error.provider_message) == ("openai", 429, "slow down")
    assert error.retry_after == 7.0


@pytest.mark.parametrize("mode", ["call", "acall", "stream", "astream"])
def test_errors_are_the_same_in_every_mode(
    served: Any, adapter: OpenAISDKAdapter, mode: str
) -> None:
    server = served([Fault(400, "max_tokens: must be positive")])
    client = server.connect(max_retries=0)
    run = getattr(adapter, mode)
    with pytest.raises(BadRequestError) as raised:
        result = run(client, ASK, {"max_tokens": 1})
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    assert raised.value.provider_message == "max_tokens: must be positive"


def test_fast_retries_make_every_attempt_without_waiting(
    sdk: Any, served: Any, adapter: OpenAISDKAdapter
) -> None:
    server = served([Fault(500, "internal failure")] * 3)
    started = time.monotonic()
    with pytest.raises(ServerError):
        adapter.call(server.connect(max_retries=2), ASK, {})
    assert len(server.emulator.requests) == 3
    assert time.monotonic() - started < 0.4  # the SDK's own backoff sleeps 0.5 s and more
    fast, usual = server.connect().sync, server.connect(fast_retries=False).sync
    assert type(usual) is sdk.OpenAI and type(fast) is not sdk.OpenAI
    assert fast.user_agent == usual.user_agent  # the SDK's name in the User-Agent header


def test_connection_errors_and_timeouts(sdk: Any, adapter: OpenAISDKAdapter) -> None:
    import httpx2

    target = Target("openai", MODEL, api_key="k", base_url="http://127.0.0.1:9", max_retries=0)
    with pytest.raises(APIConnectionError):
        adapter.call(adapter.connect(target), ASK, {})
    request = httpx2.Request("POST", "https://api.openai.com/v1/chat/completions")
    timeout = sdk_error(sdk.APITimeoutError(request=request), sdk, "openai")
    assert isinstance(timeout, RequestTimeoutError) and timeout.provider == "openai"
    assert sdk_error(ValueError("a bug"), sdk, "openai") is None


def test_an_error_inside_a_stream(sdk: Any) -> None:
    import httpx2

    request = httpx2.Request("POST", "https://api.openai.com/v1/chat/completions")
    body = {"message": "too many", "type": "requests", "code": "rate_limit_exceeded"}
    error = sdk_error(sdk.APIError("too many", request, body=body), sdk, "openai")
    assert isinstance(error, RateLimitError) and error.provider_message == "too many"


# --- the suite -------------------------------------------------------------------------


def test_the_suite_passes_a_selection(sdk: Any, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(ROOT / "conformance"),
            "--client=openai-sdk",
            "--provider=openai",
            f"--rootdir={ROOT}",
            "-p",
            "no:cacheprovider",
            "-q",
            "-k",
            "plain_text or tool_call_parallel or tool_choice_required or retry_after_429 "
            "or error_rate_limit_exhausted",
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
