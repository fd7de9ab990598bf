"""The conformance suite: scenarios and regression specs any LLM client can be held to.

Shipped in the ``llm-parity`` wheel with its cassettes, so it runs from anywhere::

    pytest --pyargs conformance                      the reference client
    pytest --pyargs conformance --client openai-sdk  another client, through its adapter

``CASSETTES`` is where the shipped cassettes are: inside this package when installed
from a wheel, the repository's top-level ``cassettes/`` in a clone.
"""

from pathlib import Path

_HERE = Path(__file__).resolve().parent

CASSETTES: Path = (
    _HERE / "cassettes" if (_HERE / "cassettes").is_dir() else _HERE.parent / "cassettes"
)
"""The directory of the shipped cassettes (``<provider>/<scenario>.yaml``)."""
