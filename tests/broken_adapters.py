"""Deliberately broken clients: the conformance suite must catch each of them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from harness.adapters.base import StreamResult
from harness.adapters.reference import ReferenceAdapter
from harness.lm import LM
from harness.transport import RetryPolicy, Transport
from harness.types import Message, Response, TextDelta


class AsyncSkipsRetries(ReferenceAdapter):
    """The async path sends once and never retries (openai-python before 1.52.1, #1803)."""

    async def acall(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        no_retries = Transport(policy=RetryPolicy(max_retries=0))
        body = await no_retries.asend(client.codec, client.request(messages, **params))
        await no_retries.aclose()
        return client.codec.decode_response(body)


class AsyncifyLosesContext(ReferenceAdapter):
    """asyncify hands the program to a thread without the caller's context."""

    def asyncify(self, fn: Callable[[], Any]) -> Awaitable[Any]:
        return asyncio.get_running_loop().run_in_executor(None, fn)


class AsyncStreamReorders(ReferenceAdapter):
    """The async stream yields its text chunks out of order (litellm #4168's kind)."""

    async def astream(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        result = await super().astream(client, messages, params)
        texts = [e for e in result.events if isinstance(e, TextDelta)]
        others = [e for e in result.events if not isinstance(e, TextDelta)]
        shuffled = tuple(reversed(texts)) + tuple(others)
        text = "".join(e.text for e in shuffled if isinstance(e, TextDelta))
        return StreamResult(shuffled, replace(result.response, text=text))
