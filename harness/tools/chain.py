"""The chain: call the model, run the tools it asks for, repeat until it answers.

:func:`run_chain` and :func:`arun_chain` drive the same ``_Chain`` state machine, which
owns the conversation, the transcript and the turn limit. The drivers only call the
model and execute tool calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from harness.tools.execution import (
    OnError,
    _aexecute,
    _check_on_error,
    _execute,
    _Failed,
    _Outcome,
    _Ready,
    _tool_messages,
    _Toolbox,
)
from harness.tools.timeouts import check_tool_timeout
from harness.tools.tool import ToolLike
from harness.types import ConfigurationError, HarnessError, Message, Response, ToolCall, Usage


@dataclass(frozen=True)
class RequestSent:
    """Turn ``turn`` (from 1) sent these messages to the model."""

    turn: int
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class ResponseReceived:
    """The model's response in turn ``turn``."""

    turn: int
    response: Response


@dataclass(frozen=True)
class ToolCalled:
    """The chain started this tool call (calls are recorded in the model's order)."""

    turn: int
    call: ToolCall


@dataclass(frozen=True)
class ToolReturned:
    """The result of a tool call, as sent back to the model (``is_error`` if it failed)."""

    turn: int
    call: ToolCall
    message: Message


TranscriptEntry = RequestSent | ResponseReceived | ToolCalled | ToolReturned
"""One step of a chain, as recorded in :attr:`ChainResult.transcript`."""


@dataclass(frozen=True)
class ChainResult:
    """What a chain produced: final response, whole conversation, transcript, usage."""

    response: Response
    """The last response: the one without tool calls."""
    messages: tuple[Message, ...]
    """The conversation: the messages given, then every assistant and tool message."""
    transcript: tuple[TranscriptEntry, ...]
    """Every request, response, tool call and tool result, in order."""
    usage: Usage
    """Token usage summed over every model call."""

    @property
    def text(self) -> str:
        """The final answer's text."""
        return self.response.text


class ChainLimitError(HarnessError):
    """The model still asked for tools after ``max_turns`` model calls.

    The tools of that last response were not run. ``transcript``, ``messages`` (ending
    with that response's assistant message), ``response`` and ``usage`` show how far the
    chain got.
    """

    def __init__(
        self,
        max_turns: int,
        response: Response,
        messages: Sequence[Message],
        transcript: Sequence[TranscriptEntry],
        usage: Usage,
    ) -> None:
        self.max_turns = max_turns
        self.response = response
        self.messages = tuple(messages)
        self.transcript = tuple(transcript)
        self.usage = usage
        asked = ", ".join(f"'{call.name}'" for call in response.tool_calls)
        super().__init__(
            f"the model was still asking for tools ({asked}) after max_turns={max_turns} "
            "model calls; those calls were not run. Raise max_turns if the task needs more "
            "steps, or read this error's transcript for a tool call the model keeps retrying."
        )


class _Chain:
    """The chain's logic, shared by :func:`run_chain` and :func:`arun_chain`.

    A driver loops: ``request()`` gives the messages to send, ``receive(response)``
    gives either the final :class:`ChainResult` or the calls to execute, and
    ``deliver(outcomes)`` adds their results to the conversation.
    """

    def __init__(
        self,
        messages: Iterable[Message],
        tools: Iterable[ToolLike] | None,
        max_turns: int,
        on_error: OnError,
        tool_timeout: float | None = None,
    ) -> None:
        if isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1:
            raise ConfigurationError(f"max_turns must be an integer >= 1, not {max_turns!r}")
        _check_on_error(on_error)
        self.tool_timeout = check_tool_timeout(tool_timeout)
        self.toolbox = _Toolbox(tools)
        self.max_turns = max_turns
        self.on_error = on_error
        self.conversation = list(messages)
        self.transcript: list[TranscriptEntry] = []
        self.usage = Usage()
        self.turn = 0

    def request(self) -> list[Message]:
        """Start a turn: the messages to send (a fresh list the caller may keep)."""
        self.turn += 1
        self.transcript.append(RequestSent(self.turn, tuple(self.conversation)))
        return list(self.conversation)

    def receive(self, response: Response) -> ChainResult | list[_Ready | _Failed]:
        """The final result if the model is done, else its calls, checked and ready to run."""
        self.transcript.append(ResponseReceived(self.turn, response))
        self.usage += response.usage
        self.conversation.append(response.message())
        if not response.tool_calls:
            return ChainResult(
                response, tuple(self.conversation), tuple(self.transcript), self.usage
            )
        if self.turn >= self.max_turns:
            raise ChainLimitError(
                self.max_turns, response, self.conversation, self.transcript, self.usage
            )
        self.transcript.extend(ToolCalled(self.turn, call) for call in response.tool_calls)
        return self.toolbox.prepare(response.tool_calls)

    def deliver(self, outcomes: Sequence[_Outcome]) -> None:
        """Add the tool results to the conversation (or raise, with ``on_error="raise"``)."""
        results = _tool_messages(outcomes, self.on_error)
        self.transcript.extend(
            ToolReturned(self.turn, outcome.call, result)
            for outcome, result in zip(outcomes, results, strict=True)
        )
        self.conversation.extend(results)


def run_chain(
    call: Callable[[list[Message]], Response],
    messages: Iterable[Message],
    tools: Iterable[ToolLike] | None,
    *,
    max_turns: int = 10,
    on_error: OnError = "return",
    tool_timeout: float | None = None,
) -> ChainResult:
    """Call the model and run the tools it asks for until it answers without tools.

    ``call`` sends a conversation to the model. Each turn it gets the conversation so
    far; when the response asks for tools, the assistant message and the tool results
    (see :func:`run_tool_calls`) are appended and the model is called again. More than
    ``max_turns`` model calls raises :class:`ChainLimitError`. With ``tool_timeout``
    (seconds), a tool call that has not returned by then becomes an error result
    (``is_error=True``, the same text sync and async) and the chain goes on; see
    ``harness.tools.timeouts`` for what happens to the tool itself.
    """
    chain = _Chain(messages, tools, max_turns, on_error, tool_timeout)
    while True:
        step = chain.receive(call(chain.request()))
        if isinstance(step, ChainResult):
            return step
        chain.deliver(_execute(step, chain.tool_timeout))


async def arun_chain(
    acall: Callable[[list[Message]], Awaitable[Response]],
    messages: Iterable[Message],
    tools: Iterable[ToolLike] | None,
    *,
    max_turns: int = 10,
    on_error: OnError = "return",
    tool_timeout: float | None = None,
) -> ChainResult:
    """The async :func:`run_chain`: same turns, same transcript, tools run concurrently,
    the same ``tool_timeout`` results."""
    chain = _Chain(messages, tools, max_turns, on_error, tool_timeout)
    while True:
        step = chain.receive(await acall(chain.request()))
        if isinstance(step, ChainResult):
            return step
        chain.deliver(await _aexecute(step, chain.tool_timeout))
