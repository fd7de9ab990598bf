"""The litellm and llm adapters' translation that needs neither library (both import
theirs lazily): litellm's messages and options, llm's options, stream events and chain
outcomes, and the retry-delay switch. Runs in the default test environment."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from harness.adapters import retry_wait
from harness.adapters.base import Target
from harness.adapters.litellm_adapter import (
    LiteLLMClient,
    connection_options,
    provider_message,
    request,
)
from harness.adapters.llm_adapter import EventTranslator, chain_outcome, options
from harness.types import Message, TextDelta, ToolCallDelta, ToolSpec

MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-sonnet-4-5",
    "gemini": "gemini-2.5-flash",
    "bedrock": "us.amazon.nova-micro-v1:0",
}
HELLO = (Message.user("Say hello."),)


def target(provider: str, base_url: str | None = None, **extra: Any) -> Target:
    from botocore.credentials import Credentials

    return Target(
        provider=provider,
        model=MODELS[provider],
        api_key="test-key",
        region="us-east-1",
        aws_credentials=(
            Credentials("AKIDEXAMPLE", "fake-secret", "fake-token")
            if provider == "bedrock"
            else None
        ),
        base_url=base_url,
        **extra,
    )


# --- litellm -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("litellm.BadRequestError: OpenAIException - max_tokens: must be positive", None),
        ("litellm.RateLimitError: RateLimitError: OpenAIException - slow down", "slow down"),
        (
            'litellm.BadRequestError: GeminiException BadRequestError - {"error":{"code":400,'
            '"message":"bad","status":"INVALID_ARGUMENT"}}',
            "bad",
        ),
        (
            'litellm.InternalServerError: AnthropicException - {"type":"error","error":'
            '{"type":"api_error","message":"boom"}}. Handle with `litellm.InternalServerError`.',
            "boom",
        ),
        ('litellm.BadRequestError: BedrockException - {"message":"no"}', "no"),
        # litellm's bytes repr is what litellm gave: kept as it is
        (
            "litellm.MidStreamFallbackError: litellm.RateLimitError: litellm.RateLimitError: "
            'Vertex_ai_betaException - b\'{"error":{"code":429}}\'',
            'b\'{"error":{"code":429}}\'',
        ),
        ("something litellm wrote", "something litellm wrote"),
    ],
)
def test_provider_message_strips_litellm_text_only(text: str, message: str | None) -> None:
    assert provider_message(text) == (message or "max_tokens: must be positive")


def test_connection_options_per_provider() -> None:
    openai = connection_options(target("openai", "http://127.0.0.1:9/", max_retries=4))
    assert openai == {"api_key": "test-key", "api_base": "http://127.0.0.1:9/v1", "max_retries": 4}
    gemini = connection_options(target("gemini", "http://127.0.0.1:9"))
    assert gemini["api_base"] == "http://127.0.0.1:9/v1beta"
    assert gemini["num_retries"] == 2 and "max_retries" not in gemini
    assert connection_options(target("anthropic", "http://h"))["api_base"] == "http://h"
    bedrock = connection_options(target("bedrock"))
    assert bedrock == {
        "aws_region_name": "us-east-1",
        "aws_access_key_id": "AKIDEXAMPLE",
        "aws_secret_access_key": "fake-secret",
        "aws_session_token": "fake-token",
        "num_retries": 2,
    }


def test_request_carries_the_scenario_params() -> None:
    client = LiteLLMClient("anthropic", "anthropic/claude-sonnet-4-5")
    spec = ToolSpec("get_weather", "Weather.", {"type": "object", "properties": {}})
    params = {"temperature": 0.2, "stop": ["4"], "tools": [spec], "tool_choice": "get_weather"}
    kwargs = request(client, HELLO, params, stream=True)
    assert kwargs["model"] == "anthropic/claude-sonnet-4-5"
    assert kwargs["messages"] == [{"role": "user", "content": "Say hello."}]
    assert (kwargs["temperature"], kwargs["stop"]) == (0.2, ["4"])
    assert kwargs["tools"][0]["function"]["name"] == "get_weather"
    assert kwargs["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert kwargs["stream_options"] == {"include_usage": True}
    assert "top_p" not in kwargs and "stream" not in request(client, HELLO, {})


# --- llm ---------------------------------------------------------------------------------


def test_stop_is_one_string_in_llm() -> None:
    assert options({"stop": ["4"], "max_tokens": 64, "top_p": 0.9}) == {
        "stop": "4",
        "max_tokens": 64,
        "top_p": 0.9,
    }


def test_events_index_tool_calls_by_id() -> None:
    translator = EventTranslator()
    kinds = [
        ("text", "Hi", None),
        ("tool_call_name", "f", "a"),
        ("tool_call_args", '{"x":', "a"),
        ("tool_call_name", "g", "b"),
        ("tool_call_args", "1}", "a"),
        ("reasoning", "", None),  # llm's redacted-reasoning marker: nothing to show
    ]
    events = [
        e
        for kind, chunk, call_id in kinds
        for e in translator.events(SimpleNamespace(type=kind, chunk=chunk, tool_call_id=call_id))
    ]
    assert events == [
        TextDelta("Hi"),
        ToolCallDelta(0, id="a", name="f"),
        ToolCallDelta(0, arguments='{"x":'),
        ToolCallDelta(1, id="b", name="g"),
        ToolCallDelta(0, arguments="1}"),
    ]


def test_chain_outcome_marks_failed_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    def response(results: list[Any]) -> Any:
        return SimpleNamespace(prompt=SimpleNamespace(tool_results=results))

    ok = SimpleNamespace(name="get_weather", output="Sunny", tool_call_id="c0", exception=None)
    failed = SimpleNamespace(
        name="broken_tool", output="Error: down", tool_call_id="c1", exception=RuntimeError()
    )
    last = response([ok, failed])
    monkeypatch.setattr("harness.adapters.llm_adapter.to_response", lambda r: "final")
    outcome = chain_outcome([response([]), last])
    assert outcome.response == "final"
    assert outcome.tool_results == (
        Message("tool", "Sunny", tool_call_id="c0", name="get_weather"),
        Message("tool", "Error: down", tool_call_id="c1", name="broken_tool", is_error=True),
    )


def test_no_wait_is_scoped_to_its_block() -> None:
    assert retry_wait.waiting()
    with retry_wait.no_wait():
        assert not retry_wait.waiting()
        with retry_wait.no_wait(False):
            assert retry_wait.waiting()
        assert not retry_wait.waiting()
    assert retry_wait.waiting()
