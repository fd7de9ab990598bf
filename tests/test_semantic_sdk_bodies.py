"""Real client libraries' request bodies against the reference client's, for the same call.

The fixtures under tests/semantic_bodies/<client>/<case>.json were sent by the official
openai and anthropic SDKs, litellm (four providers), simonw's llm and google-genai (see
that folder's README and capture.py). For each one, the reference client builds the
request of the same call with its own codecs (``LM.request``); the two must match under the
semantic matcher, with the sampling parameters the call sets (as the conformance suite
passes its scenario's keys). The strict matcher tells them apart wherever the bytes
differ, in particular in every way issue 10 lists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.credentials import Credentials
from vcr.request import Request

from harness.cassettes.match import describe_difference, request_key
from harness.cassettes.semantic import (
    SemanticOptions,
    describe_semantic_difference,
    semantic_key,
)
from harness.lm import LM
from harness.types import Message, ToolCall, ToolSpec
from tests.semantic_bodies.cases import (
    CALL_ARGUMENTS,
    CALL_ID,
    PROMPTS,
    RESULT,
    SAMPLING,
    SYSTEM,
    WEATHER_DESCRIPTION,
    WEATHER_SCHEMA,
    base_case,
    get_weather,
)

BODIES = Path(__file__).parent / "semantic_bodies"
MODELS = {
    "openai": "openai/gpt-4o-mini",
    "anthropic": "anthropic/claude-sonnet-4-5",
    "gemini": "gemini/gemini-2.5-flash",
    "bedrock": "bedrock/us.amazon.nova-micro-v1:0",
}
WEATHER = ToolSpec("get_weather", WEATHER_DESCRIPTION, WEATHER_SCHEMA)

KNOWN_DIFFERENCES = {
    ("litellm-openai", "stream"): "stream_usage",
}
"""Bodies that differ from the reference in meaning, not spelling, and the field: litellm
1.110.2 streams from OpenAI without ``stream_options.include_usage``, so the live stream
carries no usage (litellm then counts tokens itself)."""

STRICT_MATCHES = {
    ("litellm-anthropic", "sampling_parameters"),
    ("litellm-bedrock", "sampling_parameters"),
    ("litellm-gemini", "stream"),
    ("litellm-openai", "system_prompt"),
    ("litellm-openai", "tool_choice_named"),
    ("litellm-openai", "tool_choice_required"),
    ("llm", "stream"),
    ("openai-sdk", "stream"),
    ("openai-sdk", "system_prompt"),
    ("openai-sdk", "tool_choice_named"),
    ("openai-sdk", "tool_choice_required"),
}
"""The captured bodies whose bytes already equal the reference's as canonical JSON: every
other one needs a relaxation of the semantic matcher."""


@dataclass(frozen=True)
class Captured:
    client: str
    case: str
    provider: str
    version: str
    request: Request
    body: Any

    @property
    def id(self) -> str:
        return f"{self.client}/{self.case}"


def captured_files() -> list[Path]:
    return sorted(BODIES.glob("*/*.json"))


def load(path: Path, host: str) -> Captured:
    """A captured request, sent to ``host`` (the reference's; capture used a loopback)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    uri = f"{host}{data['path']}" + (f"?{data['query']}" if data["query"] else "")
    request = Request(data["method"], uri, json.dumps(data["body"]), {})
    return Captured(
        data["client"], data["case"], data["provider"], data["version"], request, data["body"]
    )


def reference(provider: str, case: str) -> tuple[Request, frozenset[str]]:
    """The reference client's request for ``case``, and the sampling parameters it sets."""
    options: dict[str, Any] = {"api_key": "test-key"}
    if provider == "bedrock":
        options = {"region": "us-east-1", "credentials": Credentials("AKIDTEST", "secret")}
    lm = LM(MODELS[provider], **options)
    name = base_case(case)
    messages: tuple[Message, ...] = (Message.user(PROMPTS[name]),)
    kwargs: dict[str, Any] = {}
    if name == "system_prompt":
        messages = (Message.system(SYSTEM), *messages)
    elif name == "sampling_parameters":
        kwargs = dict(SAMPLING)
    elif name == "tool_choice_required":
        kwargs = {"tools": [WEATHER], "tool_choice": "required"}
    elif name == "tool_choice_named":
        kwargs = {"tools": [WEATHER], "tool_choice": "get_weather"}
    elif name == "tool_call_single":
        kwargs = {"tools": [WEATHER]}
    elif name == "tool_result":
        call = ToolCall(CALL_ID, "get_weather", dict(CALL_ARGUMENTS))
        messages = (*messages, Message.assistant(tool_calls=(call,)), Message.tool(call, RESULT))
        # The llm variant derived its schema from the function, as the reference chain does.
        kwargs = {"tools": [get_weather if case == "tool_result_function_schema" else WEATHER]}
    built = lm.request(messages, stream=name == "stream", **kwargs)
    params = frozenset(key for key in kwargs if key in SAMPLING)
    return Request(built.method, built.url, built.body, built.headers), params


def pair(path: Path) -> tuple[Captured, Request, SemanticOptions]:
    """The captured request, the reference's, and the scenario's options."""
    data = json.loads(path.read_text(encoding="utf-8"))
    expected, params = reference(data["provider"], data["case"])
    parts = urlsplit(expected.uri)
    return load(path, f"{parts.scheme}://{parts.netloc}"), expected, SemanticOptions(params)


def ids(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


# --- every captured body -------------------------------------------------------------------


def test_every_library_and_case_was_captured() -> None:
    clients = {path.parent.name for path in captured_files()}
    assert clients == {
        "openai-sdk",
        "anthropic-sdk",
        "google-genai",
        "llm",
        "litellm-openai",
        "litellm-anthropic",
        "litellm-gemini",
        "litellm-bedrock",
    }
    for client in clients:
        cases = {path.stem for path in (BODIES / client).glob("*.json")}
        assert {"system_prompt", "sampling_parameters", "tool_result", "stream"} <= cases


@pytest.mark.parametrize("path", captured_files(), ids=ids)
def test_a_real_body_means_what_the_reference_sends(path: Path) -> None:
    captured, expected, options = pair(path)
    new, old = semantic_key(captured.request, options), semantic_key(expected, options)
    known = KNOWN_DIFFERENCES.get((captured.client, captured.case))
    if known is None:
        assert new == old, describe_semantic_difference(new, old)
    else:
        described = describe_semantic_difference(new, old)
        assert described is not None and described[0] == known, described


@pytest.mark.parametrize("path", captured_files(), ids=ids)
def test_the_strict_matcher_tells_the_bytes_apart(path: Path) -> None:
    captured, expected, _ = pair(path)
    strict = describe_difference(request_key(captured.request), request_key(expected))
    if (captured.client, captured.case) in STRICT_MATCHES:
        assert strict is None
    else:
        assert strict is not None


# --- the differences issue 10 lists, one by one ---------------------------------------------


def strict_and_semantic(client: str, case: str) -> tuple[Captured, tuple[str, str] | None, bool]:
    """The captured request, its strict difference from the reference's, and whether
    the two match semantically."""
    captured, expected, options = pair(BODIES / client / f"{case}.json")
    strict = describe_difference(request_key(captured.request), request_key(expected))
    semantic = semantic_key(captured.request, options) == semantic_key(expected, options)
    return captured, strict, semantic


def test_litellm_drops_content_null_on_assistant_tool_calls() -> None:
    captured, strict, semantic = strict_and_semantic("litellm-openai", "tool_result")
    assert "content" not in captured.body["messages"][1]
    assert strict is not None and "messages[1].content" in strict[1]
    assert semantic


def test_litellm_sends_an_empty_inference_config_to_bedrock() -> None:
    captured, strict, semantic = strict_and_semantic("litellm-bedrock", "system_prompt")
    assert captured.body["inferenceConfig"] == {}
    assert strict is not None and "inferenceConfig" in strict[1]
    assert semantic


def test_litellm_sends_anthropic_a_default_max_tokens_of_64000() -> None:
    captured, strict, semantic = strict_and_semantic("litellm-anthropic", "system_prompt")
    assert captured.body["max_tokens"] == 64000
    assert strict is not None
    assert semantic  # the scenario sets no max_tokens: not compared
    _, expected, _ = pair(BODIES / "litellm-anthropic" / "system_prompt.json")
    every = describe_semantic_difference(semantic_key(captured.request), semantic_key(expected))
    assert every == ("params.max_tokens", "recorded 1024, requested 64000")


def test_llm_always_sends_stream_false() -> None:
    captured, strict, semantic = strict_and_semantic("llm", "system_prompt")
    assert captured.body["stream"] is False
    assert strict is not None and "stream" in strict[1]
    assert semantic


@pytest.mark.parametrize("client", ["openai-sdk", "llm", "litellm-openai"])
def test_clients_send_max_tokens_where_the_reference_sends_max_completion_tokens(
    client: str,
) -> None:
    captured, strict, semantic = strict_and_semantic(client, "sampling_parameters")
    assert captured.body["max_tokens"] == SAMPLING["max_tokens"]
    assert "max_completion_tokens" not in captured.body
    assert strict is not None
    assert semantic


def test_llm_sends_stop_as_a_string() -> None:
    captured, strict, semantic = strict_and_semantic("llm", "sampling_parameters")
    assert captured.body["stop"] == "4"
    assert strict is not None
    assert semantic


def test_gemini_clients_spell_fields_in_snake_case_and_openapi() -> None:
    litellm, strict, semantic = strict_and_semantic("litellm-gemini", "tool_result")
    assert "function_declarations" in litellm.body["tools"][0]
    assert litellm.body["contents"][2]["parts"][0]["function_response"]["response"] == {
        "content": RESULT
    }
    assert semantic and strict is not None
    genai, strict, semantic = strict_and_semantic(
        "google-genai", "tool_choice_required_openapi_schema"
    )
    parameters = genai.body["tools"][0]["functionDeclarations"][0]["parameters"]
    assert parameters["type"] == "OBJECT"
    assert semantic and strict is not None
    assert urlsplit(genai.request.uri).path.startswith("/v1/models/")


def test_llm_derives_its_own_schema_and_description_from_the_function() -> None:
    captured, strict, semantic = strict_and_semantic("llm", "tool_result_function_schema")
    function = captured.body["tools"][0]["function"]
    assert "Args:" in function["description"]
    assert "description" not in function["parameters"]["properties"]["city"]
    assert strict is not None
    assert semantic  # descriptions are each client's wording
