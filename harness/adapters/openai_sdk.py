"""The official ``openai`` SDK (Chat Completions) as a client under test: ``openai-sdk``.

Install with ``pip install 'llm-parity[openai-sdk]'``; ``openai`` is imported only when a
client is connected.

What it does, in the SDK's terms:

- ``call``/``acall``: ``OpenAI().chat.completions.create(...)`` (``AsyncOpenAI`` for
  async, one per call: see ``SDKConnection``). ``max_tokens`` is sent as
  ``max_completion_tokens`` (the SDK's ``max_tokens`` is deprecated for the OpenAI API),
  tools as ``{"type": "function", "function": {...}}``, ``tool_choice`` as the SDK's
  ``"auto" | "none" | "required" | {"type": "function", "function": {"name"}}``.
- ``stream``/``astream``: ``create(stream=True, stream_options={"include_usage": True})``;
  each ``ChatCompletionChunk`` becomes stream events, and the final ``Response`` is the
  SDK's own accumulation of the chunks (``ChatCompletionStreamState``). The SDK's
  ``chat.completions.stream()`` helper is not used: it refuses tools that are not
  ``strict``.
- ``Target.max_retries`` is the SDK's ``max_retries``; ``Target.fast_retries`` uses a
  subclass whose only change is a zero retry delay (``sdk_support``).
- ``Target.base_url``: the SDK's ``base_url`` is that origin plus ``/v1``.
- Releases built on ``httpx`` (1.x, 2.x): the SDK gets an explicit
  ``http_client=DefaultHttpxClient(transport=Target.transport)``
  (``DefaultAsyncHttpxClient`` for async), so ``transport`` is supported there; releases
  before 1.55.3 need an explicit client anyway with httpx >= 0.28 (their default one
  passes ``proxies=``, which httpx 0.28 removed).

Not supported: ``chain``/``achain`` (this release's tool runners drive the Responses and
Decisions APIs, not Chat Completions, and an adapter never writes the loop itself);
``reasoning`` (Chat Completions returns no reasoning text); and, having no context store,
``context``, ``thread_pool``, ``asyncify``, ``parallel``, ``deferred``; ``transport`` on
releases built on ``httpx2`` (3.x), which take no httpx transport.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.adapters.base import ClientAdapter, StreamResult, Target
from harness.adapters.chat_format import chat_messages, finish_reason, usage
from harness.adapters.sdk_support import (
    SDKConnection,
    client_class,
    require,
    translated_errors,
)
from harness.providers.base import parse_arguments
from harness.providers.openai import encode_tool, encode_tool_choice
from harness.types import (
    Finish,
    Message,
    ModelName,
    Response,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    UsageUpdate,
)

PROVIDER = "openai"
SUPPORTED = frozenset(
    {
        "call",
        "acall",
        "stream",
        "astream",
        "tool_choice",
        "base_url",
        "error_body",
        "history",
        "timeout",
        "max_retries",
    }
    | {"tool_calls", "finish_reason", "organization"}
)


def _sdk() -> Any:
    import openai

    return openai


def on_httpx() -> bool:
    """Whether the installed SDK sends through ``httpx`` (1.x, 2.x), not ``httpx2`` (3.x)."""
    client = _sdk().DefaultHttpxClient
    return any(base.__module__.split(".")[0] == "httpx" for base in client.__mro__[1:])


class OpenAISDKAdapter(ClientAdapter):
    """Holds the official ``openai`` SDK to the suite, for the ``openai`` provider."""

    name = "openai-sdk"
    library = "openai"

    def __init__(self) -> None:
        require(self.library, self.name)

    def supports(self, feature: str, provider: str) -> bool:
        if provider != PROVIDER:
            return False
        return feature in SUPPORTED or (feature == "transport" and on_httpx())

    def connect(self, target: Target) -> SDKConnection:
        openai = _sdk()
        options: dict[str, Any] = {"api_key": target.api_key, "max_retries": target.max_retries}
        if target.organization is not None:
            options["organization"] = target.organization
        if target.timeout is not None:
            options["timeout"] = target.timeout
        if target.base_url is not None:
            options["base_url"] = target.base_url.rstrip("/") + "/v1"
        sync_class = client_class(target, openai.OpenAI)
        async_class = client_class(target, openai.AsyncOpenAI)
        if not on_httpx():
            return SDKConnection(
                target, lambda: sync_class(**options), lambda: async_class(**options)
            )
        transport = {"transport": target.transport} if target.transport is not None else {}
        return SDKConnection(
            target,
            lambda: sync_class(**options, http_client=openai.DefaultHttpxClient(**transport)),
            lambda: async_class(**options, http_client=openai.DefaultAsyncHttpxClient(**transport)),
        )

    def close(self, client: SDKConnection) -> None:
        client.close()

    def call(
        self, client: SDKConnection, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        with translated_errors(_sdk(), PROVIDER):
            completion = client.sync.chat.completions.create(**request(client, messages, params))
        return response(completion)

    async def acall(
        self, client: SDKConnection, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        with translated_errors(_sdk(), PROVIDER):
            async with client.make_async() as sdk_client:
                completion = await sdk_client.chat.completions.create(
                    **request(client, messages, params)
                )
        return response(completion)

    def stream(
        self, client: SDKConnection, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        folded = ChunkTranslator()
        with translated_errors(_sdk(), PROVIDER):
            chunks = client.sync.chat.completions.create(
                **request(client, messages, params, stream=True)
            )
            with chunks:
                for chunk in chunks:
                    folded.add(chunk)
        return folded.result()

    async def astream(
        self, client: SDKConnection, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        folded = ChunkTranslator()
        with translated_errors(_sdk(), PROVIDER):
            async with client.make_async() as sdk_client:
                chunks = await sdk_client.chat.completions.create(
                    **request(client, messages, params, stream=True)
                )
                async with chunks:
                    async for chunk in chunks:
                        folded.add(chunk)
        return folded.result()


# --- requests --------------------------------------------------------------------------


def request(
    client: SDKConnection,
    messages: Sequence[Message],
    params: dict[str, Any],
    *,
    stream: bool = False,
) -> dict[str, Any]:
    """The keyword arguments of ``chat.completions.create`` for one call."""
    kwargs: dict[str, Any] = {
        "model": client.target.model,
        "messages": chat_messages(messages, tool_name=False),
    }
    for key in ("temperature", "top_p", "stop"):
        if key in params:
            kwargs[key] = params[key]
    if "max_tokens" in params:
        kwargs["max_completion_tokens"] = params["max_tokens"]
    if "tools" in params:
        kwargs["tools"] = [encode_tool(tool) for tool in params["tools"]]
    if "tool_choice" in params:
        kwargs["tool_choice"] = encode_tool_choice(params["tool_choice"])
    if stream:
        kwargs["stream"] = True
        kwargs["stream_options"] = {"include_usage": True}
    return kwargs


def tool_call(call: Any) -> ToolCall | None:
    """A function tool call (None for other kinds, such as custom tools)."""
    function = getattr(call, "function", None)
    if function is None:
        return None
    arguments, bad = parse_arguments(function.arguments or "")
    return ToolCall(call.id or "", function.name or "", arguments, bad)


def response(completion: Any) -> Response:
    """A ``ChatCompletion`` as a harness ``Response`` (first choice)."""
    choice = completion.choices[0] if completion.choices else None
    message = choice.message if choice is not None else None
    calls = [tool_call(call) for call in (getattr(message, "tool_calls", None) or ())]
    text = (message.content or getattr(message, "refusal", None) or "") if message else ""
    return Response(
        text=text,
        tool_calls=tuple(call for call in calls if call is not None),
        finish_reason=finish_reason(choice.finish_reason if choice is not None else None),
        usage=usage(completion.usage),
        model=completion.model or "",
        raw=completion,
    )


def stream_state() -> Any:
    """A fresh ``ChatCompletionStreamState`` (exported from ``openai.lib.streaming.chat``
    since 1.5x; before, from its ``_completions`` module, with required arguments)."""
    try:
        from openai.lib.streaming.chat import ChatCompletionStreamState
    except ImportError:
        from openai import NOT_GIVEN
        from openai.lib.streaming.chat._completions import ChatCompletionStreamState

        return ChatCompletionStreamState(input_tools=NOT_GIVEN, response_format=NOT_GIVEN)
    return ChatCompletionStreamState()


class ChunkTranslator:
    """Turns ``ChatCompletionChunk`` objects into stream events, and lets the SDK's own
    ``ChatCompletionStreamState`` accumulate them into the final completion."""

    def __init__(self, state: Any = None) -> None:
        if state is None:
            state = stream_state()
        self.events: list[StreamEvent] = []
        self.state = state
        """The SDK's accumulator (anything with ``handle_chunk`` and
        ``current_completion_snapshot``)."""
        self._model = ""

    def add(self, chunk: Any) -> None:
        """Translate and accumulate one chunk."""
        self.state.handle_chunk(chunk)
        self.events.extend(self.translate(chunk))

    def translate(self, chunk: Any) -> list[StreamEvent]:
        """The stream events of one chunk (first choice only)."""
        events: list[StreamEvent] = []
        if chunk.model and chunk.model != self._model:
            self._model = chunk.model
            events.append(ModelName(chunk.model))
        for choice in chunk.choices or ():
            if choice.index != 0:
                continue
            delta = choice.delta
            text = delta.content or getattr(delta, "refusal", None)
            if text:
                events.append(TextDelta(text))
            for position, call in enumerate(delta.tool_calls or ()):
                function = call.function
                events.append(
                    ToolCallDelta(
                        index=call.index if call.index is not None else position,
                        id=call.id,
                        name=function.name if function else None,
                        arguments=(function.arguments if function else None) or "",
                    )
                )
            reason = finish_reason(choice.finish_reason)
            if reason is not None:
                events.append(Finish(reason))
        if chunk.usage is not None:
            events.append(UsageUpdate(usage(chunk.usage)))
        return events

    def result(self) -> StreamResult:
        """The events so far and the SDK's accumulated completion as a ``Response``.

        The snapshot, not ``get_final_completion()``: that one parses the completion for
        structured outputs and raises ``LengthFinishReasonError`` for any answer cut by
        the token limit, even with nothing to parse (docs/compat/openai-sdk.md)."""
        return StreamResult(tuple(self.events), response(self.state.current_completion_snapshot))
