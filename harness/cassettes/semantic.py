"""Semantic request matching: two requests match when they MEAN the same call.

``semantic_key(request)`` is ``(method, host, meaning)``. ``meaning`` is canonical JSON text
(sorted keys, compact) of a document normalized per provider, recognized by the request
path (not the host, so OpenAI-compatible servers are recognized too):

- ``.../chat/completions``: OpenAI Chat Completions (``api: openai.chat``);
- ``.../v1/messages``: Anthropic Messages (``anthropic.messages``);
- ``.../models/<m>:generateContent`` and ``:streamGenerateContent``: Gemini
  (``gemini.generate``);
- ``.../model/<id>/converse`` and ``/converse-stream``: Bedrock Converse
  (``bedrock.converse``); ``/invoke`` and ``/invoke-with-response-stream``: Bedrock
  InvokeModel with Anthropic Messages bodies (``bedrock.invoke``);
- anything else, and any body that is not a JSON object of the expected shape: the strict
  parts of ``harness.cassettes.match`` (path, query and canonical body, ``api: strict``).

The document keeps only what carries meaning::

    {"api", "endpoint", "query", "model", "stream", "stream_usage", "system",
     "messages": [{"role", "text", "tool_calls": [{"id", "name", "arguments"}],
                   "tool_results": [{"id", "name", "content", "is_error"}], "parts"}],
     "tools": [{"name", "schema", "strict"} | {"builtin", "config"}],
     "tool_choice": "auto" | "required" | "none" | {"name": X} | {"names": [...]},
     "params": {"temperature", "top_p", "max_tokens", "stop"},
     "extra": {...}}

Fields that are empty, absent, or equal to the provider's documented default are left out,
so every spelling of "not set" gives the same document. Every normalization, every ignored
field and why, is listed per provider in docs/matching.md; the module's tests check each in
both directions, and tests/test_semantic_sdk_bodies.py checks real SDK bodies against the
reference client's.

Speed: the body is parsed once and the document serialized once; keys of bodies up to
32 KB are memoized on (method, URI, body, options), so the same request replayed in every
mode is normalized once.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from types import SimpleNamespace
from typing import Any

from harness.cassettes.bodies import raw_body
from harness.cassettes.match import (
    RequestMatcher,
    canonical_json,
    host_of,
    path_of,
    query_of,
)

__all__ = [
    "PARAMS",
    "SemanticIndex",
    "SemanticKey",
    "SemanticOptions",
    "clear_memo",
    "describe_semantic_difference",
    "recorded_params",
    "semantic_key",
    "semantic_matcher",
]

PARAMS = frozenset({"temperature", "top_p", "max_tokens", "stop"})
"""The sampling parameters compared, in harness names."""


@dataclass(frozen=True)
class SemanticOptions:
    """What the semantic matcher compares beyond the fixed fields."""

    params: frozenset[str] | None = None
    """The sampling parameters to compare, in harness names: any of 'temperature', 'top_p',
    'max_tokens', 'stop'. None: compare each of them that the RECORDED request sets.
    (The conformance suite passes the keys its scenario sets.)

    A key is built from one request, so with None a key holds every parameter its own
    request sets: the recorded request's key then holds exactly the ones it sets, and a
    new request is compared on those by building its key with
    ``SemanticOptions(params=recorded_params(recorded))`` (``SemanticIndex`` does this)."""
    opaque_tool_results: frozenset[str] = frozenset()
    """Tool names whose RESULT content is not compared (error results, whose wording is the
    client's own): only that a result for that call is present, in its place."""
    json_tool_results: frozenset[str] = frozenset()
    """Tool names whose RESULT content is compared as the JSON value it spells (a tool
    returning a dict, a list, a number...: each client spaces and escapes its JSON text
    its own way), as the value itself where the wire carries one (Converse ``json``)."""
    opaque_system: bool = False
    """Compare the system prompt by presence only (its text is a framework's own: DSPy's
    adapters word it differently from one release to the next). For the ``program``
    scenarios; the user's turns are still compared in full."""


SemanticKey = tuple[str, str, str]
"""``(method, host, meaning)``: hashable; equal keys <=> the requests match."""

_DEFAULT_OPTIONS = SemanticOptions()
_MEMO_SIZE = 1024
_MEMO_MAX_BODY = 32 * 1024
"""Keys of bodies up to this size are memoized (at most ``_MEMO_SIZE`` of them: 32 MB of
bodies held at worst); larger ones, rare, are normalized each time."""

_GEMINI = re.compile(
    r"^(?P<prefix>.*?)/(?P<model>(?:tunedModels|models)/[^/:]+):"
    r"(?P<method>generateContent|streamGenerateContent)$"
)
_GEMINI_VERSION = re.compile(r"^/v\d+(?:alpha|beta)?\d*")
_BEDROCK = re.compile(
    r"^(?P<prefix>.*?)/model/(?P<model>.+)/"
    r"(?P<op>converse|converse-stream|invoke|invoke-with-response-stream)$"
)
_OPENAI_SUFFIX = "/chat/completions"
_ANTHROPIC_SUFFIX = "/v1/messages"


# --- public API --------------------------------------------------------------------------


def semantic_key(request: Any, options: SemanticOptions = _DEFAULT_OPTIONS) -> SemanticKey:
    """The semantic key of a vcrpy request: equal keys <=> the requests mean the same call.

    ``request`` has ``method``, ``uri`` and ``body`` (bytes, str, None, or what vcrpy
    holds). Never raises on an odd body: what cannot be read as the provider's format
    is compared strictly."""
    body = raw_body(request)
    build = _memo_key if len(body) <= _MEMO_MAX_BODY else _key
    return build(str(request.method).upper(), str(request.uri), body, options)


def recorded_params(request: Any) -> frozenset[str]:
    """The sampling parameters (harness names) that ``request`` sets."""
    return _params_of(semantic_key(request)[2])


def describe_semantic_difference(new: SemanticKey, recorded: SemanticKey) -> tuple[str, str] | None:
    """``(field, text)`` of the first difference between two keys, or None if equal.

    ``field`` is a path into the normalized document, e.g.
    ``messages[1].tool_calls[0].arguments.city``; ``text`` says
    ``recorded <value>, requested <value>``."""
    for name, mine, theirs in zip(("method", "host"), new[:2], recorded[:2], strict=True):
        if mine != theirs:
            return name, f"recorded {theirs!r}, requested {mine!r}"
    if new[2] == recorded[2]:
        return None
    try:
        new_doc, old_doc = json.loads(new[2]), json.loads(recorded[2])
    except ValueError:  # not a key this module built
        return "meaning", f"recorded {_clip(recorded[2])}, requested {_clip(new[2])}"
    where, old, mine = _difference(new_doc, old_doc, "")
    field = where.lstrip(".") or "meaning"
    return field, f"recorded {_show(old)}, requested {_show(mine)}"


@lru_cache(maxsize=256)
def semantic_matcher(options: SemanticOptions = _DEFAULT_OPTIONS) -> RequestMatcher:
    """The replay layer's ``RequestMatcher`` for ``options``: ``semantic_key`` and
    ``describe_semantic_difference``. Its key is built from each request alone, so with
    ``options.params`` None it compares every sampling parameter either request sets
    (``SemanticIndex`` compares only the recorded request's). The same options give the
    same matcher object, so loaded cassettes are shared between replays
    (``harness.cassettes.record.SNAPSHOTS`` is keyed by matcher)."""
    return RequestMatcher(
        "semantic", partial(semantic_key, options=options), describe_semantic_difference
    )


class SemanticIndex:
    """Recorded requests by semantic key, for O(1) lookups per distinct parameter set.

    With ``options.params`` None, each recorded request is compared on the sampling
    parameters IT sets: a new request's key is built once per distinct set among the
    recorded requests (usually one or two per cassette)."""

    def __init__(self, recorded: Iterable[Any], options: SemanticOptions = _DEFAULT_OPTIONS):
        self.options = options
        self._keys: dict[SemanticKey, list[int]] = {}
        self._param_sets: list[frozenset[str] | None] = []
        for index, request in enumerate(recorded):
            key = semantic_key(request, options)
            self._keys.setdefault(key, []).append(index)
            wanted: frozenset[str] | None = options.params
            if wanted is None:
                wanted = _params_of(key[2])
            if wanted not in self._param_sets:
                self._param_sets.append(wanted)

    def keys_for(self, request: Any) -> list[SemanticKey]:
        """The keys ``request`` is looked up under (one per recorded parameter set)."""
        return [
            semantic_key(
                request,
                replace(self.options, params=params),
            )
            for params in self._param_sets
        ]

    def find(self, request: Any) -> list[int]:
        """Positions of the recorded requests ``request`` matches, in recorded order."""
        found: set[int] = set()
        for key in self.keys_for(request):
            found.update(self._keys.get(key, ()))
        return sorted(found)


# --- the key -------------------------------------------------------------------------------


def _key(method: str, uri: str, body: bytes, options: SemanticOptions) -> SemanticKey:
    shim = SimpleNamespace(uri=uri)
    path = path_of(shim)
    doc = _document(path, shim, body, options.opaque_tool_results)
    if options.json_tool_results:
        _parse_json_results(doc, options.json_tool_results)
    if options.opaque_system:
        _blank_system(doc)
    params = doc.get("params")
    if params and options.params is not None:
        kept = {name: value for name, value in params.items() if name in options.params}
        if kept:
            doc["params"] = kept
        else:
            del doc["params"]
    return method, host_of(shim), canonical_json(doc)


OPAQUE_SYSTEM = "<a system prompt>"
"""What ``SemanticOptions.opaque_system`` puts in place of a system prompt's text."""


def _blank_system(doc: dict[str, Any]) -> None:
    if doc.get("system"):
        doc["system"] = OPAQUE_SYSTEM
    for turn in doc.get("messages") or ():
        if isinstance(turn, dict) and turn.get("role") == "system" and turn.get("text"):
            turn["text"] = OPAQUE_SYSTEM


def _parse_json_results(doc: dict[str, Any], names: frozenset[str]) -> None:
    for turn in doc.get("messages") or ():
        for result in (turn.get("tool_results") or ()) if isinstance(turn, dict) else ():
            if isinstance(result, dict) and result.get("name") in names and "content" in result:
                content = result["content"]
                try:
                    value = json.loads(content) if isinstance(content, str) else content
                except ValueError:
                    continue
                result["content"] = {"json": value}


_memo_key = lru_cache(maxsize=_MEMO_SIZE)(_key)
"""``_key``, memoized: every mode of a scenario replays the same requests."""


def clear_memo() -> None:
    """Forget the memoized keys (benchmarks measure normalization from the bytes)."""
    _memo_key.cache_clear()


def _params_of(meaning: str) -> frozenset[str]:
    try:
        params = json.loads(meaning).get("params") or {}
    except (ValueError, AttributeError):
        return frozenset()
    return frozenset(params)


def _document(path: str, shim: Any, body: bytes, opaque: frozenset[str]) -> dict[str, Any]:
    """The normalized document of one request (the strict parts if unrecognized)."""
    normalize: Callable[[Any, dict[str, Any], frozenset[str]], dict[str, Any]] | None = None
    head: dict[str, Any] = {}
    if path.endswith(_OPENAI_SUFFIX):
        normalize = _openai
        head = {"api": "openai.chat", "endpoint": path[: -len(_OPENAI_SUFFIX)]}
    elif path.endswith(_ANTHROPIC_SUFFIX):
        normalize = _anthropic
        head = {"api": "anthropic.messages", "endpoint": path[: -len(_ANTHROPIC_SUFFIX)]}
    elif (found := _GEMINI.match(path)) is not None:
        normalize = _gemini
        model = found["model"].removeprefix("models/")
        head = {
            "api": "gemini.generate",
            "endpoint": _GEMINI_VERSION.sub("", found["prefix"]),
            "model": model,
            "stream": found["method"] == "streamGenerateContent",
        }
    elif (found := _BEDROCK.match(path)) is not None:
        op = found["op"]
        invoke = op.startswith("invoke")
        normalize = _anthropic if invoke else _converse
        head = {
            "api": "bedrock.invoke" if invoke else "bedrock.converse",
            "endpoint": found["prefix"],
            "model": found["model"],
            "stream": op.endswith("stream"),
        }
    query = query_of(shim)
    if normalize is not None:
        try:
            data = json.loads(body)
        except ValueError:  # UnicodeDecodeError is a ValueError
            data = None
        if isinstance(data, dict):
            try:
                doc = normalize(data, head, opaque)
            except _SHAPE_ERRORS:
                doc = None
            if doc is not None:
                if query:
                    doc["query"] = [list(pair) for pair in query]
                return _compact(doc)
    return _strict(path, query, body)


_SHAPE_ERRORS = (LookupError, TypeError, AttributeError, ValueError)
"""What a JSON body of an unexpected shape raises while it is normalized."""


def _strict(path: str, query: tuple[tuple[str, str], ...], body: bytes) -> dict[str, Any]:
    """The strict matcher's parts: path, query, and the body as canonical JSON or text."""
    doc: dict[str, Any] = {"api": "strict", "path": path, "query": [list(p) for p in query]}
    if not body:
        doc["body"] = ""
        return doc
    try:
        doc["body_json"] = json.loads(body)
    except ValueError:
        try:
            doc["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            doc["body_base64"] = base64.b64encode(body).decode("ascii")
    return doc


def _compact(doc: dict[str, Any]) -> dict[str, Any]:
    """Drop the top-level fields that say nothing (empty or absent)."""
    return {k: v for k, v in doc.items() if v not in (None, "", [], {}) or k == "stream"}


# --- values -------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON value with integral floats as ints (``1.0`` and ``1`` are the same number)."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _other(block: Any) -> Any:
    """A content block kept as it is (images, documents...), without nulls and the fields
    that never change meaning (cache hints, citations)."""
    if not isinstance(block, dict):
        return _plain(block)
    return {
        key: _plain(value)
        for key, value in block.items()
        if value is not None and key not in _OTHER_IGNORED
    }


_OTHER_IGNORED = frozenset({"cache_control", "cachePoint", "citations"})


def _arguments(value: Any) -> Any:
    """Tool-call arguments: JSON text parsed ("" is {}), objects as they are; text that
    is not JSON stays text (it is what the model said)."""
    if value is None:
        return {}
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            return _plain(json.loads(value))
        except ValueError:
            return value
    return _plain(value)


def _stop(value: Any) -> list[Any] | None:
    """Stop sequences as a sorted list: a string is a one-item list; empty is unset."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        return [value]
    return sorted(value, key=canonical_json)


def _params(
    temperature: Any = None, top_p: Any = None, max_tokens: Any = None, stop: Any = None
) -> dict[str, Any]:
    values = {
        "temperature": _plain(temperature),
        "top_p": _plain(top_p),
        "max_tokens": _plain(max_tokens),
        "stop": _stop(stop),
    }
    return {name: value for name, value in values.items() if value is not None}


def _extra(defaults: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The settings outside ``params`` that change the answer, when not at their default."""
    out = {}
    for name, value in values.items():
        if value is None or value == defaults.get(name):
            continue
        out[name] = _plain(value)
    return out


def _get(data: dict[str, Any], camel: str, snake: str) -> Any:
    """Gemini accepts both spellings of every field (proto JSON): the one present."""
    value = data.get(camel)
    return data.get(snake) if value is None else value


# --- messages: the shared shape -----------------------------------------------------------


class _Turn:
    """One message being normalized: text pieces joined, each kind kept in order."""

    __slots__ = ("other", "results", "role", "text", "tool_calls")

    def __init__(self, role: str) -> None:
        self.role = role
        self.text: list[str] = []
        self.tool_calls: list[dict[str, Any]] = []
        self.results: list[dict[str, Any]] = []
        self.other: list[Any] = []

    def done(self) -> dict[str, Any]:
        turn: dict[str, Any] = {"role": self.role}
        text = "".join(self.text)
        if text:
            turn["text"] = text
        if self.tool_calls:
            turn["tool_calls"] = self.tool_calls
        if self.results:
            turn["tool_results"] = self.results
        if self.other:
            turn["parts"] = self.other
        return turn


def _call(call_id: Any, name: Any, arguments: Any, names: dict[str, str]) -> dict[str, Any]:
    if call_id:
        names[str(call_id)] = str(name)
    call = {"name": name, "arguments": _arguments(arguments)}
    if call_id:
        call["id"] = call_id
    return call


def _result(
    call_id: Any,
    name: Any,
    content: Any,
    is_error: bool,
    opaque: frozenset[str],
) -> dict[str, Any]:
    """A tool result: the call it answers, its content and error flag (unless its tool is
    opaque: then only that it is there)."""
    result: dict[str, Any] = {}
    if call_id:
        result["id"] = call_id
    if name:
        result["name"] = name
    if name in opaque:
        return result
    result["content"] = content
    if is_error:
        result["is_error"] = True
    return result


def _merge(turns: list[_Turn], role: str) -> _Turn:
    """The turn to add to: the last one if it has the same role (providers that merge
    consecutive turns of one role), else a new one."""
    if turns and turns[-1].role == role:
        return turns[-1]
    turn = _Turn(role)
    turns.append(turn)
    return turn


# --- tools --------------------------------------------------------------------------------

_SCHEMA_IGNORED = frozenset(
    {
        "title",
        "description",
        "$schema",
        "$comment",
        "default",
        "example",
        "examples",
        "propertyOrdering",
        "property_ordering",
    }
)
_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "patternProperties"})
_SCHEMA_LISTS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems", "any_of"})
_SCHEMA_ONE = frozenset({"items", "not", "contains", "propertyNames", "additionalItems"})


def _schema(schema: Any) -> Any:
    """A JSON Schema (or Gemini OpenAPI Schema) reduced to what constrains the arguments.

    Dropped: documentation (title, description, examples, $schema, $comment, default),
    Gemini's propertyOrdering, ``additionalProperties`` unless it is a schema. Types are
    lower-case (Gemini's OpenAPI "STRING" is JSON Schema's "string"), ``nullable: true``
    adds "null" to the type, ``required`` and ``enum`` are sets, empty ``properties`` and
    ``required`` are absent."""
    if not isinstance(schema, dict):
        return _plain(schema)
    out: dict[str, Any] = {}
    nullable = False
    for key, value in schema.items():
        if value is None or key in _SCHEMA_IGNORED:
            continue
        if key in _SCHEMA_MAPS:
            if value:
                out[key] = {name: _schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS:
            out["anyOf" if key == "any_of" else key] = [_schema(sub) for sub in value]
        elif key in _SCHEMA_ONE:
            out[key] = _schema(value)
        elif key in ("additionalProperties", "additional_properties"):
            if isinstance(value, dict):
                out["additionalProperties"] = _schema(value)
        elif key == "type":
            out[key] = _type(value)
        elif key == "required":
            if value:
                out[key] = sorted(set(value))
        elif key == "enum":
            out[key] = sorted((_plain(item) for item in value), key=canonical_json)
        elif key == "nullable":
            nullable = value is True
        else:
            out[key] = _plain(value)
    if nullable:
        kinds = out.get("type")
        kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
        out["type"] = sorted({*kinds, "null"})
    return out


def _type(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, list):
        kinds = sorted({str(kind).lower() for kind in value})
        return kinds[0] if len(kinds) == 1 else kinds
    return _plain(value)


def _tool_schema(schema: Any) -> Any:
    """A tool's parameters, always an object: absent, null, {} and a schema without a
    type are objects (every provider requires an object schema here)."""
    normalized = _schema(schema) if schema else {}
    if isinstance(normalized, dict) and "type" not in normalized:
        normalized["type"] = "object"
    return normalized


def _function(name: Any, schema: Any, strict: Any = None) -> dict[str, Any]:
    tool: dict[str, Any] = {"name": name, "schema": _tool_schema(schema)}
    if strict is True:
        tool["strict"] = True
    return tool


def _builtin(kind: str, config: Any) -> dict[str, Any]:
    return {"builtin": kind, "config": _other(config)}


def _sorted_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tools are a set: by name (built-in tools by kind)."""
    return sorted(tools, key=lambda tool: str(tool.get("name") or tool.get("builtin")))


def _with_tools(
    doc: dict[str, Any], tools: list[dict[str, Any]], choice: Any, parallel: Any
) -> None:
    """Add tools, tool_choice (dropped when auto, the default with tools, or when there
    are no tools) and parallel_tool_calls (only when false) to ``doc``."""
    if not tools:
        return
    doc["tools"] = _sorted_tools(tools)
    if choice not in (None, "auto"):
        doc["tool_choice"] = choice
    if parallel is False:
        doc.setdefault("extra", {})["parallel_tool_calls"] = False


# --- OpenAI Chat Completions --------------------------------------------------------------

_OPENAI_EXTRA_DEFAULTS: dict[str, Any] = {
    "n": 1,
    "response_format": {"type": "text"},
    "frequency_penalty": 0,
    "presence_penalty": 0,
    "logit_bias": {},
}


def _openai(data: dict[str, Any], head: dict[str, Any], opaque: frozenset[str]) -> dict[str, Any]:
    stream = data.get("stream") is True
    doc: dict[str, Any] = {
        **head,
        "model": data.get("model"),
        "stream": stream,
        "messages": _openai_messages(data.get("messages") or [], opaque),
    }
    if stream:
        doc["stream_usage"] = (data.get("stream_options") or {}).get("include_usage") is True
    max_tokens = data.get("max_completion_tokens")
    doc["params"] = _params(
        data.get("temperature"),
        data.get("top_p"),
        data.get("max_tokens") if max_tokens is None else max_tokens,
        data.get("stop"),
    )
    doc["extra"] = _extra(
        _OPENAI_EXTRA_DEFAULTS,
        {
            "n": data.get("n"),
            "response_format": data.get("response_format"),
            "reasoning_effort": data.get("reasoning_effort"),
            "frequency_penalty": data.get("frequency_penalty"),
            "presence_penalty": data.get("presence_penalty"),
            "logit_bias": data.get("logit_bias"),
            # Legacy function calling is another request, not a spelling of tools:
            # compared as sent.
            "functions": data.get("functions") or None,
            "function_call": data.get("function_call"),
        },
    )
    tools = [_openai_tool(tool) for tool in data.get("tools") or ()]
    _with_tools(
        doc, tools, _openai_choice(data.get("tool_choice")), data.get("parallel_tool_calls")
    )
    return doc


def _openai_messages(messages: list[Any], opaque: frozenset[str]) -> list[dict[str, Any]]:
    names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        turn = _Turn("system" if role == "developer" else str(role))
        if role == "tool":
            call_id = message.get("tool_call_id")
            text = _openai_content(message.get("content"), turn)
            turn.results.append(_result(call_id, names.get(str(call_id)), text, False, opaque))
        elif role == "function":  # legacy function result: answers by name
            text = _openai_content(message.get("content"), turn)
            turn.results.append(_result(None, message.get("name"), text, False, opaque))
        else:
            if message.get("function_call") is not None:  # legacy function call
                turn.other.append({"function_call": _other(message["function_call"])})
            turn.text.append(_openai_content(message.get("content"), turn))
            for call in message.get("tool_calls") or ():
                if call.get("type", "function") == "function":
                    function = call.get("function") or {}
                    turn.tool_calls.append(
                        _call(
                            call.get("id"), function.get("name"), function.get("arguments"), names
                        )
                    )
                else:
                    turn.other.append(_other(call))
        out.append(turn.done())
    return out


def _openai_content(content: Any, turn: _Turn) -> str:
    """The text of a string or a list of parts; other parts go to ``turn.other``."""
    if content is None or isinstance(content, str):
        return content or ""
    pieces: list[str] = []
    for part in content:
        if isinstance(part, dict) and part.get("type") == "text":
            pieces.append(part.get("text") or "")
        else:
            turn.other.append(_other(part))
    return "".join(pieces)


def _openai_tool(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type", "function") != "function":
        return _builtin(str(tool.get("type")), tool)
    function = tool.get("function") or {}
    return _function(function.get("name"), function.get("parameters"), function.get("strict"))


def _openai_choice(choice: Any) -> Any:
    if choice is None or isinstance(choice, str):
        return choice
    if choice.get("type") == "function":
        return {"name": (choice.get("function") or {}).get("name")}
    return _other(choice)


# --- Anthropic Messages (and Bedrock InvokeModel) ----------------------------------------

_ANTHROPIC_IGNORED_BLOCKS = frozenset({"thinking", "redacted_thinking"})


def _anthropic(
    data: dict[str, Any], head: dict[str, Any], opaque: frozenset[str]
) -> dict[str, Any]:
    doc: dict[str, Any] = {"model": data.get("model"), "stream": data.get("stream") is True}
    doc.update(head)  # InvokeModel: the model and the stream flag are in the path
    doc["system"] = _anthropic_text(data.get("system"))
    doc["messages"] = _anthropic_messages(data.get("messages") or [], opaque)
    doc["params"] = _params(
        data.get("temperature"),
        data.get("top_p"),
        data.get("max_tokens"),
        data.get("stop_sequences"),
    )
    thinking = data.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "disabled":
        thinking = None
    doc["extra"] = _extra(
        {},
        {
            "top_k": data.get("top_k"),
            "thinking": thinking,
            "output_config": data.get("output_config") or None,
            "output_format": data.get("output_format"),
        },
    )
    tools = [_anthropic_tool(tool) for tool in data.get("tools") or ()]
    choice = data.get("tool_choice")
    parallel = None
    if isinstance(choice, dict) and choice.get("disable_parallel_tool_use") is True:
        parallel = False
    _with_tools(doc, tools, _anthropic_choice(choice), parallel)
    return doc


def _anthropic_text(value: Any) -> str:
    """A system prompt or a tool result's content: a string or a list of text blocks."""
    if value is None or isinstance(value, str):
        return value or ""
    return "".join(
        block.get("text") or "" for block in value if block.get("type", "text") == "text"
    )


def _anthropic_messages(messages: list[Any], opaque: frozenset[str]) -> list[dict[str, Any]]:
    names: dict[str, str] = {}
    turns: list[_Turn] = []
    for message in messages:
        turn = _merge(turns, str(message.get("role")))
        content = message.get("content")
        if content is None or isinstance(content, str):
            turn.text.append(content or "")
            continue
        for block in content:
            kind = block.get("type")
            if kind == "text":
                turn.text.append(block.get("text") or "")
            elif kind == "tool_use":
                turn.tool_calls.append(
                    _call(block.get("id"), block.get("name"), block.get("input"), names)
                )
            elif kind == "tool_result":
                call_id = block.get("tool_use_id")
                turn.results.append(
                    _result(
                        call_id,
                        names.get(str(call_id)),
                        _tool_result_content(block.get("content"), turn),
                        block.get("is_error") is True,
                        opaque,
                    )
                )
            elif kind not in _ANTHROPIC_IGNORED_BLOCKS:
                turn.other.append(_other(block))
    return [turn.done() for turn in turns]


def _tool_result_content(content: Any, turn: _Turn) -> str:
    """The text of a tool result (Anthropic): non-text blocks go to ``turn.other``."""
    if content is None or isinstance(content, str):
        return content or ""
    pieces: list[str] = []
    for block in content:
        if block.get("type", "text") == "text":
            pieces.append(block.get("text") or "")
        else:
            turn.other.append(_other(block))
    return "".join(pieces)


def _anthropic_tool(tool: dict[str, Any]) -> dict[str, Any]:
    kind = tool.get("type") or "custom"
    if kind != "custom":
        return _builtin(str(kind), tool)
    return _function(tool.get("name"), tool.get("input_schema"), tool.get("strict"))


def _anthropic_choice(choice: Any) -> Any:
    if not isinstance(choice, dict):
        return choice
    kind = choice.get("type")
    if kind in ("auto", "none"):
        return kind
    if kind == "any":
        return "required"
    if kind == "tool":
        return {"name": choice.get("name")}
    return _other(choice)


# --- Gemini -------------------------------------------------------------------------------

_GEMINI_EXTRA_DEFAULTS: dict[str, Any] = {
    "candidate_count": 1,
    "response_mime_type": "text/plain",
    "presence_penalty": 0,
    "frequency_penalty": 0,
}
_GEMINI_ROLES = {"model": "model", "user": "user", "function": "user", "": "user"}
_GEMINI_RESULT_KEYS = frozenset({"output", "result", "content", "return_value", "error"})
"""Wrappers of a function's result: Gemini's documented ``output`` and ``error``, and
what clients use instead (the reference client ``result``, litellm ``content``,
pydantic-ai ``return_value``)."""
_GEMINI_MODES = {"AUTO": "auto", "MODE_UNSPECIFIED": "auto", "ANY": "required", "NONE": "none"}


def _gemini(data: dict[str, Any], head: dict[str, Any], opaque: frozenset[str]) -> dict[str, Any]:
    doc: dict[str, Any] = dict(head)
    system = _get(data, "systemInstruction", "system_instruction")
    if isinstance(system, str):
        doc["system"] = system
    elif isinstance(system, dict):
        doc["system"] = _gemini_turn(system, _Turn("system"), {}, opaque).done().get("text")
    doc["messages"] = _gemini_messages(data.get("contents") or [], opaque)
    config = _get(data, "generationConfig", "generation_config") or {}
    doc["params"] = _params(
        config.get("temperature"),
        _get(config, "topP", "top_p"),
        _get(config, "maxOutputTokens", "max_output_tokens"),
        _get(config, "stopSequences", "stop_sequences"),
    )
    doc["extra"] = _extra(
        _GEMINI_EXTRA_DEFAULTS,
        {
            "candidate_count": _get(config, "candidateCount", "candidate_count"),
            "top_k": _get(config, "topK", "top_k"),
            "response_mime_type": _get(config, "responseMimeType", "response_mime_type"),
            "response_schema": _get(config, "responseSchema", "response_schema"),
            "response_json_schema": _get(config, "responseJsonSchema", "response_json_schema"),
            "thinking_config": _get(config, "thinkingConfig", "thinking_config"),
            "presence_penalty": _get(config, "presencePenalty", "presence_penalty"),
            "frequency_penalty": _get(config, "frequencyPenalty", "frequency_penalty"),
            "cached_content": _get(data, "cachedContent", "cached_content"),
        },
    )
    tools: list[dict[str, Any]] = []
    for entry in data.get("tools") or ():
        for key, value in entry.items():
            if key in ("functionDeclarations", "function_declarations"):
                tools.extend(_gemini_function(declaration) for declaration in value or ())
            elif value is not None:
                tools.append(_builtin(_camel(key), value))
    tool_config = _get(data, "toolConfig", "tool_config") or {}
    calling = _get(tool_config, "functionCallingConfig", "function_calling_config")
    _with_tools(doc, tools, _gemini_choice(calling), None)
    return doc


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def _gemini_messages(contents: list[Any], opaque: frozenset[str]) -> list[dict[str, Any]]:
    names: dict[str, str] = {}
    turns: list[_Turn] = []
    for content in contents:
        role = _GEMINI_ROLES.get(str(content.get("role") or ""), str(content.get("role")))
        _gemini_turn(content, _merge(turns, role), names, opaque)
    return [turn.done() for turn in turns]


def _gemini_turn(
    content: dict[str, Any], turn: _Turn, names: dict[str, str], opaque: frozenset[str]
) -> _Turn:
    for part in content.get("parts") or ():
        if part.get("thought") is True:
            continue  # the model's own thoughts sent back: not part of the conversation
        text = part.get("text")
        call = _get(part, "functionCall", "function_call")
        response = _get(part, "functionResponse", "function_response")
        if isinstance(text, str):
            turn.text.append(text)
        elif call is not None:
            turn.tool_calls.append(_call(call.get("id"), call.get("name"), call.get("args"), names))
        elif response is not None:
            output, is_error = _gemini_response(response.get("response"))
            turn.results.append(
                _result(response.get("id"), response.get("name"), output, is_error, opaque)
            )
        else:
            kept = {
                _camel(key): value
                for key, value in part.items()
                if key not in ("thoughtSignature", "thought_signature", "thought")
            }
            if kept:
                turn.other.append(_other(kept))
    return turn


def _gemini_response(response: Any) -> tuple[Any, bool]:
    """(content, is_error) of a functionResponse's ``response`` object: an object whose one
    key is a usual wrapper (``_GEMINI_RESULT_KEYS``; ``error`` for errors) is unwrapped."""
    if isinstance(response, dict) and len(response) == 1:
        ((key, value),) = response.items()
        if key in _GEMINI_RESULT_KEYS:
            return _plain(value), key == "error"
    return _plain(response), False


def _gemini_function(declaration: dict[str, Any]) -> dict[str, Any]:
    schema = None
    for key in ("parametersJsonSchema", "parameters_json_schema", "parameters"):
        if declaration.get(key) is not None:
            schema = declaration[key]
            break
    return _function(declaration.get("name"), schema)


def _gemini_choice(calling: Any) -> Any:
    if not isinstance(calling, dict):
        return None
    mode = str(calling.get("mode") or "AUTO").upper()
    allowed = _get(calling, "allowedFunctionNames", "allowed_function_names") or []
    choice = _GEMINI_MODES.get(mode, mode.lower())
    if choice == "required" and allowed:
        names = sorted(set(allowed))
        return {"name": names[0]} if len(names) == 1 else {"names": names}
    return choice


# --- Bedrock Converse ---------------------------------------------------------------------

_CONVERSE_IGNORED_BLOCKS = frozenset({"reasoningContent", "cachePoint"})


def _converse(data: dict[str, Any], head: dict[str, Any], opaque: frozenset[str]) -> dict[str, Any]:
    doc: dict[str, Any] = dict(head)
    system: list[str] = []
    for block in data.get("system") or ():
        if isinstance(block.get("text"), str):
            system.append(block["text"])
    doc["system"] = "".join(system)
    doc["messages"] = _converse_messages(data.get("messages") or [], opaque)
    config = data.get("inferenceConfig") or {}
    doc["params"] = _params(
        config.get("temperature"),
        config.get("topP"),
        config.get("maxTokens"),
        config.get("stopSequences"),
    )
    doc["extra"] = _extra(
        {}, {"additional_model_request_fields": data.get("additionalModelRequestFields") or None}
    )
    tool_config = data.get("toolConfig") or {}
    tools = []
    for entry in tool_config.get("tools") or ():
        spec = entry.get("toolSpec")
        if spec is not None:
            schema = (spec.get("inputSchema") or {}).get("json")
            tools.append(_function(spec.get("name"), schema))
        elif "cachePoint" not in entry:
            tools.append(_builtin(next(iter(entry), ""), entry))
    _with_tools(doc, tools, _converse_choice(tool_config.get("toolChoice")), None)
    return doc


def _converse_messages(messages: list[Any], opaque: frozenset[str]) -> list[dict[str, Any]]:
    names: dict[str, str] = {}
    turns: list[_Turn] = []
    for message in messages:
        turn = _merge(turns, str(message.get("role")))
        for block in message.get("content") or ():
            if isinstance(block.get("text"), str):
                turn.text.append(block["text"])
            elif "toolUse" in block:
                use = block["toolUse"]
                turn.tool_calls.append(
                    _call(use.get("toolUseId"), use.get("name"), use.get("input"), names)
                )
            elif "toolResult" in block:
                result = block["toolResult"]
                call_id = result.get("toolUseId")
                turn.results.append(
                    _result(
                        call_id,
                        names.get(str(call_id)),
                        _converse_result(result.get("content"), turn),
                        result.get("status") == "error",
                        opaque,
                    )
                )
            elif not _CONVERSE_IGNORED_BLOCKS.intersection(block):
                turn.other.append(_other(block))
    return [turn.done() for turn in turns]


def _converse_result(content: Any, turn: _Turn) -> Any:
    """A Converse tool result's content: text blocks joined; one JSON block is its value."""
    pieces: list[str] = []
    for block in content or ():
        if isinstance(block.get("text"), str):
            pieces.append(block["text"])
        elif "json" in block:
            if not pieces and len(content) == 1:
                return _plain(block["json"])
            pieces.append(canonical_json(block["json"]))
        else:
            turn.other.append(_other(block))
    return "".join(pieces)


def _converse_choice(choice: Any) -> Any:
    if not isinstance(choice, dict) or not choice:
        return None
    if "auto" in choice:
        return "auto"
    if "any" in choice:
        return "required"
    if "tool" in choice:
        return {"name": (choice["tool"] or {}).get("name")}
    return _other(choice)


# --- describing ---------------------------------------------------------------------------

_LIMIT = 120
_ABSENT: Any = object()


def _difference(new: Any, old: Any, where: str) -> tuple[str, Any, Any]:
    """The path to the first place two documents differ, and both values there. A field
    present on one side only is followed down to its first leaf (``params.temperature``,
    not ``params``)."""
    if isinstance(new, dict) and isinstance(old, dict):
        for name in sorted(set(new) | set(old)):
            mine, theirs = new.get(name, _ABSENT), old.get(name, _ABSENT)
            if mine is _ABSENT or theirs is _ABSENT or mine != theirs:
                return _difference(mine, theirs, f"{where}.{name}")
    if isinstance(new, list) and isinstance(old, list):
        for index, (mine, theirs) in enumerate(zip(new, old, strict=False)):
            if mine != theirs:
                return _difference(mine, theirs, f"{where}[{index}]")
        if len(new) != len(old):
            return f"{where} length", len(old), len(new)
    for present, absent_is_new in ((old, True), (new, False)):
        other = new if absent_is_new else old
        if other is _ABSENT and isinstance(present, dict) and present:
            name = min(present)
            if absent_is_new:
                return _difference(_ABSENT, present[name], f"{where}.{name}")
            return _difference(present[name], _ABSENT, f"{where}.{name}")
    return where, old, new


def _clip(text: str) -> str:
    return text if len(text) <= _LIMIT else f"{text[: _LIMIT - 1]}…"


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "<absent>"
    return _clip(canonical_json(value))
