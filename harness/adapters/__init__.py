"""Adapters: the clients the conformance suite can hold to its specs.

``ClientAdapter`` (in ``base``) is the protocol; ``ReferenceAdapter`` wraps ``harness.LM``.
"""

from harness.adapters.base import FEATURES, ChainOutcome, ClientAdapter, StreamResult, Target

__all__ = ["FEATURES", "ChainOutcome", "ClientAdapter", "StreamResult", "Target"]
