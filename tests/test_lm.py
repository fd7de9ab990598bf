"""The LM layer: parameter precedence, prompts, streams' life cycle, chains, usage."""

from __future__ import annotations

import asyncio
import inspect

import pytest

import harness
from harness.emulator import Emulator, EmulatorTransport, Fault, Reply
from harness.lm import LM, StreamNotConsumedError, as_messages
from harness.types import (
    ConfigurationError,
    HarnessError,
    Message,
    RateLimitError,
    ToolCall,
    Usage,
)


def emulated(*replies: Reply, model: str = "openai/gpt-test") -> tuple[LM, Emulator]:
    emulator = Emulator(replies)
    return LM(model, api_key="k", transport=EmulatorTransport(emulator), max_retries=0), emulator


def sent(emulator: Emulator, index: int = -1) -> dict[str, object]:
    body: dict[str, object] = emulator.requests[index].json()
    return body


def test_call_arguments_beat_the_constructor_which_beats_the_settings() -> None:
    lm, emulator = emulated(Reply("a"), Reply("b"), Reply("c"), Reply("d"))
    with harness.context(temperature=0.1, max_tokens=11):
        lm("x")
        assert (sent(emulator)["temperature"], sent(emulator)["max_completion_tokens"]) == (0.1, 11)
        constructed = LM(
            "openai/gpt-test", api_key="k", temperature=0.5, transport=EmulatorTransport(emulator)
        )
        constructed("x")
        assert (sent(emulator)["temperature"], sent(emulator)["max_completion_tokens"]) == (0.5, 11)
        constructed("x", temperature=0.9)
        assert sent(emulator)["temperature"] == 0.9
    lm("x")
    assert "temperature" not in sent(emulator)


def test_unknown_parameters_are_named_with_the_valid_ones() -> None:
    lm, _ = emulated()
    with pytest.raises(ConfigurationError, match=r"\['temprature'\].*valid ones are"):
        lm("x", temprature=0)


def test_prompts_become_messages() -> None:
    assert as_messages("hi") == (Message.user("hi"),)
    assert as_messages(Message.system("s")) == (Message.system("s"),)
    assert as_messages([Message.user("a"), Message.assistant("b")])[1].role == "assistant"
    with pytest.raises(ConfigurationError, match=r"must be harness\.Message, got dict"):
        as_messages([{"role": "user", "content": "x"}])  # type: ignore[list-item]


def test_unknown_provider_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigurationError, match="choose one of openai, anthropic"):
        LM("mistral/large")
    with pytest.raises(ConfigurationError, match="no provider prefix"):
        LM("gpt-4o")


def test_request_shows_what_would_be_sent_without_sending() -> None:
    lm, emulator = emulated()
    request = lm.request("hi", max_tokens=5)
    assert request.url == "https://api.openai.com/v1/chat/completions"
    assert request.json()["max_completion_tokens"] == 5 and not emulator.requests


def test_a_stream_is_sent_when_iterated_and_can_be_iterated_once() -> None:
    lm, emulator = emulated(Reply("hello there"))
    stream = lm.stream("hi")
    assert not emulator.requests, "creating a stream sends nothing"
    with pytest.raises(StreamNotConsumedError, match="iterate it to the end"):
        _ = stream.response
    assert stream.collect().text == "hello there"
    with pytest.raises(HarnessError, match="only once"):
        list(stream)


def test_leaving_a_stream_early_releases_it() -> None:
    lm, _ = emulated(Reply("one two three four five six"))
    with lm.stream("hi") as stream:
        events = iter(stream)
        next(events)
    assert inspect.getgeneratorstate(events) == inspect.GEN_CLOSED  # type: ignore[arg-type]
    with pytest.raises(StreamNotConsumedError):
        _ = stream.response


async def test_async_stream_life_cycle() -> None:
    lm, _ = emulated(Reply("hello there"), Reply("early exit here"))
    stream = lm.astream("hi")
    assert (await stream.collect()).text == "hello there"
    async with lm.astream("again") as early:
        events = aiter(early)
        await anext(events)
    assert events.ag_frame is None  # type: ignore[attr-defined]  # the generator was closed
    with pytest.raises(StreamNotConsumedError):
        _ = early.response
    await lm.aclose()


def test_a_stream_keeps_the_settings_it_was_created_under() -> None:
    """DSPy 2.6.0 (#2044): a stream consumed after its context block used the outer one."""
    lm, emulator = emulated(Reply("ok"))
    with harness.context(temperature=0.3):
        stream = lm.stream("hi")
    stream.collect()
    assert sent(emulator)["temperature"] == 0.3


def test_the_model_is_filled_in_when_the_body_names_none() -> None:
    emulator = Emulator([Reply("ok")])
    lm = LM(
        "bedrock/us.amazon.nova-micro-v1:0",
        region="us-east-1",
        credentials=_fake_credentials(),
        transport=EmulatorTransport(emulator),
    )
    assert lm("hi").model == "us.amazon.nova-micro-v1:0"


def _fake_credentials() -> object:
    from botocore.credentials import Credentials

    return Credentials("AKIDEXAMPLE", "fake-secret")


def test_usage_is_recorded_sync_async_and_streamed() -> None:
    lm, _ = emulated(*(Reply("x", usage=Usage(3, 2)) for _ in range(3)))
    with harness.track_usage() as tracker:
        lm("a")
        asyncio.run(lm.acall("b"))
        lm.stream("c").collect()
    assert tracker.total == Usage(9, 6)


def weather(city: str) -> str:
    """Weather for a city."""
    return f"sunny in {city}"


def test_chain_sends_tool_specs_and_results() -> None:
    call = ToolCall("call_1", "weather", {"city": "Oslo"})
    lm, emulator = emulated(Reply(tool_calls=(call,)), Reply("It is sunny."))
    result = lm.chain("Weather in Oslo?", tools=[weather])
    assert result.response.text == "It is sunny."
    assert sent(emulator, 0)["tools"][0]["function"]["name"] == "weather"  # type: ignore[index]
    assert sent(emulator, 1)["messages"][-1] == {  # type: ignore[index]
        "role": "tool",
        "tool_call_id": "call_1",
        "content": "sunny in Oslo",
    }


async def test_achain_matches_chain() -> None:
    call = ToolCall("call_1", "weather", {"city": "Oslo"})
    sync_lm, sync_emulator = emulated(Reply(tool_calls=(call,)), Reply("done"))
    async_lm, async_emulator = emulated(Reply(tool_calls=(call,)), Reply("done"))
    sync_result = await asyncio.to_thread(sync_lm.chain, "q", tools=[weather])
    async_result = await async_lm.achain("q", tools=[weather])
    assert sync_result.transcript == async_result.transcript
    assert [r.json() for r in sync_emulator.requests] == [r.json() for r in async_emulator.requests]
    await async_lm.aclose()


def test_an_option_the_provider_does_not_take_is_named() -> None:
    with pytest.raises(ConfigurationError, match=r"anthropic does not take option.*region"):
        LM("anthropic/claude-x", api_key="k", region="us-east-1")


def test_retries_follow_the_settings_of_each_call_over_one_connection_pool() -> None:
    slow_down = Fault(429, "slow down", retry_after=0)
    emulator = Emulator([slow_down, Reply("ok"), slow_down])
    lm = LM("openai/gpt-test", api_key="k", transport=EmulatorTransport(emulator))
    client = lm.transport().client()
    with harness.context(max_retries=1):
        assert lm("a").text == "ok"
    with harness.context(max_retries=0), pytest.raises(RateLimitError):
        lm("b")
    assert len(emulator.requests) == 3
    assert lm.transport().client() is client, "one pool, whatever the per-call settings"
