"""Recorded traffic, in one package: every module of the cassette layer lives here.

- ``errors``: the typed errors (``CassetteError`` and its kinds);
- ``load``: one loader for every cassette layout the suite meets, and ``ReplayTransport``;
- ``bodies``: request bodies as bytes, whatever form vcrpy holds them in;
- ``scrub``: secret patterns and the recording hooks that remove them before writing;
- ``serializer``: the readable YAML format the suite writes;
- ``match``: request matching (strict canonical keys) and describing differences;
- ``semantic``: request matching on what a request means (per-provider normalization,
  docs/matching.md), for clients other than the reference;
- ``record``: the vcrpy layer (record, replay in O(1) per request);
- ``lint``: the secret linter over cassette files.

Importing this package loads only ``errors`` and ``load`` (PyYAML, httpx); the vcrpy
modules are imported where they are used.
"""

from harness.cassettes.errors import (
    CassetteError,
    CassetteNotFoundError,
    ReplayExhaustedError,
    UnmatchedRequestError,
)
from harness.cassettes.load import (
    REDACTED,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    ReplayTransport,
    interactions_from_document,
    load_cassette,
    read_document,
)

__all__ = [
    "REDACTED",
    "CassetteError",
    "CassetteNotFoundError",
    "Interaction",
    "RecordedRequest",
    "RecordedResponse",
    "ReplayExhaustedError",
    "ReplayTransport",
    "UnmatchedRequestError",
    "interactions_from_document",
    "load_cassette",
    "read_document",
]
