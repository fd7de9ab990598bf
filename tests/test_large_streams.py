"""One large event (a few MB) streamed in network-sized chunks decodes to exactly what the
same answer decodes to when it is not streamed, in every provider's stream format.

Correctness only: how the decoding time grows with the size of an event is measured by
bench/bench_stream.py (streamed within 2x of not streamed), never here.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from botocore.credentials import Credentials

from harness.emulator.bedrock import EVENTSTREAM, event_frame
from harness.providers import make_codec
from harness.providers.base import SSEParser
from tests.corpus import feed, fold

_UNIT = 'naïve café ☃ "quoted" back\\slash\ttab\r\nline\n'
TEXT = (_UNIT * (3_000_000 // len(_UNIT.encode()) + 1))[:700_000] * 4
"""About 3 MB of text: multi-byte characters (a chunk boundary can split one), quotes,
backslashes and line ends (JSON escapes them, so the stream parsers meet escapes)."""


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def openai_bodies() -> tuple[bytes, bytes, str]:
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    message = {"role": "assistant", "content": TEXT}
    whole = {
        "model": "gpt-test",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": usage,
    }
    chunks = [
        {"model": "gpt-test", "choices": [{"index": 0, "delta": {"content": TEXT}}]},
        {"model": "gpt-test", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"model": "gpt-test", "choices": [], "usage": usage},
    ]
    stream = b"".join(b"data: " + _json(c) + b"\r\n\r\n" for c in chunks) + b"data: [DONE]\r\n\r\n"
    return _json(whole), stream, "text/event-stream"


def anthropic_bodies() -> tuple[bytes, bytes, str]:
    usage = {"input_tokens": 1, "output_tokens": 2}
    whole = {
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [{"type": "text", "text": TEXT}],
        "stop_reason": "end_turn",
        "usage": usage,
    }
    events = [
        {"type": "message_start", "message": {**whole, "content": [], "stop_reason": None}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": TEXT}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": usage},
        {"type": "message_stop"},
    ]
    stream = b"".join(
        b"event: " + e["type"].encode() + b"\rdata: " + _json(e) + b"\r\r" for e in events
    )
    return _json(whole), stream, "text/event-stream"


def gemini_answer() -> dict[str, Any]:
    return {
        "candidates": [
            {"content": {"parts": [{"text": TEXT}], "role": "model"}, "finishReason": "STOP"}
        ],
        "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 2},
        "modelVersion": "gemini-test",
    }


def gemini_sse_bodies() -> tuple[bytes, bytes, str]:
    whole = _json(gemini_answer())
    return whole, b"data: " + whole + b"\n\n", "text/event-stream"


def gemini_array_bodies() -> tuple[bytes, bytes, str]:
    whole = _json(gemini_answer())
    return whole, b"[" + whole + b"\n]", "application/json"


def bedrock_bodies() -> tuple[bytes, bytes, str]:
    usage = {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3}
    whole = {
        "output": {"message": {"role": "assistant", "content": [{"text": TEXT}]}},
        "stopReason": "end_turn",
        "usage": usage,
    }
    frames = [
        event_frame("messageStart", {"role": "assistant"}),
        event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": TEXT}}),
        event_frame("contentBlockStop", {"contentBlockIndex": 0}),
        event_frame("messageStop", {"stopReason": "end_turn"}),
        event_frame("metadata", {"usage": usage, "metrics": {"latencyMs": 1}}),
    ]
    return _json(whole), b"".join(frames), EVENTSTREAM


CASES = {
    "openai": ("openai", {"api_key": "k"}, openai_bodies),
    "anthropic": ("anthropic", {"api_key": "k"}, anthropic_bodies),
    "gemini-sse": ("gemini", {"api_key": "k"}, gemini_sse_bodies),
    "gemini-json-array": ("gemini", {"api_key": "k"}, gemini_array_bodies),
    "bedrock": (
        "bedrock",
        {"region": "us-east-1", "credentials": Credentials("AKIDEXAMPLE", "secret")},
        bedrock_bodies,
    ),
}


@pytest.mark.parametrize("step", [65_536, 65_537, 1_000_003, None])
@pytest.mark.parametrize("case", sorted(CASES))
def test_one_large_event_streamed_equals_the_body(case: str, step: int | None) -> None:
    provider, options, bodies = CASES[case]
    codec = make_codec(provider, **options)
    whole, stream, content_type = bodies()
    expected = replace(codec.decode_response(whole), raw=None)
    assert len(expected.text) == len(TEXT)
    decoder = codec.stream_decoder(content_type)
    streamed = fold(feed(decoder, stream, step=step))
    assert streamed == expected
    assert decoder.raw


def test_sse_parser_large_line_split_between_cr_and_lf() -> None:
    """A 3 MB data line whose CRLF is cut between CR and LF by the chunk boundary."""
    line = "data: " + TEXT.replace("\r", "").replace("\n", " ")
    data = (line + "\r\n\r\n").encode()
    cut = data.index(b"\r\n")
    parser = SSEParser()
    events = parser.feed(data[: cut + 1])
    events += parser.feed(data[cut + 1 : cut + 2])
    events += parser.feed(data[cut + 2 :])
    assert events + parser.close() == [("", line[len("data: ") :])]
