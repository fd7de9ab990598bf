"""Request bodies in the one form the cassette layer matches, scrubs and records: bytes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from vcr.util import read_body

__all__ = ["body_bytes", "raw_body"]


def raw_body(request: Any) -> bytes:
    """The request body as bytes, whatever vcrpy holds (bytes, str, file, chunks, JSON)."""
    return body_bytes(read_body(request))


def body_bytes(body: Any) -> bytes:
    """A body in any form vcrpy keeps as bytes: ``None`` -> ``b""``, text as UTF-8, a
    file read, chunks joined, and a mapping or list (vcrpy's aiohttp stub keeps aiohttp's
    ``json=`` and ``data={...}`` arguments as they were passed) as JSON text."""
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        return body_bytes(body.read())
    if isinstance(body, Iterator):
        chunks = list(body)
        if all(isinstance(chunk, int) for chunk in chunks):
            return bytes(chunks)
        return b"".join(body_bytes(chunk) for chunk in chunks)
    return json.dumps(body).encode("utf-8")
