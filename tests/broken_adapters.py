"""Deliberately broken clients: the conformance suite must catch each of them.

Two reuse the regressed mechanisms of tests/regressed_adapters.py under the names the
scenario tests (tests/test_broken_adapters.py) use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from harness.adapters.base import StreamResult
from harness.adapters.reference import ReferenceAdapter
from harness.lm import LM
from harness.types import Message, TextDelta
from tests.regressed_adapters import AsyncWithoutRetries, PrimitivesLoseContext


class AsyncSkipsRetries(AsyncWithoutRetries):
    """The async path sends once and never retries (openai-python before 1.52.1, #1803)."""


class AsyncifyLosesContext(ReferenceAdapter):
    """asyncify hands the program to a thread without the caller's context (only the
    asyncify of ``PrimitivesLoseContext``; submit and parallel stay the reference's)."""

    asyncify = PrimitivesLoseContext.asyncify


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
