"""llm-parity: a reference multi-provider LLM client and a conformance suite.

from harness import LM, configure, context, asyncify, Parallel, batch
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.context import (
    ContextThread,
    ContextThreadPoolExecutor,
    Parallel,
    Settings,
    asyncify,
    batch,
    configure,
    context,
    settings,
    submit_with_context,
    track_usage,
)
from harness.lm import LM, AsyncStream, Stream, StreamNotConsumedError
from harness.transport import RetryPolicy
from harness.types import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    CallParams,
    ConfigurationError,
    Finish,
    HarnessError,
    LLMError,
    MalformedResponseError,
    Message,
    ModelName,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ReasoningDelta,
    RequestTimeoutError,
    Response,
    ServerError,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
    UsageUpdate,
)

if TYPE_CHECKING:
    from harness.tools import ChainLimitError, ChainResult, Tool, tool

__version__ = "0.1.0"

_LAZY = {
    "Tool": "harness.tools",
    "tool": "harness.tools",
    "ChainResult": "harness.tools",
    "ChainLimitError": "harness.tools",
}


def __getattr__(name: str) -> Any:
    """Tools load on first use: they are not needed to make a call."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")


__all__ = [
    "LM",
    "APIConnectionError",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "CallParams",
    "ChainLimitError",
    "ChainResult",
    "ConfigurationError",
    "ContextThread",
    "ContextThreadPoolExecutor",
    "Finish",
    "HarnessError",
    "LLMError",
    "MalformedResponseError",
    "Message",
    "ModelName",
    "NotFoundError",
    "Parallel",
    "PermissionDeniedError",
    "RateLimitError",
    "ReasoningDelta",
    "RequestTimeoutError",
    "Response",
    "RetryPolicy",
    "ServerError",
    "Settings",
    "Stream",
    "StreamEvent",
    "StreamNotConsumedError",
    "TextDelta",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "ToolSpec",
    "Usage",
    "UsageUpdate",
    "__version__",
    "asyncify",
    "batch",
    "configure",
    "context",
    "settings",
    "submit_with_context",
    "tool",
    "track_usage",
]
