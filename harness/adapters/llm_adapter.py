"""simonw's llm (its OpenAI Chat models, sync and async) held to the suite.

Models: ``llm.get_model(Target.model)`` / ``llm.get_async_model(...)`` (the suite uses
real names from llm's registry), copied per ``Target`` so that ``Target.base_url``
(``api_base``, ``/v1`` appended) never changes llm's shared model objects; the key is
passed to each prompt (``key=``). Other providers: not supported.

Requests: a single user turn (after an optional system prompt) is ``prompt=`` (and
``system=``), as most programs call llm; longer histories are ``messages=`` of
``llm.user``/``llm.assistant``/``llm.system``/``llm.tool_message`` parts. Sampling
parameters are llm options (``stop`` is one string in llm: a one-item list is passed as
that string). Tool specs become ``llm.Tool`` without implementation (``call``/``stream``
return the calls); chains get the suite's Python functions, which llm wraps itself.
llm has no ``tool_choice``: not supported.

Results: text, tool calls and usage from llm's ``Response``; finish reason and model
from its ``response_json``. Streams: ``stream_events()`` / ``astream_events()``
translated to harness events, then the finish reason, model and usage when the stream
ends; the final ``Response`` is read from llm's response like a call's. Chains:
``model.chain(...)`` / async chain, each response forced in turn; the tool results llm
sent back (``prompt.tool_results`` of every later response) become
``Message.tool(...)``, with ``is_error`` when llm recorded an exception. ``max_turns`` is
llm's ``chain_limit``: the ``ValueError`` llm raises when it stops there ends the chain
with the responses so far. ``run_tools``: ``prompt(..., tools=...)``, then the response's own
``execute_tool_calls()``. No ``tool_timeout``; non-str tool results are JSON
(``json_tool_results``), but dataclasses and Enum members their ``repr``
(``rich_tool_results``: not supported), and so are sets and pydantic models
(``set_tool_results``, ``pydantic_tool_results``: not supported); any other value is its
``repr`` (``json.dumps(default=repr)``), which shows its ``str()`` in the scenario's value
(``text_fallback_tool_results``).

Errors: llm lets the OpenAI SDK's exceptions through; an ``openai.APIStatusError``
becomes ``error_from_status`` with the API's own message (the SDK's ``body``), timeouts
and connection errors ``RequestTimeoutError`` / ``APIConnectionError``. llm has no retry
setting: the OpenAI SDK's default (2 retries) applies whatever ``Target.max_retries``
says; under ``Target.fast_retries`` its backoff does not sleep
(``retry_wait.no_wait()``). No context store: ``context``, ``thread_pool``,
``asyncify``, ``parallel`` and ``deferred`` are not supported, nor ``transport``.
"""

from __future__ import annotations

import copy
import importlib.util
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from harness.adapters import chat_format, retry_wait
from harness.adapters.base import (
    ChainOutcome,
    ClientAdapter,
    StreamResult,
    Target,
    ToolHook,
    Tools,
    error_from_status,
    translating,
)
from harness.adapters.sdk_support import provider_message, sdk_error
from harness.types import (
    APIConnectionError,
    Finish,
    LLMError,
    Message,
    ModelName,
    ReasoningDelta,
    RequestTimeoutError,
    Response,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageUpdate,
)

SUPPORTED = frozenset({"call", "acall", "stream", "astream", "base_url", "finish_reason"})
"""Features every llm release has for OpenAI (see the module docstring for the others)."""
TOOL_FEATURES = frozenset(
    {"chain", "achain", "chain_async_tools", "achain_sync_tools", "tool_hooks", "tool_calls"}
    | {"max_turns", "json_tool_results", "text_fallback_tool_results", "run_tools", "arun_tools"}
)
"""Features of the releases with tools (0.26 on): chains, their ``before_call`` hook, their
``chain_limit``, and non-str tool results sent as JSON (``json.dumps(default=repr)``, which
also gives a value with no JSON form a string in its place)."""
PROVIDER = "openai"
_STATUS_PREFIX = re.compile(r"^Error code: \d+ - ")


@dataclass(frozen=True)
class LLMClient:
    """One ``Target``'s llm models (sync and async) and key."""

    model: Any
    async_model: Any
    key: str | None
    fast_retries: bool = True


class LLMAdapter(ClientAdapter):
    """Holds simonw's llm to the suite (see the module docstring)."""

    name = "llm"
    library = "llm"

    def __init__(self) -> None:
        if importlib.util.find_spec("llm") is None:
            raise ImportError("No module named 'llm'")

    def supports(self, feature: str, provider: str) -> bool:
        if provider != PROVIDER:
            return False
        if feature == "history":  # messages= came with 0.32
            return importlib.util.find_spec("llm.parts") is not None
        return feature in SUPPORTED or (feature in TOOL_FEATURES and has_tools())

    def connect(self, target: Target) -> LLMClient:
        import llm

        retry_wait.install()
        models: list[Any] = [
            copy.copy(llm.get_model(target.model)),
            copy.copy(llm.get_async_model(target.model)),
        ]
        if target.base_url is not None:
            for model in models:
                model.api_base = target.base_url.rstrip("/") + "/v1"
        return LLMClient(models[0], models[1], target.api_key, target.fast_retries)

    # --- calls -------------------------------------------------------------------------

    def call(
        self, client: LLMClient, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        with retry_wait.no_wait(client.fast_retries), translated_errors():
            response = client.model.prompt(**prompt_kwargs(client, messages, params), stream=False)
            response.text()
        return to_response(response)

    async def acall(
        self, client: LLMClient, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        with retry_wait.no_wait(client.fast_retries), translated_errors():
            response = client.async_model.prompt(
                **prompt_kwargs(client, messages, params), stream=False
            )
            await response.text()
        return to_response(response)

    def stream(
        self, client: LLMClient, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        translator = EventTranslator()
        events: list[StreamEvent] = []
        with retry_wait.no_wait(client.fast_retries), translated_errors():
            response = client.model.prompt(**prompt_kwargs(client, messages, params), stream=True)
            if hasattr(response, "stream_events"):
                for event in response.stream_events():
                    events += translator.events(event)
            else:  # before 0.32: the stream yields text only
                events += [TextDelta(chunk) for chunk in response if chunk]
        result = to_response(response)
        return StreamResult((*events, *translator.closing(result)), result)

    async def astream(
        self, client: LLMClient, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        translator = EventTranslator()
        events: list[StreamEvent] = []
        with retry_wait.no_wait(client.fast_retries), translated_errors():
            response = client.async_model.prompt(
                **prompt_kwargs(client, messages, params), stream=True
            )
            if hasattr(response, "astream_events"):
                async for event in response.astream_events():
                    events += translator.events(event)
            else:  # before 0.32: the stream yields text only
                events += [TextDelta(chunk) async for chunk in response if chunk]
        result = to_response(response)
        return StreamResult((*events, *translator.closing(result)), result)

    def chain(
        self, client: LLMClient, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        return self._chain(client, messages, tools, params, {})

    async def achain(
        self, client: LLMClient, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        return await self._achain(client, messages, tools, params, {})

    def chain_with_hook(
        self,
        client: LLMClient,
        messages: Sequence[Message],
        tools: Tools,
        params: dict[str, Any],
        before_call: ToolHook,
    ) -> ChainOutcome:
        return self._chain(client, messages, tools, params, {"before_call": llm_hook(before_call)})

    async def achain_with_hook(
        self,
        client: LLMClient,
        messages: Sequence[Message],
        tools: Tools,
        params: dict[str, Any],
        before_call: ToolHook,
    ) -> ChainOutcome:
        hook = {"before_call": llm_hook(before_call)}
        return await self._achain(client, messages, tools, params, hook)

    def run_tools(
        self, client: LLMClient, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        kwargs = prompt_kwargs(client, messages, params)
        with retry_wait.no_wait(client.fast_retries), translated_errors():
            response = client.model.prompt(**kwargs, tools=list(tools), stream=False)
            response.text()
            results = response.execute_tool_calls()
        return ChainOutcome(to_response(response), tuple(tool_message(r) for r in results))

    async def arun_tools(
        self, client: LLMClient, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        kwargs = prompt_kwargs(client, messages, params)
        with retry_wait.no_wait(client.fast_retries), translated_errors():
            response = client.async_model.prompt(**kwargs, tools=list(tools), stream=False)
            await response.text()
            results = await response.execute_tool_calls()
        return ChainOutcome(to_response(response), tuple(tool_message(r) for r in results))

    def _chain(
        self,
        client: LLMClient,
        messages: Sequence[Message],
        tools: Tools,
        params: dict[str, Any],
        hooks: dict[str, Any],
    ) -> ChainOutcome:
        kwargs = {**prompt_kwargs(client, messages, params), **chain_limit(params)}
        start = client.model.conversation().chain if "chain_limit" in kwargs else client.model.chain
        responses = []
        with retry_wait.no_wait(client.fast_retries), translated_errors(), limit_reached():
            chain = start(**kwargs, **hooks, tools=list(tools), stream=False)
            for response in chain.responses():
                response.text()
                responses.append(response)
        return chain_outcome(responses)

    async def _achain(
        self,
        client: LLMClient,
        messages: Sequence[Message],
        tools: Tools,
        params: dict[str, Any],
        hooks: dict[str, Any],
    ) -> ChainOutcome:
        kwargs = {**prompt_kwargs(client, messages, params), **chain_limit(params)}
        model = client.async_model
        start = model.conversation().chain if "chain_limit" in kwargs else model.chain
        responses = []
        with retry_wait.no_wait(client.fast_retries), translated_errors(), limit_reached():
            chain = start(**kwargs, **hooks, tools=list(tools), stream=False)
            async for response in chain.responses():
                await response.text()
                responses.append(response)
        return chain_outcome(responses)


# --- requests ---------------------------------------------------------------------------


def prompt_kwargs(
    client: LLMClient, messages: Sequence[Message], params: dict[str, Any]
) -> dict[str, Any]:
    """The keyword arguments of ``model.prompt`` / ``model.chain`` (module docstring)."""
    import llm

    kwargs: dict[str, Any] = {"key": client.key, **options(params)}
    if params.get("tools"):
        kwargs["tools"] = [
            llm.Tool(name=spec.name, description=spec.description, input_schema=spec.parameters)
            for spec in params["tools"]
        ]
    turns = [m for m in messages if m.role != "system"]
    if len(turns) == 1 and turns[0].role == "user":
        kwargs["prompt"] = turns[0].content
        system = "\n\n".join(m.content for m in messages if m.role == "system")
        if system:
            kwargs["system"] = system
    elif importlib.util.find_spec("llm.parts") is None:
        raise NotImplementedError(
            "this llm release takes one prompt (and a system prompt), not a message "
            "history: messages= came with 0.32"
        )
    else:
        kwargs["messages"] = [llm_message(m) for m in messages]
    return kwargs


def chain_limit(params: dict[str, Any]) -> dict[str, Any]:
    """``max_turns`` as llm's ``chain_limit`` (its most model calls), when set: an
    argument of a conversation's ``chain``, not of ``model.chain``."""
    return {"chain_limit": params["max_turns"]} if "max_turns" in params else {}


@contextmanager
def limit_reached() -> Iterator[None]:
    """A chain stopped by its ``chain_limit``: llm raises ``ValueError("Chain limit of N
    exceeded.")`` after the last response it allowed, whose tools it did not run; the
    responses gathered so far are then the outcome (``max_turns`` in ``base``)."""
    try:
        yield
    except ValueError as exc:
        if not str(exc).startswith("Chain limit of "):
            raise


def has_tools() -> bool:
    """Whether the installed llm has tools (0.26 on)."""
    import llm

    return hasattr(llm, "Tool")


def llm_hook(before_call: ToolHook) -> Callable[[Any, Any], None]:
    """The suite's ``before_call(name, arguments)`` as llm's ``before_call(tool, call)``."""

    def hook(tool: Any, call: Any) -> None:
        before_call(call.name, dict(call.arguments or {}))

    return hook


def options(params: dict[str, Any]) -> dict[str, Any]:
    """Sampling parameters as llm options."""
    found: dict[str, Any] = {
        key: params[key] for key in ("temperature", "top_p", "max_tokens") if key in params
    }
    if "stop" in params:
        stop = params["stop"]
        found["stop"] = stop[0] if isinstance(stop, (list, tuple)) and len(stop) == 1 else stop
    return found


def llm_message(message: Message) -> Any:
    """A harness message as an llm ``Message`` of parts."""
    import llm
    from llm.parts import ToolCallPart, ToolResultPart

    if message.role == "tool":
        part = ToolResultPart(
            name=message.name or "", output=message.content, tool_call_id=message.tool_call_id
        )
        return llm.tool_message(part)
    if message.role == "assistant":
        calls = [
            ToolCallPart(name=call.name, arguments=call.arguments, tool_call_id=call.id)
            for call in message.tool_calls
        ]
        return llm.assistant(*([message.content] if message.content else []), *calls)
    build: Callable[..., Any] = llm.system if message.role == "system" else llm.user
    return build(message.content)


# --- results ----------------------------------------------------------------------------


def to_response(response: Any) -> Response:
    """A finished llm response -> ``Response``."""
    data = response.response_json or {}
    choices = data.get("choices") or [{}]
    finish = data.get("finish_reason", choices[0].get("finish_reason"))
    return Response(
        text=response.text_or_raise(),
        tool_calls=tuple(
            ToolCall(str(call.tool_call_id or ""), call.name, dict(call.arguments or {}))
            for call in response.tool_calls_or_raise()
        ),
        finish_reason=chat_format.finish_reason(finish),
        usage=usage(response),
        model=str(data.get("model") or ""),
        raw=data,
    )


def usage(response: Any) -> Usage:
    """llm's usage (input, output, and the details it keeps: zeros are dropped)."""
    details = response.token_details or {}
    return Usage(
        input_tokens=int(response.input_tokens or 0),
        output_tokens=int(response.output_tokens or 0),
        cached_tokens=int((details.get("prompt_tokens_details") or {}).get("cached_tokens", 0)),
        reasoning_tokens=int(
            (details.get("completion_tokens_details") or {}).get("reasoning_tokens", 0)
        ),
    )


class EventTranslator:
    """llm ``StreamEvent``s -> harness stream events (tool calls indexed by first
    appearance of their id); ``closing`` adds what llm reports only at the end."""

    def __init__(self) -> None:
        self._indices: dict[Any, int] = {}

    def events(self, event: Any) -> list[StreamEvent]:
        kind, chunk = event.type, event.chunk or ""
        if kind == "text" and chunk:
            return [TextDelta(chunk)]
        if kind == "reasoning" and chunk:
            return [ReasoningDelta(chunk)]
        if kind == "tool_call_name":
            index = self._indices.setdefault(event.tool_call_id, len(self._indices))
            return [ToolCallDelta(index, id=event.tool_call_id, name=chunk)]
        if kind == "tool_call_args" and chunk:
            index = self._indices.setdefault(event.tool_call_id, len(self._indices))
            return [ToolCallDelta(index, arguments=chunk)]
        return []

    def closing(self, result: Response) -> list[StreamEvent]:
        found: list[StreamEvent] = []
        if result.model:
            found.append(ModelName(result.model))
        if result.finish_reason is not None:
            found.append(Finish(result.finish_reason))
        if result.usage != Usage():
            found.append(UsageUpdate(result.usage))
        return found


def chain_outcome(responses: Sequence[Any]) -> ChainOutcome:
    """The last response and every tool result llm sent back, in order."""
    results = tuple(
        tool_message(result)
        for response in responses[1:]
        for result in response.prompt.tool_results
    )
    return ChainOutcome(to_response(responses[-1]), results)


def tool_message(result: Any) -> Message:
    """An llm ``ToolResult`` as the tool message it sends."""
    return Message(
        "tool",
        str(result.output),
        tool_call_id=result.tool_call_id,
        name=result.name,
        is_error=is_error(result),
    )


def is_error(result: Any) -> bool:
    """Whether llm recorded a tool result as an error: its ``exception`` (0.27 on); 0.26
    kept none, only the text it sent, ``Error: <message>``."""
    if hasattr(result, "exception"):
        return result.exception is not None
    return str(result.output).startswith("Error: ")


# --- errors -----------------------------------------------------------------------------


def translated_errors() -> AbstractContextManager[None]:
    """Re-raise the OpenAI SDK's errors (which llm lets through) as ``LLMError``."""
    return translating(lambda exc: to_llm_error(exc))


def to_llm_error(exc: Exception) -> LLMError | None:
    """The ``LLMError`` for an OpenAI SDK exception, or None for anything else."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return RequestTimeoutError(str(exc), provider=PROVIDER)
    if isinstance(exc, openai.APIConnectionError):
        return APIConnectionError(str(exc), provider=PROVIDER)
    if not isinstance(exc, openai.APIStatusError):  # an error event inside a stream, or none
        return sdk_error(exc, openai, PROVIDER)
    message = provider_message(exc.body)  # a JSON body's message, or a text body whole
    if message is None:
        message = _STATUS_PREFIX.sub("", exc.message)
    headers = {str(k): str(v) for k, v in exc.response.headers.items()}
    return error_from_status(exc.status_code, message, provider=PROVIDER, headers=headers)
