"""A streamed 2xx body that is not the stream asked for (a proxy's HTML error page, a JSON
error, nothing) is a ``MalformedResponseError`` that says what was received: content
type, size and the start of the body. Identical sync and async, for every provider."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from botocore.credentials import Credentials

from harness.lm import LM
from harness.providers.bedrock import EventStreamDecoder
from harness.providers.gemini import JSONArrayDecoder, SniffingDecoder
from harness.providers.openai import OpenAIStreamDecoder
from harness.types import MalformedResponseError

HTML = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1><p>The proxy received an invalid response.</p></body></html>\n"
)
MODELS = {
    "openai": ("openai/gpt-test", {"api_key": "k"}, "data: [DONE]"),
    "anthropic": ("anthropic/claude-test", {"api_key": "k"}, "message_stop"),
    "gemini": ("gemini/gemini-test", {"api_key": "k"}, "a finishReason"),
    "bedrock": (
        "bedrock/amazon.nova-test",
        {"region": "us-east-1", "credentials": Credentials("AKIDEXAMPLE", "secret")},
        "",
    ),
}


def streamed_error(provider: str, mode: str, body: bytes, content_type: str) -> str:
    model, options, _ = MODELS[provider]

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": content_type}, content=body)

    lm = LM(model, transport=httpx.MockTransport(answer), max_retries=0, **options)
    with pytest.raises(MalformedResponseError) as info:
        if mode == "sync":
            lm.stream("hi").collect()
        else:
            asyncio.run(lm.astream("hi").collect())
    return str(info.value)


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_an_html_page_sent_as_a_stream_is_quoted(provider: str) -> None:
    message = streamed_error(provider, "sync", HTML, "text/html; charset=utf-8")
    assert message == streamed_error(provider, "async", HTML, "text/html; charset=utf-8")
    received = f"received text/html ({len(HTML)} bytes) starting {HTML.decode()!r}"
    end = MODELS[provider][2]
    if provider == "bedrock":
        assert message.startswith("bedrock: the stream is not an AWS eventstream (")
        assert message.endswith(f"): {received}")
    else:
        assert message == (
            f"{provider}: stream ended before {end} and no server-sent event arrived: {received}"
        )


def test_a_long_body_is_quoted_by_its_start() -> None:
    body = b'{"error": {"message": "' + b"x" * 500 + b'"}}'
    message = streamed_error("openai", "sync", body, "application/json")
    assert message == streamed_error("openai", "async", body, "application/json")
    start = body[:200].decode()
    assert message.endswith(f"received application/json ({len(body)} bytes) starting {start!r}...")


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_an_empty_stream_says_so(provider: str) -> None:
    message = streamed_error(provider, "sync", b"", "text/event-stream")
    assert message == streamed_error(provider, "async", b"", "text/event-stream")
    assert message.endswith("received an empty body (text/event-stream)")


def test_a_stream_cut_after_events_keeps_the_short_message() -> None:
    """Once events have arrived, the body was a stream: only its end is missing."""
    decoder = OpenAIStreamDecoder("text/event-stream")
    decoder.feed(b'data: {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}\n\n')
    with pytest.raises(MalformedResponseError) as info:
        decoder.close()
    assert str(info.value) == "openai: stream ended before data: [DONE]"


def test_gemini_json_array_and_sniffed_streams_say_what_arrived() -> None:
    decoder = JSONArrayDecoder("application/json")
    with pytest.raises(MalformedResponseError) as info:
        decoder.feed(b"<html>busy</html>")
    assert str(info.value) == (
        "gemini: unexpected '<' in the streamed JSON array and no element arrived: "
        "received application/json (17 bytes) starting '<html>busy</html>'"
    )
    sniffing = SniffingDecoder("")
    sniffing.feed(b"  \n")
    with pytest.raises(MalformedResponseError) as info:
        sniffing.close()
    assert str(info.value) == (
        "gemini: the stream ended before any data: received no content type (3 bytes) "
        "starting '  \\n'"
    )


def test_bedrock_stream_cut_inside_its_first_frame_says_what_arrived() -> None:
    decoder = EventStreamDecoder("application/vnd.amazon.eventstream")
    decoder.feed(b"\x00\x00\x00")
    with pytest.raises(MalformedResponseError) as info:
        decoder.close()
    assert str(info.value) == (
        "bedrock: stream ended inside an eventstream frame (3 bytes left) and no eventstream "
        "frame arrived: received application/vnd.amazon.eventstream (3 bytes) "
        "starting '\\x00\\x00\\x00'"
    )
