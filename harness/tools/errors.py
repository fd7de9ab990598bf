"""The errors a tool call can raise: a call that cannot be made, one that failed, or one
that did not return in time."""

from __future__ import annotations

from collections.abc import Sequence

from harness.types import HarnessError, ToolCall


class InvalidToolCallError(HarnessError):
    """The model's call cannot be made as asked: unknown tool or arguments not fitting.

    ``problems`` lists every problem found (missing, unexpected or mistyped arguments).
    """

    def __init__(self, tool_name: str, problems: Sequence[str]) -> None:
        self.tool_name = tool_name
        self.problems = tuple(problems)
        super().__init__(f"invalid call to tool '{tool_name}': " + "; ".join(self.problems))


class ToolExecutionError(HarnessError):
    """A tool call failed and ``on_error="raise"`` was asked for.

    ``tool_name`` and ``call`` say which call; the original exception is ``__cause__``
    (an :class:`InvalidToolCallError` when the call could not even be made).
    """

    def __init__(self, message: str, *, tool_name: str, call: ToolCall) -> None:
        self.tool_name = tool_name
        self.call = call
        super().__init__(message)


class ToolTimeoutError(HarnessError):
    """A tool call did not return within the chain's ``tool_timeout``.

    It is the ``__cause__`` of the :class:`ToolExecutionError` raised with
    ``on_error="raise"``; otherwise its message becomes the call's error result.
    """

    def __init__(self, tool_name: str, timeout: float) -> None:
        self.tool_name = tool_name
        self.timeout = timeout
        super().__init__(f"tool '{tool_name}' did not return within tool_timeout={timeout:g} s")
