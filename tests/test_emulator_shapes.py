"""The emulator's bodies have the shape of the real services' bodies.

A body's *shape* is its set of ``(path, type)`` pairs: every JSON node's path with list
indices collapsed (``choices[].message.content``) and its JSON type (``str``, ``int``,
``float``, ``bool``, ``null``, ``dict``, ``list``). Tool-call arguments (Anthropic and
Bedrock ``input``, Gemini ``args``) are the caller's data, not the wire schema: only their
own type counts, not what is inside.

For each reference group (OpenAI, Anthropic, Gemini, Bedrock Converse, Bedrock
InvokeModel) and each body kind (``answer``: a non-streamed JSON answer, ``error``: an error
body, and one kind per stream event type), the emulator's bodies for a set of scenarios are
compared with the real bodies of tests/corpus/recorded (loaded with
``harness.cassettes.load_cassette``):

- every pair the emulator sends occurs in the real bodies of that kind, so it never invents
  a key or a type (``DOCUMENTED`` lists the few exceptions: things the corpus has no
  example of, checked against the provider's API reference instead);
- every path the real bodies of a kind *always* have, the emulator's bodies have too;
- every kind the real service sends, the emulator sends, and no other;
- discriminator values (``type``, ``object``, ``role``) are values the real service uses.

InvokeModel bodies are Anthropic-native (AWS: "the response body is the model's native
format"), so that group's reference is the Bedrock InvokeModel recordings plus the
Anthropic Messages recordings. Error bodies: the corpus holds one error status per
provider (404 OpenAI/Gemini, 400 Anthropic/Bedrock); the envelope's shape does not depend
on the status, and the status-dependent values (error type names, status names, Bedrock
exception names, retry headers) are compared with each provider's documented error tables
in ``test_error_values_follow_the_documented_tables``.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from botocore.eventstream import EventStreamBuffer

from harness.cassettes import load_cassette
from harness.emulator import EmulatedResponse, Emulator, Fault, Reply
from harness.providers.base import SSEParser
from harness.types import ToolCall, Usage

CORPUS = Path(__file__).parent / "corpus" / "recorded"
OPAQUE = frozenset({"input", "args"})
"""Keys whose value is caller data (tool-call arguments): only their type is compared."""
DISCRIMINATORS = frozenset({"type", "object", "role"})

Pair = tuple[str, str]
Payloads = dict[str, list[Any]]
"""Body kind -> decoded JSON payloads of that kind."""


# --- shapes ----------------------------------------------------------------------------


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    return {int: "int", float: "float", str: "str", dict: "dict", list: "list"}[type(value)]


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """``(path, value)`` of every node, list indices collapsed to ``[]``."""
    if path:
        yield path, value
    if path.rpartition(".")[2] in OPAQUE:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item, f"{path}[]")


def shape(payload: Any) -> set[Pair]:
    return {(path, json_type(value)) for path, value in walk(payload)}


# --- bodies -> payloads by kind ----------------------------------------------------------


@dataclass(frozen=True)
class Body:
    group: str
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def payloads(body: Body) -> Payloads:
    """The JSON payloads of one response body, by kind."""
    found: Payloads = defaultdict(list)
    if body.status >= 400:
        found["error"].append(json.loads(body.body))
    elif "vnd.amazon.eventstream" in body.content_type:
        frames = EventStreamBuffer()
        frames.add_data(body.body)
        for frame in frames:
            kind = frame.headers[":event-type"]
            payload = json.loads(frame.payload)
            found[kind].append(payload)
            if kind == "chunk":
                inner = json.loads(base64.b64decode(payload["bytes"]))
                found[f"chunk:{inner['type']}"].append(inner)
    elif "event-stream" in body.content_type:
        parser = SSEParser()
        for name, data in [*parser.feed(body.body), *parser.close()]:
            if data.strip() != "[DONE]":
                found[name or "chunk"].append(json.loads(data))
    else:
        data = json.loads(body.body)
        if isinstance(data, list):  # Gemini streamGenerateContent without alt=sse
            found["chunk"].extend(data)
        else:
            found["answer"].append(data)
    return found


def group_of(path: Path, uri: str, status: int) -> list[str]:
    """The reference groups a recorded body belongs to (Bedrock errors are Bedrock's, for
    both APIs; Anthropic answers are also InvokeModel answers)."""
    provider = path.parent.name
    if provider == "bedrock":
        if status >= 400:
            return ["bedrock-converse", "bedrock-invoke"]
        return ["bedrock-invoke"] if "/invoke" in uri else ["bedrock-converse"]
    if provider == "anthropic" and status < 400:
        return ["anthropic", "bedrock-invoke"]
    return [provider]


@cache
def corpus_bodies() -> tuple[Body, ...]:
    bodies = []
    for path in sorted(CORPUS.glob("*/*.yaml*")):
        for interaction in load_cassette(path):
            response = interaction.response
            for group in group_of(path, interaction.request.uri, response.status):
                bodies.append(Body(group, response.status, response.headers, response.body))
    return tuple(bodies)


def as_invoke_reference(body: Body, kinds: Payloads) -> Payloads:
    """Anthropic Messages bodies as InvokeModel bodies: stream events are the inner
    events of ``chunk`` frames (Bedrock sends no ``ping``)."""
    if body.group != "bedrock-invoke" or "event-stream" not in body.content_type:
        return kinds
    return {f"chunk:{kind}": items for kind, items in kinds.items() if kind != "ping"}


@cache
def corpus_payloads(group: str) -> Payloads:
    found: Payloads = defaultdict(list)
    for body in corpus_bodies():
        if body.group == group:
            for kind, items in as_invoke_reference(body, payloads(body)).items():
                found[kind] += items
    return dict(found)


# --- the emulator's bodies ----------------------------------------------------------------

WEATHER = ToolCall("", "get_weather", {"city": "Paris", "days": [1, 2], "detail": {"x": 1}})
SCENARIOS = {
    "text": Reply("The capital of France is Paris."),
    "everything": Reply(
        "Let me check both.",
        tool_calls=(WEATHER, ToolCall("call_7", "get_time", {"zone": "CET"})),
        reasoning="The user wants weather and time.",
        usage=Usage(input_tokens=120, output_tokens=60, cached_tokens=100, reasoning_tokens=20),
    ),
    "tool_only": Reply(tool_calls=(ToolCall("", "list_files"),)),
    "length": Reply("Once upon a", finish_reason="length", model="other-model"),
    "empty": Reply(""),
}
STATUSES = (400, 401, 403, 404, 429, 500, 503, 529)

OPENAI = "https://api.openai.com/v1/chat/completions"
ANTHROPIC = "https://api.anthropic.com/v1/messages"
GEMINI = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash"
BEDROCK = "https://bedrock-runtime.us-east-1.amazonaws.com/model"
USAGE = {"include_usage": True}
REQUESTS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "openai": [
        (OPENAI, {"model": "gpt-4o-mini"}),
        (OPENAI, {"model": "gpt-4o-mini", "stream": True}),
        (OPENAI, {"model": "gpt-4o-mini", "stream": True, "stream_options": USAGE}),
    ],
    "anthropic": [
        (ANTHROPIC, {"model": "claude-sonnet-4-5"}),
        (ANTHROPIC, {"model": "claude-sonnet-4-5", "stream": True}),
    ],
    "gemini": [
        (f"{GEMINI}:generateContent", {}),
        (f"{GEMINI}:streamGenerateContent?alt=sse", {}),
        (f"{GEMINI}:streamGenerateContent", {}),
    ],
    "bedrock-converse": [
        (f"{BEDROCK}/us.amazon.nova-micro-v1%3A0/converse", {}),
        (f"{BEDROCK}/us.amazon.nova-micro-v1%3A0/converse-stream", {}),
    ],
    "bedrock-invoke": [
        (f"{BEDROCK}/us.anthropic.claude-sonnet-4-5-v1%3A0/invoke", {}),
        (f"{BEDROCK}/us.anthropic.claude-sonnet-4-5-v1%3A0/invoke-with-response-stream", {}),
    ],
}
GROUPS = tuple(REQUESTS)


def serve(group: str, step: Reply | Fault) -> Iterator[EmulatedResponse]:
    for url, body in REQUESTS[group]:
        yield Emulator([step]).handle("POST", url, {}, json.dumps(body).encode())


@cache
def emulator_bodies(group: str) -> tuple[Body, ...]:
    faults = [Fault(status, f"emulated {status}", retry_after=2) for status in STATUSES]
    steps: list[Reply | Fault] = [*SCENARIOS.values(), *faults]
    return tuple(
        Body(group, r.status, r.headers, r.body) for step in steps for r in serve(group, step)
    )


@cache
def emulator_payloads(group: str) -> Payloads:
    found: Payloads = defaultdict(list)
    for body in emulator_bodies(group):
        for kind, items in payloads(body).items():
            found[kind] += items
    return dict(found)


# --- documented exceptions ----------------------------------------------------------------

REASONING_TEXT = "output.message.content[].reasoningContent"
DOCUMENTED: dict[tuple[str, str], set[Pair]] = {
    # OpenAI error object: "code" is a string or null; 5xx bodies carry "code": null
    # ({"type": "server_error", "param": null, "code": null}). The corpus error is a 404.
    ("openai", "error"): {("error.code", "null")},
    # OpenAI-compatible servers that reason (DeepSeek's API reference, vLLM's reasoning
    # outputs) send the reasoning text as a string "reasoning_content" beside "content",
    # in the message and in each stream delta; OpenAI itself sends none.
    ("openai", "answer"): {("choices[].message.reasoning_content", "str")},
    ("openai", "chunk"): {("choices[].delta.reasoning_content", "str")},
    # Messages API, extended thinking: a non-streamed answer has
    # {"type": "thinking", "thinking", "signature"} blocks; the corpus has thinking only
    # in streams (content_block_start carries the same block shape).
    ("anthropic", "answer"): {("content[].thinking", "str"), ("content[].signature", "str")},
    ("bedrock-invoke", "answer"): {("content[].thinking", "str"), ("content[].signature", "str")},
    # Gemini UsageMetadata.cachedContentTokenCount (int), sent when the prompt hit a
    # cache; no corpus request used a cache. Part.thought (bool) marks a thought summary
    # part; the corpus has them in streamed chunks only (same GenerateContentResponse).
    ("gemini", "answer"): {
        ("usageMetadata.cachedContentTokenCount", "int"),
        ("candidates[].content.parts[].thought", "bool"),
    },
    ("gemini", "chunk"): {("usageMetadata.cachedContentTokenCount", "int")},
    # Converse ContentBlock.reasoningContent = {reasoningText: {text, signature}}; the
    # corpus models (Nova, Claude 3) did not reason.
    ("bedrock-converse", "answer"): {
        (REASONING_TEXT, "dict"),
        (f"{REASONING_TEXT}.reasoningText", "dict"),
        (f"{REASONING_TEXT}.reasoningText.text", "str"),
        (f"{REASONING_TEXT}.reasoningText.signature", "str"),
    },
    # ConverseStream ContentBlockDelta.reasoningContent = {text} | {signature}.
    ("bedrock-converse", "contentBlockDelta"): {
        ("delta.reasoningContent", "dict"),
        ("delta.reasoningContent.text", "str"),
        ("delta.reasoningContent.signature", "str"),
    },
    # ConverseStream metadata.usage is the same TokenUsage as Converse's usage, whose
    # cache counters the corpus has (non-streamed); no corpus stream used a cache.
    ("bedrock-converse", "metadata"): {
        ("usage.cacheReadInputTokens", "int"),
        ("usage.cacheWriteInputTokens", "int"),
    },
}
DOCUMENTED_VALUES: dict[tuple[str, str], set[tuple[str, Any]]] = {
    # The non-streamed thinking block (see DOCUMENTED).
    ("anthropic", "answer"): {("content[].type", "thinking")},
    ("bedrock-invoke", "answer"): {("content[].type", "thinking")},
    # A streamed client tool call starts with a {"type": "tool_use", "id", "name",
    # "input": {}} block (Messages streaming docs); the corpus streams only a server tool
    # (server_tool_use, same keys) and has tool_use blocks in non-streamed answers.
    ("anthropic", "content_block_start"): {("content_block.type", "tool_use")},
    ("bedrock-invoke", "chunk:content_block_start"): {("content_block.type", "tool_use")},
}
OPTIONAL: dict[tuple[str, str], set[str]] = {
    # Chunks carry "usage" (null until the last chunk) only when the request sets
    # stream_options.include_usage, as every corpus stream did.
    ("openai", "chunk"): {"usage"},
}


def kinds(group: str) -> list[str]:
    return sorted(set(corpus_payloads(group)) | set(emulator_payloads(group)))


CASES = [(group, kind) for group in GROUPS for kind in kinds(group)]


# --- tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("group", GROUPS)
def test_the_emulator_sends_the_kinds_the_service_sends(group: str) -> None:
    assert set(emulator_payloads(group)) == set(corpus_payloads(group))


@pytest.mark.parametrize(("group", "kind"), CASES)
def test_no_invented_key_or_type(group: str, kind: str) -> None:
    real = set().union(*map(shape, corpus_payloads(group).get(kind, [])))
    emulated = set().union(*map(shape, emulator_payloads(group).get(kind, [])))
    invented = emulated - real - DOCUMENTED.get((group, kind), set())
    assert not invented, f"{group} {kind}: not in the real bodies: {sorted(invented)}"


@pytest.mark.parametrize(("group", "kind"), CASES)
def test_documented_exceptions_are_needed(group: str, kind: str) -> None:
    """Each exception is sent by the emulator and absent from the corpus (else stale)."""
    real = set().union(*map(shape, corpus_payloads(group).get(kind, [])))
    emulated = set().union(*map(shape, emulator_payloads(group).get(kind, [])))
    documented = DOCUMENTED.get((group, kind), set())
    assert documented <= emulated - real


@pytest.mark.parametrize(("group", "kind"), CASES)
def test_keys_the_service_always_sends_are_sent(group: str, kind: str) -> None:
    always = set.intersection(*({p for p, _ in shape(x)} for x in corpus_payloads(group)[kind]))
    always -= OPTIONAL.get((group, kind), set())
    for payload in emulator_payloads(group)[kind]:
        missing = always - {path for path, _ in shape(payload)}
        assert not missing, f"{group} {kind}: missing {sorted(missing)} in {payload}"


@pytest.mark.parametrize(("group", "kind"), [c for c in CASES if c[1] != "error"])
def test_discriminator_values_are_real(group: str, kind: str) -> None:
    def values(items: list[Any]) -> set[tuple[str, Any]]:
        return {
            (path, value)
            for item in items
            for path, value in walk(item)
            if path.rpartition(".")[2] in DISCRIMINATORS and isinstance(value, str)
        }

    real = values(corpus_payloads(group)[kind])
    invented = values(emulator_payloads(group)[kind]) - real
    assert invented <= DOCUMENTED_VALUES.get((group, kind), set())


def content_types(bodies: tuple[Body, ...], group: str) -> set[tuple[str, str]]:
    """``(answer | stream | error, content-type)`` pairs."""

    def kind(body: Body) -> str:
        if body.status >= 400:
            return "error"
        return "answer" if "answer" in payloads(body) else "stream"

    return {(kind(b), b.content_type) for b in bodies if b.group == group}


@pytest.mark.parametrize("group", GROUPS)
def test_content_types_are_the_real_ones(group: str) -> None:
    real = content_types(corpus_bodies(), group)
    if group == "bedrock-invoke":  # its Anthropic reference bodies are not Bedrock's
        real = {pair for pair in real if "event-stream" not in pair[1]}
        real |= {(k, t) for k, t in content_types(corpus_bodies(), "bedrock-converse")}
    assert content_types(emulator_bodies(group), group) <= real


@pytest.mark.parametrize("group", ["bedrock-converse", "bedrock-invoke"])
def test_eventstream_frame_headers_are_the_real_ones(group: str) -> None:
    def headers(bodies: tuple[Body, ...]) -> set[tuple[str, str]]:
        pairs = set()
        for body in bodies:
            if body.group == group and "eventstream" in body.content_type:
                frames = EventStreamBuffer()
                frames.add_data(body.body)
                pairs |= {(k, str(v)) for frame in frames for k, v in frame.headers.items()}
        return pairs

    assert headers(emulator_bodies(group)) <= headers(corpus_bodies())


@pytest.mark.parametrize("group", ["openai", "anthropic", "gemini"])
def test_sse_framing_is_the_real_one(group: str) -> None:
    """Event separators (Gemini: CRLF), final ``[DONE]`` (OpenAI), ``event:`` lines naming
    the payload's type (Anthropic)."""

    def framing(bodies: tuple[Body, ...]) -> set[str]:
        traits = set()
        for body in bodies:
            if body.group != group or "event-stream" not in body.content_type:
                continue
            text = body.body.decode()
            traits.add("crlf" if "\r\n\r\n" in text else "lf")
            traits.add("done" if text.endswith("data: [DONE]\n\n") else "no-done")
            named = [line for line in text.splitlines() if line.startswith("event: ")]
            traits.add("named" if named else "unnamed")
        return traits

    assert framing(emulator_bodies(group)) == framing(corpus_bodies())


# --- error values against the documented tables ------------------------------------------

ANTHROPIC_ERRORS = {  # docs.anthropic.com/en/api/errors
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
GEMINI_STATUS = {  # ai.google.dev/gemini-api/docs/troubleshooting (google.rpc codes)
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
BEDROCK_ERRORS = {  # Bedrock Runtime API reference, Converse "Errors"
    400: "ValidationException",
    # AWS sends UnrecognizedClientException (bad credentials) with 403; the emulator's
    # 401 uses it so that the status and the name agree on AuthenticationError.
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("status", STATUSES)
def test_error_values_follow_the_documented_tables(group: str, status: int) -> None:
    response = next(serve(group, Fault(status, "boom", retry_after=1.5)))
    error = json.loads(response.body)
    assert response.status == status
    assert (response.headers["retry-after"], response.headers["retry-after-ms"]) == ("2", "1500")
    if group == "openai":  # platform.openai.com/docs/guides/error-codes
        kind = {429: "requests"}.get(status, "server_error" if status >= 500 else None)
        assert error["error"]["message"] == "boom"
        assert error["error"]["type"] == (kind or "invalid_request_error")
    elif group == "anthropic":
        expected = ANTHROPIC_ERRORS.get(status, "api_error")
        assert error == {
            "type": "error",
            "error": {"type": expected, "message": "boom"},
            "request_id": error["request_id"],
        }
    elif group == "gemini":
        name = GEMINI_STATUS.get(status, "INTERNAL")
        assert error == {"error": {"code": status, "message": "boom", "status": name}}
    else:
        name = BEDROCK_ERRORS.get(status, "InternalServerException")
        assert error == {"message": "boom"}
        # The recorded 400 names the exception as "Name:http://internal.amazon.com/...".
        real = next(b for b in corpus_bodies() if "x-amzn-errortype" in b.headers)
        suffix = real.headers["x-amzn-errortype"].partition(":")[2]
        assert response.headers["x-amzn-errortype"] == f"{name}:{suffix}"
