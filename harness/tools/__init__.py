"""Tools: plain Python functions the model may call, and the loop that runs them.

A :class:`Tool` wraps a sync function, an ``async def`` function, or both. Its JSON
schema is derived from the type hints and its descriptions from the docstring.

Before a tool runs, the model's arguments are checked against the same type hints (and
converted into dataclasses, TypedDicts, pydantic models and enums), so a bad call turns
into an error result the model can read instead of a ``TypeError`` deep in the tool.

Sync and async share everything except the lines that await:

- :func:`run_tool_calls` / :func:`arun_tool_calls` run one batch of calls. Both check the
  calls with the same code and build the result messages with the same code; only the
  execution differs (one after another vs. concurrently with ``asyncio.gather``).
- :func:`run_chain` / :func:`arun_chain` drive the same ``_Chain`` state machine, which
  owns the conversation, the transcript and the turn limit. The drivers only call the
  model and execute tool calls.

Modules: ``schema`` (type hints -> JSON schema, argument checking), ``docstrings``,
``tool`` (:class:`Tool`, :func:`tool`), ``errors``, ``execution`` (one batch of calls),
``timeouts`` (``tool_timeout``: what happens to a tool that does not return in time)
and ``chain``.
"""

from __future__ import annotations

from harness.tools.chain import (
    ChainLimitError,
    ChainResult,
    RequestSent,
    ResponseReceived,
    ToolCalled,
    ToolReturned,
    TranscriptEntry,
    arun_chain,
    run_chain,
)
from harness.tools.errors import InvalidToolCallError, ToolExecutionError, ToolTimeoutError
from harness.tools.execution import OnError, arun_tool_calls, run_tool_calls
from harness.tools.tool import Tool, ToolLike, as_tools, tool, tool_specs

__all__ = [
    "ChainLimitError",
    "ChainResult",
    "InvalidToolCallError",
    "OnError",
    "RequestSent",
    "ResponseReceived",
    "Tool",
    "ToolCalled",
    "ToolExecutionError",
    "ToolLike",
    "ToolReturned",
    "ToolTimeoutError",
    "TranscriptEntry",
    "arun_chain",
    "arun_tool_calls",
    "as_tools",
    "run_chain",
    "run_tool_calls",
    "tool",
    "tool_specs",
]
