"""The reference client (``harness.lm.LM``) as the suite's first adapter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from harness.adapters.base import FEATURES, ChainOutcome, ClientAdapter, StreamResult, Target, Tools
from harness.context import (
    ContextThreadPoolExecutor,
    Parallel,
    asyncify,
    configure,
    context,
    settings,
)
from harness.lm import LM
from harness.transport import RetryPolicy
from harness.types import Message, Response


class ReferenceAdapter(ClientAdapter):
    """Holds ``harness.LM`` to the suite; supports every feature on every provider."""

    name = "reference"

    def supports(self, feature: str, provider: str) -> bool:
        return feature in FEATURES

    def connect(self, target: Target) -> LM:
        options: dict[str, Any] = {"transport": target.transport}
        if target.fast_retries:
            options["retry_policy"] = RetryPolicy(target.max_retries, 0.0, 0.0)
        else:
            options["max_retries"] = target.max_retries
        if target.provider == "bedrock":
            options.update(region=target.region, credentials=target.aws_credentials)
        else:
            options["api_key"] = target.api_key
        return LM(f"{target.provider}/{target.model}", **options)

    def close(self, client: LM) -> None:
        client.close()

    def call(self, client: LM, messages: Sequence[Message], params: dict[str, Any]) -> Response:
        return client(messages, **params)

    async def acall(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        return await client.acall(messages, **params)

    def stream(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        with client.stream(messages, **params) as stream:
            events = tuple(stream)
        return StreamResult(events, stream.response)

    async def astream(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        async with client.astream(messages, **params) as stream:
            events = tuple([event async for event in stream])
        return StreamResult(events, stream.response)

    def stream_later(
        self, messages: Sequence[Message], params: dict[str, Any]
    ) -> Callable[[], StreamResult]:
        stream = self.current().stream(messages, **params)  # settings resolved now

        def consume() -> StreamResult:
            with stream:
                events = tuple(stream)
            return StreamResult(events, stream.response)

        return consume

    def astream_later(
        self, messages: Sequence[Message], params: dict[str, Any]
    ) -> Callable[[], Awaitable[StreamResult]]:
        stream = self.current().astream(messages, **params)

        async def consume() -> StreamResult:
            async with stream:
                events = tuple([event async for event in stream])
            return StreamResult(events, stream.response)

        return consume

    def chain(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        result = client.chain(messages, tools=tools, **params)
        return _outcome(result)

    async def achain(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        result = await client.achain(messages, tools=tools, **params)
        return _outcome(result)

    def configure(self, client: LM) -> None:
        configure(lm=client)

    def context(self, client: LM) -> AbstractContextManager[Any]:
        return context(lm=client)

    def current(self) -> LM:
        return settings().lm  # type: ignore[no-any-return]

    def submit(self, fn: Callable[[], Any]) -> Any:
        with ContextThreadPoolExecutor(max_workers=2) as pool:
            return pool.submit(fn).result()

    def asyncify(self, fn: Callable[[], Any]) -> Awaitable[Any]:
        return asyncify(fn)()

    def parallel(self, fns: Sequence[Callable[[], Any]]) -> list[Any]:
        return list(Parallel(num_threads=4, progress=False)([(fn, ()) for fn in fns]))


def _outcome(result: Any) -> ChainOutcome:
    tool_results = tuple(m for m in result.messages if m.role == "tool")
    return ChainOutcome(result.response, tool_results)
