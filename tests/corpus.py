"""Shared helpers for the tests that read the recorded corpus (tests/corpus/recorded).

Every cassette is read through the project's one loader, ``harness.cassettes.load_cassette``
(bodies decompressed, header names lower-case), so no test parses corpus YAML itself
unless it is checking a format quirk on purpose.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from harness.cassettes import Interaction, load_cassette
from harness.providers.base import StreamAccumulator, StreamDecoder
from harness.types import Response, StreamEvent

CORPUS = Path(__file__).parent / "corpus" / "recorded"
"""The recorded cassettes, one folder per provider (plus SOURCES.md)."""


def cassette(*path: str) -> list[Interaction]:
    """A corpus cassette's interactions: ``cassette("openai", "chat_text_basic.yaml")``
    or ``cassette("openai/chat_text_basic.yaml")``."""
    return load_cassette(CORPUS.joinpath(*path))


def cassette_files() -> set[str]:
    """Every cassette in the corpus, as paths relative to ``CORPUS`` ("openai/x.yaml")."""
    return {
        str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file() and p.suffix != ".md"
    }


def feed(decoder: StreamDecoder, body: bytes, step: int | None = None) -> list[StreamEvent]:
    """Feed ``body`` whole (``step=None``) or in pieces of ``step`` bytes, then close."""
    events: list[StreamEvent] = []
    pieces = [body] if step is None else [body[i : i + step] for i in range(0, len(body), step)]
    for piece in pieces:
        events.extend(decoder.feed(piece))
    events.extend(decoder.close())
    return events


def fold(events: list[StreamEvent], raw: Any = None) -> Response:
    """The ``Response`` a ``StreamAccumulator`` builds from ``events``."""
    accumulator = StreamAccumulator()
    for event in events:
        accumulator.add(event)
    return accumulator.response(raw=raw)


def refuse_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any attempt to resolve a name or open a connection fail the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
