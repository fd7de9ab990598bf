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
from harness.lm import LM, AsyncStream, Stream
from harness.types import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    CallParams,
    ConfigurationError,
    HarnessError,
    LLMError,
    MalformedResponseError,
    Message,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    Response,
    ServerError,
    StreamEvent,
    ToolCall,
    ToolSpec,
    Usage,
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
    "HarnessError",
    "LLMError",
    "MalformedResponseError",
    "Message",
    "NotFoundError",
    "Parallel",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
    "Response",
    "ServerError",
    "Settings",
    "Stream",
    "StreamEvent",
    "Tool",
    "ToolCall",
    "ToolSpec",
    "Usage",
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
