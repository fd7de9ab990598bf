"""The official ``anthropic`` SDK (Messages API) as a client under test: ``anthropic-sdk``.

Install with ``pip install 'llm-parity[anthropic-sdk]'``; ``anthropic`` is imported only
when a client is connected.

What it does, in the SDK's terms:

- ``call``/``acall``: ``Anthropic().messages.create(...)`` (``AsyncAnthropic`` for async,
  one per call: see ``SDKConnection``). ``max_tokens`` is required by the SDK: 1024 when
  the scenario sets none (the reference client's default). ``temperature`` and ``top_p``
  go in ``extra_body``: this release's ``messages.create`` takes neither as an argument.
  ``stop`` is ``stop_sequences``; tools are ``{"name", "description", "input_schema"}``;
  ``tool_choice`` is ``{"type": "auto" | "any" | "none"}`` or ``{"type": "tool", "name"}``.
- ``stream``/``astream``: the SDK's ``messages.stream()`` helper; its raw events become
  stream events, and the final ``Response`` is the SDK's own accumulated message
  (``get_final_message()``).
- ``chain``/``achain``: the SDK's tool runner, ``client.beta.messages.tool_runner``, with
  each callable made a tool by the SDK's own ``beta_tool`` (a sync function) or
  ``beta_async_tool`` (a coroutine function), which derive the schemas. ``thread=False``
  where the release has message threads: there the runner by default keeps the
  conversation on the server (sending only new messages each turn), while the suite's
  scenarios are the stateless Messages API, where every turn carries the whole history.
  The runner's loop, tool dispatch, error results and ordering are the SDK's; the adapter
  only collects the tool results it sent (``generate_tool_call_response()``, cached by
  the SDK) and the final message. ``max_turns`` is the runner's ``max_iterations``.
- ``Target.max_retries`` is the SDK's ``max_retries``; ``Target.fast_retries`` uses a
  subclass whose only change is a zero retry delay (``sdk_support``).
- ``Target.base_url`` is the SDK's ``base_url`` as it is.

Not supported, having no context store: ``context``, ``thread_pool``, ``asyncify``,
``parallel``, ``deferred``; ``transport`` (the SDK sends through ``httpx2``).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from typing import Any

from harness.adapters.base import ChainOutcome, ClientAdapter, StreamResult, Target, Tools
from harness.adapters.sdk_support import (
    SDKConnection,
    client_class,
    require,
    translated_errors,
)
from harness.providers.anthropic import ERROR_TYPES, encode_messages, encode_tool_choice
from harness.providers.base import compact_json, parse_arguments
from harness.types import (
    Finish,
    FinishReason,
    Message,
    ModelName,
    ReasoningDelta,
    Response,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
    UsageUpdate,
)

PROVIDER = "anthropic"
DEFAULT_MAX_TOKENS = 1024
SUPPORTED = frozenset(
    {"call", "acall", "stream", "astream", "chain", "achain"}
    | {
        "tool_choice",
        "reasoning",
        "base_url",
        "error_body",
        "describes_failures",
        "history",
        "timeout",
        "max_retries",
        "tool_calls",
        "finish_reason",
        "max_turns",
    }
)

STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
"""The SDK's ``stop_reason`` -> the harness's; anything else is ``"other"``."""


def _sdk() -> Any:
    import anthropic

    return anthropic


def _errors() -> Any:
    return translated_errors(_sdk(), PROVIDER, ERROR_TYPES)


class AnthropicSDKAdapter(ClientAdapter):
    """Holds the official ``anthropic`` SDK to the suite, for the ``anthropic`` provider."""

    name = "anthropic-sdk"
    library = "anthropic"

    def __init__(self) -> None:
        require(self.library, self.name)

    def supports(self, feature: str, provider: str) -> bool:
        return provider == PROVIDER and feature in SUPPORTED

    def connect(self, target: Target) -> SDKConnection:
        anthropic = _sdk()
        options: dict[str, Any] = {"api_key": target.api_key, "max_retries": target.max_retries}
        if target.timeout is not None:
            options["timeout"] = target.timeout
        if target.base_url is not None:
            options["base_url"] = target.base_url.rstrip("/")
        sync_class = client_class(target, anthropic.Anthropic)
        async_class = client_class(target, anthropic.AsyncAnthropic)
        return SDKConnection(target, lambda: sync_class(**options), lambda: async_class(**options))

    def close(self, client: SDKConnection) -> None:
        client.close()

    def call(
        self, client: SDKConnection, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        with _errors():
            message = client.sync.messages.create(**request(client, messages, params))
        return response(message)

    async def acall(
        self, client: SDKConnection, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        with _errors():
            async with client.make_async() as sdk_client:
                message = await sdk_client.messages.create(**request(client, messages, params))
        return response(message)

    def stream(
        self, client: SDKConnection, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        translator = EventTranslator()
        with _errors(), client.sync.messages.stream(**request(client, messages, params)) as stream:
            for event in stream:
                translator.add(event)
            final = stream.get_final_message()
        return StreamResult(tuple(translator.events), response(final))

    async def astream(
        self, client: SDKConnection, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        translator = EventTranslator()
        with _errors():
            async with client.make_async() as sdk_client:
                manager = sdk_client.messages.stream(**request(client, messages, params))
                async with manager as stream:
                    async for event in stream:
                        translator.add(event)
                    final = await stream.get_final_message()
        return StreamResult(tuple(translator.events), response(final))

    def chain(
        self,
        client: SDKConnection,
        messages: Sequence[Message],
        tools: Tools,
        params: dict[str, Any],
    ) -> ChainOutcome:
        results: list[Message] = []
        last: Any = None
        with _errors():
            runner = start_runner(
                client.sync.beta.messages, runner_request(client, messages, tools, params)
            )
            for message in runner:
                last = message
                results.extend(tool_results(message, runner.generate_tool_call_response()))
        return ChainOutcome(response(last), tuple(results))

    async def achain(
        self,
        client: SDKConnection,
        messages: Sequence[Message],
        tools: Tools,
        params: dict[str, Any],
    ) -> ChainOutcome:
        results: list[Message] = []
        last: Any = None
        with _errors():
            async with client.make_async() as sdk_client:
                runner = start_runner(
                    sdk_client.beta.messages, runner_request(client, messages, tools, params)
                )
                async for message in runner:
                    last = message
                    reply = await runner.generate_tool_call_response()
                    results.extend(tool_results(message, reply))
        return ChainOutcome(response(last), tuple(results))


# --- requests --------------------------------------------------------------------------


def request(
    client: SDKConnection, messages: Sequence[Message], params: dict[str, Any]
) -> dict[str, Any]:
    """The keyword arguments of ``messages.create`` / ``messages.stream`` for one call."""
    system, turns = encode_messages(messages)
    kwargs: dict[str, Any] = {
        "model": client.target.model,
        "max_tokens": params.get("max_tokens", DEFAULT_MAX_TOKENS),
        "messages": turns,
    }
    if system:
        kwargs["system"] = system
    if "stop" in params:
        kwargs["stop_sequences"] = list(params["stop"])
    sampling = {key: params[key] for key in ("temperature", "top_p") if key in params}
    if sampling:
        kwargs["extra_body"] = sampling
    if "tools" in params:
        kwargs["tools"] = [tool_param(tool) for tool in params["tools"]]
    if "tool_choice" in params:
        kwargs["tool_choice"] = encode_tool_choice(params["tool_choice"])
    return kwargs


def runner_request(
    client: SDKConnection, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
) -> dict[str, Any]:
    """The keyword arguments of ``beta.messages.tool_runner``: the call's, with the
    callables made the SDK's tools (``beta_tool`` / ``beta_async_tool``), and
    ``max_turns`` as ``max_iterations``."""
    from anthropic import beta_async_tool, beta_tool

    kwargs = request(client, messages, {k: v for k, v in params.items() if k != "tools"})
    kwargs["tools"] = [
        beta_async_tool(fn) if inspect.iscoroutinefunction(fn) else beta_tool(fn) for fn in tools
    ]
    if "max_turns" in params:
        kwargs["max_iterations"] = params["max_turns"]
    return kwargs


def start_runner(messages_resource: Any, kwargs: dict[str, Any]) -> Any:
    """``messages_resource.tool_runner(**kwargs)``, stateless: ``thread=False`` where the
    release has message threads (the runner's default there), nothing to add before."""
    runner = messages_resource.tool_runner
    if "thread" in inspect.signature(runner).parameters:
        kwargs = {**kwargs, "thread": False}
    return runner(**kwargs)


def tool_param(tool: ToolSpec) -> dict[str, Any]:
    """A harness tool spec as a ``ToolParam``."""
    return {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}


# --- results ---------------------------------------------------------------------------


def finish_reason(reason: str | None) -> FinishReason | None:
    """The SDK's stop reason, normalized."""
    if not reason:
        return None
    return STOP_REASONS.get(reason, "other")


def usage(value: Any) -> Usage:
    """A ``Usage`` / ``MessageDeltaUsage`` (or None) as harness ``Usage``: as the reference
    codec counts it, ``input_tokens`` is the whole prompt (cache reads and writes
    included) and ``cached_tokens`` the part read from the cache."""
    if value is None:
        return Usage()
    cached = getattr(value, "cache_read_input_tokens", None) or 0
    written = getattr(value, "cache_creation_input_tokens", None) or 0
    return Usage(
        input_tokens=(getattr(value, "input_tokens", None) or 0) + cached + written,
        output_tokens=getattr(value, "output_tokens", None) or 0,
        cached_tokens=cached,
    )


def tool_call(block: Any) -> ToolCall:
    """A ``tool_use`` block as a harness ``ToolCall``."""
    value = block.input
    if isinstance(value, dict):
        return ToolCall(block.id, block.name, value)
    arguments, bad = parse_arguments(compact_json(value))
    return ToolCall(block.id, block.name, arguments, bad)


def response(message: Any) -> Response:
    """A ``Message`` (or ``BetaMessage``) as a harness ``Response``. Server-tool blocks
    are not client tool calls."""
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[ToolCall] = []
    for block in message.content:
        if block.type == "text":
            text.append(block.text)
        elif block.type == "thinking":
            reasoning.append(block.thinking)
        elif block.type == "tool_use":
            calls.append(tool_call(block))
    return Response(
        text="".join(text),
        tool_calls=tuple(calls),
        finish_reason=finish_reason(message.stop_reason),
        usage=usage(message.usage),
        model=message.model or "",
        reasoning="".join(reasoning),
        raw=message,
    )


def result_text(content: Any) -> str:
    """A tool result's content as text (a string, or the text of its blocks)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(
        str(block.get("text", "")) for block in content if isinstance(block, dict)
    ) or json.dumps(list(content), default=str)


def tool_results(message: Any, reply: Any) -> list[Message]:
    """The tool results the runner sends back after ``message``, as harness messages."""
    if not reply:
        return []
    names = {block.id: block.name for block in message.content if block.type == "tool_use"}
    return [
        Message(
            "tool",
            result_text(block.get("content")),
            tool_call_id=block.get("tool_use_id"),
            name=names.get(block.get("tool_use_id")),
            is_error=bool(block.get("is_error")),
        )
        for block in reply["content"]
        if isinstance(block, dict) and block.get("type") == "tool_result"
    ]


class EventTranslator:
    """Turns the SDK's raw stream events (``message_start``, ``content_block_*``,
    ``message_delta``) into harness stream events; the helper's own derived events
    (``text``, ``input_json``...) repeat what the raw ones say and are skipped."""

    def __init__(self) -> None:
        self.events: list[StreamEvent] = []
        self._calls: dict[int, int] = {}
        """Content block index of each ``tool_use`` block -> tool call index."""

    def add(self, event: Any) -> None:
        """Translate one event."""
        self.events.extend(self.translate(event))

    def translate(self, event: Any) -> list[StreamEvent]:
        """The stream events of one SDK event."""
        kind = event.type
        events: list[StreamEvent] = []
        if kind == "message_start":
            if event.message.model:
                events.append(ModelName(event.message.model))
            if event.message.usage is not None:
                events.append(UsageUpdate(usage(event.message.usage)))
        elif kind == "content_block_start":
            events.extend(self._block_start(event.index, event.content_block))
        elif kind == "content_block_delta":
            events.extend(self._block_delta(event.index, event.delta))
        elif kind == "message_delta":
            reason = finish_reason(event.delta.stop_reason)
            if reason is not None:
                events.append(Finish(reason))
            if event.usage is not None:
                events.append(UsageUpdate(usage(event.usage)))
        return events

    def _block_start(self, index: int, block: Any) -> list[StreamEvent]:
        if block.type == "text" and block.text:
            return [TextDelta(block.text)]
        if block.type == "thinking" and block.thinking:
            return [ReasoningDelta(block.thinking)]
        if block.type == "tool_use":
            call = self._calls[index] = len(self._calls)
            arguments = compact_json(block.input) if block.input else ""
            return [ToolCallDelta(call, block.id, block.name, arguments)]
        return []

    def _block_delta(self, index: int, delta: Any) -> list[StreamEvent]:
        if delta.type == "text_delta" and delta.text:
            return [TextDelta(delta.text)]
        if delta.type == "thinking_delta" and delta.thinking:
            return [ReasoningDelta(delta.thinking)]
        if delta.type == "input_json_delta" and index in self._calls and delta.partial_json:
            return [ToolCallDelta(self._calls[index], arguments=delta.partial_json)]
        return []
