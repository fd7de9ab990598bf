"""``LM``: the reference client. Thin: settings -> codec -> transport -> codec.

Parameter precedence for one call: keyword arguments of the call, then the ``LM``
constructor's, then ``harness.settings()`` (context overrides over ``configure``
defaults). They are resolved when the call (or stream) is created, so a stream consumed
after its ``context`` block has exited still uses the settings it was created under.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any

from harness.context import record_usage, settings
from harness.providers import make_codec, split_model
from harness.providers.base import Codec, HttpRequest, StreamAccumulator, StreamDecoder
from harness.transport import RetryPolicy, Transport, aiter_bytes, iter_bytes
from harness.types import (
    CallParams,
    ConfigurationError,
    HarnessError,
    Message,
    Response,
    StreamEvent,
    ToolChoice,
    ToolSpec,
)

Prompt = str | Message | Sequence[Message]
_SAMPLING = ("temperature", "max_tokens", "stop", "top_p")
_CALL_KEYS = frozenset((*_SAMPLING, "tools", "tool_choice"))


def as_messages(prompt: Prompt) -> tuple[Message, ...]:
    """A prompt string, one message, or a list of messages -> a tuple of messages."""
    if isinstance(prompt, str):
        return (Message.user(prompt),)
    if isinstance(prompt, Message):
        return (prompt,)
    messages = tuple(prompt)
    for item in messages:
        if not isinstance(item, Message):
            raise ConfigurationError(
                f"prompt items must be harness.Message, got {type(item).__name__}"
            )
    return messages


class LM:
    """A model on one provider, callable sync and async, streamed or not.

    ``LM("openai/gpt-4o-mini")``, ``LM("anthropic/claude-sonnet-4-5")``,
    ``LM("gemini/gemini-2.5-flash")``, ``LM("bedrock/us.amazon.nova-micro-v1:0")``.
    Provider options (``api_key``, ``base_url``, ``region``, ``api``, ``endpoint_url``,
    ``credentials``, ``profile``, ``signing_time``, ``organization``) go to the provider's
    codec; ``transport`` replaces httpx's network transport (used for replay and tests);
    ``retry_policy`` replaces the default backoff (``max_retries`` sets only its count).

    Bedrock's ``signing_time`` (a ``datetime``) signs every request at that instant: a
    transport that has a ``signing_time`` attribute implies it (``EmulatorTransport``
    does, so recordings against the emulator are byte-stable); an explicit
    ``signing_time=`` wins.
    """

    def __init__(
        self,
        model: str,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        stop: Sequence[str] | None = None,
        top_p: float | None = None,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        timeout: float | None = None,
        transport: Any = None,
        **provider_options: Any,
    ) -> None:
        self.model = model
        self.provider, self.model_name = split_model(model)
        self.defaults: dict[str, Any] = {
            "temperature": temperature,
            "max_tokens": max_tokens,
            "stop": tuple(stop) if stop is not None else None,
            "top_p": top_p,
        }
        implied = getattr(transport, "signing_time", None)
        if self.provider == "bedrock" and implied is not None:
            provider_options.setdefault("signing_time", implied)
        self.codec: Codec = make_codec(self.provider, **provider_options)
        self._max_retries = max_retries
        self._retry_policy = retry_policy
        self._timeout = timeout
        self._transport = Transport(transport=transport)

    def __repr__(self) -> str:
        return f"LM({self.model!r})"

    def close(self) -> None:
        """Close the sync connections (async ones close with their event loop)."""
        self._transport.close()

    async def aclose(self) -> None:
        """Close the connections of the running event loop."""
        await self._transport.aclose()

    def __enter__(self) -> LM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> LM:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- building a call ---------------------------------------------------------

    def params(self, prompt: Prompt, **kwargs: Any) -> CallParams:
        """Resolve one call's parameters (call kwargs > constructor > settings)."""
        unknown = set(kwargs) - _CALL_KEYS
        if unknown:
            raise ConfigurationError(
                f"unknown parameter(s) {sorted(unknown)} for {self.model}: "
                f"valid ones are {sorted(_CALL_KEYS)}"
            )
        current = settings()
        values: dict[str, Any] = {}
        for key in _SAMPLING:
            value = kwargs.get(key)
            if value is None:
                value = self.defaults[key]
            if value is None:
                value = getattr(current, key, None)
            values[key] = value
        tools = tuple(_tool_spec(t) for t in kwargs.get("tools") or ())
        tool_choice: ToolChoice | None = kwargs.get("tool_choice")
        return CallParams(
            model=self.model_name,
            messages=as_messages(prompt),
            temperature=values["temperature"],
            max_tokens=values["max_tokens"],
            stop=tuple(values["stop"] or ()),
            top_p=values["top_p"],
            tools=tools,
            tool_choice=tool_choice,
        )

    def transport(self) -> Transport:
        """The LM's transport: one connection pool per LM (and per event loop)."""
        return self._transport

    def attempts(self) -> dict[str, Any]:
        """The retry policy and timeout for a call made now (LM arguments > settings)."""
        current = settings()
        policy = self._retry_policy
        if policy is None:
            retries = self._max_retries
            if retries is None:
                retries = current.max_retries if current.max_retries is not None else 2
            policy = RetryPolicy(max_retries=retries)
        timeout = self._timeout if self._timeout is not None else current.timeout
        return {"policy": policy, "timeout": timeout}

    def request(self, prompt: Prompt, *, stream: bool = False, **kwargs: Any) -> HttpRequest:
        """The HTTP request a call would send (nothing is sent)."""
        return self.codec.build_request(self.params(prompt, **kwargs), stream=stream)

    # --- calls ---------------------------------------------------------------------

    def __call__(self, prompt: Prompt, **kwargs: Any) -> Response:
        """Call the model and wait for the whole answer."""
        params = self.params(prompt, **kwargs)
        request = self.codec.build_request(params, stream=False)
        body = self._transport.send(self.codec, request, **self.attempts())
        return _finished(self.codec.decode_response(body), params)

    def call(self, prompt: Prompt, **kwargs: Any) -> Response:
        """Same as calling the LM."""
        return self(prompt, **kwargs)

    async def acall(self, prompt: Prompt, **kwargs: Any) -> Response:
        """Async twin of ``__call__``: same request, same result, same errors."""
        params = self.params(prompt, **kwargs)
        request = self.codec.build_request(params, stream=False)
        body = await self._transport.asend(self.codec, request, **self.attempts())
        return _finished(self.codec.decode_response(body), params)

    def stream(self, prompt: Prompt, **kwargs: Any) -> Stream:
        """Stream the answer: iterate for events, then read ``.response``."""
        return Stream(self.codec, self._transport, self.params(prompt, **kwargs), self.attempts())

    def astream(self, prompt: Prompt, **kwargs: Any) -> AsyncStream:
        """Async twin of ``stream``: ``async for event in lm.astream(...)``."""
        params = self.params(prompt, **kwargs)
        return AsyncStream(self.codec, self._transport, params, self.attempts())

    # --- tool chains ---------------------------------------------------------------

    def chain(
        self,
        prompt: Prompt,
        *,
        tools: Sequence[Any],
        max_turns: int = 10,
        on_error: str = "return",
        tool_timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """Call the model, run the tools it asks for, send results back, until it answers.

        Returns a ``harness.tools.ChainResult``; see ``harness.tools.run_chain``. A tool
        call still running after ``tool_timeout`` seconds becomes an error result and
        the chain goes on (``harness.tools.timeouts`` says what becomes of the tool).
        """
        from harness import tools as tools_module

        runnable = tools_module.as_tools(tools)
        specs = tools_module.tool_specs(runnable)
        return tools_module.run_chain(
            lambda messages: self(messages, tools=specs, **kwargs),
            list(as_messages(prompt)),
            runnable,
            max_turns=max_turns,
            on_error=on_error,  # type: ignore[arg-type]
            tool_timeout=tool_timeout,
        )

    async def achain(
        self,
        prompt: Prompt,
        *,
        tools: Sequence[Any],
        max_turns: int = 10,
        on_error: str = "return",
        tool_timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """Async twin of ``chain``: async tools run concurrently, sync ones in threads;
        the same ``tool_timeout`` results (a late async tool is cancelled)."""
        from harness import tools as tools_module

        runnable = tools_module.as_tools(tools)
        specs = tools_module.tool_specs(runnable)

        async def acall(messages: list[Message]) -> Response:
            return await self.acall(messages, tools=specs, **kwargs)

        return await tools_module.arun_chain(
            acall,
            list(as_messages(prompt)),
            runnable,
            max_turns=max_turns,
            on_error=on_error,  # type: ignore[arg-type]
            tool_timeout=tool_timeout,
        )


def _tool_spec(item: Any) -> ToolSpec:
    if isinstance(item, ToolSpec):
        return item
    spec = getattr(item, "spec", None)
    if isinstance(spec, ToolSpec):
        return spec
    if callable(item):
        from harness import tools as tools_module

        return tools_module.as_tools([item])[0].spec
    raise ConfigurationError(f"tools must be ToolSpec, Tool or functions, got {item!r}")


def _finished(response: Response, params: CallParams) -> Response:
    """Fill the model when the body did not name it (Bedrock Converse); count usage."""
    if not response.model:
        response = replace(response, model=params.model)
    record_usage(response.usage)
    return response


class StreamNotConsumedError(HarnessError):
    """``.response`` was read before the stream was iterated to its end."""


class _StreamBase:
    def __init__(
        self, codec: Codec, transport: Transport, params: CallParams, attempts: dict[str, Any]
    ) -> None:
        self._codec = codec
        self._transport = transport
        self._params = params
        self._attempts = attempts
        self._request = codec.build_request(params, stream=True)
        self._response: Response | None = None
        self._started = False

    @property
    def response(self) -> Response:
        """The whole answer, equal to the non-streamed one. Available once consumed."""
        if self._response is None:
            raise StreamNotConsumedError(
                "the stream has not been consumed: iterate it to the end before "
                "reading .response (or call .collect())"
            )
        return self._response

    def _begin(self) -> None:
        if self._started:
            raise HarnessError("a stream can be iterated only once")
        self._started = True

    def _finish(self, decoder: StreamDecoder, accumulator: StreamAccumulator) -> None:
        self._response = _finished(accumulator.response(raw=decoder.raw), self._params)


class Stream(_StreamBase):
    """A streamed answer. Iterate for ``StreamEvent`` values; then ``.response``.

    Use it as a context manager (or call ``close``) to release the connection when
    leaving the loop early.
    """

    def __iter__(self) -> Iterator[StreamEvent]:
        self._begin()
        self._iterator: Generator[StreamEvent, None, None] = self._events()
        return self._iterator

    def _events(self) -> Generator[StreamEvent, None, None]:
        accumulator = StreamAccumulator()
        with self._transport.stream(self._codec, self._request, **self._attempts) as start:
            decoder = self._codec.stream_decoder(start.content_type)
            for chunk in iter_bytes(self._codec, start.response):
                for event in decoder.feed(chunk):
                    accumulator.add(event)
                    yield event
            for event in decoder.close():
                accumulator.add(event)
                yield event
        self._finish(decoder, accumulator)

    def collect(self) -> Response:
        """Consume the stream and return the whole answer."""
        for _ in self:
            pass
        return self.response

    def close(self) -> None:
        """Stop reading and release the connection."""
        iterator = getattr(self, "_iterator", None)
        if iterator is not None:
            iterator.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncStream(_StreamBase):
    """Async twin of ``Stream``: ``async for event in stream``; then ``.response``."""

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        self._begin()
        self._aiterator: AsyncGenerator[StreamEvent, None] = self._events()
        return self._aiterator

    async def _events(self) -> AsyncGenerator[StreamEvent, None]:
        accumulator = StreamAccumulator()
        async with self._transport.astream(self._codec, self._request, **self._attempts) as start:
            decoder = self._codec.stream_decoder(start.content_type)
            async for chunk in aiter_bytes(self._codec, start.response):
                for event in decoder.feed(chunk):
                    accumulator.add(event)
                    yield event
            for event in decoder.close():
                accumulator.add(event)
                yield event
        self._finish(decoder, accumulator)

    async def collect(self) -> Response:
        """Consume the stream and return the whole answer."""
        async for _ in self:
            pass
        return self.response

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        iterator = getattr(self, "_aiterator", None)
        if iterator is not None:
            await iterator.aclose()


__all__ = ["LM", "AsyncStream", "Stream", "StreamNotConsumedError", "as_messages"]
