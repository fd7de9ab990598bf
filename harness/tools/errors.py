"""The errors a tool call can raise: a call that cannot be made, or one that failed."""

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
