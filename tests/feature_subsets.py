"""The reference adapter restricted to a subset of its features (tests/test_feature_subsets.py).

``make()`` reads the subset from ``LLM_PARITY_FEATURES`` (comma-separated), so the suite
can load it with ``--client tests.feature_subsets:make`` in a subprocess. Every method of a
feature outside the subset raises, so a case that uses a feature it did not declare fails.
"""

from __future__ import annotations

import os
from typing import Any

from harness.adapters.reference import ReferenceAdapter

GUARDED = {
    "acall": "acall",
    "stream": "stream",
    "astream": "astream",
    "chain": "chain",
    "achain": "achain",
    "run_tools": "run_tools",
    "arun_tools": "arun_tools",
    "configure": "context",
    "context": "context",
    "current": "context",
    "submit": "thread_pool",
    "submit_with": "submit_arguments",
    "in_thread": "thread",
    "asyncify": "asyncify",
    "parallel": "parallel",
    "track_usage_calls": "usage_calls",
    "parallel_with": "parallel",
    "batch": "batch",
    "settings_block": "checked_settings",
    "stream_later": "deferred",
    "astream_later": "deferred",
}
"""Adapter method -> the feature it belongs to."""


class Restricted(ReferenceAdapter):
    """The reference client, declaring and having only ``features`` (``call`` always)."""

    name = "reference-restricted"

    def __init__(self, features: frozenset[str]) -> None:
        self.features = features | {"call"}

    def supports(self, feature: str, provider: str) -> bool:
        return feature in self.features

    def __getattribute__(self, name: str) -> Any:
        feature = GUARDED.get(name)
        if feature is not None and feature not in object.__getattribute__(self, "features"):
            raise AssertionError(f"the suite used {name}() without the {feature!r} feature")
        return super().__getattribute__(name)


def make() -> Restricted:
    chosen = os.environ.get("LLM_PARITY_FEATURES", "")
    return Restricted(frozenset(name for name in chosen.split(",") if name))
