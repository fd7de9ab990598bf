"""The Chat Completions translation shared by the litellm and llm adapters (no library
needed): messages and tools out, responses, usage and stream chunks in."""

from __future__ import annotations

from types import SimpleNamespace

from harness.adapters import chat_format
from harness.types import (
    Finish,
    Message,
    ModelName,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
    UsageUpdate,
)


def test_messages_out() -> None:
    call = ToolCall("call_1", "get_weather", {"city": "Paris"})
    bad = ToolCall("call_2", "get_weather", {}, arguments_json='{"city": ')
    messages = (
        Message.system("Be brief."),
        Message.user("Weather?"),
        Message.assistant("", (call, bad)),
        Message.tool(call, "Sunny"),
    )
    assert chat_format.chat_messages(messages) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": '},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "Sunny"},
    ]


def test_tools_and_tool_choice_out() -> None:
    schema = {"type": "object", "properties": {}}
    assert chat_format.chat_tool(ToolSpec("f", "Does f.", schema)) == {
        "type": "function",
        "function": {"name": "f", "parameters": schema, "description": "Does f."},
    }
    for choice in ("auto", "none", "required"):
        assert chat_format.chat_tool_choice(choice) == choice
    assert chat_format.chat_tool_choice("f") == {"type": "function", "function": {"name": "f"}}


def test_finish_reasons_normalized() -> None:
    expected = {
        "stop": "stop",
        "length": "length",
        "tool_calls": "tool_calls",
        "function_call": "tool_calls",
        "content_filter": "content_filter",
        "guardrail_intervened": "other",
        None: None,
        "": None,
    }
    for reported, normalized in expected.items():
        assert chat_format.finish_reason(reported) == normalized


def test_usage_from_dicts_and_objects() -> None:
    data = {
        "prompt_tokens": 1200,
        "completion_tokens": 8,
        "prompt_tokens_details": {"cached_tokens": 1024},
        "completion_tokens_details": {"reasoning_tokens": 3},
    }
    assert chat_format.usage(data) == Usage(1200, 8, 1024, 3)
    as_object = SimpleNamespace(
        prompt_tokens=9,
        completion_tokens=10,
        prompt_tokens_details=None,
        completion_tokens_details=SimpleNamespace(reasoning_tokens=None),
    )
    assert chat_format.usage(as_object) == Usage(9, 10)
    assert chat_format.usage(None) == Usage()


def test_response_keeps_arguments_that_are_not_json() -> None:
    message = {
        "content": None,
        "reasoning_content": "think",
        "tool_calls": [
            {"id": "a", "function": {"name": "f", "arguments": '{"x": 1}'}},
            {"id": "b", "function": {"name": "g", "arguments": "{not json"}},
        ],
    }
    response = chat_format.response(message, "tool_calls", None, "m", raw=None)
    assert response.text == ""
    assert response.reasoning == "think"
    assert response.finish_reason == "tool_calls"
    assert response.model == "m"
    first, second = response.tool_calls
    assert (first.name, first.arguments, first.arguments_json) == ("f", {"x": 1}, None)
    assert (second.arguments, second.arguments_json) == ({}, "{not json")


def chunk(
    delta: dict[str, object], finish: str | None = None, **extra: object
) -> dict[str, object]:
    return {"model": "m", "choices": [{"delta": delta, "finish_reason": finish}], **extra}


def test_chunks_become_events_and_the_folded_response() -> None:
    translator = chat_format.ChunkTranslator()
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "hm"}),
        chunk({"content": "Let "}),
        chunk({"content": "me."}),
        chunk(
            {"tool_calls": [{"index": 0, "id": "c0", "function": {"name": "f", "arguments": ""}}]}
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"x": 1}'}}]}),
        chunk({}, "tool_calls"),
        {"model": "m", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}},
    ]
    events = [event for one in chunks for event in translator.events(one)]
    assert events == [
        ModelName("m"),
        ReasoningDelta("hm"),
        TextDelta("Let "),
        TextDelta("me."),
        ToolCallDelta(0, id="c0", name="f", arguments=""),
        ToolCallDelta(0, id=None, name=None, arguments='{"x": 1}'),
        Finish("tool_calls"),
        UsageUpdate(Usage(3, 4)),
    ]
    response = translator.response()
    assert response.text == "Let me."
    assert response.reasoning == "hm"
    assert response.tool_calls == (ToolCall("c0", "f", {"x": 1}),)
    assert (response.finish_reason, response.usage, response.model) == (
        "tool_calls",
        Usage(3, 4),
        "m",
    )
    assert response.raw == chunks
