"""Negative controls: for every scenario, a deliberately broken stand-in that breaks exactly
that scenario's behaviour.

A control is the reference adapter with one thing broken: a decision of its transport
(which failures are retried, how long it waits, whether a stream is read whole), a
mapping of errors, a step of its tool chain, a primitive that carries the context, or
what it reports. Each is held to the suite like any client
(``pytest conformance/test_scenarios.py --client conformance.controls:NAME``) and must
fail the rows of its scenario it names (``Control.modes``: every mode of the scenario
when None) and no row of any other scenario: a control that fails everything proves
nothing. tests/test_controls.py runs them all, and fails when a scenario has none.

Most break a mechanism that only their scenario exercises. Where several scenarios
share the mechanism (a plain answer's usage, a lone tool call, a chain with one tool,
a 429 then an answer), the control is *scoped* (``Control.scoped``): the break applies
only to its scenario's conversation, so it shows that the scenario's checks catch that
break in every mode.

``CHECK_CONTROLS`` break what the suite checks in every scenario (the returned model,
the credentials): each must fail exactly the rows that check covers.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import dataclasses
import enum
import functools
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from concurrent.futures import TimeoutError as FutureTimeoutError
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, ClassVar, Literal

from conformance.models import SCENARIO, model_for
from conformance.scenarios import DEFAULT_PORTS, SCENARIOS, Scenario
from harness.adapters.base import (
    ChainOutcome,
    Inputs,
    ParallelRun,
    StreamResult,
    Target,
    Tools,
)
from harness.adapters.reference import (
    ReferenceAdapter,
    chain_turns,
    run_in_thread,
    split_chain_params,
    stopped_outcome,
    translated_chain_error,
)
from harness.context import Settings, _overrides, _trackers, record_usage
from harness.lm import LM
from harness.providers.base import HttpRequest
from harness.tools import (
    ChainLimitError,
    ToolExecutionError,
    arun_chain,
    arun_tool_calls,
    as_tools,
    run_chain,
    run_tool_calls,
    tool_specs,
)
from harness.transport import RetryPolicy, Transport
from harness.types import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    LLMError,
    MalformedResponseError,
    Message,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    Response,
    ServerError,
    TextDelta,
    ToolCall,
    Usage,
)

BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


# --- the bases: where a control can break the reference client --------------------------


class Tampered(ReferenceAdapter):
    """The reference adapter with hooks on every path (``call``, ``acall``, ``stream``,
    ``astream``, ``chain``, ``achain``): the request (``tamper_request``), the tools of a
    chain (``tamper_tools``), the model call a chain makes (``tamper_step``), the error
    raised (``tamper_error``), the result (``tamper``) and what a chain reports
    (``tamper_outcome``). Each hook gets the path's name.
    Hooks left alone change nothing."""

    def tamper_request(
        self, messages: Sequence[Message], params: dict[str, Any], path: str
    ) -> tuple[Sequence[Message], dict[str, Any]]:
        return messages, params

    def tamper_tools(self, tools: Tools, messages: Sequence[Message], path: str) -> Tools:
        return tools

    def tamper_step(self, response: Response, path: str) -> Response:
        """Each model answer inside a chain, before the chain acts on it."""
        return response

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        return error

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        return response

    def tamper_outcome(self, outcome: ChainOutcome, path: str) -> ChainOutcome:
        """What a chain reports, once its final answer went through ``tamper``."""
        return outcome

    def chain_options(self) -> dict[str, Any]:
        """Options of ``run_chain``/``arun_chain`` (``max_turns``, ``on_error``)."""
        return {}

    def _raise(self, error: LLMError, messages: Sequence[Message], path: str) -> None:
        changed = self.tamper_error(error, messages, path)
        if changed is error:
            raise error
        raise changed from error

    def call(self, client: LM, messages: Sequence[Message], params: dict[str, Any]) -> Response:
        sent, params = self.tamper_request(messages, params, "call")
        try:
            response = super().call(client, sent, params)
        except LLMError as error:
            self._raise(error, messages, "call")
            raise
        return self.tamper(response, messages, "call")

    async def acall(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        sent, params = self.tamper_request(messages, params, "acall")
        try:
            response = await super().acall(client, sent, params)
        except LLMError as error:
            self._raise(error, messages, "acall")
            raise
        return self.tamper(response, messages, "acall")

    def stream(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        sent, params = self.tamper_request(messages, params, "stream")
        try:
            result = self.consume(client, sent, params)
        except LLMError as error:
            self._raise(error, messages, "stream")
            raise
        return replace(result, response=self.tamper(result.response, messages, "stream"))

    async def astream(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        sent, params = self.tamper_request(messages, params, "astream")
        try:
            result = await self.aconsume(client, sent, params)
        except LLMError as error:
            self._raise(error, messages, "astream")
            raise
        return replace(result, response=self.tamper(result.response, messages, "astream"))

    def consume(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        """Read a sync stream to its end (the reference's way)."""
        return super().stream(client, messages, params)

    async def aconsume(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        """Read an async stream to its end (the reference's way)."""
        return await super().astream(client, messages, params)

    def chain(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        sent, params = self.tamper_request(messages, params, "chain")
        runnable = as_tools(self.tamper_tools(tools, messages, "chain"))
        specs = tool_specs(runnable)
        params, options = _chain_params(params, self.chain_options())

        def step(conversation: list[Message]) -> Response:
            return self.tamper_step(client(conversation, tools=specs, **params), "chain")

        try:
            outcome = _chain_outcome(run_chain(step, list(sent), runnable, **options))
        except ChainLimitError as stopped:
            outcome = stopped_outcome(stopped)
        except (ToolExecutionError, ConfigurationError) as error:
            raise translated_chain_error(error) from error
        except LLMError as error:
            self._raise(error, messages, "chain")
            raise
        outcome = replace(outcome, response=self.tamper(outcome.response, messages, "chain"))
        return self.tamper_outcome(outcome, "chain")

    async def achain(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        sent, params = self.tamper_request(messages, params, "achain")
        runnable = as_tools(self.tamper_tools(tools, messages, "achain"))
        specs = tool_specs(runnable)
        params, options = _chain_params(params, self.chain_options())

        async def step(conversation: list[Message]) -> Response:
            response = await client.acall(conversation, tools=specs, **params)
            return self.tamper_step(response, "achain")

        try:
            outcome = _chain_outcome(await arun_chain(step, list(sent), runnable, **options))
        except ChainLimitError as stopped:
            outcome = stopped_outcome(stopped)
        except (ToolExecutionError, ConfigurationError) as error:
            raise translated_chain_error(error) from error
        except LLMError as error:
            self._raise(error, messages, "achain")
            raise
        outcome = replace(outcome, response=self.tamper(outcome.response, messages, "achain"))
        return self.tamper_outcome(outcome, "achain")


def _chain_params(
    params: dict[str, Any], options: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``params`` split into the model call's and ``run_chain``'s (the scenario's chain
    parameters, then the control's ``chain_options`` over them; of two ``max_turns``, the
    lower)."""
    call, chain = split_chain_params(params)
    merged = {**chain, **options}
    if "max_turns" in chain and "max_turns" in options:  # a cap of its own: never a higher one
        merged["max_turns"] = min(chain["max_turns"], options["max_turns"])
    return call, merged


def _chain_outcome(result: Any) -> ChainOutcome:
    tool_results = tuple(m for m in result.messages if m.role == "tool")
    return ChainOutcome(
        result.response, tool_results, result.usage, turns=chain_turns(result.transcript)
    )


def _is_async() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class BrokenTransport(Transport):
    """The reference transport; subclasses override one decision."""


class TransportControl(ReferenceAdapter):
    """The reference adapter whose clients send through ``transport_class``."""

    transport_class: ClassVar[type[Transport]] = BrokenTransport

    def connect(self, target: Target) -> LM:
        client = super().connect(target)
        client._transport = self.transport_class(transport=target.transport)
        return client


def _conversation(scenario: str) -> tuple[Message, ...]:
    return BY_NAME[scenario].messages


def _in(messages: Sequence[Message], scenario: str) -> bool:
    """Whether ``messages`` is ``scenario``'s conversation (a scoped control's test)."""
    return tuple(messages) == _conversation(scenario)


_in_scope = contextvars.ContextVar("controls_in_scope", default=False)
"""Whether the call runs the conversation a ``ScopedTransportControl`` is scoped to."""


class ScopedTransportControl(Tampered):
    """The reference adapter whose clients send through ``transport_class``, a transport
    broken only where ``_in_scope`` is set: for ``scenario``'s conversation."""

    transport_class: ClassVar[type[Transport]] = BrokenTransport
    scenario: ClassVar[str] = ""

    def connect(self, target: Target) -> LM:
        client = super().connect(target)
        client._transport = self.transport_class(transport=target.transport)
        return client

    def tamper_request(
        self, messages: Sequence[Message], params: dict[str, Any], path: str
    ) -> tuple[Sequence[Message], dict[str, Any]]:
        _in_scope.set(_in(messages, self.scenario))
        return messages, params


# --- requests ----------------------------------------------------------------------------


class SystemPromptAsUser(Tampered):
    """Sends a system prompt as a user message."""

    def tamper_request(
        self, messages: Sequence[Message], params: dict[str, Any], path: str
    ) -> tuple[Sequence[Message], dict[str, Any]]:
        turned = [Message.user(m.content) if m.role == "system" else m for m in messages]
        return turned, params


class KeepsOnlyTheLastTurn(Tampered):
    """Sends only the last of the turns it was given (system prompts kept)."""

    def tamper_request(
        self, messages: Sequence[Message], params: dict[str, Any], path: str
    ) -> tuple[Sequence[Message], dict[str, Any]]:
        system = [m for m in messages if m.role == "system"]
        others = [m for m in messages if m.role != "system"]
        return [*system, *others[-1:]], params


class DropsTopP(Tampered):
    """Never sends ``top_p``."""

    def tamper_request(
        self, messages: Sequence[Message], params: dict[str, Any], path: str
    ) -> tuple[Sequence[Message], dict[str, Any]]:
        return messages, {k: v for k, v in params.items() if k != "top_p"}


class IgnoresRequiredToolChoice(Tampered):
    """Drops ``tool_choice="required"`` (the model may then answer without a tool)."""

    def tamper_request(
        self, messages: Sequence[Message], params: dict[str, Any], path: str
    ) -> tuple[Sequence[Message], dict[str, Any]]:
        if params.get("tool_choice") == "required":
            params = {k: v for k, v in params.items() if k != "tool_choice"}
        return messages, params


class AutoToolChoiceAsRequired(Tampered):
    """Sends ``tool_choice="auto"`` as ``required``."""

    def tamper_request(
        self, messages: Sequence[Message], params: dict[str, Any], path: str
    ) -> tuple[Sequence[Message], dict[str, Any]]:
        if params.get("tool_choice") == "auto":
            params = {**params, "tool_choice": "required"}
        return messages, params


class DropsNoneToolChoice(Tampered):
    """Drops ``tool_choice="none"`` (the model may then call a tool)."""

    def tamper_request(
        self, messages: Sequence[Message], params: dict[str, Any], path: str
    ) -> tuple[Sequence[Message], dict[str, Any]]:
        if params.get("tool_choice") == "none":
            params = {k: v for k, v in params.items() if k != "tool_choice"}
        return messages, params


class NamedToolChoiceAsRequired(Tampered):
    """Sends a tool_choice naming one tool as ``required`` (any tool)."""

    def tamper_request(
        self, messages: Sequence[Message], params: dict[str, Any], path: str
    ) -> tuple[Sequence[Message], dict[str, Any]]:
        choice = params.get("tool_choice")
        if choice not in (None, "auto", "none", "required"):
            params = {**params, "tool_choice": "required"}
        return messages, params


# --- results -------------------------------------------------------------------------------


class SwapsUsageOfPlainAnswer(Tampered):
    """Reports input and output tokens swapped (scoped: plain_text's conversation and
    answer)."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        if _in(messages, "plain_text") and response.text.endswith("help you today?"):
            usage = response.usage
            return replace(
                response,
                usage=replace(
                    usage, input_tokens=usage.output_tokens, output_tokens=usage.input_tokens
                ),
            )
        return response


class LengthReportedAsStop(Tampered):
    """Reports an answer cut by max_tokens as finished (``stop``)."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        if response.finish_reason == "length":
            return replace(response, finish_reason="stop")
        return response


class AsciiOnlyText(Tampered):
    """Loses every non-ASCII character of the answer (an ASCII-only decoder)."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        text = response.text.encode("ascii", "replace").decode("ascii")
        return replace(response, text=text) if text != response.text else response


class TruncatesLongText(Tampered):
    """Keeps the first 512 characters of an answer (a fixed-size buffer)."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        return replace(response, text=response.text[:512])


class DropsCachedTokens(Tampered):
    """Reports no cached input tokens."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        return replace(response, usage=replace(response.usage, cached_tokens=0))


class DropsReasoningTokens(Tampered):
    """Reports no reasoning tokens."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        return replace(response, usage=replace(response.usage, reasoning_tokens=0))


class OtherFinishAsStop(Tampered):
    """Reports a finish reason it does not know as ``stop``."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        if response.finish_reason == "other":
            return replace(response, finish_reason="stop")
        return response


class ReasoningInText(Tampered):
    """Puts the reasoning in front of the answer text instead of apart."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        if not response.reasoning:
            return response
        return replace(response, text=response.reasoning + response.text, reasoning="")


class ReasoningContentInText(ReasoningInText):
    """Puts the reasoning of an OpenAI-compatible server (``reasoning_content``) in front
    of the answer text instead of apart."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        if not any("reasoning_content" in part for part in _openai_parts(response)):
            return response
        return super().tamper(response, messages, path)


def _openai_choices(response: Response) -> list[dict[str, Any]]:
    """The choices of an OpenAI answer's raw body (every chunk's, streamed)."""
    raw = response.raw
    bodies = raw if isinstance(raw, list) else [raw]
    choices: list[dict[str, Any]] = []
    for body in bodies:
        found = body.get("choices") if isinstance(body, dict) else None
        if isinstance(found, list):
            choices += [choice for choice in found if isinstance(choice, dict)]
    return choices


def _openai_parts(response: Response) -> list[dict[str, Any]]:
    """The messages (or streamed deltas) of an OpenAI answer's raw body."""
    parts = [choice.get("message") or choice.get("delta") for choice in _openai_choices(response)]
    return [part for part in parts if isinstance(part, dict)]


class EstimatesUncountedUsage(Tampered):
    """Estimates the usage of an answer whose token counts are all 0, as if the provider
    had reported none (a token a word, at least one)."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        if response.usage != Usage():
            return response
        words = len(response.text.split())
        return replace(response, usage=Usage(words or 1, words or 1))


class ReadsOnlyReasoningContent(Tampered):
    """Reads reasoning from ``reasoning_content`` only: reasoning sent under ``reasoning``
    is lost."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        if any("reasoning" in part for part in _openai_parts(response)):
            return replace(response, reasoning="")
        return response


class DropsRefusals(Tampered):
    """Reads an OpenAI answer's ``content`` only: a refusal leaves the text empty."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        if any(part.get("refusal") for part in _openai_parts(response)):
            return replace(response, text="")
        return response


class MergesChoices(Tampered):
    """Appends the text of an answer's other choices to the first choice's."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        others = [c for c in _openai_choices(response) if c.get("index", 0) != 0]
        parts = [c.get("message") or c.get("delta") or {} for c in others]
        extra = "".join(part.get("content") or "" for part in parts)
        return replace(response, text=response.text + extra) if extra else response


class MergesUnindexedToolCalls(Tampered):
    """Takes streamed tool-call deltas without ``index`` for pieces of one call: the
    calls of one delta become a single call."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        deltas = [
            call
            for part in _openai_parts(response)
            for call in part.get("tool_calls") or ()
            if isinstance(call, dict) and "index" not in call
        ]
        if not isinstance(response.raw, list) or len(deltas) < 2 or not response.tool_calls:
            return response
        return replace(response, tool_calls=(replace(response.tool_calls[0], arguments={}),))


class SkipsChoicesWithoutIndex(Tampered):
    """Follows streamed choices by their ``index`` only: a chunk whose choice has none is
    skipped, and its text lost."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        if not isinstance(response.raw, list):
            return response
        if any("index" not in choice for choice in _openai_choices(response)):
            return replace(response, text="", finish_reason=None)
        return response


class TakesTheLastChunksModel(Tampered):
    """Reports the model the last chunk naming one named, an empty name included."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        raw = response.raw
        if not isinstance(raw, list):
            return response
        named = [chunk["model"] for chunk in raw if isinstance(chunk, dict) and "model" in chunk]
        return replace(response, model=named[-1]) if named else response


class LoneToolCallWithoutArguments(Tampered):
    """Loses the arguments of a call's only tool call (scoped: tool_call_single's
    conversation, outside chains)."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        if path in ("chain", "achain") or not _in(messages, "tool_call_single"):
            return response
        calls = tuple(replace(call, arguments={}) for call in response.tool_calls)
        return replace(response, tool_calls=calls)


class KeepsTheFirstToolCall(Tampered):
    """Keeps only the first tool call of an answer (outside chains; scoped:
    tool_call_parallel's conversation)."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        if path in ("chain", "achain") or not _in(messages, "tool_call_parallel"):
            return response
        return replace(response, tool_calls=response.tool_calls[:1])


class DropsTextBesideToolCalls(Tampered):
    """Loses the text of an answer that also calls tools."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        if response.tool_calls and response.text:
            return replace(response, text="")
        return response


# --- errors --------------------------------------------------------------------------------


def _remapped(error: LLMError, cls: type[LLMError]) -> LLMError:
    return cls(error.provider_message, provider=error.provider, status=error.status)


class BadRequestAsNotFound(Tampered):
    """Maps HTTP 400 to NotFoundError (scoped: error_bad_request's conversation)."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        if error.status == 400 and _in(messages, "error_bad_request"):
            return _remapped(error, NotFoundError)
        return error


class UnauthorizedAsPermissionDenied(Tampered):
    """Maps HTTP 401 to PermissionDeniedError."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        return _remapped(error, PermissionDeniedError) if error.status == 401 else error


class ForbiddenAsAuthentication(Tampered):
    """Maps HTTP 403 to AuthenticationError."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        return _remapped(error, AuthenticationError) if error.status == 403 else error


class NotFoundAsBadRequest(Tampered):
    """Maps HTTP 404 to BadRequestError (scoped: error_not_found's conversation)."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        if error.status == 404 and _in(messages, "error_not_found"):
            return _remapped(error, BadRequestError)
        return error


class RetriesStreamOnServerErrorEvent(Tampered):
    """Sends a stream's request again when a server error event arrives in it (after
    bytes were delivered), once (scoped: stream_error_event's conversation)."""

    def consume(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        try:
            return super().consume(client, messages, params)
        except ServerError as error:
            if error.status is not None or not _in(messages, "stream_error_event"):
                raise
            return super().consume(client, messages, params)

    async def aconsume(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        try:
            return await super().aconsume(client, messages, params)
        except ServerError as error:
            if error.status is not None or not _in(messages, "stream_error_event"):
                raise
            return await super().aconsume(client, messages, params)


class InStreamRateLimitAsServerError(Tampered):
    """Maps a rate-limit error event inside a stream to ServerError."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        if isinstance(error, RateLimitError) and error.status is None:
            return _remapped(error, ServerError)
        return error


class InStreamInvalidRequestAsServerError(Tampered):
    """Maps an invalid-request error event inside a stream to ServerError."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        if isinstance(error, BadRequestError) and error.status is None:
            return _remapped(error, ServerError)
        return error


def _body_text(error: LLMError) -> str:
    return json.dumps(error.body, separators=(",", ":"))


class ReadsOnlyNestedErrorMessages(Tampered):
    """Reads an error's message from ``{"error": {"message"}}`` only: a flat
    ``{"message"}`` body is reported whole."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        body = error.body
        if isinstance(body, dict) and "error" not in body and "message" in body:
            return type(error)(_body_text(error), provider=error.provider, status=error.status)
        return error


class StringStreamErrorsAsMalformed(Tampered):
    """Takes an error sent in a stream as a plain string (``{"error": "..."}``) for a
    chunk it cannot decode."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        body = error.body
        if error.status is None and isinstance(body, dict) and isinstance(body.get("error"), str):
            return MalformedResponseError(f"unexpected chunk {body!r}", provider=error.provider)
        return error


class PlainTextErrorsAsStatus(Tampered):
    """Words an error whose body is not JSON as its HTTP status, its text unread."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        if isinstance(error.body, str) and error.status is not None:
            return type(error)(f"HTTP {error.status}", provider=error.provider, status=error.status)
        return error


class IgnoresDetailBodies(Tampered):
    """Reads no ``detail`` (FastAPI's error body): such an error is reported whole."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        body = error.body
        if isinstance(body, dict) and isinstance(body.get("detail"), str):
            return type(error)(_body_text(error), provider=error.provider, status=error.status)
        return error


class ValidationDetailsSayNothing(Tampered):
    """Finds no message in FastAPI's list of validation errors and says nothing."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        body = error.body
        if isinstance(body, dict) and isinstance(body.get("detail"), list):
            return type(error)("", provider=error.provider, status=error.status)
        return error


class _UndecodableAsServerError(Tampered):
    """Reports a 200 answer it cannot decode as ServerError (scoped: ``scenario``'s
    conversation)."""

    scenario: ClassVar[str] = ""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        if isinstance(error, MalformedResponseError) and _in(messages, self.scenario):
            return _remapped(error, ServerError)
        return error


class HtmlAnswerAsServerError(_UndecodableAsServerError):
    """Reports a 200 HTML page for an answer as ServerError (scoped:
    malformed_answer_html's conversation)."""

    scenario = "malformed_answer_html"


class AnswerWithoutChoicesAsServerError(_UndecodableAsServerError):
    """Reports a 200 completion without choices as ServerError (scoped:
    malformed_answer_no_choices's conversation)."""

    scenario = "malformed_answer_no_choices"


class UndecodableEncodingAsConnectionError(Tampered):
    """Reports a body its HTTP library cannot decode (labelled gzip, not gzip) as
    APIConnectionError."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        if isinstance(error, MalformedResponseError) and "decompressing" in str(error):
            return _remapped(error, APIConnectionError)
        return error


class StreamPageWithoutContentType(Tampered):
    """Says a stream answered by an HTML page had no content type (it had one)."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        text = str(error.provider_message)
        if isinstance(error, MalformedResponseError) and "text/html" in text:
            return _reworded(error, re.sub(r"text/html[^ )]*", "no content type", text))
        return error


class UnlabelledStreamBodyUnshown(Tampered):
    """Says a stream answered by a body without a content type held no events, without
    showing what it held."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        if isinstance(error, MalformedResponseError) and "no content type" in str(error):
            return _reworded(error, "the stream held no events (no content type)")
        return error


class CutChunkAsServerError(_UndecodableAsServerError):
    """Reports a stream event that is not JSON as ServerError (scoped:
    malformed_chunk_not_json's conversation)."""

    scenario = "malformed_chunk_not_json"


class ChoicesObjectAsServerError(_UndecodableAsServerError):
    """Reports a chunk whose choices are an object as ServerError (scoped:
    malformed_chunk_choices_object's conversation)."""

    scenario = "malformed_chunk_choices_object"


class DropsErrorBodies(Tampered):
    """Raises every provider error without the provider's body (``body`` None)."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        if error.body is None:
            return error
        bare = copy.copy(error)
        bare.body = None
        return bare


class AsyncConnectErrorsAsTimeouts(Tampered):
    """On the async path, reports a connection aiohttp found refused as
    RequestTimeoutError (the sync path still says APIConnectionError), on a port the URL
    names (connection_refused's; a URL without one has its own scenarios)."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        if path not in ("acall", "astream", "achain") or not isinstance(error, APIConnectionError):
            return error
        if any(f"127.0.0.1:{port}:" in str(error) for _, port, _ in DEFAULT_PORTS):
            return error
        chain: list[BaseException] = []
        current: BaseException | None = error
        while current is not None and len(chain) < 10:
            chain.append(current)
            current = current.__cause__ or current.__context__
        refused = any(isinstance(e, ConnectionRefusedError) for e in chain)
        if refused and any(type(e).__name__ == "ClientConnectorError" for e in chain):
            return _remapped(error, RequestTimeoutError)
        return error


# --- streams -------------------------------------------------------------------------------


class EndsStreamQuietlyAfterText(Tampered):
    """Ends a stream quietly at an error once text has arrived, returning the partial
    answer."""

    def consume(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        events: list[Any] = []
        try:
            with client.stream(messages, **params) as stream:
                for event in stream:
                    events.append(event)
        except LLMError:
            if not any(isinstance(e, TextDelta) for e in events):
                raise
            text = "".join(e.text for e in events if isinstance(e, TextDelta))
            return StreamResult(tuple(events), Response(text, model=client.model_name))
        return StreamResult(tuple(events), stream.response)

    async def aconsume(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        events: list[Any] = []
        try:
            async with client.astream(messages, **params) as stream:
                async for event in stream:
                    events.append(event)
        except LLMError:
            if not any(isinstance(e, TextDelta) for e in events):
                raise
            text = "".join(e.text for e in events if isinstance(e, TextDelta))
            return StreamResult(tuple(events), Response(text, model=client.model_name))
        return StreamResult(tuple(events), stream.response)


class BufferingTransport(BrokenTransport):
    """Reads a streamed body whole inside the retry loop before yielding it, so a cut
    mid-stream is retried (both paths)."""

    def stream(self, codec: Any, request: HttpRequest, **options: Any) -> Any:
        return self._open(codec, request, whole=True, **options)

    def astream(self, codec: Any, request: HttpRequest, **options: Any) -> Any:
        return self._aopen(codec, request, whole=True, **options)


class AsyncBufferingTransport(BrokenTransport):
    """The async path reads a streamed body whole inside the retry loop (so it retries a
    cut mid-stream); the sync path streams."""

    def astream(self, codec: Any, request: HttpRequest, **options: Any) -> Any:
        return self._aopen(codec, request, whole=True, **options)


class BuffersStreams(TransportControl):
    """Reads every stream whole before yielding it: a cut mid-stream is retried."""

    transport_class = BufferingTransport


class AsyncBuffersStreams(TransportControl):
    """The async path reads streams whole before yielding: a cut mid-stream is retried
    there only."""

    transport_class = AsyncBufferingTransport


# --- retries and waits ---------------------------------------------------------------------


class RateLimitRetriedOnceTransport(BrokenTransport):
    def _delay(self, policy: RetryPolicy | None, retries_done: int, error: LLMError) -> Any:
        if isinstance(error, RateLimitError) and retries_done >= 1:
            return None
        return super()._delay(policy, retries_done, error)


class RateLimitRetriedOnce(TransportControl):
    """Retries a 429 once only (max_retries applied off by one for rate limits)."""

    transport_class = RateLimitRetriedOnceTransport


_last_error: contextvars.ContextVar[LLMError | None] = contextvars.ContextVar(
    "controls_last_error", default=None
)


class GivesUpOnRepeatedServerErrorTransport(BrokenTransport):
    def _delay(self, policy: RetryPolicy | None, retries_done: int, error: LLMError) -> Any:
        previous = _last_error.get() if retries_done else None
        _last_error.set(error)
        if isinstance(error, ServerError) and error == previous:
            return None
        return super()._delay(policy, retries_done, error)


class GivesUpOnRepeatedServerError(TransportControl):
    """Stops retrying when a 5xx repeats the previous one word for word."""

    transport_class = GivesUpOnRepeatedServerErrorTransport


class Only500To504RetriedTransport(BrokenTransport):
    def _delay(self, policy: RetryPolicy | None, retries_done: int, error: LLMError) -> Any:
        if isinstance(error, ServerError) and error.status == 503:
            return None
        return super()._delay(policy, retries_done, error)


class ServiceUnavailableNotRetried(TransportControl):
    """Does not retry a 503 (only other 5xx)."""

    transport_class = Only500To504RetriedTransport


class NoRateLimitRetryTransport(BrokenTransport):
    def _delay(self, policy: RetryPolicy | None, retries_done: int, error: LLMError) -> Any:
        if isinstance(error, RateLimitError) and _in_scope.get():
            return None
        return super()._delay(policy, retries_done, error)


class RateLimitNotRetriedForHello(ScopedTransportControl):
    """Does not retry a 429 (scoped: retry_after_429's conversation)."""

    transport_class = NoRateLimitRetryTransport
    scenario = "retry_after_429"


class AsyncIgnoresRetryAfterTransport(BrokenTransport):
    def _delay(self, policy: RetryPolicy | None, retries_done: int, error: LLMError) -> Any:
        delay = super()._delay(policy, retries_done, error)
        if delay is not None and isinstance(error, RateLimitError) and _is_async():
            return 0.0 if _in_scope.get() else delay
        return delay


class AsyncIgnoresRetryAfter(ScopedTransportControl):
    """The async path retries a 429 at once, whatever Retry-After says (scoped:
    retry_after_wait's conversation)."""

    transport_class = AsyncIgnoresRetryAfterTransport
    scenario = "retry_after_wait"


class BackoffOverRetryAfterTransport(BrokenTransport):
    def _delay(self, policy: RetryPolicy | None, retries_done: int, error: LLMError) -> Any:
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            error = RateLimitError(error.provider_message, provider=error.provider, status=429)
        return super()._delay(policy, retries_done, error)


class BackoffOverRetryAfter(TransportControl):
    """Waits its own backoff before retrying a 429, whatever Retry-After says (enough for
    a short Retry-After, too soon for a long one)."""

    transport_class = BackoffOverRetryAfterTransport


class NoBackoffTransport(BrokenTransport):
    def _delay(self, policy: RetryPolicy | None, retries_done: int, error: LLMError) -> Any:
        delay = super()._delay(policy, retries_done, error)
        if delay is not None and getattr(error, "retry_after", None) is None:
            return 0.0
        return delay


class RetriesAtOnceWithoutRetryAfter(TransportControl):
    """Retries at once, with no backoff, where the failure named no Retry-After."""

    transport_class = NoBackoffTransport


def _cut_body(error: LLMError) -> bool:
    return isinstance(error, APIConnectionError) and "before the body ended" in str(error)


class HelloScoped(ScopedTransportControl):
    """Scoped to the conversation of ``cut_mid_body`` and ``connection_dropped`` (the
    other connection faults have their own)."""

    scenario = "connection_dropped"


class AsyncBodyCutNotRetriedTransport(BrokenTransport):
    def _delay(self, policy: RetryPolicy | None, retries_done: int, error: LLMError) -> Any:
        if _cut_body(error) and _is_async() and _in_scope.get():
            return None
        return super()._delay(policy, retries_done, error)


class AsyncBodyCutNotRetried(HelloScoped):
    """The async path does not retry a body cut mid-way (the sync path does; scoped:
    cut_mid_body's conversation)."""

    transport_class = AsyncBodyCutNotRetriedTransport


def _dropped(error: LLMError) -> bool:
    return isinstance(error, APIConnectionError) and "without sending a response" in str(error)


class DroppedConnectionNotRetriedTransport(BrokenTransport):
    def _delay(self, policy: RetryPolicy | None, retries_done: int, error: LLMError) -> Any:
        if _dropped(error) and _in_scope.get():
            return None
        return super()._delay(policy, retries_done, error)


class DroppedConnectionNotRetried(HelloScoped):
    """Does not retry a connection closed before any answer (scoped:
    connection_dropped's conversation)."""

    transport_class = DroppedConnectionNotRetriedTransport


def _reworded(error: LLMError, message: str) -> LLMError:
    return type(error)(message, provider=error.provider, status=error.status)


def _own_words(error: LLMError) -> str:
    """What the transport library itself said: the innermost cause's text."""
    cause: BaseException = error
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    return f"{type(cause).__name__}: {cause}"


class AsyncDroppedConnectionInAiohttpWords(Tampered):
    """The async path words a connection closed without an answer as aiohttp does (the
    sync path in its own words): the same failure reads differently by mode."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        if path in ("acall", "astream") and _dropped(error):
            return _reworded(error, _own_words(error))
        return error


class AsyncCutBodyInAiohttpWords(Tampered):
    """The async non-streamed path words a body cut mid-way as aiohttp does (the sync
    path in its own words)."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        if path == "acall" and _cut_body(error):
            return _reworded(error, _own_words(error))
        return error


class AsyncTimeoutsInAiohttpWords(Tampered):
    """The async path words a timeout as aiohttp does (the sync path in its own words)."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        if path in ("acall", "astream") and isinstance(error, RequestTimeoutError):
            return _reworded(error, _own_words(error))
        return error


class AsyncTLSFailureInAiohttpWords(Tampered):
    """The async path words a failed TLS handshake as aiohttp does (the sync path in its
    own words)."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        text = str(error)  # a reset or an untrusted certificate has its own scenario
        broken_off = "reset" in text or "certificate" in text
        if path in ("acall", "astream") and "TLS handshake" in text and not broken_off:
            return _reworded(error, _own_words(error))
        return error


class IgnoresTheTimeout(ReferenceAdapter):
    """Ignores the timeout it is given: a slow answer is waited for."""

    def connect(self, target: Target) -> LM:
        return super().connect(replace(target, timeout=None))


class TwoRetriesFor5xxTransport(BrokenTransport):
    def _delay(self, policy: RetryPolicy | None, retries_done: int, error: LLMError) -> Any:
        if isinstance(error, ServerError):
            policy = replace(policy or self.policy, max_retries=2)
        return super()._delay(policy, retries_done, error)


class IgnoresMaxRetries(TransportControl):
    """Ignores the retry budget it is given for a 5xx: always two retries."""

    transport_class = TwoRetriesFor5xxTransport


class ConnectionFailuresSayNothing(Tampered):
    """Raises a connection failure or a timeout with an empty message."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        if isinstance(error, (APIConnectionError, RequestTimeoutError)):
            return _reworded(error, "")
        return error


_LOOPBACK_ADDRESS = re.compile(r"127\.0\.0\.1:\d+")


class FailuresNameNoAddress(Tampered):
    """Words a connection failure or a timeout without the address it tried."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        if isinstance(error, (APIConnectionError, RequestTimeoutError)):
            return _reworded(error, _LOOPBACK_ADDRESS.sub("the server", str(error)))
        return error


class FailuresSayOnlyWhere(Tampered):
    """Words a connection failure or a timeout as "request to ADDRESS failed", without
    what happened."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        if isinstance(error, (APIConnectionError, RequestTimeoutError)):
            where = _LOOPBACK_ADDRESS.search(str(error))
            return _reworded(error, f"request to {where[0] if where else 'the server'} failed")
        return error


class ResetWordedAsClosed(Tampered):
    """Words a connection reset by the server as closed, not as reset."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        where = _LOOPBACK_ADDRESS.search(str(error))
        if "reset by peer" in str(error) and where is not None:
            return _reworded(error, f"{where[0]} closed the connection")
        return error


class UnresolvableHostWithoutWhy(Tampered):
    """Says a host name could not be resolved, without the resolver's reason."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        text = str(error.provider_message)
        if "cannot resolve" in text:
            return _reworded(error, re.sub(r" \([^)]*\)", "", text))
        return error


class CertificateFailureWithoutWhy(Tampered):
    """Words a failed certificate check as "certificate verify failed", without why (the
    certificate is self-signed)."""

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        text = str(error)
        if "self-signed" in text:
            return _reworded(
                error, text.replace("self-signed certificate", "CERTIFICATE_VERIFY_FAILED")
            )
        return error


class _OmitsPort(Tampered):
    """Names the host a refused connection went to, without the port ``PORT``."""

    PORT: ClassVar[int]

    def tamper_error(self, error: LLMError, messages: Sequence[Message], path: str) -> LLMError:
        text = str(error)
        if f"127.0.0.1:{self.PORT}:" in text:
            return _reworded(error, text.replace(f"127.0.0.1:{self.PORT}", "127.0.0.1"))
        return error


class OmitsPort80(_OmitsPort):
    """Names the host a refused connection to an http URL without a port went to, not
    the port (80)."""

    PORT = 80


class OmitsPort443(_OmitsPort):
    """Names the host a refused connection to an https URL without a port went to, not
    the port (443)."""

    PORT = 443


# --- tool chains -------------------------------------------------------------------------


def _wrapped(tool: Callable[..., Any], body: Callable[..., Any]) -> Callable[..., Any]:
    """``body`` under ``tool``'s name, docstring and signature (so the same schema)."""
    if asyncio.iscoroutinefunction(tool):

        async def arun(*args: Any, **kwargs: Any) -> Any:
            return await body(*args, **kwargs)

        return functools.wraps(tool)(arun)
    return functools.wraps(tool)(body)


class JsonEncodesToolResultsForParis(Tampered):
    """Sends a tool's text result JSON-encoded (in quotes) (scoped: chain_single_tool's
    conversation)."""

    def tamper_tools(self, tools: Tools, messages: Sequence[Message], path: str) -> Tools:
        if not _in(messages, "chain_single_tool"):
            return tools

        def encoded(tool: Callable[..., Any]) -> Callable[..., Any]:
            return _wrapped(tool, lambda *a, **k: json.dumps(tool(*a, **k)))

        return [encoded(tool) for tool in tools]


class AsyncToolResultsLast(Tampered):
    """Sends the results of async tools after those of sync tools, not in the model's
    order."""

    def chain(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        wrapped: Any = _Reordering(client, self._names(tools))
        return super().chain(wrapped, messages, tools, params)

    async def achain(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        wrapped: Any = _Reordering(client, self._names(tools))
        return await super().achain(wrapped, messages, tools, params)

    @staticmethod
    def _names(tools: Tools) -> frozenset[str]:
        return frozenset(t.__name__ for t in tools if asyncio.iscoroutinefunction(t))


class _Reordering:
    """An LM stand-in that reorders the trailing tool results of a conversation: async
    tools' results last."""

    def __init__(self, client: LM, async_tools: frozenset[str]) -> None:
        self._client, self._async = client, async_tools
        self.model_name = client.model_name

    def _reordered(self, conversation: Sequence[Message]) -> list[Message]:
        messages = list(conversation)
        start = len(messages)
        while start and messages[start - 1].role == "tool":
            start -= 1
        calls = {call.id: call.name for message in messages[:start] for call in message.tool_calls}
        results = messages[start:]
        late = [m for m in results if calls.get(m.tool_call_id or "") in self._async]
        early = [m for m in results if m not in late]
        return messages[:start] + early + late

    def __call__(self, conversation: Sequence[Message], **kwargs: Any) -> Response:
        return self._client(self._reordered(conversation), **kwargs)

    async def acall(self, conversation: Sequence[Message], **kwargs: Any) -> Response:
        return await self._client.acall(self._reordered(conversation), **kwargs)


class RejectsEmptyArguments(Tampered):
    """Treats a tool call with no arguments as invalid (an error result; scoped:
    chain_no_argument_tool's conversation)."""

    def tamper_tools(self, tools: Tools, messages: Sequence[Message], path: str) -> Tools:
        if not _in(messages, "chain_no_argument_tool"):
            return tools

        def checked(tool: Callable[..., Any]) -> Callable[..., Any]:
            def run(*args: Any, **kwargs: Any) -> Any:
                if not args and not kwargs:
                    raise ValueError("the tool call has no arguments")
                return tool(*args, **kwargs)

            return _wrapped(tool, run)

        return [checked(tool) for tool in tools]


class EmptyArgumentsTextAsNull(Tampered):
    """Takes a tool call's empty arguments text for the JSON text ``null`` (not an
    object: an error result)."""

    def tamper_step(self, response: Response, path: str) -> Response:
        texts = [
            (call.get("function") or {}).get("arguments")
            for part in _openai_parts(response)
            for call in part.get("tool_calls") or ()
            if isinstance(call, dict)
        ]
        if "" not in texts:
            return response
        calls = tuple(replace(call, arguments_json="null") for call in response.tool_calls)
        return replace(response, tool_calls=calls)


class StopsAfterOneToolRound(Tampered):
    """Ends a chain after two model calls (one round of tools)."""

    def chain_options(self) -> dict[str, Any]:
        return {"max_turns": 2}


class ToolCrashed(BaseException):
    """What ``ToolExceptionsEscape`` turns a tool's exception into (past ``except
    Exception``)."""


class ToolExceptionsEscape(Tampered):
    """Lets a tool's exception escape the chain instead of sending an error result
    (scoped: chain_failing_tool's conversation)."""

    def tamper_tools(self, tools: Tools, messages: Sequence[Message], path: str) -> Tools:
        if not _in(messages, "chain_failing_tool"):
            return tools

        def escaping(tool: Callable[..., Any]) -> Callable[..., Any]:
            def run(*args: Any, **kwargs: Any) -> Any:
                try:
                    return tool(*args, **kwargs)
                except Exception as exc:
                    raise ToolCrashed(repr(exc)) from exc

            return _wrapped(tool, run)

        return [escaping(tool) for tool in tools]


class UnknownToolRaises(Tampered):
    """Raises KeyError when the model calls a tool it was not given (scoped:
    chain_unknown_tool's conversation)."""

    def tamper_tools(self, tools: Tools, messages: Sequence[Message], path: str) -> Tools:
        scoped = _in(messages, "chain_unknown_tool")
        self._known = {t.__name__ for t in tools} if scoped else None
        return tools

    def tamper_step(self, response: Response, path: str) -> Response:
        for call in response.tool_calls:
            if self._known is not None and call.name not in self._known:
                raise KeyError(call.name)
        return response


class RepairsTruncatedArguments(Tampered):
    """Repairs arguments cut mid-JSON by closing the string and the object."""

    def tamper_step(self, response: Response, path: str) -> Response:
        return replace(response, tool_calls=tuple(self._repaired(c) for c in response.tool_calls))

    @staticmethod
    def _repaired(call: ToolCall) -> ToolCall:
        text = call.arguments_json
        if text is None:
            return call
        try:
            json.loads(text)
        except ValueError:
            try:
                value = json.loads(text + '"}')
            except ValueError:
                return call
            if isinstance(value, dict):
                return replace(call, arguments=value, arguments_json=None)
        return call


class SpreadsArrayArguments(Tampered):
    """Takes a JSON array of arguments as the tool's parameters in order."""

    def tamper_tools(self, tools: Tools, messages: Sequence[Message], path: str) -> Tools:
        self._parameters = {
            tool.name: list(tool.spec.parameters.get("properties", {})) for tool in as_tools(tools)
        }
        return tools

    def tamper_step(self, response: Response, path: str) -> Response:
        calls = []
        for call in response.tool_calls:
            try:
                value = json.loads(call.arguments_json or "null")
            except ValueError:
                value = None
            if isinstance(value, list):
                names = self._parameters.get(call.name, [])
                spread = dict(zip(names, value, strict=False))
                call = replace(call, arguments=spread, arguments_json=None)
            calls.append(call)
        return replace(response, tool_calls=tuple(calls))


class SilentExceptionsAsEmptyResults(Tampered):
    """Sends ``str(exc)`` of a tool's exception as a plain result: empty for an exception
    without a message (those with a message fail as before)."""

    def tamper_tools(self, tools: Tools, messages: Sequence[Message], path: str) -> Tools:
        def quiet(tool: Callable[..., Any]) -> Callable[..., Any]:
            def run(*args: Any, **kwargs: Any) -> Any:
                try:
                    return tool(*args, **kwargs)
                except Exception as exc:
                    if str(exc):
                        raise
                    return ""

            return _wrapped(tool, run)

        return [quiet(tool) for tool in tools]


class RunsTheStoppedAnswersTools(Tampered):
    """At the turn limit, runs the tools the last answer asked for and reports their
    results (scoped: chain_turn_limit's conversation)."""

    def chain(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        outcome = super().chain(client, messages, tools, params)
        if not _in(messages, "chain_turn_limit") or not outcome.response.tool_calls:
            return outcome
        late = run_tool_calls(outcome.response.tool_calls, tools)
        return replace(outcome, tool_results=(*outcome.tool_results, *late))

    async def achain(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        outcome = await super().achain(client, messages, tools, params)
        if not _in(messages, "chain_turn_limit") or not outcome.response.tool_calls:
            return outcome
        late = await arun_tool_calls(outcome.response.tool_calls, tools)
        return replace(outcome, tool_results=(*outcome.tool_results, *late))


class TurnLimitOfOneIgnored(Tampered):
    """Takes ``max_turns=1`` for "no limit" (a truthiness test on ``max_turns - 1``)."""

    def tamper_request(
        self, messages: Sequence[Message], params: dict[str, Any], path: str
    ) -> tuple[Sequence[Message], dict[str, Any]]:
        if params.get("max_turns") == 1:
            params = {k: v for k, v in params.items() if k != "max_turns"}
        return messages, params


class IgnoresToolTimeout(Tampered):
    """Waits for every tool to return, whatever ``tool_timeout`` says."""

    def chain_options(self) -> dict[str, Any]:
        return {"tool_timeout": None}


class LateToolsHoldUpTheLoop(Tampered):
    """The async chain runs sync tools in the event loop's default executor
    (``asyncio.to_thread``): a late one, abandoned at its ``tool_timeout``, holds up the
    loop's shutdown until it returns."""

    def tamper_tools(self, tools: Tools, messages: Sequence[Message], path: str) -> Tools:
        if path != "achain":
            return tools

        def in_executor(tool: Callable[..., Any]) -> Callable[..., Any]:
            if asyncio.iscoroutinefunction(tool):
                return tool

            async def run(*args: Any, **kwargs: Any) -> Any:
                return await asyncio.to_thread(tool, *args, **kwargs)

            return functools.wraps(tool)(run)

        return [in_executor(tool) for tool in tools]


class DictResultsAsPythonText(Tampered):
    """Sends a tool's dict result as ``str(dict)`` (Python's repr, not JSON)."""

    def tamper_tools(self, tools: Tools, messages: Sequence[Message], path: str) -> Tools:
        def as_text(tool: Callable[..., Any]) -> Callable[..., Any]:
            def run(*args: Any, **kwargs: Any) -> Any:
                value = tool(*args, **kwargs)
                return str(value) if isinstance(value, dict) else value

            return _wrapped(tool, run)

        return [as_text(tool) for tool in tools]


class DataclassesAndEnumsAsRepr(Tampered):
    """Sends a tool's dataclass or Enum result as its ``repr`` (``json.dumps``'s
    ``default=repr``)."""

    def tamper_tools(self, tools: Tools, messages: Sequence[Message], path: str) -> Tools:
        def as_repr(tool: Callable[..., Any]) -> Callable[..., Any]:
            def run(*args: Any, **kwargs: Any) -> Any:
                value = tool(*args, **kwargs)
                rich = isinstance(value, enum.Enum) or dataclasses.is_dataclass(value)
                return repr(value) if rich else value

            return _wrapped(tool, run)

        return [as_repr(tool) for tool in tools]


class UnknownToolCallsSkipped(ReferenceAdapter):
    """Running an answer's tool calls (``run_tools``), skips calls to tools it was not
    given: no result for them."""

    def run_tools(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        return self._known(super().run_tools(client, messages, tools, params), tools)

    async def arun_tools(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        return self._known(await super().arun_tools(client, messages, tools, params), tools)

    @staticmethod
    def _known(outcome: ChainOutcome, tools: Tools) -> ChainOutcome:
        names = {tool.__name__ for tool in tools}
        known = {call.id for call in outcome.response.tool_calls if call.name in names}
        kept = tuple(m for m in outcome.tool_results if m.tool_call_id in known)
        return replace(outcome, tool_results=kept)


class RunToolsIgnoresToolTimeout(ReferenceAdapter):
    """Running an answer's tool calls (``run_tools``) with failures as error results,
    waits for every tool whatever ``tool_timeout`` says (``RaisingRunToolsWaitsForLateTools``
    breaks the same with ``on_error="raise"``)."""

    def run_tools(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        return super().run_tools(client, messages, tools, self._untimed(params))

    async def arun_tools(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        return await super().arun_tools(client, messages, tools, self._untimed(params))

    @staticmethod
    def _untimed(params: dict[str, Any]) -> dict[str, Any]:
        if params.get("on_error") == "raise":
            return params
        return {k: v for k, v in params.items() if k != "tool_timeout"}


class TurnsReportOnlyNewMessages(Tampered):
    """Reports each turn of a chain with only the messages that turn added to the
    conversation, not the whole conversation it sent."""

    def tamper_outcome(self, outcome: ChainOutcome, path: str) -> ChainOutcome:
        if outcome.turns is None:
            return outcome
        turns, before = [], 0
        for turn in outcome.turns:
            turns.append(replace(turn, sent=turn.sent[before:]))
            before = len(turn.sent)
        return replace(outcome, turns=tuple(turns))


class StopCountsToolRounds(Tampered):
    """A chain stopped by ``max_turns`` reports the tool rounds it ran as the model calls
    it made (one fewer)."""

    def tamper_outcome(self, outcome: ChainOutcome, path: str) -> ChainOutcome:
        if outcome.stopped is None:
            return outcome
        rounds = sum(1 for turn in outcome.turns or () if turn.called)
        return replace(outcome, stopped=replace(outcome.stopped, turns=rounds))


class ZeroTurnsMeansNoLimit(Tampered):
    """Takes ``max_turns=0`` for "no limit" (simonw/llm's ``chain_limit=0``)."""

    def tamper_request(
        self, messages: Sequence[Message], params: dict[str, Any], path: str
    ) -> tuple[Sequence[Message], dict[str, Any]]:
        if params.get("max_turns") == 0:
            params = {k: v for k, v in params.items() if k != "max_turns"}
        return messages, params


class ChainsIgnoreOnErrorRaise(Tampered):
    """Chains turn every failing tool call into an error result, whatever ``on_error``
    says."""

    def chain_options(self) -> dict[str, Any]:
        return {"on_error": "return"}


class RunToolsReportsTheLastFailure(ReferenceAdapter):
    """Running an answer's tool calls with ``on_error="raise"``, reports the last failing
    call rather than the first (it runs them in reverse order)."""

    def run_tools(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        if params.get("on_error") != "raise":
            return super().run_tools(client, messages, tools, params)
        runnable = as_tools(tools)
        call, options = split_chain_params(params)
        response = client(messages, tools=tool_specs(runnable), **call)
        try:
            results = run_tool_calls(reversed(response.tool_calls), runnable, **options)
        except ToolExecutionError as error:
            raise translated_chain_error(error) from error
        return ChainOutcome(response, tuple(results))

    async def arun_tools(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        if params.get("on_error") != "raise":
            return await super().arun_tools(client, messages, tools, params)
        runnable = as_tools(tools)
        call, options = split_chain_params(params)
        response = await client.acall(messages, tools=tool_specs(runnable), **call)
        try:
            results = await arun_tool_calls(reversed(response.tool_calls), runnable, **options)
        except ToolExecutionError as error:
            raise translated_chain_error(error) from error
        return ChainOutcome(response, tuple(results))


class RaisingRunToolsWaitsForLateTools(ReferenceAdapter):
    """Running an answer's tool calls with ``on_error="raise"``, waits for every tool
    whatever ``tool_timeout`` says."""

    def run_tools(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        return super().run_tools(client, messages, tools, self._untimed(params))

    async def arun_tools(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        return await super().arun_tools(client, messages, tools, self._untimed(params))

    @staticmethod
    def _untimed(params: dict[str, Any]) -> dict[str, Any]:
        if params.get("on_error") != "raise":
            return params
        return {k: v for k, v in params.items() if k != "tool_timeout"}


class _ResultsRewritten(ReferenceAdapter):
    """``run_tools`` with each tool's result passed through ``rewrite``."""

    def rewrite(self, value: Any) -> Any:
        return value

    def _rewriting(self, tools: Tools) -> Tools:
        def rewritten(tool: Callable[..., Any]) -> Callable[..., Any]:
            def run(*args: Any, **kwargs: Any) -> Any:
                return self.rewrite(tool(*args, **kwargs))

            return _wrapped(tool, run)

        return [rewritten(tool) for tool in tools]

    def run_tools(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        return super().run_tools(client, messages, self._rewriting(tools), params)

    async def arun_tools(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        return await super().arun_tools(client, messages, self._rewriting(tools), params)


class SetsAsPythonText(_ResultsRewritten):
    """Sends a set or frozenset inside a tool's dict result as its Python text
    (``str(set)``), not a JSON array."""

    def rewrite(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: str(v) if isinstance(v, (set, frozenset)) else v for k, v in value.items()}
        return value


class PydanticModelsInPythonMode(_ResultsRewritten):
    """Dumps a pydantic model inside a tool's result in Python mode (``model_dump()``), so
    that its datetime goes out as ``str(datetime)``, not ISO 8601."""

    def rewrite(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.rewrite(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.rewrite(v) for v in value]
        dump = getattr(value, "model_dump", None)
        return dump() if callable(dump) and not isinstance(value, type) else value


class ValuesWithoutJSONFormAsNull(_ResultsRewritten):
    """Sends a value with no JSON form inside a tool's dict result as ``null``
    (``json.dumps(default=lambda value: None)``)."""

    JSON_LIKE = (str, int, float, bool, type(None), list, dict, set, frozenset)

    def rewrite(self, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {k: v if self._has_json_form(v) else None for k, v in value.items()}

    def _has_json_form(self, value: Any) -> bool:
        return isinstance(value, self.JSON_LIKE) or callable(getattr(value, "model_dump", None))


# --- usage ---------------------------------------------------------------------------------


class StreamsRecordNoUsage(Tampered):
    """Streamed calls add nothing to the usage tracker."""

    def consume(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        token = _trackers.set(())
        try:
            return super().consume(client, messages, params)
        finally:
            _trackers.reset(token)

    async def aconsume(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        token = _trackers.set(())
        try:
            return await super().aconsume(client, messages, params)
        finally:
            _trackers.reset(token)


class ChainTracksOnlyItsLastCall(Tampered):
    """A chain adds only its final answer's usage to the tracker."""

    def chain(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        token = _trackers.set(())
        try:
            outcome = super().chain(client, messages, tools, params)
        finally:
            _trackers.reset(token)
        record_usage(outcome.response.usage)
        return outcome

    async def achain(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        token = _trackers.set(())
        try:
            outcome = await super().achain(client, messages, tools, params)
        finally:
            _trackers.reset(token)
        record_usage(outcome.response.usage)
        return outcome


# --- threads, tasks, slowness ------------------------------------------------------------


class TasksShareOneContext(ReferenceAdapter):
    """Keeps a context override in one process-wide slot, so concurrent tasks overwrite
    each other's."""

    _override: ClassVar[list[Any]] = []
    _lock = threading.Lock()

    def context(self, client: LM) -> Any:
        adapter = self

        class Block:
            def __enter__(self) -> None:
                with adapter._lock:
                    adapter._override.append(client)

            def __exit__(self, *exc_info: object) -> None:
                with adapter._lock:
                    adapter._override.remove(client)

        return Block()

    def current(self) -> LM:
        with self._lock:
            if self._override:
                return self._override[-1]  # type: ignore[no-any-return]
        return super().current()

    def supports(self, feature: str, provider: str) -> bool:
        # one process-wide slot: a block has no thread to be refused in (not its break)
        return feature != "foreign_exit" and super().supports(feature, provider)


class KeepsEveryLoop(ReferenceAdapter):
    """``acall`` keeps every event loop it ran in, in a list that is never emptied (a
    per-loop cache that never lets a finished loop go)."""

    loops: ClassVar[list[asyncio.AbstractEventLoop]] = []

    async def acall(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        self.loops.append(asyncio.get_running_loop())
        return await super().acall(client, messages, params)


class FailsClosingAtLoopShutdown(ReferenceAdapter):
    """``acall`` leaves an async generator open whose closing fails, as a per-loop
    resource that breaks when the loop shuts it down (asyncio only logs the error)."""

    async def acall(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        async def guard() -> Any:
            try:
                yield
            finally:
                raise RuntimeError("the per-loop resource could not be closed")

        held = guard()
        await held.__anext__()  # left open: the loop's shutdown closes it
        return await super().acall(client, messages, params)


class AcloseClosesNothing(ReferenceAdapter):
    """``aclose`` returns without closing anything: the loop's connections stay open
    until the loop shuts down."""

    async def aclose(self, client: LM) -> None:
        return None


def _as_plain_reset(error: APIConnectionError) -> APIConnectionError:
    text = error.provider_message
    if not text.startswith("TLS handshake with ") or not text.endswith(" (connection reset)"):
        return error
    where = text.removeprefix("TLS handshake with ").split(" failed", 1)[0]
    plain = f"connection to {where} failed: Connection reset by peer"
    return APIConnectionError(plain, provider=error.provider, status=error.status)


class SyncWordsTLSResetAsReset(ReferenceAdapter):
    """The sync path words a TLS handshake the server reset as a plain connection reset,
    where the async path (aiohttp) says the handshake failed."""

    def call(self, client: LM, messages: Sequence[Message], params: dict[str, Any]) -> Response:
        try:
            return super().call(client, messages, params)
        except APIConnectionError as error:
            raise _as_plain_reset(error) from error

    def stream(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        try:
            return super().stream(client, messages, params)
        except APIConnectionError as error:
            raise _as_plain_reset(error) from error


SLOW = 0.3
"""Seconds after which the slowness controls break: more than the suite's replays ever
take, less than ``slow_reply``'s delay (harness's own ``Parallel`` bug broke at 0.1 s)."""


class ParallelPollsMissingProgressBar(ReferenceAdapter):
    """``parallel`` polls its progress bar while programs run even when there is none, so
    a program slower than the polling interval fails with AttributeError."""

    def parallel(self, fns: Sequence[Callable[[], Any]]) -> list[Any]:
        bar: Any = None
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(contextvars.copy_context().run, fn) for fn in fns]
            while wait(futures, timeout=SLOW).not_done:
                bar.update(0)
        return [f.exception() or f.result() for f in futures]


class SubmitTimesOut(ReferenceAdapter):
    """``submit`` gives its program a short time to finish, then raises TimeoutError.

    It lets the program end before raising, so that no request of this case is still
    running when the next case replays its cassette."""

    def submit(self, fn: Callable[[], Any]) -> Any:
        pool, _ = self._shared_pool()
        future = pool.submit(fn)
        try:
            return future.result(timeout=SLOW)
        except FutureTimeoutError:  # TimeoutError's alias from Python 3.11 only
            wait([future])
            raise


class FailFastRunsEveryProgram(ReferenceAdapter):
    """``fail_fast`` only raises the first failure once every program has run: the
    programs waiting for a thread still start after a failure."""

    def parallel_with(
        self,
        fns: Sequence[Callable[[], Any]],
        *,
        num_threads: int | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> ParallelRun:
        run = super().parallel_with(fns, num_threads=num_threads, progress=progress)
        for result in run.results if fail_fast else ():
            if isinstance(result, Exception):
                raise result
        return run


class FailFastLeavesProgramsRunning(ReferenceAdapter):
    """``fail_fast`` raises the first failure as soon as it comes and cancels the programs
    still waiting, but does not wait for those already running: they go on behind the
    caller's back."""

    def parallel_with(
        self,
        fns: Sequence[Callable[[], Any]],
        *,
        num_threads: int | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> ParallelRun:
        if not fail_fast or num_threads is not None:  # a bounded run has its own scenario
            return super().parallel_with(
                fns, num_threads=num_threads, fail_fast=fail_fast, progress=progress
            )
        pool = ThreadPoolExecutor(8, "control-parallel")
        try:
            futures = [pool.submit(contextvars.copy_context().run, fn) for fn in fns]
            for future in as_completed(futures):
                error = future.exception()
                if error is not None:
                    raise error
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return ParallelRun([future.result() for future in futures])


class OneThreadTooMany(ReferenceAdapter):
    """``num_threads`` counts the threads besides a first one: a valid ``num_threads`` runs
    one program more than that at once."""

    def parallel_with(
        self,
        fns: Sequence[Callable[[], Any]],
        *,
        num_threads: int | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> ParallelRun:
        threads = num_threads
        if type(num_threads) is int and num_threads > 0 and not fail_fast:  # (not a bool)
            threads = num_threads + 1  # (a fail-fast run has its own scenario)
        return super().parallel_with(
            fns, num_threads=threads, fail_fast=fail_fast, progress=progress
        )


class TotalUsageInEverySlot(ReferenceAdapter):
    """Each slot reports the usage of the whole run, not of its own program."""

    def parallel_with(
        self,
        fns: Sequence[Callable[[], Any]],
        *,
        num_threads: int | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> ParallelRun:
        run = super().parallel_with(
            fns, num_threads=num_threads, fail_fast=fail_fast, progress=progress
        )
        if run.usages is None:
            return run
        total = sum(run.usages, Usage())
        return replace(run, usages=[total] * len(run.usages))


class ProgressOnlyAtTheEnd(ReferenceAdapter):
    """The progress display is drawn once the programs have all finished: it jumps from
    nothing to the total."""

    def parallel_with(
        self,
        fns: Sequence[Callable[[], Any]],
        *,
        num_threads: int | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> ParallelRun:
        run = super().parallel_with(fns, num_threads=num_threads, fail_fast=fail_fast)
        if not progress:
            return run
        return replace(run, progress=((0, len(fns)), (len(fns), len(fns))))


class BatchPassesKeywordInputsWhole(ReferenceAdapter):
    """``batch`` passes a dict of keyword arguments as the program's one positional
    argument."""

    def batch(
        self,
        program: Callable[..., Any],
        inputs: Sequence[Inputs],
        *,
        num_threads: int | None = None,
        progress: bool = False,
        fail_fast: bool | None = None,
    ) -> ParallelRun:
        def whole(*args: Any, **kwargs: Any) -> Any:
            return program(kwargs) if kwargs else program(*args)

        return super().batch(
            whole, inputs, num_threads=num_threads, progress=progress, fail_fast=fail_fast
        )


class BatchIgnoresItsOptions(ReferenceAdapter):
    """``batch`` runs with the library's defaults whatever ``num_threads`` and ``progress``
    say: every input at once, no display."""

    def batch(
        self,
        program: Callable[..., Any],
        inputs: Sequence[Inputs],
        *,
        num_threads: int | None = None,
        progress: bool = False,
        fail_fast: bool | None = None,
    ) -> ParallelRun:
        return super().batch(program, inputs, fail_fast=fail_fast)


class SubmitDropsKeywordArguments(ReferenceAdapter):
    """``submit_with`` passes the positional arguments on, but not the keyword ones."""

    def submit_with(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return super().submit_with(fn, *args)


class TrackerCountsNoCalls(ReferenceAdapter):
    """The usage tracker sums every call's usage, but its count of calls never moves."""

    def track_usage_calls(self) -> AbstractContextManager[Callable[[], tuple[Usage, int]]]:
        return _uncounted(self.track_usage())


@contextmanager
def _uncounted(
    tracking: AbstractContextManager[Callable[[], Usage]],
) -> Iterator[Callable[[], tuple[Usage, int]]]:
    with tracking as total:
        yield lambda: (total(), 0)


class ContextResetsItsToken(ReferenceAdapter):
    """``context`` sets the override and resets its own token on exit (no record of the
    blocks open): exited outer first, the inner block's exit brings the outer override
    back."""

    def context(self, client: LM) -> AbstractContextManager[Any]:
        return _unchecked({"lm": client})

    def supports(self, feature: str, provider: str) -> bool:
        # its blocks are generators: an exit in another thread raises Python's own
        # ValueError, which names a token, not the block (context_exit_elsewhere's break)
        return feature != "foreign_exit" and super().supports(feature, provider)


class ExitsTheInnermostBlock(ReferenceAdapter):
    """A ``context`` block's exit undoes the innermost block open in the exiting thread,
    whichever it is: exited in another thread, it undoes that thread's own block, and
    raises nothing."""

    def context(self, client: LM) -> AbstractContextManager[Any]:
        return _InnermostExit(super().context(client))


_open_blocks: contextvars.ContextVar[tuple[AbstractContextManager[Any], ...]] = (
    contextvars.ContextVar("control_open_blocks", default=())
)


class _InnermostExit:
    def __init__(self, block: AbstractContextManager[Any]) -> None:
        self._block = block

    def __enter__(self) -> Any:
        value = self._block.__enter__()
        _open_blocks.set((*_open_blocks.get(), self._block))
        return value

    def __exit__(self, *exc_info: Any) -> None:
        opened = _open_blocks.get()
        if opened:
            _open_blocks.set(opened[:-1])
            opened[-1].__exit__(*exc_info)


class PlainThread(ReferenceAdapter):
    """``in_thread`` starts a plain ``threading.Thread``, which starts from an empty context."""

    def in_thread(self, fn: Callable[[], Any]) -> Any:
        return run_in_thread(threading.Thread, fn)


class SettingsUnchecked(ReferenceAdapter):
    """``settings_block`` takes any value: it drops unknown names and keeps values of the
    wrong type, so the calls go out."""

    def settings_block(self, settings: Mapping[str, Any]) -> AbstractContextManager[Any]:
        known = {k: v for k, v in settings.items() if k in Settings.__dataclass_fields__}
        return _unchecked(known)


class SettingsRefusedWithoutTypes(ReferenceAdapter):
    """``settings_block`` refuses what the library refuses, but its message only names the
    setting, never what it takes."""

    def settings_block(self, settings: Mapping[str, Any]) -> AbstractContextManager[Any]:
        try:
            return super().settings_block(settings)
        except ConfigurationError:
            raise ConfigurationError(f"bad setting: {', '.join(settings)}") from None


class BatchListsAsTuples(ReferenceAdapter):
    """``batch`` takes a list input as positional arguments (as it does a tuple)."""

    def batch(
        self,
        program: Callable[..., Any],
        inputs: Sequence[Inputs],
        *,
        num_threads: int | None = None,
        progress: bool = False,
        fail_fast: bool | None = None,
    ) -> ParallelRun:
        given = [tuple(one) if isinstance(one, list) else one for one in inputs]
        return super().batch(
            program, given, num_threads=num_threads, progress=progress, fail_fast=fail_fast
        )


class BatchAsksTheTerminal(ReferenceAdapter):
    """``batch`` asks ``sys.stderr.isatty()`` to choose its default display, assuming the
    process has a stderr."""

    def batch(
        self,
        program: Callable[..., Any],
        inputs: Sequence[Inputs],
        *,
        num_threads: int | None = None,
        progress: bool = False,
        fail_fast: bool | None = None,
    ) -> ParallelRun:
        terminal = sys.stderr.isatty()  # asked first, whatever the count
        shown = progress or (len(inputs) >= 100 and terminal)
        return super().batch(
            program, inputs, num_threads=num_threads, progress=shown, fail_fast=fail_fast
        )


class BatchFailuresRaised(ReferenceAdapter):
    """``batch`` drops ``fail_fast``: a failing input's error is raised (the library's
    default) instead of kept in its slot."""

    def batch(
        self,
        program: Callable[..., Any],
        inputs: Sequence[Inputs],
        *,
        num_threads: int | None = None,
        progress: bool = False,
        fail_fast: bool | None = None,
    ) -> ParallelRun:
        return super().batch(program, inputs, num_threads=num_threads, progress=progress)


@contextmanager
def _unchecked(values: dict[str, Any]) -> Iterator[None]:
    token = _overrides.set(MappingProxyType({**_overrides.get(), **values}))
    try:
        yield
    finally:
        _overrides.reset(token)


class NumThreadsClamped(ReferenceAdapter):
    """``parallel_with`` makes any ``num_threads`` a usable one (at least one thread)."""

    def parallel_with(
        self,
        fns: Sequence[Callable[[], Any]],
        *,
        num_threads: int | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> ParallelRun:
        threads = None if num_threads is None else max(1, int(num_threads))
        return super().parallel_with(
            fns, num_threads=threads, fail_fast=fail_fast, progress=progress
        )


# --- programs (a framework's own program) ----------------------------------------------

PROGRAM_SYSTEM = "Answer the `question` field with an `answer` field."
PROGRAM_USER = (
    "[[ ## question ## ]]\n{question}\n\nRespond with the corresponding output fields, "
    "starting with the field `[[ ## answer ## ]]`, and then ending with the marker for "
    "`[[ ## completed ## ]]`."
)
PROGRAM_ANSWER = re.compile(r"\[\[ ## answer ## \]\]\n(.*?)\n\n\[\[ ## completed ## \]\]", re.S)


class FieldMarkerProgram(ReferenceAdapter):
    """The reference client with a program of its own, written the way DSPy's
    ``Predict("question -> answer")`` talks to a chat model (a system prompt in its own
    words, the question in a ``[[ ## question ## ]]`` turn, the answer parsed from its
    field): the working program the program controls break. Not the reference client,
    so its requests are matched by meaning (``--match semantic``), as another client's."""

    name = "field-marker-program"
    request_matching = "semantic"

    def supports(self, feature: str, provider: str) -> bool:
        return feature in ("program", "aprogram") or super().supports(feature, provider)

    def program(self, client: LM, messages: Sequence[Message], params: dict[str, Any]) -> Response:
        return self.parse(client(_program_prompt(messages)))

    async def aprogram(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        return self.parse(await client.acall(_program_prompt(messages)))

    def parse(self, response: Response) -> Response:
        """The response, its text the program's parsed answer."""
        found = PROGRAM_ANSWER.search(response.text)
        return replace(response, text=found.group(1) if found else "")


def _program_prompt(messages: Sequence[Message]) -> list[Message]:
    (question,) = messages
    return [
        Message.system(PROGRAM_SYSTEM),
        Message.user(PROGRAM_USER.format(question=question.content)),
    ]


class UnparsedProgram(FieldMarkerProgram):
    """The program returns the model's raw completion, its answer field left unparsed."""

    def parse(self, response: Response) -> Response:
        return response


# --- keys ----------------------------------------------------------------------------------


class IgnoresKeyEnvironment(ReferenceAdapter):
    """Given no key, uses a key of its own instead of the provider's environment variable."""

    def connect(self, target: Target) -> LM:
        if target.api_key is None:
            target = replace(target, api_key="sk-not-the-environment-key")
        return super().connect(target)


class RequiresAKey(ReferenceAdapter):
    """Refuses to make a client without a key, even for a server that asks for none."""

    def connect(self, target: Target) -> LM:
        if target.api_key is None and not os.environ.get("OPENAI_API_KEY"):
            raise ConfigurationError("no OpenAI API key: pass api_key=... or set OPENAI_API_KEY")
        return super().connect(target)


class DropsOrganization(ReferenceAdapter):
    """Ignores the OpenAI organization it is given (sends no OpenAI-Organization)."""

    def connect(self, target: Target) -> LM:
        return super().connect(replace(target, organization=None))


# --- checks every scenario makes ---------------------------------------------------------


class StreamReportsRequestedModel(Tampered):
    """A stream reports the model it asked for, not the one the answer named."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        if path in ("stream", "astream"):
            return replace(response, model=model_for("openai", SCENARIO))
        return response


class StreamLosesToolCallIds(Tampered):
    """A stream reports its tool calls without the ids the provider gave them."""

    def tamper(self, response: Response, messages: Sequence[Message], path: str) -> Response:
        if path not in ("stream", "astream") or not response.tool_calls:
            return response
        calls = tuple(replace(call, id="") for call in response.tool_calls)
        return replace(response, tool_calls=calls)


class ChainReportsItsLastCallsUsage(Tampered):
    """A chain reports the usage of its last model call as the chain's."""

    def tamper_outcome(self, outcome: ChainOutcome, path: str) -> ChainOutcome:
        return replace(outcome, usage=outcome.response.usage)


class KeyInXApiKeyTransport(BrokenTransport):
    def _prepare(self, codec: Any, request: HttpRequest, timeout: float | None) -> Any:
        prepared = super()._prepare(codec, request, timeout)
        value = prepared.headers.pop("authorization", "")
        prepared.headers["x-api-key"] = value.removeprefix("Bearer ")
        return prepared


class JsonAsTextPlainTransport(BrokenTransport):
    def _prepare(self, codec: Any, request: HttpRequest, timeout: float | None) -> Any:
        prepared = super()._prepare(codec, request, timeout)
        prepared.headers["content-type"] = "text/plain"
        return prepared


class AsksForEventStreamsTransport(BrokenTransport):
    def _prepare(self, codec: Any, request: HttpRequest, timeout: float | None) -> Any:
        prepared = super()._prepare(codec, request, timeout)
        prepared.headers["accept"] = "text/event-stream"
        return prepared


class AsksForEventStreams(TransportControl):
    """Sends ``Accept: text/event-stream`` with every request, streamed or not."""

    transport_class = AsksForEventStreamsTransport


class JsonAsTextPlain(TransportControl):
    """Labels its JSON request bodies ``text/plain``."""

    transport_class = JsonAsTextPlainTransport


class KeyInXApiKey(TransportControl):
    """Sends the OpenAI key as ``x-api-key`` instead of ``Authorization: Bearer``."""

    transport_class = KeyInXApiKeyTransport


# --- the catalogue -----------------------------------------------------------------------

STREAMED = frozenset({"stream", "astream"})
ASYNC = frozenset({"async", "astream"})
PARALLEL = frozenset({"parallel"})

Reach = Literal["all", "chains", "streams", "parallel", "submit", "thread", "programs"]
"""Where a stand-in's broken code can run at all, by what it overrides (checked by
tests/test_controls.py): ``chains`` only chain hooks (run for chain scenarios only),
``streams`` only how a stream is read (the stream modes), ``parallel`` and ``submit``
only those primitives (their modes); ``all`` anything."""

REACH_MEMBERS: dict[str, frozenset[str]] = {
    "chains": frozenset(
        {"tamper_tools", "tamper_step", "tamper_outcome", "chain_options", "chain", "achain"}
    ),
    "streams": frozenset({"consume", "aconsume"}),
    "parallel": frozenset({"parallel", "parallel_with", "batch"}),
    "submit": frozenset({"submit", "submit_with"}),
    "thread": frozenset({"in_thread"}),
    "programs": frozenset({"name", "request_matching", "supports", "program", "aprogram", "parse"}),
}
"""The adapter methods a stand-in of each reach may override (helpers named ``_...``
aside)."""


def reaches(reach: Reach, scenario: Scenario, mode: str) -> bool:
    """Whether a stand-in of ``reach`` can change the row (``scenario``, ``mode``)."""
    if reach == "chains":
        return scenario.kind == "chain"
    if reach == "streams":
        return mode in STREAMED
    if reach == "parallel":
        return mode == "parallel"
    if reach == "submit":
        return mode == "thread_pool"
    if reach == "thread":
        return mode == "thread"
    if reach == "programs":
        return scenario.kind == "program"
    return True


@dataclass(frozen=True)
class Control:
    """A broken stand-in for one scenario, and the rows of that scenario it must fail."""

    adapter: type[ReferenceAdapter]
    provider: str = "openai"
    modes: frozenset[str] | None = None
    """The modes whose rows it must fail (None: every mode the scenario runs in)."""
    scoped: bool = False
    """The break applies to the scenario's own conversation only."""
    reach: Reach = "all"
    """The rows its broken code can run in at all: it runs through those only."""

    @property
    def name(self) -> str:
        return self.adapter.__name__

    @property
    def breaks(self) -> str:
        """What it breaks (its docstring)."""
        return " ".join((self.adapter.__doc__ or "").split())


@dataclass(frozen=True)
class CheckControl:
    """A broken stand-in for a check every scenario makes: it must fail exactly the rows
    ``fails`` names (scenario, mode) on ``provider``."""

    adapter: type[ReferenceAdapter]
    check: str
    fails: Callable[[Scenario, str], bool]
    provider: str = "openai"

    @property
    def name(self) -> str:
        return self.adapter.__name__


CONTROLS: dict[str, tuple[Control, ...]] = {
    "plain_text": (Control(SwapsUsageOfPlainAnswer, scoped=True),),
    "tls_handshake_reset": (
        # the sync path's rows: they say no TLS (the async rows then have no baseline)
        Control(
            SyncWordsTLSResetAsReset,
            modes=frozenset({"sync", "stream", "thread_pool", "asyncify", "parallel"}),
        ),
    ),
    "successive_event_loops": (
        Control(KeepsEveryLoop, modes=frozenset({"two_loops"})),
        Control(FailsClosingAtLoopShutdown, modes=frozenset({"two_loops"})),
        Control(AcloseClosesNothing, modes=frozenset({"two_loops"})),
    ),
    "system_prompt": (Control(SystemPromptAsUser),),
    "multi_turn": (Control(KeepsOnlyTheLastTurn),),
    "sampling_parameters": (Control(DropsTopP),),
    "max_tokens_length": (Control(LengthReportedAsStop),),
    "unicode_text": (Control(AsciiOnlyText),),
    "long_text": (Control(TruncatesLongText),),
    "usage_cached_tokens": (Control(DropsCachedTokens),),
    "reasoning_text": (
        Control(ReasoningInText, provider="anthropic"),
        Control(ReasoningContentInText),
    ),
    "usage_reasoning_tokens": (Control(DropsReasoningTokens),),
    "finish_reason_other": (Control(OtherFinishAsStop),),
    "tool_call_single": (Control(LoneToolCallWithoutArguments, scoped=True),),
    "tool_call_parallel": (Control(KeepsTheFirstToolCall, scoped=True),),
    "tool_call_with_text": (Control(DropsTextBesideToolCalls),),
    "tool_choice_required": (Control(IgnoresRequiredToolChoice),),
    "tool_choice_named": (Control(NamedToolChoiceAsRequired),),
    "tool_choice_auto": (Control(AutoToolChoiceAsRequired),),
    "tool_choice_none": (Control(DropsNoneToolChoice),),
    "chain_single_tool": (Control(JsonEncodesToolResultsForParis, scoped=True, reach="chains"),),
    "chain_parallel_tools": (Control(AsyncToolResultsLast, reach="chains"),),
    "chain_no_argument_tool": (Control(RejectsEmptyArguments, scoped=True, reach="chains"),),
    "chain_multi_turn": (Control(StopsAfterOneToolRound, reach="chains"),),
    "chain_failing_tool": (Control(ToolExceptionsEscape, scoped=True, reach="chains"),),
    "chain_unknown_tool": (Control(UnknownToolRaises, scoped=True, reach="chains"),),
    "error_bad_request": (Control(BadRequestAsNotFound, scoped=True),),
    "error_authentication": (Control(UnauthorizedAsPermissionDenied),),
    "error_permission": (Control(ForbiddenAsAuthentication),),
    "error_not_found": (Control(NotFoundAsBadRequest, scoped=True),),
    "error_rate_limit_exhausted": (Control(RateLimitRetriedOnce),),
    "error_server_exhausted": (Control(GivesUpOnRepeatedServerError),),
    "retry_after_429": (Control(RateLimitNotRetriedForHello, scoped=True),),
    "retry_after_5xx": (Control(ServiceUnavailableNotRetried),),
    "concurrent_contexts": (Control(TasksShareOneContext, modes=frozenset({"tasks"})),),
    "stream_error_event": (Control(RetriesStreamOnServerErrorEvent, scoped=True, reach="streams"),),
    "stream_error_rate_limited": (Control(InStreamRateLimitAsServerError),),
    "stream_error_invalid_request": (Control(InStreamInvalidRequestAsServerError),),
    "error_flat_envelope": (Control(ReadsOnlyNestedErrorMessages),),
    "cut_mid_body": (Control(AsyncBodyCutNotRetried, modes=frozenset({"async"}), scoped=True),),
    "cut_mid_stream": (
        Control(BuffersStreams),
        Control(AsyncBuffersStreams, modes=frozenset({"astream"})),
        Control(EndsStreamQuietlyAfterText, reach="streams"),
    ),
    "connection_dropped": (Control(DroppedConnectionNotRetried, scoped=True),),
    "connection_dropped_exhausted": (Control(AsyncDroppedConnectionInAiohttpWords, modes=ASYNC),),
    "cut_mid_body_exhausted": (Control(AsyncCutBodyInAiohttpWords, modes=frozenset({"async"})),),
    "read_timeout": (
        Control(AsyncTimeoutsInAiohttpWords, modes=ASYNC),
        Control(IgnoresTheTimeout),
    ),
    "error_server_no_retries": (Control(IgnoresMaxRetries),),
    "tls_handshake_failed": (Control(AsyncTLSFailureInAiohttpWords, modes=ASYNC),),
    "connection_refused": (Control(AsyncConnectErrorsAsTimeouts, modes=ASYNC),),
    "connection_refused_http_default_port": (Control(OmitsPort80),),
    "connection_refused_https_default_port": (Control(OmitsPort443),),
    "tls_untrusted_certificate": (Control(CertificateFailureWithoutWhy),),
    "host_unresolvable": (Control(UnresolvableHostWithoutWhy),),
    "connection_reset_exhausted": (Control(ResetWordedAsClosed),),
    "slow_reply": (
        Control(ParallelPollsMissingProgressBar, modes=frozenset({"parallel"}), reach="parallel"),
        Control(SubmitTimesOut, modes=frozenset({"thread_pool"}), reach="submit"),
        Control(PlainThread, modes=frozenset({"thread"}), reach="thread"),
    ),
    "usage_tracked": (Control(StreamsRecordNoUsage, modes=STREAMED, reach="streams"),),
    "usage_tracked_chain": (Control(ChainTracksOnlyItsLastCall, reach="chains"),),
    "chain_malformed_arguments": (Control(RepairsTruncatedArguments, reach="chains"),),
    "chain_non_object_arguments": (Control(SpreadsArrayArguments, reach="chains"),),
    "key_from_environment": (Control(IgnoresKeyEnvironment),),
    "organization_header": (Control(DropsOrganization),),
    "retry_after_wait": (Control(AsyncIgnoresRetryAfter, modes=ASYNC, scoped=True),),
    "retry_after_longer_than_backoff": (Control(BackoffOverRetryAfter),),
    "backoff_without_retry_after": (Control(RetriesAtOnceWithoutRetryAfter),),
    "keyless_local_server": (Control(RequiresAKey),),
    "chain_turn_limit": (Control(RunsTheStoppedAnswersTools, scoped=True, reach="chains"),),
    "chain_turn_limit_one": (Control(TurnLimitOfOneIgnored),),
    "chain_tool_timeout": (
        Control(IgnoresToolTimeout, reach="chains"),
        Control(LateToolsHoldUpTheLoop, modes=frozenset({"async"}), reach="chains"),
    ),
    "chain_error_results_have_text": (Control(SilentExceptionsAsEmptyResults, reach="chains"),),
    "chain_json_tool_results": (Control(DictResultsAsPythonText, reach="chains"),),
    "chain_rich_tool_results": (Control(DataclassesAndEnumsAsRepr, reach="chains"),),
    "run_tool_calls": (Control(UnknownToolCallsSkipped),),
    "run_tool_calls_timeout": (Control(RunToolsIgnoresToolTimeout),),
    "chain_transcript": (Control(TurnsReportOnlyNewMessages, reach="chains"),),
    "chain_turn_limit_report": (Control(StopCountsToolRounds, reach="chains"),),
    "chain_turn_limit_zero": (Control(ZeroTurnsMeansNoLimit),),
    "chain_tool_error_raises": (Control(ChainsIgnoreOnErrorRaise, reach="chains"),),
    "run_tool_calls_error_raises": (Control(RunToolsReportsTheLastFailure),),
    "run_tool_calls_timeout_raises": (Control(RaisingRunToolsWaitsForLateTools),),
    "run_tool_calls_set_results": (Control(SetsAsPythonText),),
    "run_tool_calls_pydantic_results": (Control(PydanticModelsInPythonMode),),
    "run_tool_calls_text_fallback": (Control(ValuesWithoutJSONFormAsNull),),
    "program_question": (Control(UnparsedProgram, reach="programs"),),
    "usage_zero_tokens": (Control(EstimatesUncountedUsage),),
    "reasoning_under_reasoning_key": (Control(ReadsOnlyReasoningContent),),
    "refusal_as_text": (Control(DropsRefusals),),
    "two_choices": (Control(MergesChoices),),
    "stream_whole_tool_calls": (Control(MergesUnindexedToolCalls),),
    "stream_azure_filter_chunks": (Control(TakesTheLastChunksModel),),
    "stream_choices_without_index": (Control(SkipsChoicesWithoutIndex),),
    "stream_error_string": (Control(StringStreamErrorsAsMalformed),),
    "error_plain_text_body": (Control(PlainTextErrorsAsStatus),),
    "error_detail_body": (Control(IgnoresDetailBodies),),
    "error_validation_details": (Control(ValidationDetailsSayNothing),),
    "chain_empty_arguments_text": (Control(EmptyArgumentsTextAsNull, reach="chains"),),
    "malformed_answer_html": (Control(HtmlAnswerAsServerError, scoped=True),),
    "malformed_answer_no_choices": (Control(AnswerWithoutChoicesAsServerError, scoped=True),),
    "malformed_answer_encoding": (Control(UndecodableEncodingAsConnectionError),),
    "stream_answer_html": (Control(StreamPageWithoutContentType),),
    "stream_answer_unlabelled": (Control(UnlabelledStreamBodyUnshown),),
    "malformed_chunk_not_json": (Control(CutChunkAsServerError, scoped=True),),
    "malformed_chunk_choices_object": (Control(ChoicesObjectAsServerError, scoped=True),),
    "parallel_fail_fast": (Control(FailFastRunsEveryProgram, modes=PARALLEL, reach="parallel"),),
    "parallel_fail_fast_joins": (
        Control(FailFastLeavesProgramsRunning, modes=PARALLEL, reach="parallel"),
    ),
    "parallel_one_thread": (Control(OneThreadTooMany, modes=PARALLEL, reach="parallel"),),
    "parallel_task_usage": (Control(TotalUsageInEverySlot, modes=PARALLEL, reach="parallel"),),
    "parallel_progress": (Control(ProgressOnlyAtTheEnd, modes=PARALLEL, reach="parallel"),),
    "batch_inputs": (
        Control(BatchPassesKeywordInputsWhole, modes=PARALLEL, reach="parallel"),
        Control(SubmitDropsKeywordArguments, modes=frozenset({"thread_pool"}), reach="submit"),
    ),
    "batch_one_thread_progress": (
        Control(BatchIgnoresItsOptions, modes=PARALLEL, reach="parallel"),
    ),
    "settings_rejected": (Control(SettingsUnchecked), Control(SettingsRefusedWithoutTypes)),
    "batch_failure_in_its_slot": (Control(BatchFailuresRaised, modes=PARALLEL, reach="parallel"),),
    "batch_without_stderr": (Control(BatchAsksTheTerminal, modes=PARALLEL, reach="parallel"),),
    "batch_input_rejected": (Control(BatchListsAsTuples, modes=PARALLEL, reach="parallel"),),
    "context_exits_out_of_order": (Control(ContextResetsItsToken),),
    "context_exit_elsewhere": (Control(ExitsTheInnermostBlock),),
    "num_threads_rejected": (Control(NumThreadsClamped, modes=PARALLEL, reach="parallel"),),
}
"""Scenario name -> its negative controls (every scenario has at least one)."""


def _answers(scenario: Scenario) -> bool:
    """Whether the scenario's expectation is an answer (not an error)."""
    return scenario.expected("openai").error is None


def _sends(scenario: Scenario) -> bool:
    """Whether a request of the scenario gets through: nothing listens for an uncounted
    one, and the client refuses a chain setting (``refused``) or a settings scenario's
    settings before any."""
    expect = scenario.expect
    return not expect.uncounted and expect.refused is None and scenario.kind != "settings"


def _client_worded(scenario: Scenario) -> bool:
    """Whether the scenario's expectation is a connection failure or a timeout (an error
    no provider described, worded by the client)."""
    expected = scenario.expected("openai")
    failure = (APIConnectionError, RequestTimeoutError)
    worded = expected.error is not None and issubclass(expected.error, failure)
    return worded and scenario.kind != "settings"  # a settings scenario makes no call


def _says(scenario: Scenario) -> tuple[str, ...]:
    return scenario.expected("openai").says


CHECK_CONTROLS: tuple[CheckControl, ...] = (
    CheckControl(
        TrackerCountsNoCalls,
        "the usage tracker counts the calls it summed (feature usage_calls)",
        lambda scenario, mode: scenario.tracks_usage,
    ),
    CheckControl(
        StreamReportsRequestedModel,
        "response.model: the model the answer named, streamed too",
        lambda scenario, mode: mode in STREAMED and _answers(scenario),
    ),
    CheckControl(
        StreamLosesToolCallIds,
        "response.tool_calls: the ids the provider gave the calls, streamed too",
        lambda scenario, mode: mode in STREAMED and bool(scenario.expected("openai").tool_call_ids),
    ),
    CheckControl(
        JsonAsTextPlain,
        "content-type: a JSON request body labelled application/json",
        lambda scenario, mode: _sends(scenario),  # a request got through
    ),
    CheckControl(
        ChainReportsItsLastCallsUsage,
        "a chain's usage: every model call's, summed (feature chain_usage)",
        lambda scenario, mode: scenario.kind == "chain" and len(scenario.replies) > 1,
    ),
    CheckControl(
        AsksForEventStreams,
        "accept: a request for a JSON answer that sends Accept accepts JSON",
        lambda scenario, mode: mode not in STREAMED and _sends(scenario),
    ),
    CheckControl(
        DropsErrorBodies,
        "error.body: the provider's error body, decoded (feature error_body)",
        lambda scenario, mode: scenario.expected("openai").error_body is not None,
    ),
    CheckControl(
        KeyInXApiKey,
        "credentials in the provider's own place, checked on every request sent",
        # a request got through, from a client that has a key
        lambda scenario, mode: _sends(scenario) and not scenario.keyless,
    ),
    CheckControl(
        FailuresNameNoAddress,
        "a connection failure or a timeout names the host:port it tried (Expect.says)",
        lambda scenario, mode: any("{address}" in item for item in _says(scenario)),
    ),
    CheckControl(
        FailuresSayOnlyWhere,
        "a connection failure or a timeout says what happened (Expect.says)",
        lambda scenario, mode: (
            _client_worded(scenario) and any("{address}" not in item for item in _says(scenario))
        ),
    ),
    CheckControl(
        ConnectionFailuresSayNothing,
        "an error the client words itself (a connection failure, a timeout) says something",
        lambda scenario, mode: _client_worded(scenario),
    ),
)
"""Controls for the checks every scenario makes."""


def control_named(name: str) -> type[ReferenceAdapter]:
    """The stand-in class called ``name`` (for ``--client conformance.controls:NAME``)."""
    controls: list[Control | CheckControl] = [c for cs in CONTROLS.values() for c in cs]
    controls += CHECK_CONTROLS
    for control in controls:
        if control.name == name:
            return control.adapter
    raise KeyError(name)
