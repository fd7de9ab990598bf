"""The semantic request matcher (``harness.cassettes.semantic``), provider by provider.

Every relaxation is tested both ways: an equivalent spelling gives the same key (where the
strict key differs), and a real change nearby gives another key whose described
difference names the field. Then each meaningful field of each provider, the options, the
fallback to strict parts, and properties over key orders, omissions and leaf changes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vcr.request import Request

from harness.cassettes import load_cassette
from harness.cassettes.match import request_key
from harness.cassettes.semantic import (
    SemanticIndex,
    SemanticKey,
    SemanticOptions,
    clear_memo,
    describe_semantic_difference,
    recorded_params,
    semantic_key,
    semantic_matcher,
)
from tests.corpus import CORPUS

ROOT = Path(__file__).resolve().parent.parent
DELETE = object()
"""``edit`` value that removes the key."""

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "The city name."}},
    "required": ["city"],
}
ARGUMENTS = '{"city":"Paris"}'

OPENAI_URI = "https://api.openai.com/v1/chat/completions"
OPENAI: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "messages": [
        {"role": "system", "content": "You answer in French."},
        {"role": "user", "content": "What is the weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_0",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ARGUMENTS},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_0", "content": "Sunny in Paris, 21 C"},
    ],
    "temperature": 0.2,
    "top_p": 0.9,
    "max_completion_tokens": 64,
    "stop": ["4"],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "parameters": SCHEMA,
            },
        }
    ],
    "tool_choice": "required",
}

ANTHROPIC_URI = "https://api.anthropic.com/v1/messages"
ANTHROPIC: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 64,
    "system": "You answer in French.",
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is the weather in Paris?"}]},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "call_0",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_0", "content": "Sunny in Paris, 21 C"}
            ],
        },
    ],
    "temperature": 0.2,
    "top_p": 0.9,
    "stop_sequences": ["4"],
    "tools": [
        {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "input_schema": SCHEMA,
        }
    ],
    "tool_choice": {"type": "any"},
}

GEMINI_URI = (
    "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
)
GEMINI_STREAM_URI = (
    "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash"
    ":streamGenerateContent?alt=sse"
)
GEMINI: dict[str, Any] = {
    "contents": [
        {"role": "user", "parts": [{"text": "What is the weather in Paris?"}]},
        {
            "role": "model",
            "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}],
        },
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "name": "get_weather",
                        "response": {"result": "Sunny in Paris, 21 C"},
                    }
                }
            ],
        },
    ],
    "systemInstruction": {"parts": [{"text": "You answer in French."}]},
    "generationConfig": {
        "temperature": 0.2,
        "topP": 0.9,
        "maxOutputTokens": 64,
        "stopSequences": ["4"],
    },
    "tools": [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Current weather for a city.",
                    "parametersJsonSchema": SCHEMA,
                }
            ]
        }
    ],
    "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
}

CONVERSE_URI = (
    "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.amazon.nova-micro-v1%3A0/converse"
)
CONVERSE: dict[str, Any] = {
    "messages": [
        {"role": "user", "content": [{"text": "What is the weather in Paris?"}]},
        {
            "role": "assistant",
            "content": [
                {
                    "toolUse": {
                        "toolUseId": "call_0",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    }
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": "call_0",
                        "content": [{"text": "Sunny in Paris, 21 C"}],
                    }
                }
            ],
        },
    ],
    "system": [{"text": "You answer in French."}],
    "inferenceConfig": {"maxTokens": 64, "temperature": 0.2, "topP": 0.9, "stopSequences": ["4"]},
    "toolConfig": {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "Current weather for a city.",
                    "inputSchema": {"json": SCHEMA},
                }
            }
        ],
        "toolChoice": {"any": {}},
    },
}

INVOKE_URI = (
    "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
    "anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke"
)
INVOKE: dict[str, Any] = {
    "anthropic_version": "bedrock-2023-05-31",
    **{key: value for key, value in ANTHROPIC.items() if key != "model"},
}

BASES: dict[str, tuple[str, dict[str, Any]]] = {
    "openai": (OPENAI_URI, OPENAI),
    "anthropic": (ANTHROPIC_URI, ANTHROPIC),
    "gemini": (GEMINI_URI, GEMINI),
    "converse": (CONVERSE_URI, CONVERSE),
    "invoke": (INVOKE_URI, INVOKE),
}


# --- helpers -----------------------------------------------------------------------------


def request(uri: str, body: Any, method: str = "POST") -> Request:
    """A vcrpy request; a dict or list body is sent as JSON text."""
    data = body if body is None or isinstance(body, (bytes, str)) else json.dumps(body)
    return Request(method, uri, data, {})


def key(uri: str, body: Any, **options: Any) -> SemanticKey:
    return semantic_key(request(uri, body), SemanticOptions(**options))


def edit(body: Any, path: str, value: Any = DELETE) -> Any:
    """A deep copy of ``body`` with the value at ``path`` ("messages.2.content") set
    (or removed with ``DELETE``); missing dicts on the way are created."""
    copied = copy.deepcopy(body)
    *parents, last = path.split(".")
    node = copied
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        if value is DELETE:
            del node[int(last)]
        elif int(last) == len(node):
            node.append(value)
        else:
            node[int(last)] = value
    elif value is DELETE:
        node.pop(last, None)
    else:
        node[last] = value
    return copied


Edit = Callable[[Any], Any]


def sets(*changes: tuple[str, Any]) -> Edit:
    """An edit applying ``(path, value)`` changes in order."""

    def apply(body: Any) -> Any:
        for path, value in changes:
            body = edit(body, path, value)
        return body

    return apply


def same(body: Any) -> Any:
    return copy.deepcopy(body)


@dataclass(frozen=True)
class Relaxation:
    """``before`` and ``equivalent`` (edits of the provider's base body) mean the same
    call; ``different`` changes it, and the difference is described at ``field``."""

    provider: str
    name: str
    equivalent: Edit
    different: Edit
    field: str
    before: Edit = same
    uri: str | None = None
    """The equivalent request's URI, when the relaxation is in the URI."""
    different_uri: str | None = None
    strict_differs: bool = True
    """False for the few relaxations the strict matcher shares (AWS regions in hosts)."""


def check_relaxation(case: Relaxation) -> None:
    uri, base = BASES[case.provider]
    before = case.before(base)
    original = request(uri, before)
    equivalent = request(case.uri or uri, case.equivalent(before))
    different = request(case.different_uri or uri, case.different(before))
    assert semantic_key(equivalent) == semantic_key(original)
    strict_differs = request_key(equivalent) != request_key(original)
    assert strict_differs == case.strict_differs, "strict and semantic agree here"
    new, old = semantic_key(different), semantic_key(original)
    assert new != old
    described = describe_semantic_difference(new, old)
    assert described is not None
    assert described[0] == case.field, described


# --- the relaxations, both ways ------------------------------------------------------------

PARAMETERS_WITH_DOCS = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "GetWeather",
    "description": "Arguments.",
    "type": "object",
    "properties": {"city": {"type": "string", "title": "City", "default": "Paris"}},
    "required": ["city"],
    "additionalProperties": False,
}
TWO_PROPERTIES = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["C", "F"]}},
    "required": ["city", "unit"],
}
OPENAI_TOOL_CALL = "messages.2.tool_calls.0.function.arguments"

RELAXATIONS = [
    # OpenAI Chat Completions
    Relaxation(
        "openai",
        "assistant tool-call message without content (litellm)",
        sets(("messages.2.content", DELETE)),
        sets(("messages.2.content", "Let me check.")),
        "messages[2].text",
    ),
    Relaxation(
        "openai",
        "assistant tool-call message with empty content",
        sets(("messages.2.content", "")),
        sets(("messages.2.content", "Let me check.")),
        "messages[2].text",
    ),
    Relaxation(
        "openai",
        "null fields the openai SDK sends back (refusal, audio, function_call, annotations)",
        sets(
            ("messages.2.refusal", None),
            ("messages.2.audio", None),
            ("messages.2.function_call", None),
            ("messages.2.annotations", []),
        ),
        sets(("messages.2.tool_calls.0.id", "call_9")),
        "messages[2].tool_calls[0].id",
    ),
    Relaxation(
        "openai",
        "content as a list of text parts",
        sets(
            (
                "messages.1.content",
                [
                    {"type": "text", "text": "What is the weather "},
                    {"type": "text", "text": "in Paris?"},
                ],
            )
        ),
        sets(("messages.1.content", [{"type": "text", "text": "What is the weather in Rome?"}])),
        "messages[1].text",
    ),
    Relaxation(
        "openai",
        "tool result content as a list of text parts",
        sets(("messages.3.content", [{"type": "text", "text": "Sunny in Paris, 21 C"}])),
        sets(("messages.3.content", "Rainy")),
        "messages[3].tool_results[0].content",
    ),
    Relaxation(
        "openai",
        "developer role is the system role",
        sets(("messages.0.role", "developer")),
        sets(("messages.0.role", "user")),
        "messages[0].role",
    ),
    Relaxation(
        "openai",
        "max_tokens is max_completion_tokens",
        sets(("max_completion_tokens", DELETE), ("max_tokens", 64)),
        sets(("max_completion_tokens", DELETE), ("max_tokens", 65)),
        "params.max_tokens",
    ),
    Relaxation(
        "openai",
        "stop as a string is a one-item list (llm)",
        sets(("stop", "4")),
        sets(("stop", "5")),
        "params.stop[0]",
    ),
    Relaxation(
        "openai",
        "stop sequences are a set",
        sets(("stop", ["5", "4"])),
        sets(("stop", ["4", "6"])),
        "params.stop[1]",
        before=sets(("stop", ["4", "5"])),
    ),
    Relaxation(
        "openai",
        "an integral float is the integer",
        sets(("temperature", 1)),
        sets(("temperature", 1.5)),
        "params.temperature",
        before=sets(("temperature", 1.0)),
    ),
    Relaxation(
        "openai",
        "stream: false is the default (llm)",
        sets(("stream", False)),
        sets(("stream", True)),
        "stream",
    ),
    Relaxation(
        "openai",
        "stream_options.include_usage is compared when streaming, other options are not",
        sets(("stream_options", {"include_usage": True, "continuous_usage_stats": False})),
        sets(("stream_options", DELETE)),
        "stream_usage",
        before=sets(("stream", True), ("stream_options", {"include_usage": True})),
    ),
    Relaxation(
        "openai",
        "tool_choice auto is the default with tools",
        sets(("tool_choice", DELETE)),
        sets(("tool_choice", "none")),
        "tool_choice",
        before=sets(("tool_choice", "auto")),
    ),
    Relaxation(
        "openai",
        "n: 1 and parallel_tool_calls: true are the defaults",
        sets(("n", 1), ("parallel_tool_calls", True)),
        sets(("parallel_tool_calls", False)),
        "extra.parallel_tool_calls",
    ),
    Relaxation(
        "openai",
        "response_format text is the default",
        sets(("response_format", {"type": "text"})),
        sets(("response_format", {"type": "json_object"})),
        "extra.response_format.type",
    ),
    Relaxation(
        "openai",
        "tools: [] and a tool_choice without tools are no tools",
        sets(("tools", []), ("tool_choice", "none")),
        sets(("tools", OPENAI["tools"])),
        "tools",
        before=sets(("tools", DELETE), ("tool_choice", DELETE)),
    ),
    Relaxation(
        "openai",
        "tool-call arguments compared parsed",
        sets((OPENAI_TOOL_CALL, '{"city": "Paris"}')),
        sets((OPENAI_TOOL_CALL, '{"city": "Rome"}')),
        "messages[2].tool_calls[0].arguments.city",
    ),
    Relaxation(
        "openai",
        "empty arguments text is {}",
        sets((OPENAI_TOOL_CALL, "")),
        sets((OPENAI_TOOL_CALL, '{"x": 1}')),
        "messages[2].tool_calls[0].arguments.x",
        before=sets((OPENAI_TOOL_CALL, "{}")),
    ),
    Relaxation(
        "openai",
        "fields that do not change the answer (user, metadata, seed, store, service_tier)",
        sets(
            ("user", "u-1"),
            ("metadata", {"run": "1"}),
            ("seed", 7),
            ("store", False),
            ("service_tier", "auto"),
        ),
        sets(("model", "gpt-4o")),
        "model",
    ),
    Relaxation(
        "openai",
        "schema documentation: $schema, title, description, default, additionalProperties",
        sets(("tools.0.function.parameters", PARAMETERS_WITH_DOCS)),
        sets(("tools.0.function.parameters.properties.city.type", "integer")),
        "tools[0].schema.properties.city.type",
    ),
    Relaxation(
        "openai",
        "required and enum are sets",
        sets(
            ("tools.0.function.parameters.required", ["unit", "city"]),
            ("tools.0.function.parameters.properties.unit.enum", ["F", "C"]),
        ),
        sets(("tools.0.function.parameters.required", ["city"])),
        "tools[0].schema.required length",
        before=sets(("tools.0.function.parameters", TWO_PROPERTIES)),
    ),
    Relaxation(
        "openai",
        "a tool's description is its client's wording",
        sets(("tools.0.function.description", "Current weather.\n\nArgs:\n  city: The city.")),
        sets(("tools.0.function.name", "get_forecast")),
        "tools[0].name",
    ),
    Relaxation(
        "openai",
        "tools are a set",
        lambda body: edit(body, "tools", body["tools"][::-1]),
        sets(("tools.1.function.name", "b_tool")),
        "tools[1].name",
        before=sets(
            ("tools", [{"type": "function", "function": {"name": "a_tool"}}, *OPENAI["tools"]])
        ),
    ),
    Relaxation(
        "openai",
        "a tool without parameters is an object without properties",
        sets(("tools.0.function.parameters", {"type": "object", "properties": {}})),
        sets(("tools.0.function.parameters", {"type": "object", "required": ["x"]})),
        "tools[0].schema.required",
        before=sets(("tools.0.function.parameters", DELETE)),
    ),
    # Anthropic Messages
    Relaxation(
        "anthropic",
        "system as a list of text blocks (litellm)",
        sets(
            (
                "system",
                [
                    {"type": "text", "text": "You answer "},
                    {"type": "text", "text": "in French.", "cache_control": {"type": "ephemeral"}},
                ],
            )
        ),
        sets(("system", "You answer in German.")),
        "system",
    ),
    Relaxation(
        "anthropic",
        "content as a string (anthropic SDK)",
        sets(("messages.0.content", "What is the weather in Paris?")),
        sets(("messages.0.content", "What is the weather in Rome?")),
        "messages[0].text",
    ),
    Relaxation(
        "anthropic",
        "tool result content as text blocks; is_error false is the default",
        sets(
            ("messages.2.content.0.content", [{"type": "text", "text": "Sunny in Paris, 21 C"}]),
            ("messages.2.content.0.is_error", False),
        ),
        sets(("messages.2.content.0.is_error", True)),
        "messages[2].tool_results[0].is_error",
    ),
    Relaxation(
        "anthropic",
        "consecutive turns of one role are one turn",
        lambda body: edit(
            edit(body, "messages.2.content", body["messages"][2]["content"][:1]),
            "messages.3",
            {"role": "user", "content": "Thanks."},
        ),
        sets(("messages.2.content.1.text", "Thank you.")),
        "messages[2].text",
        before=sets(
            (
                "messages.2.content",
                [*ANTHROPIC["messages"][2]["content"], {"type": "text", "text": "Thanks."}],
            )
        ),
    ),
    Relaxation(
        "anthropic",
        "tool_choice auto is the default",
        sets(("tool_choice", DELETE)),
        sets(("tool_choice", {"type": "none"})),
        "tool_choice",
        before=sets(("tool_choice", {"type": "auto"})),
    ),
    Relaxation(
        "anthropic",
        "disable_parallel_tool_use: false is the default",
        sets(("tool_choice.disable_parallel_tool_use", False)),
        sets(("tool_choice.disable_parallel_tool_use", True)),
        "extra.parallel_tool_calls",
    ),
    Relaxation(
        "anthropic",
        'tools of type "custom" and cache hints (litellm)',
        sets(("tools.0.type", "custom"), ("tools.0.cache_control", {"type": "ephemeral"})),
        sets(("tools.0.input_schema.properties.city.type", "number")),
        "tools[0].schema.properties.city.type",
    ),
    Relaxation(
        "anthropic",
        "thinking blocks sent back are provider state",
        lambda body: edit(
            body,
            "messages.1.content",
            [
                {"type": "thinking", "thinking": "Call the tool.", "signature": "c2ln"},
                *body["messages"][1]["content"],
            ],
        ),
        sets(("messages.1.content.0.input.city", "Rome")),
        "messages[1].tool_calls[0].arguments.city",
    ),
    Relaxation(
        "anthropic",
        "thinking disabled is the default",
        sets(("thinking", {"type": "disabled"})),
        sets(("thinking", {"type": "enabled", "budget_tokens": 1024})),
        "extra.thinking.budget_tokens",
    ),
    Relaxation(
        "anthropic",
        "stream: false and metadata",
        sets(("stream", False), ("metadata", {"user_id": "u-1"})),
        sets(("stream", True)),
        "stream",
    ),
    # Gemini
    Relaxation(
        "gemini",
        "snake_case field names (litellm, google-genai)",
        lambda body: {
            "contents": [
                body["contents"][0],
                {
                    "role": "model",
                    "parts": [
                        {"function_call": {"name": "get_weather", "args": {"city": "Paris"}}}
                    ],
                },
                {
                    "role": "user",
                    "parts": [
                        {
                            "function_response": {
                                "name": "get_weather",
                                "response": {"result": "Sunny in Paris, 21 C"},
                            }
                        }
                    ],
                },
            ],
            "system_instruction": body["systemInstruction"],
            "generation_config": {
                "temperature": 0.2,
                "top_p": 0.9,
                "max_output_tokens": 64,
                "stop_sequences": ["4"],
            },
            "tools": [
                {
                    "function_declarations": [
                        {"name": "get_weather", "parameters_json_schema": SCHEMA}
                    ]
                }
            ],
            "tool_config": {"function_calling_config": {"mode": "ANY"}},
        },
        sets(("generationConfig.maxOutputTokens", 65)),
        "params.max_tokens",
    ),
    Relaxation(
        "gemini",
        "parameters in OpenAPI spelling (upper-case types, nullable)",
        sets(
            (
                "tools.0.functionDeclarations.0.parametersJsonSchema",
                DELETE,
            ),
            (
                "tools.0.functionDeclarations.0.parameters",
                {
                    "type": "OBJECT",
                    "properties": {
                        "city": {"type": "STRING"},
                        "days": {"type": "INTEGER", "nullable": True},
                    },
                    "required": ["city"],
                },
            ),
        ),
        sets(
            ("tools.0.functionDeclarations.0.parametersJsonSchema.properties.days.type", "number")
        ),
        "tools[0].schema.properties.days.type",
        before=sets(
            (
                "tools.0.functionDeclarations.0.parametersJsonSchema.properties.days",
                {"type": ["integer", "null"]},
            )
        ),
    ),
    Relaxation(
        "gemini",
        "generationConfig: {} is no config (google-genai)",
        sets(("generationConfig", {})),
        sets(("generationConfig", {"temperature": 0.5})),
        "params.temperature",
        before=sets(("generationConfig", DELETE)),
    ),
    Relaxation(
        "gemini",
        "a content without a role is the user's; systemInstruction's role is not compared",
        sets(("contents.0.role", DELETE), ("systemInstruction.role", "user")),
        sets(("contents.0.role", "model")),
        "messages[0].role",
    ),
    Relaxation(
        "gemini",
        "a system instruction as a string",
        sets(("systemInstruction", "You answer in French.")),
        sets(("systemInstruction", "You answer in German.")),
        "system",
    ),
    Relaxation(
        "gemini",
        "a function response wrapped in output, content (litellm) or result (reference)",
        sets(("contents.2.parts.0.functionResponse.response", {"content": "Sunny in Paris, 21 C"})),
        sets(("contents.2.parts.0.functionResponse.response", {"error": "Sunny in Paris, 21 C"})),
        "messages[2].tool_results[0].is_error",
    ),
    Relaxation(
        "gemini",
        "thought signatures and thought parts sent back are provider state",
        sets(
            ("contents.1.parts.0.thoughtSignature", "c2lnbmF0dXJl"),
            (
                "contents.1.parts",
                [
                    {"text": "I should call the tool.", "thought": True},
                    {
                        "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                        "thoughtSignature": "c2lnbmF0dXJl",
                    },
                ],
            ),
        ),
        sets(("contents.1.parts.0.functionCall.args.city", "Rome")),
        "messages[1].tool_calls[0].arguments.city",
    ),
    Relaxation(
        "gemini",
        "the API version in the path (google-genai 3.x uses v1)",
        same,
        same,
        "model",
        uri=GEMINI_URI.replace("/v1beta/", "/v1/"),
        different_uri=GEMINI_URI.replace("gemini-2.5-flash", "gemini-2.5-pro"),
    ),
    Relaxation(
        "gemini",
        "function calling mode AUTO is the default",
        sets(("toolConfig", DELETE)),
        sets(("toolConfig.functionCallingConfig.mode", "NONE")),
        "tool_choice",
        before=sets(("toolConfig.functionCallingConfig.mode", "AUTO")),
    ),
    Relaxation(
        "gemini",
        "consecutive contents of one role are one turn",
        lambda body: edit(
            edit(body, "contents.2.parts", body["contents"][2]["parts"][:1]),
            "contents.3",
            {"role": "user", "parts": body["contents"][2]["parts"][1:]},
        ),
        lambda body: edit(body, "contents.2.parts", body["contents"][2]["parts"][::-1]),
        "messages[2].tool_results[0].content",
        before=sets(
            (
                "contents.2.parts.1",
                {
                    "functionResponse": {
                        "name": "get_weather",
                        "response": {"result": "Rainy in Rome"},
                    }
                },
            )
        ),
    ),
    # Bedrock Converse
    Relaxation(
        "converse",
        "inferenceConfig: {} is no config (litellm)",
        sets(("inferenceConfig", {})),
        sets(("inferenceConfig", {"maxTokens": 10})),
        "params.max_tokens",
        before=sets(("inferenceConfig", DELETE)),
    ),
    Relaxation(
        "converse",
        "toolChoice auto is the default",
        sets(("toolConfig.toolChoice", DELETE)),
        sets(("toolConfig.toolChoice", {"tool": {"name": "get_weather"}})),
        "tool_choice.name",
        before=sets(("toolConfig.toolChoice", {"auto": {}})),
    ),
    Relaxation(
        "converse",
        "a tool result's status success is the default",
        sets(("messages.2.content.0.toolResult.status", "success")),
        sets(("messages.2.content.0.toolResult.status", "error")),
        "messages[2].tool_results[0].is_error",
    ),
    Relaxation(
        "converse",
        "reasoning and cache points are provider state",
        lambda body: edit(
            edit(
                body,
                "messages.1.content",
                [
                    {"reasoningContent": {"reasoningText": {"text": "t", "signature": "s"}}},
                    *body["messages"][1]["content"],
                ],
            ),
            "system",
            [*body["system"], {"cachePoint": {"type": "default"}}],
        ),
        sets(("messages.0.content.0.text", "What is the weather in Rome?")),
        "messages[0].text",
    ),
    Relaxation(
        "converse",
        "the region in the host",
        same,
        same,
        "model",
        uri=CONVERSE_URI.replace("us-east-1", "eu-west-3"),
        different_uri=CONVERSE_URI.replace("nova-micro", "nova-lite"),
        strict_differs=False,
    ),
    Relaxation(
        "converse",
        "a JSON tool result compared as JSON",
        sets(("messages.2.content.0.toolResult.content", [{"json": {"celsius": 21.0}}])),
        sets(("messages.2.content.0.toolResult.content", [{"json": {"celsius": 22}}])),
        "messages[2].tool_results[0].content.celsius",
        before=sets(("messages.2.content.0.toolResult.content", [{"json": {"celsius": 21}}])),
    ),
    # Bedrock InvokeModel (Anthropic bodies)
    Relaxation(
        "invoke",
        "anthropic_version is the envelope's",
        sets(("anthropic_version", "bedrock-2023-06-01")),
        sets(("max_tokens", 65)),
        "params.max_tokens",
    ),
]


@pytest.mark.parametrize("case", RELAXATIONS, ids=lambda c: f"{c.provider}: {c.name}")
def test_relaxation_both_ways(case: Relaxation) -> None:
    check_relaxation(case)


# --- each meaningful field, each provider -------------------------------------------------

DIFFERENCES: dict[str, list[tuple[str, Edit, str]]] = {
    "openai": [
        ("model", sets(("model", "gpt-4o")), "model"),
        ("text", sets(("messages.1.content", "Hi")), "messages[1].text"),
        ("role", sets(("messages.1.role", "assistant")), "messages[1].role"),
        ("system", sets(("messages.0.content", "Be brief.")), "messages[0].text"),
        (
            "order",
            lambda b: edit(b, "messages", [b["messages"][1], b["messages"][0], *b["messages"][2:]]),
            "messages[0].role",
        ),
        (
            "argument",
            sets((OPENAI_TOOL_CALL, '{"city":"Rome"}')),
            "messages[2].tool_calls[0].arguments.city",
        ),
        ("call id", sets(("messages.2.tool_calls.0.id", "call_1")), "messages[2].tool_calls[0].id"),
        (
            "call name",
            sets(("messages.2.tool_calls.0.function.name", "f")),
            "messages[2].tool_calls[0].name",
        ),
        ("result", sets(("messages.3.content", "Rainy")), "messages[3].tool_results[0].content"),
        (
            "result id",
            sets(("messages.3.tool_call_id", "call_1")),
            "messages[3].tool_results[0].id",
        ),
        ("tool name", sets(("tools.0.function.name", "f")), "tools[0].name"),
        (
            "schema property",
            sets(("tools.0.function.parameters.properties.town", {"type": "string"})),
            "tools[0].schema.properties.town.type",
        ),
        ("tool_choice", sets(("tool_choice", "auto")), "tool_choice"),
        (
            "named tool_choice",
            sets(("tool_choice", {"type": "function", "function": {"name": "get_weather"}})),
            "tool_choice",
        ),
        ("temperature", sets(("temperature", 0.3)), "params.temperature"),
        ("top_p", sets(("top_p", 0.8)), "params.top_p"),
        ("max_tokens", sets(("max_completion_tokens", 63)), "params.max_tokens"),
        ("stop", sets(("stop", ["5"])), "params.stop[0]"),
        ("stream", sets(("stream", True)), "stream"),
        ("n", sets(("n", 2)), "extra.n"),
        ("strict tool", sets(("tools.0.function.strict", True)), "tools[0].strict"),
        (
            "legacy functions",
            sets(("functions", [{"name": "get_weather", "parameters": SCHEMA}])),
            "extra.functions",
        ),
        (
            "legacy function call",
            sets(("messages.2.function_call", {"name": "f", "arguments": "{}"})),
            "messages[2].parts",
        ),
    ],
    "anthropic": [
        ("model", sets(("model", "claude-opus-4-1")), "model"),
        ("text", sets(("messages.0.content.0.text", "Hi")), "messages[0].text"),
        ("role", sets(("messages.0.role", "assistant")), "messages[0].role"),
        ("system", sets(("system", "Be brief.")), "system"),
        (
            "order",
            lambda b: edit(b, "messages", [b["messages"][1], b["messages"][0], b["messages"][2]]),
            "messages[0].role",
        ),
        (
            "argument",
            sets(("messages.1.content.0.input.city", "Rome")),
            "messages[1].tool_calls[0].arguments.city",
        ),
        ("call id", sets(("messages.1.content.0.id", "call_1")), "messages[1].tool_calls[0].id"),
        ("call name", sets(("messages.1.content.0.name", "f")), "messages[1].tool_calls[0].name"),
        (
            "result",
            sets(("messages.2.content.0.content", "Rainy")),
            "messages[2].tool_results[0].content",
        ),
        (
            "result id",
            sets(("messages.2.content.0.tool_use_id", "call_1")),
            "messages[2].tool_results[0].id",
        ),
        ("tool name", sets(("tools.0.name", "f")), "tools[0].name"),
        (
            "schema property",
            sets(("tools.0.input_schema.properties.city.type", "integer")),
            "tools[0].schema.properties.city.type",
        ),
        (
            "tool_choice",
            sets(("tool_choice", {"type": "tool", "name": "get_weather"})),
            "tool_choice",
        ),
        ("temperature", sets(("temperature", 0.3)), "params.temperature"),
        ("top_p", sets(("top_p", 0.8)), "params.top_p"),
        ("max_tokens", sets(("max_tokens", 1024)), "params.max_tokens"),
        ("stop", sets(("stop_sequences", ["5"])), "params.stop[0]"),
        ("stream", sets(("stream", True)), "stream"),
        ("top_k", sets(("top_k", 5)), "extra.top_k"),
    ],
    "gemini": [
        ("text", sets(("contents.0.parts.0.text", "Hi")), "messages[0].text"),
        ("role", sets(("contents.0.role", "model")), "messages[0].role"),
        ("system", sets(("systemInstruction.parts.0.text", "Be brief.")), "system"),
        (
            "order",
            lambda b: edit(b, "contents", [b["contents"][1], b["contents"][0], b["contents"][2]]),
            "messages[0].role",
        ),
        (
            "argument",
            sets(("contents.1.parts.0.functionCall.args.city", "Rome")),
            "messages[1].tool_calls[0].arguments.city",
        ),
        (
            "call name",
            sets(("contents.1.parts.0.functionCall.name", "f")),
            "messages[1].tool_calls[0].name",
        ),
        (
            "result",
            sets(("contents.2.parts.0.functionResponse.response.result", "Rainy")),
            "messages[2].tool_results[0].content",
        ),
        (
            "result name",
            sets(("contents.2.parts.0.functionResponse.name", "f")),
            "messages[2].tool_results[0].name",
        ),
        ("tool name", sets(("tools.0.functionDeclarations.0.name", "f")), "tools[0].name"),
        (
            "schema property",
            sets(("tools.0.functionDeclarations.0.parametersJsonSchema.required", [])),
            "tools[0].schema.required",
        ),
        (
            "tool_choice",
            sets(("toolConfig.functionCallingConfig.allowedFunctionNames", ["get_weather"])),
            "tool_choice",
        ),
        ("temperature", sets(("generationConfig.temperature", 0.3)), "params.temperature"),
        ("top_p", sets(("generationConfig.topP", 0.8)), "params.top_p"),
        ("max_tokens", sets(("generationConfig.maxOutputTokens", 63)), "params.max_tokens"),
        ("stop", sets(("generationConfig.stopSequences", ["5"])), "params.stop[0]"),
        ("top_k", sets(("generationConfig.topK", 5)), "extra.top_k"),
        ("candidate count", sets(("generationConfig.candidateCount", 2)), "extra.candidate_count"),
    ],
    "converse": [
        ("text", sets(("messages.0.content.0.text", "Hi")), "messages[0].text"),
        ("role", sets(("messages.0.role", "assistant")), "messages[0].role"),
        ("system", sets(("system.0.text", "Be brief.")), "system"),
        (
            "order",
            lambda b: edit(b, "messages", [b["messages"][1], b["messages"][0], b["messages"][2]]),
            "messages[0].role",
        ),
        (
            "argument",
            sets(("messages.1.content.0.toolUse.input.city", "Rome")),
            "messages[1].tool_calls[0].arguments.city",
        ),
        (
            "call id",
            sets(("messages.1.content.0.toolUse.toolUseId", "x")),
            "messages[1].tool_calls[0].id",
        ),
        (
            "result",
            sets(("messages.2.content.0.toolResult.content.0.text", "Rainy")),
            "messages[2].tool_results[0].content",
        ),
        (
            "result id",
            sets(("messages.2.content.0.toolResult.toolUseId", "x")),
            "messages[2].tool_results[0].id",
        ),
        ("tool name", sets(("toolConfig.tools.0.toolSpec.name", "f")), "tools[0].name"),
        (
            "schema property",
            sets(("toolConfig.tools.0.toolSpec.inputSchema.json.properties.city.type", "integer")),
            "tools[0].schema.properties.city.type",
        ),
        (
            "tool_choice",
            sets(("toolConfig.toolChoice", {"tool": {"name": "get_weather"}})),
            "tool_choice",
        ),
        ("temperature", sets(("inferenceConfig.temperature", 0.3)), "params.temperature"),
        ("top_p", sets(("inferenceConfig.topP", 0.8)), "params.top_p"),
        ("max_tokens", sets(("inferenceConfig.maxTokens", 63)), "params.max_tokens"),
        ("stop", sets(("inferenceConfig.stopSequences", ["5"])), "params.stop[0]"),
        (
            "model fields",
            sets(("additionalModelRequestFields", {"top_k": 5})),
            "extra.additional_model_request_fields.top_k",
        ),
    ],
    "invoke": [
        ("text", sets(("messages.0.content.0.text", "Hi")), "messages[0].text"),
        (
            "argument",
            sets(("messages.1.content.0.input.city", "Rome")),
            "messages[1].tool_calls[0].arguments.city",
        ),
        ("temperature", sets(("temperature", 0.3)), "params.temperature"),
        ("tool_choice", sets(("tool_choice", {"type": "auto"})), "tool_choice"),
    ],
}


@pytest.mark.parametrize(
    ("provider", "name", "change", "field"),
    [(provider, *row) for provider, rows in DIFFERENCES.items() for row in rows],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_meaningful_change_is_a_difference_named_by_its_field(
    provider: str, name: str, change: Edit, field: str
) -> None:
    uri, base = BASES[provider]
    new, old = key(uri, change(base)), key(uri, base)
    assert new != old
    described = describe_semantic_difference(new, old)
    assert described is not None
    assert described[0] == field, described
    assert described[1].startswith("recorded ")


@pytest.mark.parametrize(
    ("provider", "requested", "field"),
    [
        ("gemini", GEMINI_STREAM_URI, "query"),  # and the stream flag: framing differs first
        ("gemini", GEMINI_STREAM_URI.replace("?alt=sse", ""), "stream"),
        ("gemini", GEMINI_URI.replace("gemini-2.5-flash", "gemini-2.5-pro"), "model"),
        ("converse", CONVERSE_URI + "-stream", "stream"),
        ("converse", CONVERSE_URI.replace("nova-micro", "nova-pro"), "model"),
        ("invoke", INVOKE_URI + "-with-response-stream", "stream"),
        ("invoke", INVOKE_URI.replace("3-5-sonnet", "3-haiku"), "model"),
        ("invoke", CONVERSE_URI, "api"),
        ("openai", OPENAI_URI.replace("/v1/", "/v2/"), "endpoint"),
        ("openai", OPENAI_URI + "?api-version=2024-10-21", "query"),
    ],
)
def test_what_the_url_says_is_compared(provider: str, requested: str, field: str) -> None:
    uri, body = BASES[provider]
    new, old = key(requested, body), key(uri, body)
    described = describe_semantic_difference(new, old)
    assert described is not None
    assert described[0] == field, described


def test_method_and_host_are_compared() -> None:
    old = semantic_key(request(OPENAI_URI, OPENAI))
    put = semantic_key(request(OPENAI_URI, OPENAI, method="put"))
    assert describe_semantic_difference(put, old) == ("method", "recorded 'POST', requested 'PUT'")
    other = semantic_key(request(OPENAI_URI.replace("api.openai.com", "localhost:8000"), OPENAI))
    described = describe_semantic_difference(other, old)
    assert described is not None and described[0] == "host"


def test_equal_keys_have_no_difference() -> None:
    one = key(OPENAI_URI, OPENAI)
    assert describe_semantic_difference(one, one) is None


def test_the_description_shows_both_values() -> None:
    new = key(OPENAI_URI, edit(OPENAI, OPENAI_TOOL_CALL, '{"city": "Rome"}'))
    old = key(OPENAI_URI, OPENAI)
    assert describe_semantic_difference(new, old) == (
        "messages[2].tool_calls[0].arguments.city",
        'recorded "Paris", requested "Rome"',
    )
    fewer = key(OPENAI_URI, edit(OPENAI, "messages.3"))
    assert describe_semantic_difference(fewer, old) == (
        "messages length",
        "recorded 4, requested 3",
    )
    absent = key(OPENAI_URI, edit(OPENAI, "temperature"))
    assert describe_semantic_difference(absent, old) == (
        "params.temperature",
        "recorded 0.2, requested <absent>",
    )


def test_openai_compatible_servers_are_recognized_by_path() -> None:
    local = "http://localhost:8000/v1/chat/completions"
    with_nulls = edit(OPENAI, "messages.2.content")
    assert key(local, with_nulls) == key(local, OPENAI)
    assert json.loads(key(local, OPENAI)[2])["api"] == "openai.chat"


# --- options -----------------------------------------------------------------------------


def test_params_limits_the_compared_sampling_parameters() -> None:
    changed = sets(("temperature", 0.9), ("top_p", 0.1), ("stop", DELETE))(OPENAI)
    only_max = {"params": frozenset({"max_tokens"})}
    assert key(OPENAI_URI, changed, **only_max) == key(OPENAI_URI, OPENAI, **only_max)
    assert key(OPENAI_URI, changed) != key(OPENAI_URI, OPENAI)
    nothing = {"params": frozenset()}
    litellm_default = edit(ANTHROPIC, "max_tokens", 64000)
    assert key(ANTHROPIC_URI, litellm_default, **nothing) == key(
        ANTHROPIC_URI, ANTHROPIC, **nothing
    )


def test_with_params_none_a_key_holds_what_its_request_sets() -> None:
    recorded = request(OPENAI_URI, edit(OPENAI, "top_p"))
    assert recorded_params(recorded) == frozenset({"temperature", "max_tokens", "stop"})
    extra = request(OPENAI_URI, OPENAI)  # sets top_p too
    assert semantic_key(extra) != semantic_key(recorded)
    compared = SemanticOptions(params=recorded_params(recorded))
    assert semantic_key(extra, compared) == semantic_key(recorded)


def test_the_replay_matcher_is_the_semantic_key_and_its_description() -> None:
    options = SemanticOptions(params=frozenset({"max_tokens"}))
    matcher = semantic_matcher(options)
    assert matcher.name == "semantic"
    recorded, new = request(OPENAI_URI, OPENAI), request(OPENAI_URI, edit(OPENAI, "top_p", 0.1))
    assert matcher.key(new) == matcher.key(recorded) == semantic_key(recorded, options)
    other = request(OPENAI_URI, edit(OPENAI, "max_completion_tokens", 5))
    assert matcher.describe(matcher.key(other), matcher.key(recorded)) == (
        "params.max_tokens",
        "recorded 64, requested 5",
    )


def test_the_index_compares_each_recorded_request_on_the_params_it_sets() -> None:
    first = request(OPENAI_URI, edit(OPENAI, "top_p"))
    second = request(ANTHROPIC_URI, ANTHROPIC)
    index = SemanticIndex([first, second, first])
    assert index.find(request(OPENAI_URI, OPENAI)) == [0, 2]
    assert index.find(request(OPENAI_URI, edit(OPENAI, "temperature", 0.7))) == []
    assert index.find(request(ANTHROPIC_URI, ANTHROPIC)) == [1]
    assert index.find(request(ANTHROPIC_URI, edit(ANTHROPIC, "top_p"))) == []
    fixed = SemanticIndex([second], SemanticOptions(params=frozenset({"temperature"})))
    assert fixed.find(request(ANTHROPIC_URI, edit(ANTHROPIC, "top_p"))) == [0]


OPAQUE = {"opaque_tool_results": frozenset({"get_weather"})}
OPAQUE_CASES = [
    ("openai", "messages.3.content", "messages.3.tool_call_id", "messages.3"),
    ("anthropic", "messages.2.content.0.content", "messages.2.content.0.tool_use_id", "messages.2"),
    (
        "gemini",
        "contents.2.parts.0.functionResponse.response",
        "contents.2.parts.0.functionResponse.name",
        "contents.2",
    ),
    (
        "converse",
        "messages.2.content.0.toolResult.content",
        "messages.2.content.0.toolResult.toolUseId",
        "messages.2",
    ),
]


@pytest.mark.parametrize(("provider", "content", "call", "result"), OPAQUE_CASES)
def test_an_opaque_tool_result_is_only_present_in_its_place(
    provider: str, content: str, call: str, result: str
) -> None:
    uri, base = BASES[provider]
    error = {
        "gemini": {"error": "Error: it broke"},
        "converse": [{"text": "Error: it broke"}],
    }.get(provider, "Error: it broke")
    wording = edit(base, content, error)
    assert key(uri, wording, **OPAQUE) == key(uri, base, **OPAQUE)
    assert key(uri, wording) != key(uri, base)
    other_call = key(uri, edit(base, call, "call_9"), **OPAQUE)
    assert other_call != key(uri, base, **OPAQUE)
    missing = key(uri, edit(base, result), **OPAQUE)
    assert missing != key(uri, base, **OPAQUE)


def test_opaque_results_are_found_by_the_name_of_the_call_they_answer() -> None:
    """OpenAI results carry no name: it comes from the assistant's call with that id."""
    other_tool = sets(
        ("messages.2.tool_calls.0.function.name", "search"),
        ("messages.3.content", "Error"),
    )(OPENAI)
    base = edit(OPENAI, "messages.2.tool_calls.0.function.name", "search")
    assert key(OPENAI_URI, other_tool, **OPAQUE) != key(OPENAI_URI, base, **OPAQUE)
    flagged = edit(ANTHROPIC, "messages.2.content.0.is_error", True)
    assert key(ANTHROPIC_URI, flagged, **OPAQUE) == key(ANTHROPIC_URI, ANTHROPIC, **OPAQUE)


JSON_RESULTS = {"json_tool_results": frozenset({"get_weather"})}
JSON_CASES = [
    ("openai", "messages.3.content", '{"sky": "été", "highs": [21, 23.5]}'),
    ("anthropic", "messages.2.content.0.content", '{"sky": "été", "highs": [21, 23.5]}'),
    ("converse", "messages.2.content.0.toolResult.content", [{"text": '{"sky": "été"}'}]),
]


@pytest.mark.parametrize(("provider", "content", "text"), JSON_CASES)
def test_json_tool_results_are_compared_as_the_value_they_spell(
    provider: str, content: str, text: Any
) -> None:
    uri, base = BASES[provider]
    spelled = edit(base, content, text)
    value = json.loads(text if isinstance(text, str) else text[0]["text"])
    compact = json.dumps(dict(reversed(value.items())), separators=(",", ":"))  # escaped
    respelled = edit(base, content, compact if isinstance(text, str) else [{"text": compact}])
    assert key(uri, respelled, **JSON_RESULTS) == key(uri, spelled, **JSON_RESULTS)
    assert key(uri, respelled) != key(uri, spelled)
    other = edit(base, content, text.replace("été", "hiver") if isinstance(text, str) else "x")
    assert key(uri, other, **JSON_RESULTS) != key(uri, spelled, **JSON_RESULTS)
    if provider == "converse":  # a json block is its value already
        block = edit(base, content, [{"json": value}])
        assert key(uri, block, **JSON_RESULTS) == key(uri, spelled, **JSON_RESULTS)


def test_json_tool_results_that_are_not_json_are_compared_as_text() -> None:
    other = edit(OPENAI, "messages.3.content", "Sunny in Paris, 22 C")
    assert key(OPENAI_URI, other, **JSON_RESULTS) != key(OPENAI_URI, OPENAI, **JSON_RESULTS)
    spaced = edit(OPENAI, "messages.3.content", "Sunny in Paris,  21 C")
    assert key(OPENAI_URI, spaced, **JSON_RESULTS) != key(OPENAI_URI, OPENAI, **JSON_RESULTS)


def test_memoized_and_large_bodies_get_the_same_keys() -> None:
    long = edit(OPENAI, "messages.1.content", "x" * 40_000)  # past the memo's size limit
    first = key(OPENAI_URI, long)
    clear_memo()
    assert key(OPENAI_URI, long) == first
    assert key(OPENAI_URI, edit(long, "messages.1.content", "x" * 40_001)) != first
    assert key(OPENAI_URI, OPENAI, **OPAQUE) != key(OPENAI_URI, edit(OPENAI, "messages.3"))
    cached = key(OPENAI_URI, OPENAI)
    clear_memo()
    assert key(OPENAI_URI, OPENAI) == cached


# --- what falls back to strict ------------------------------------------------------------


def test_other_endpoints_compare_path_query_and_canonical_body() -> None:
    uri = "https://api.openai.com/v1/embeddings"
    body = {"model": "text-embedding-3-small", "input": "hi"}
    assert key(uri, body) == key(uri, dict(reversed(body.items())))
    assert key(uri, {**body, "user": None}) != key(uri, body)
    described = describe_semantic_difference(key(uri + "?a=1", body), key(uri, body))
    assert described is not None and described[0] == "query length"
    assert json.loads(key(uri, body)[2])["api"] == "strict"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"\xff\xfe binary", b"[1, 2]", b'{"messages": "a string"}', b"", None],
    ids=["text", "binary", "array", "odd-shape", "empty", "none"],
)
def test_unreadable_bodies_fall_back_to_strict_parts(body: bytes | None) -> None:
    new = semantic_key(request(OPENAI_URI, body))
    assert json.loads(new[2])["api"] == "strict"
    assert semantic_key(request(OPENAI_URI, body)) == new
    assert new != semantic_key(request(OPENAI_URI, b"other"))


def test_every_shipped_and_corpus_request_is_recognized() -> None:
    """Every request in the suite's cassettes and in the real recorded corpus is read as
    its provider's format (none falls back), and keys itself."""
    files = [p for p in (ROOT / "cassettes").rglob("*.yaml")]
    files += [p for p in CORPUS.rglob("*") if p.is_file() and p.suffix != ".md"]
    seen = 0
    for path in files:
        for interaction in load_cassette(path):
            meaning = json.loads(semantic_key(interaction.request)[2])
            assert meaning["api"] != "strict", (path, interaction.request.uri)
            seen += 1
    assert seen > 500


def test_no_two_requests_of_a_shipped_cassette_collapse_into_one_key() -> None:
    """Within each cassette, the semantic key tells apart every pair of requests the
    strict key tells apart: replay cannot serve one recorded turn for another."""
    for path in (ROOT / "cassettes").rglob("*.yaml"):
        requests = [interaction.request for interaction in load_cassette(path)]
        strict = {request_key(r) for r in requests}
        assert len({semantic_key(r) for r in requests}) == len(strict), path


# --- properties ------------------------------------------------------------------------------


def shuffled(value: Any, draw: Callable[[Any], Any]) -> Any:
    """``value`` with every object's keys in a random order."""
    if isinstance(value, dict):
        keys = draw(st.permutations(list(value)))
        return {k: shuffled(value[k], draw) for k in keys}
    if isinstance(value, list):
        return [shuffled(item, draw) for item in value]
    return value


@settings(max_examples=60, deadline=None)
@given(provider=st.sampled_from(sorted(BASES)), data=st.data())
def test_key_order_never_matters(provider: str, data: st.DataObject) -> None:
    uri, base = BASES[provider]
    assert key(uri, shuffled(base, data.draw)) == key(uri, base)


OMITTABLE: dict[str, list[tuple[str, Any]]] = {
    "openai": [
        ("messages.2.content", DELETE),
        ("messages.2.refusal", None),
        ("messages.2.annotations", []),
        ("messages.1.name", None),
        ("stream", False),
        ("n", 1),
        ("parallel_tool_calls", True),
        ("user", None),
        ("metadata", {}),
        ("logit_bias", {}),
        ("frequency_penalty", 0),
        ("presence_penalty", 0.0),
        ("response_format", {"type": "text"}),
        ("stream_options", None),
        ("seed", None),
        ("temperature", 0.2),
    ],
    "anthropic": [
        ("stream", False),
        ("metadata", {}),
        ("thinking", {"type": "disabled"}),
        ("tools.0.type", "custom"),
        ("tools.0.cache_control", None),
        ("messages.2.content.0.is_error", False),
        ("tool_choice.disable_parallel_tool_use", False),
        ("top_k", None),
    ],
    "gemini": [
        ("contents.0.role", DELETE),
        ("systemInstruction.role", "user"),
        ("generationConfig.candidateCount", 1),
        ("generationConfig.responseMimeType", "text/plain"),
        ("generationConfig.topK", None),
        ("safetySettings", []),
        ("contents.1.parts.0.thoughtSignature", "c2ln"),
        ("toolConfig.functionCallingConfig.allowedFunctionNames", []),
        ("tools.0.functionDeclarations.0.description", None),
        ("labels", {}),
    ],
    "converse": [
        ("additionalModelRequestFields", {}),
        ("messages.2.content.0.toolResult.status", "success"),
        ("toolConfig.tools.0.toolSpec.description", DELETE),
        ("system.1", {"cachePoint": {"type": "default"}}),
        ("requestMetadata", {}),
    ],
    "invoke": [
        ("anthropic_version", "bedrock-2023-05-31"),
        ("stream", True),  # InvokeModel's stream flag is the path's
        ("metadata", None),
    ],
}


@settings(max_examples=80, deadline=None)
@given(provider=st.sampled_from(sorted(OMITTABLE)), data=st.data())
def test_omittable_nulls_empties_and_defaults_keep_the_key(
    provider: str, data: st.DataObject
) -> None:
    uri, base = BASES[provider]
    chosen = data.draw(
        st.lists(st.sampled_from(OMITTABLE[provider]), min_size=1, unique_by=lambda c: c[0])
    )
    changed = sets(*chosen)(base)
    assert key(uri, changed) == key(uri, base)


LEAVES: dict[str, list[tuple[str, str]]] = {
    "openai": [
        ("model", "text"),
        ("messages.0.content", "text"),
        ("messages.1.content", "text"),
        ("messages.2.tool_calls.0.id", "text"),
        ("messages.2.tool_calls.0.function.name", "text"),
        (OPENAI_TOOL_CALL, "arguments"),
        ("messages.3.tool_call_id", "text"),
        ("messages.3.content", "text"),
        ("temperature", "number"),
        ("top_p", "number"),
        ("max_completion_tokens", "int"),
        ("stop.0", "text"),
        ("tools.0.function.name", "text"),
        ("tools.0.function.parameters.required.0", "text"),
    ],
    "anthropic": [
        ("model", "text"),
        ("system", "text"),
        ("messages.0.content.0.text", "text"),
        ("messages.1.content.0.id", "text"),
        ("messages.1.content.0.name", "text"),
        ("messages.1.content.0.input.city", "text"),
        ("messages.2.content.0.tool_use_id", "text"),
        ("messages.2.content.0.content", "text"),
        ("temperature", "number"),
        ("top_p", "number"),
        ("max_tokens", "int"),
        ("stop_sequences.0", "text"),
        ("tools.0.name", "text"),
        ("tools.0.input_schema.required.0", "text"),
    ],
    "gemini": [
        ("systemInstruction.parts.0.text", "text"),
        ("contents.0.parts.0.text", "text"),
        ("contents.1.parts.0.functionCall.name", "text"),
        ("contents.1.parts.0.functionCall.args.city", "text"),
        ("contents.2.parts.0.functionResponse.name", "text"),
        ("contents.2.parts.0.functionResponse.response.result", "text"),
        ("generationConfig.temperature", "number"),
        ("generationConfig.topP", "number"),
        ("generationConfig.maxOutputTokens", "int"),
        ("generationConfig.stopSequences.0", "text"),
        ("tools.0.functionDeclarations.0.name", "text"),
    ],
    "converse": [
        ("system.0.text", "text"),
        ("messages.0.content.0.text", "text"),
        ("messages.1.content.0.toolUse.toolUseId", "text"),
        ("messages.1.content.0.toolUse.name", "text"),
        ("messages.1.content.0.toolUse.input.city", "text"),
        ("messages.2.content.0.toolResult.toolUseId", "text"),
        ("messages.2.content.0.toolResult.content.0.text", "text"),
        ("inferenceConfig.temperature", "number"),
        ("inferenceConfig.topP", "number"),
        ("inferenceConfig.maxTokens", "int"),
        ("inferenceConfig.stopSequences.0", "text"),
        ("toolConfig.tools.0.toolSpec.name", "text"),
    ],
}


def leaf_at(body: Any, path: str) -> Any:
    node = body
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


@settings(max_examples=150, deadline=None)
@given(provider=st.sampled_from(sorted(LEAVES)), data=st.data())
def test_changing_a_meaningful_leaf_changes_the_key(provider: str, data: st.DataObject) -> None:
    uri, base = BASES[provider]
    path, kind = data.draw(st.sampled_from(LEAVES[provider]))
    old = leaf_at(base, path)
    value: Any
    if kind == "number":
        value = data.draw(st.floats(0, 2, allow_nan=False).filter(lambda x: x != old))
    elif kind == "int":
        value = data.draw(st.integers(1, 10**6).filter(lambda x: x != old))
    elif kind == "arguments":
        city = data.draw(st.text(min_size=1).filter(lambda x: x != "Paris"))
        value = json.dumps({"city": city})
    else:
        value = data.draw(st.text(min_size=1).filter(lambda x: x != old))
    new_key, old_key = key(uri, edit(base, path, value)), key(uri, base)
    assert new_key != old_key
    described = describe_semantic_difference(new_key, old_key)
    assert described is not None and described[0] != "meaning"


SYSTEM_CASES = [
    ("openai", "messages.0.content", "messages.1.content"),
    ("anthropic", "system", "messages.0.content"),
    ("gemini", "systemInstruction.parts.0.text", "contents.0.parts.0.text"),
    ("converse", "system.0.text", "messages.0.content.0.text"),
]


@pytest.mark.parametrize(("provider", "system", "user"), SYSTEM_CASES)
def test_an_opaque_system_prompt_is_only_present(provider: str, system: str, user: str) -> None:
    """A ``program`` scenario's system prompt is a framework's own wording."""
    uri, base = BASES[provider]
    reworded = edit(base, system, "Your input fields are: `question` (str).")
    assert key(uri, reworded, opaque_system=True) == key(uri, base, opaque_system=True)
    assert key(uri, reworded) != key(uri, base)
    other_user = key(uri, edit(base, user, "Something else."), opaque_system=True)
    assert other_user != key(uri, base, opaque_system=True)
    if provider != "openai":  # no system prompt at all is another request
        assert key(uri, edit(base, system.split(".")[0]), opaque_system=True) != key(
            uri, base, opaque_system=True
        )
