"""Adapters: the clients the conformance suite can hold to its specs.

``ClientAdapter`` (in ``base``) is the protocol; ``ReferenceAdapter`` wraps ``harness.LM``.
"""

from harness.adapters.base import (
    FEATURES,
    PARAM_KEYS,
    PROGRAM_FEATURES,
    ChainOutcome,
    ClientAdapter,
    Inputs,
    ParallelRun,
    StreamResult,
    Target,
    ToolHook,
    error_from_status,
    run_hook_first,
)

__all__ = [
    "FEATURES",
    "PARAM_KEYS",
    "PROGRAM_FEATURES",
    "ChainOutcome",
    "ClientAdapter",
    "Inputs",
    "ParallelRun",
    "StreamResult",
    "Target",
    "ToolHook",
    "error_from_status",
    "run_hook_first",
]
