"""Running one batch of the model's tool calls, from sync or async code.

Both check the calls and build the result messages with the same code; only the
execution differs (one after another vs. concurrently with ``asyncio.gather``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from harness.tools.errors import InvalidToolCallError, ToolExecutionError, ToolTimeoutError
from harness.tools.schema import _describe
from harness.tools.timeouts import (
    TimedOut,
    await_within,
    check_tool_timeout,
    result_within,
    start_in_thread,
)
from harness.tools.tool import Tool, ToolLike, as_tools
from harness.types import ConfigurationError, Message, ToolCall

OnError = Literal["return", "raise"]
"""What a failing tool call does: become an error result (``return``) or raise."""


@dataclass(frozen=True)
class _Ready:
    """A call whose arguments passed checking: it can run."""

    call: ToolCall
    tool: Tool
    values: Mapping[str, Any]


@dataclass(frozen=True)
class _Returned:
    call: ToolCall
    value: Any


@dataclass(frozen=True)
class _Failed:
    """A call that could not be made (``error`` is InvalidToolCallError) or that raised."""

    call: ToolCall
    problem: str
    error: Exception


_Outcome = _Returned | _Failed


def _check_on_error(on_error: str) -> None:
    if on_error not in ("return", "raise"):
        raise ConfigurationError(f"on_error must be 'return' or 'raise', not {on_error!r}")


class _Toolbox:
    """Tools by name; turns the model's calls into runnable calls or failures."""

    def __init__(self, tools: Iterable[ToolLike] | None) -> None:
        self.tools = {t.name: t for t in as_tools(tools)}

    def prepare(self, calls: Iterable[ToolCall]) -> list[_Ready | _Failed]:
        return [self._prepare(call) for call in calls]

    def _prepare(self, call: ToolCall) -> _Ready | _Failed:
        try:
            found = self.tools.get(call.name)
            if found is None:
                available = ", ".join(f"'{n}'" for n in self.tools) or "none"
                raise InvalidToolCallError(
                    call.name, [f"no tool has this name (available tools: {available})"]
                )
            return _Ready(call, found, found.check_arguments(self._arguments(call)))
        except InvalidToolCallError as exc:
            return _Failed(call, str(exc), exc)

    @staticmethod
    def _arguments(call: ToolCall) -> Mapping[str, Any]:
        if call.arguments_json is None or not call.arguments_json.strip():
            return call.arguments
        try:
            arguments = json.loads(call.arguments_json)
        except ValueError as exc:
            raise InvalidToolCallError(
                call.name, [f"the arguments are not valid JSON ({exc})"]
            ) from exc
        if not isinstance(arguments, dict):
            raise InvalidToolCallError(
                call.name, [f"the arguments must be a JSON object, got {_describe(arguments)}"]
            )
        return arguments


def _raised(item: _Ready, exc: Exception) -> _Failed:
    detail = f": {exc}" if str(exc) else ""
    return _Failed(item.call, f"tool '{item.tool.name}' raised {type(exc).__name__}{detail}", exc)


def _timed_out(item: _Ready, timeout: float) -> _Failed:
    error = ToolTimeoutError(item.tool.name, timeout)
    return _Failed(item.call, str(error), error)


def _execute(
    prepared: Sequence[_Ready | _Failed], tool_timeout: float | None = None
) -> list[_Outcome]:
    """Sync: run the calls one after another, in the model's order; with
    ``tool_timeout``, each in a thread of its own that is waited for that long at most
    (see ``harness.tools.timeouts``)."""

    def run(item: _Ready | _Failed) -> _Outcome:
        if isinstance(item, _Failed):
            return item
        try:
            if tool_timeout is None:
                return _Returned(item.call, item.tool._run(item.values))
            tool, values = item.tool, item.values
            future = start_in_thread(tool.name, lambda: tool._run(values, tool_timeout))
            return _Returned(item.call, result_within(future, tool_timeout))
        except TimedOut:
            assert tool_timeout is not None
            return _timed_out(item, tool_timeout)
        except Exception as exc:
            return _raised(item, exc)

    return [run(item) for item in prepared]


async def _aexecute(
    prepared: Sequence[_Ready | _Failed], tool_timeout: float | None = None
) -> list[_Outcome]:
    """Async: run the calls concurrently; every call completes whatever the others do;
    with ``tool_timeout``, each is given that long at most (async tools are cancelled,
    sync ones abandoned in their own threads: see ``harness.tools.timeouts``)."""

    async def run(item: _Ready | _Failed) -> _Outcome:
        if isinstance(item, _Failed):
            return item
        try:
            if tool_timeout is None:
                return _Returned(item.call, await item.tool._arun(item.values))
            running = item.tool._arun(item.values, own_thread=True)
            return _Returned(item.call, await await_within(running, tool_timeout))
        except TimedOut:
            assert tool_timeout is not None
            return _timed_out(item, tool_timeout)
        except Exception as exc:
            return _raised(item, exc)

    results = await asyncio.gather(*(run(item) for item in prepared), return_exceptions=True)
    for result in results:  # KeyboardInterrupt, CancelledError...: only after all finished
        if isinstance(result, BaseException):
            raise result
    return [r for r in results if not isinstance(r, BaseException)]


def _serialize(value: Any) -> str:
    """A tool's return value as message text: a str as is, anything else as JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=_to_json)
    except (TypeError, ValueError):  # circular data, non-string keys...
        return str(value)


def _to_json(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    dump = getattr(value, "model_dump", None)  # a pydantic model
    if callable(dump) and not isinstance(value, type):
        return dump(mode="json")
    return str(value)


def _tool_messages(outcomes: Sequence[_Outcome], on_error: OnError) -> list[Message]:
    """One tool message per outcome, in order; with ``raise``, the first failure raises.

    Raising happens only after every call has run, in sync and async alike.
    """
    messages = []
    for outcome in outcomes:
        if isinstance(outcome, _Returned):
            messages.append(Message.tool(outcome.call, _serialize(outcome.value)))
        else:
            messages.append(Message.tool(outcome.call, f"Error: {outcome.problem}", is_error=True))
    if on_error == "raise":
        for outcome in outcomes:
            if isinstance(outcome, _Failed):
                raise ToolExecutionError(
                    outcome.problem, tool_name=outcome.call.name, call=outcome.call
                ) from outcome.error
    return messages


def run_tool_calls(
    calls: Iterable[ToolCall],
    tools: Iterable[ToolLike] | None,
    *,
    on_error: OnError = "return",
    tool_timeout: float | None = None,
) -> list[Message]:
    """Run the model's tool calls from sync code; one tool message per call, in order.

    Calls run one after another. Async tools run to completion in a private event loop
    in a helper thread, so this works even when called from inside a running loop. A
    call that cannot be made or that raises becomes an error result (``is_error=True``)
    or, with ``on_error="raise"``, a :class:`ToolExecutionError` after all calls ran.
    With ``tool_timeout`` (seconds), a call that has not returned by then becomes the
    error result of a :class:`ToolTimeoutError` (see ``harness.tools.timeouts``).
    """
    _check_on_error(on_error)
    timeout = check_tool_timeout(tool_timeout)
    return _tool_messages(_execute(_Toolbox(tools).prepare(calls), timeout), on_error)


async def arun_tool_calls(
    calls: Iterable[ToolCall],
    tools: Iterable[ToolLike] | None,
    *,
    on_error: OnError = "return",
    tool_timeout: float | None = None,
) -> list[Message]:
    """Run the model's tool calls from async code; one tool message per call, in order.

    Calls run concurrently: async tools on this loop, sync tools in worker threads
    (``asyncio.to_thread``, with the caller's context). A failing call never stops the
    others. Results and errors are exactly those of :func:`run_tool_calls`, timeouts
    included.
    """
    _check_on_error(on_error)
    timeout = check_tool_timeout(tool_timeout)
    return _tool_messages(await _aexecute(_Toolbox(tools).prepare(calls), timeout), on_error)
