"""The cassette loader and the replay transport (harness.cassettes).

Covers every corpus file (tests/corpus/recorded, counts from SOURCES.md's Integrity
table), each format quirk SOURCES.md describes, every CassetteError, and ReplayTransport
with httpx.Client and httpx.AsyncClient. Nothing here touches the network.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import struct
import sys
import types
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from harness.cassettes import (
    REDACTED,
    CassetteError,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    ReplayExhaustedError,
    ReplayTransport,
    load_cassette,
    read_document,
)
from harness.cassettes.load import MalformedCassetteError, cassette_problem
from harness.types import HarnessError
from tests.corpus import CORPUS, cassette, cassette_files, refuse_network


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to resolve a name or open a connection fails the test."""
    refuse_network(monkeypatch)


def _integrity_table() -> dict[str, int]:
    """file -> interactions, from the Integrity table of SOURCES.md."""
    text = (CORPUS / "SOURCES.md").read_text(encoding="utf-8")
    section = text.split("## Integrity", 1)[1].split("\n## ", 1)[0]
    counts: dict[str, int] = {}
    for line in section.splitlines():
        match = re.match(r"\|\s*`([^`]+)`\s*\|.*\|\s*(\d+)\s*\|\s*$", line)
        if match:
            counts[match.group(1)] = int(match.group(2))
    return counts


COUNTS = _integrity_table()


def _frame(event_type: str, payload: dict[str, Any]) -> bytes:
    """One AWS eventstream frame with a single string header (valid CRCs)."""
    name = b":event-type"
    value = event_type.encode()
    headers = bytes([len(name)]) + name + b"\x07" + struct.pack(">H", len(value)) + value
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + body
    return message + struct.pack(">I", zlib.crc32(message))


def write_cassette(tmp_path: Path, document: Any, *, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def vcr_interaction(
    *,
    uri: str = "https://api.example.com/v1/thing",
    request_body: Any = None,
    request_headers: dict[str, Any] | None = None,
    status: Any = None,
    body: Any = b"{}",
    headers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "request": {
            "method": "post",
            "uri": uri,
            "body": request_body,
            "headers": request_headers or {},
        },
        "response": {
            "status": status if status is not None else {"code": 200, "message": "OK"},
            "headers": headers if headers is not None else {"Content-Type": ["application/json"]},
            "body": {"string": body},
        },
    }


def one_response(tmp_path: Path, **kwargs: Any) -> RecordedResponse:
    path = write_cassette(tmp_path, {"interactions": [vcr_interaction(**kwargs)], "version": 1})
    [interaction] = load_cassette(path)
    return interaction.response


# --- the corpus ------------------------------------------------------------------------


def test_integrity_table_lists_exactly_the_corpus_files() -> None:
    on_disk = cassette_files()
    assert len(COUNTS) == 38
    assert set(COUNTS) == on_disk


def _raw_pairs(document: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(request, response) mappings as the file stores them, either layout."""
    if "interactions" in document:
        return [(item["request"], item["response"]) for item in document["interactions"]]
    return list(zip(document["requests"], document["responses"], strict=True))


def _raw_encoding(message: dict[str, Any]) -> str:
    """The content-encoding the file declares for a message ("" if none)."""
    for name, value in (message.get("headers") or {}).items():
        if str(name).lower() == "content-encoding":
            values = value if isinstance(value, list) else [value]
            return ", ".join(str(item) for item in values).lower()
    return ""


def _raw_body(message: dict[str, Any]) -> bytes | None:
    """The body bytes as the file stores them (None for a ``parsed_body`` mapping)."""
    if "parsed_body" in message:
        return None
    body = message.get("body")
    if isinstance(body, dict):
        body = body.get("string")
    if body is None:
        return b""
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def check_bodies_against_the_file(name: str, loaded: list[Interaction]) -> None:
    """Checked against the file itself: a body declared gzip really is gzip and the loader
    returns it decompressed; any other stored body comes back byte for byte (and a
    ``parsed_body`` mapping as the same JSON value)."""
    raw = _raw_pairs(read_document(CORPUS / name))
    assert len(raw) == len(loaded)
    for (raw_request, raw_response), item in zip(raw, loaded, strict=True):
        for stored, message in ((raw_request, item.request), (raw_response, item.response)):
            body, encoding = _raw_body(stored), _raw_encoding(stored)
            assert encoding in ("", "gzip", REDACTED.lower()), encoding
            if body is None:
                assert not encoding
                assert message.json() == stored["parsed_body"]
            elif encoding == "gzip":
                assert body.startswith(b"\x1f\x8b"), "declared gzip, stored something else"
                assert gzip.decompress(body) == message.body != body
            else:
                assert message.body == body


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_corpus_file_loads(name: str) -> None:
    interactions = cassette(name)
    assert len(interactions) == COUNTS[name]
    check_bodies_against_the_file(name, interactions)
    for item in interactions:
        request, response = item.request, item.response
        assert isinstance(request, RecordedRequest)
        assert isinstance(response, RecordedResponse)
        assert request.method == "POST"
        assert request.uri.startswith("https://")
        for headers in (request.headers, response.headers):
            assert all(k == k.lower() and isinstance(v, str) for k, v in headers.items())
        assert isinstance(request.body, bytes) and isinstance(response.body, bytes)
        assert request.json() is not None  # every corpus request is JSON
        assert request.headers["content-type"].startswith("application/json")
        content_type = response.headers["content-type"]
        if content_type.startswith("application/json"):
            assert response.json() is not None
        elif content_type == "application/vnd.amazon.eventstream":
            total, _, crc = struct.unpack(">III", response.body[:12])
            assert zlib.crc32(response.body[:8]) == crc and total <= len(response.body)
        else:
            assert content_type.startswith("text/event-stream")
            assert response.body.startswith((b"data:", b"event:"))


@pytest.mark.parametrize(
    ("name", "start"),
    [
        ("anthropic/messages_text_raw_gzip.yaml", b'{"id":"msg_01TPXhkPo8jy6yQMrMhjpiAE"'),
        ("anthropic/messages_tool_use_parallel_raw_gzip.yaml", b'{"id":"msg_01RBkXFe9TmDNNW'),
        ("gemini/generate_text_raw_gzip.yaml", b'{\n  "candidates": ['),
        ("gemini/stream_json_array_text.yaml", b'[{\n  "candidates": ['),
        ("gemini/stream_json_array_tools_3turns.yaml", b'[{\n  "candidates": ['),
    ],
)
def test_gzip_bodies_are_decompressed(name: str, start: bytes) -> None:
    for item in cassette(name):
        assert item.response.body.startswith(start)
        assert "content-encoding" not in item.response.headers
        json.loads(item.response.body)


def test_gemini_json_array_stream_keeps_its_separators() -> None:
    body = cassette("gemini/stream_json_array_text.yaml")[0].response.body
    assert b"\n,\r\n" in body
    assert [chunk["modelVersion"] for chunk in json.loads(body)] == ["gemini-3.6-flash"] * 3


def test_parsed_body_is_rebuilt_with_json_dumps_and_content_length_fixed() -> None:
    [item] = cassette("anthropic/messages_text_instructions.yaml")
    body = item.response.json()
    assert body["content"] == [{"text": "The capital of France is Paris.", "type": "text"}]
    assert item.response.body == json.dumps(body).encode()  # ", " / ": " separators
    assert item.response.headers["content-length"] == str(len(item.response.body)) == "465"
    assert item.request.json()["model"] == "claude-3-opus-latest"
    assert item.request.body == json.dumps(item.request.json()).encode()


def test_pretty_printed_string_bodies_and_scalar_set_cookie() -> None:
    [item] = cassette("openai/chat_text_basic.yaml")
    assert item.response.body.startswith(b'{\n  "id": "chatcmpl-ASYMQRl3A3DXL9FWCK9tnGRcKIO7q"')
    assert item.response.headers["set-cookie"] == "test_set_cookie"
    assert item.response.headers["content-length"] == "764"  # recorded '765'
    assert item.response.headers["content-type"] == "application/json"
    assert item.request.headers["authorization"] == "Bearer test_openai_api_key"


def test_header_names_lower_cased_and_lists_joined() -> None:
    [item] = cassette("bedrock/converse_error_400_invalid_model.yaml")
    headers = item.response.headers
    assert headers["x-amzn-errortype"].startswith("ValidationException")
    assert headers["x-amzn-requestid"] == "7fdbc480-6d28-4d1c-abbc-bd7f17c7dfec"
    assert "X-Amzn-RequestId" not in headers


def test_botocore_binary_request_headers_are_decoded() -> None:
    [item] = cassette("bedrock/converse_stream_text_nova.yaml")
    assert item.request.headers["amz-sdk-request"] == "attempt=1"
    assert item.request.headers["content-type"] == "application/json"
    assert item.request.headers["amz-sdk-invocation-id"] == "b62ff3fe-9f1e-4838-83c3-2e2f479a8e76"
    assert item.response.headers["content-type"] == "application/vnd.amazon.eventstream"
    assert item.response.body[12:24] == b"\x0b:event-type"


def test_sse_literal_blocks_are_kept_verbatim() -> None:
    [item] = cassette("openai/chat_stream_text.yaml")
    assert item.response.body.startswith(b"data: {")
    assert item.response.body.rstrip().endswith(b"data: [DONE]")
    [first, second] = cassette("gemini/stream_sse_function_call_thought_signature.yaml")
    assert first.response.headers["content-type"] == "text/event-stream"
    assert second.response.body.startswith(b'data: {"candidates": [{"content": {"parts": [{"te')


def test_langchain_gzip_yaml_with_redacted_headers() -> None:
    interactions = cassette("bedrock/agent_loop_converse_tool_use_then_result.yaml.gz")
    assert len(interactions) == 2
    first = interactions[0]
    assert first.request.uri.endswith("/model/us.anthropic.claude-sonnet-5/converse")
    assert first.request.json()["messages"][0]["content"][0]["text"].startswith("What is")
    # content-type was **REDACTED**: inferred from the bodies
    assert first.request.headers["content-type"] == "application/json"
    assert first.response.headers["content-type"] == "application/json"
    # content-length was **REDACTED**: corrected; other redacted values are kept
    assert first.response.headers["content-length"] == str(len(first.response.body))
    assert first.response.headers["date"] == REDACTED
    assert first.response.json()["stopReason"] == "tool_use"
    assert interactions[1].response.json()["stopReason"] == "end_turn"


# --- content-type inference (synthetic cassettes) ---------------------------------------


def _paired(tmp_path: Path, uri: str, body: bytes) -> RecordedResponse:
    document = {
        "requests": [{"method": "POST", "uri": uri, "body": b"{}", "headers": {}}],
        "responses": [
            {
                "status": {"code": 200, "message": "OK"},
                "headers": {"Content-Type": REDACTED, "Content-Length": REDACTED},
                "body": {"string": body},
            }
        ],
    }
    path = tmp_path / "c.yaml.gz"
    path.write_bytes(gzip.compress(yaml.safe_dump(document).encode()))
    [item] = load_cassette(path)
    assert item.request.headers["content-type"] == "application/json"
    return item.response


BEDROCK = "https://bedrock-runtime.us-east-1.amazonaws.com/model/m"
EVENTSTREAM = "application/vnd.amazon.eventstream"
FRAME = _frame("messageStart", {"role": "assistant"})


@pytest.mark.parametrize(
    ("uri", "body", "expected"),
    [
        (f"{BEDROCK}/converse", b'{"output": {}}', "application/json"),
        (f"{BEDROCK}/converse", FRAME, EVENTSTREAM),
        (f"{BEDROCK}/converse-stream", b"\x00\x01 not a valid prelude", EVENTSTREAM),
        (f"{BEDROCK}/invoke-with-response-stream?x=1", b"\x00\x00", EVENTSTREAM),
        (f"{BEDROCK}/converse-stream", b'{"message": "bad model"}', "application/json"),
        ("https://api.openai.com/v1/chat", b"data: {}\n\ndata: [DONE]\n\n", "text/event-stream"),
        ("https://api.anthropic.com/v1/m", b"event: ping\ndata: {}\n\n", "text/event-stream"),
        ("https://api.example.com/x", b"[1, 2]", "application/json"),
    ],
)
def test_content_type_inferred_when_redacted(
    tmp_path: Path, uri: str, body: bytes, expected: str
) -> None:
    response = _paired(tmp_path, uri, body)
    assert response.headers["content-type"] == expected
    assert response.headers["content-length"] == str(len(body))


def test_content_type_inferred_when_missing(tmp_path: Path) -> None:
    response = one_response(tmp_path, body="data: {}\r\n\r\n", headers={})
    assert response.headers == {"content-type": "text/event-stream"}
    response = one_response(tmp_path, body='{"a": 1}', headers={"Server": ["x"]})
    assert response.headers == {"server": "x", "content-type": "application/json"}


def test_content_type_left_out_when_nothing_fits(tmp_path: Path) -> None:
    response = one_response(tmp_path, body=b"hello", headers={"Content-Type": REDACTED})
    assert "content-type" not in response.headers
    assert one_response(tmp_path, body=None, headers={}).headers == {}


def test_recorded_content_type_is_never_overridden(tmp_path: Path) -> None:
    response = one_response(tmp_path, body=b"not json", headers={"content-type": "text/plain"})
    assert response.headers["content-type"] == "text/plain"


# --- bodies and encodings -----------------------------------------------------------


def test_body_forms(tmp_path: Path) -> None:
    assert one_response(tmp_path, body="caf\u00e9").body == "caf\u00e9".encode()
    assert one_response(tmp_path, body=b"\x00\xff").body == b"\x00\xff"
    assert one_response(tmp_path, body=None).body == b""
    interaction = vcr_interaction()
    interaction["response"]["body"] = "bare string"  # vcrpy < 1.0 stored bodies bare
    path = write_cassette(tmp_path, {"interactions": [interaction], "version": 1})
    assert load_cassette(path)[0].response.body == b"bare string"


def test_status_forms(tmp_path: Path) -> None:
    assert one_response(tmp_path, status=404).status == 404
    assert one_response(tmp_path, status={"code": "429", "message": "x"}).status == 429


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, no zlib wrapper
        ("deflate, gzip", lambda data: gzip.compress(zlib.compress(data))),
        ("identity", lambda data: data),
    ],
)
def test_response_decompression(tmp_path: Path, encoding: str, compress: Any) -> None:
    plain = b'{"hello": "world"}'
    response = one_response(
        tmp_path,
        body=compress(plain),
        headers={"Content-Encoding": [encoding], "Content-Length": ["3"]},
    )
    assert response.body == plain
    assert response.headers == {
        "content-length": str(len(plain)),
        "content-type": "application/json",
    }


def test_compressed_request_body_is_decoded(tmp_path: Path) -> None:
    path = write_cassette(
        tmp_path,
        {
            "interactions": [
                vcr_interaction(
                    request_body=gzip.compress(b'{"q": 1}'),
                    request_headers={
                        "Content-Encoding": ["gzip"],
                        "Content-Type": ["application/json"],
                    },
                )
            ]
        },
    )
    [item] = load_cassette(path)
    assert item.request.body == b'{"q": 1}'
    assert item.request.json() == {"q": 1}
    assert item.request.method == "POST"
    assert "content-encoding" not in item.request.headers


@pytest.mark.parametrize(
    ("encoding", "modules", "library"),
    [
        ("br", ("brotli", "brotlicffi"), "brotli"),
        ("zstd", ("compression", "compression.zstd", "zstandard"), "zstandard"),
    ],
)
def test_brotli_and_zstd_need_a_library(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    encoding: str,
    modules: tuple[str, ...],
    library: str,
) -> None:
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)  # import fails even if installed
    with pytest.raises(CassetteError) as caught:
        one_response(tmp_path, body=b"\x8b\x00", headers={"Content-Encoding": [encoding]})
    message = str(caught.value)
    assert "c.yaml: interaction 1" in message
    assert f"{encoding}-compressed" in message and library in message


def test_brotli_used_when_a_library_is_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = types.SimpleNamespace(decompress=lambda data: b'{"decoded": true}')
    monkeypatch.setitem(sys.modules, "brotli", fake)
    response = one_response(tmp_path, body=b"\x1b\x00", headers={"Content-Encoding": ["br"]})
    assert response.body == b'{"decoded": true}'
    assert response.headers == {"content-type": "application/json"}


def test_unknown_or_corrupt_encodings_are_errors(tmp_path: Path) -> None:
    where = r"c\.yaml: interaction 1: "
    with pytest.raises(
        CassetteError, match=where + "unsupported response content-encoding 'compress'"
    ):
        one_response(tmp_path, headers={"Content-Encoding": ["compress"]})
    with pytest.raises(CassetteError, match=where + "cannot decompress gzip response body"):
        one_response(tmp_path, body=b"not gzip", headers={"Content-Encoding": ["gzip"]})


# --- errors ---------------------------------------------------------------------------


def test_cassette_error_is_a_harness_error() -> None:
    assert issubclass(CassetteError, HarnessError)
    assert issubclass(ReplayExhaustedError, CassetteError)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(CassetteError, match=r"nope\.yaml: cannot read cassette"):
        load_cassette(path)
    with pytest.raises(CassetteError, match="cannot read cassette"):
        load_cassette(tmp_path)  # a directory


def test_bad_yaml(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("interactions: [\n  - {request: ", encoding="utf-8")
    with pytest.raises(CassetteError, match=r"bad\.yaml: invalid YAML"):
        load_cassette(path)


def test_unsafe_yaml_tags_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("interactions: !!python/object/apply:os.system ['true']\n", encoding="utf-8")
    with pytest.raises(CassetteError, match=r"evil\.yaml: invalid YAML"):
        load_cassette(path)


@pytest.mark.parametrize(
    ("content", "found"),
    [
        ("version: 1\nrecords: []\n", "top-level keys ['records', 'version']"),
        ("- a\n- b\n", "a list"),
        ("requests: []\n", "top-level keys ['requests']"),
    ],
)
def test_unknown_layout(tmp_path: Path, content: str, found: str) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CassetteError) as caught:
        load_cassette(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert "unknown cassette layout" in message and found in message


def test_mismatched_request_response_counts(tmp_path: Path) -> None:
    request: dict[str, Any] = {"method": "POST", "uri": "https://x/y", "headers": {}}
    response: dict[str, Any] = {"status": {"code": 200}, "headers": {}, "body": {"string": ""}}
    path = write_cassette(tmp_path, {"requests": [request, request], "responses": [response]})
    with pytest.raises(CassetteError, match=r"c\.yaml: 2 requests but 1 responses recorded"):
        load_cassette(path)


def test_corrupt_gzip_cassette(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml.gz"
    path.write_bytes(gzip.compress(b"requests: []\nresponses: []\n")[:-9])
    with pytest.raises(CassetteError, match=r"broken\.yaml\.gz: corrupt gzip-compressed cassette"):
        load_cassette(path)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda i: i.pop("response"), "the 'response' key is missing"),
        (lambda i: i["request"].pop("uri"), "the request has no 'uri'"),
        (lambda i: i["response"].pop("status"), "the response has no 'status' code"),
        (lambda i: i["response"].update(status={"code": "abc"}), "bad status code 'abc'"),
        (lambda i: i["response"].update(body={"string": 12}), "response body is a int"),
        (lambda i: i["request"].update(headers=["a"]), "headers are not a mapping"),
        (lambda i: i.update(request="GET /"), "'request' is a str, not a mapping"),
    ],
)
def test_malformed_interaction(tmp_path: Path, edit: Any, problem: str) -> None:
    interactions = [vcr_interaction(), vcr_interaction()]
    edit(interactions[1])
    path = write_cassette(tmp_path, {"interactions": interactions, "version": 1})
    with pytest.raises(CassetteError) as caught:
        load_cassette(path)
    assert f"{path}: interaction 2" in str(caught.value)
    assert problem in str(caught.value)


REPOSITORY_CASSETTE = Path(__file__).resolve().parent.parent / "cassettes" / "openai"
HINT = "the cassette is truncated or malformed: restore it from version control, or record it again"


def _loaded_then_replayed(path: Path, mode: str) -> CassetteError:
    """The error of loading ``path`` and replaying it from a sync or an async client."""
    import asyncio

    async def areplay() -> None:
        async with httpx.AsyncClient(transport=ReplayTransport.from_cassette(path)) as client:
            await client.post("https://api.openai.com/v1/chat/completions")

    with pytest.raises(CassetteError) as caught:
        if mode == "sync":
            with httpx.Client(transport=ReplayTransport.from_cassette(path)) as client:
                client.post("https://api.openai.com/v1/chat/completions")
        else:
            asyncio.run(areplay())
    return caught.value


def test_a_cassette_cut_short_names_the_file_the_interaction_and_the_key(tmp_path: Path) -> None:
    lines = (REPOSITORY_CASSETTE / "chain_failing_tool.yaml").read_text().splitlines(True)
    second_response = max(i for i, line in enumerate(lines) if line.startswith("  response:"))
    path = tmp_path / "cut.yaml"
    path.write_text("".join(lines[:second_response]))  # cut before the last response
    errors = [_loaded_then_replayed(path, mode) for mode in ("sync", "async")]
    assert (
        str(errors[0])
        == str(errors[1])
        == (f"{path}: interaction 2 of 2: the 'response' key is missing; {HINT}")
    )
    problem = cassette_problem(path)
    assert isinstance(problem, MalformedCassetteError)
    assert (problem.path, problem.interaction, problem.key) == (str(path), 2, "response")
    assert str(problem) == str(errors[0])


def test_a_cassette_cut_inside_a_value_is_invalid_yaml_and_says_so(tmp_path: Path) -> None:
    text = (REPOSITORY_CASSETTE / "chain_failing_tool.yaml").read_text()
    path = tmp_path / "cut.yaml"
    path.write_text(text[: text.index("arguments: '") + 16])  # inside a quoted string
    message = str(cassette_problem(path))
    assert message.startswith(f"{path}: invalid YAML: ")
    assert message.endswith(HINT) and "\n" not in message


def test_an_empty_cassette_file_says_it_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert str(cassette_problem(path)) == (
        f"{path}: the file holds no YAML document (it is empty); {HINT}"
    )


def test_a_whole_cassette_has_no_problem() -> None:
    assert cassette_problem(REPOSITORY_CASSETTE / "chain_failing_tool.yaml") is None


def test_interactions_must_be_a_list(tmp_path: Path) -> None:
    path = write_cassette(tmp_path, {"interactions": {"a": 1}})
    with pytest.raises(CassetteError, match="'interactions' is not a list"):
        load_cassette(path)


# --- ReplayTransport ----------------------------------------------------------------


def _interaction(
    body: bytes, status: int = 200, content_type: str = "application/json"
) -> Interaction:
    return Interaction(
        RecordedRequest("POST", "https://api.example.com/v1/x", {}, b"{}"),
        RecordedResponse(status, {"content-type": content_type, "x-n": str(len(body))}, body),
    )


def test_replay_sync_in_order_with_recorded_status_headers_body() -> None:
    interactions = cassette("openai/chat_tool_call_roundtrip_4turns.yaml")
    transport = ReplayTransport(interactions, name="roundtrip")
    assert transport.unplayed == interactions
    with httpx.Client(transport=transport, base_url="https://api.openai.com") as client:
        for number, item in enumerate(interactions, start=1):
            response = client.post("/v1/chat/completions", json={"turn": number})
            assert response.status_code == item.response.status
            assert response.content == item.response.body
            assert response.headers["content-type"] == "application/json"
            assert response.headers["content-length"] == str(len(item.response.body))
            assert transport.unplayed == interactions[number:]
    assert [json.loads(r.content) for r in transport.requests] == [{"turn": n} for n in range(1, 5)]
    assert transport.requests[0].url == "https://api.openai.com/v1/chat/completions"
    transport.assert_all_played()


def test_replay_serves_decompressed_gzip_bodies() -> None:
    [item] = cassette("anthropic/messages_text_raw_gzip.yaml")
    with httpx.Client(transport=ReplayTransport([item])) as client:
        response = client.post("https://api.anthropic.com/v1/messages")
    assert "content-encoding" not in response.headers
    assert response.json()["model"] == "claude-3-opus-20240229"


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 100_000])
def test_replay_sync_streams_in_chunks(chunk_size: int) -> None:
    [item] = cassette("openai/chat_stream_text.yaml")
    body = item.response.body
    transport = ReplayTransport([item], chunk_size=chunk_size)
    client = httpx.Client(transport=transport)
    with client, client.stream("POST", "https://x/y") as response:
        chunks = list(response.iter_raw())
    assert b"".join(chunks) == body
    assert len(chunks) == math.ceil(len(body) / chunk_size)
    assert all(len(chunk) <= chunk_size for chunk in chunks)


async def test_replay_async_streams_in_chunks_of_seven_by_default() -> None:
    [item] = cassette("bedrock/converse_stream_text_nova.yaml")
    body = item.response.body
    transport = ReplayTransport([item])
    client = httpx.AsyncClient(transport=transport)
    async with client, client.stream("POST", "https://x/converse-stream") as response:
        chunks = [chunk async for chunk in response.aiter_raw()]
    assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
    assert b"".join(chunks) == body
    assert len(chunks) == math.ceil(len(body) / 7) > 1
    assert {len(chunk) for chunk in chunks[:-1]} == {7}
    assert transport.unplayed == []


async def test_replay_async_in_order_and_requests_recorded() -> None:
    interactions = [_interaction(b'{"n": 1}'), _interaction(b'{"n": 2}', status=500)]
    transport = ReplayTransport(interactions)
    async with httpx.AsyncClient(transport=transport) as client:
        first = await client.post("https://a.example/1", content=b"one")
        assert transport.unplayed == interactions[1:]
        second = await client.post("https://a.example/2", content=b"two")
    assert (first.status_code, first.json()) == (200, {"n": 1})
    assert (second.status_code, second.json()) == (500, {"n": 2})
    assert second.headers["x-n"] == "8"
    assert [r.content for r in transport.requests] == [b"one", b"two"]
    assert transport.unplayed == []


def test_too_many_requests_sync() -> None:
    transport = ReplayTransport([_interaction(b"{}")], name="cassettes/one.yaml")
    with httpx.Client(transport=transport) as client:
        client.get("https://a.example/1")
        with pytest.raises(ReplayExhaustedError) as caught:
            client.get("https://a.example/2")
    message = str(caught.value)
    assert "cassettes/one.yaml" in message
    assert "request 2 (GET https://a.example/2)" in message and "only 1 interactions" in message
    assert len(transport.requests) == 1


async def test_too_many_requests_async() -> None:
    transport = ReplayTransport([], name="empty.yaml")
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(CassetteError, match=r"empty\.yaml: request 1 .* only 0 interactions"):
            await client.post("https://a.example/1", json={})


def test_unplayed_and_assert_all_played() -> None:
    interactions = [_interaction(b"{}"), _interaction(b"[]")]
    transport = ReplayTransport.from_cassette(CORPUS / "openai/chat_text_basic.yaml")
    assert transport.name.endswith("chat_text_basic.yaml") and len(transport.unplayed) == 1
    transport = ReplayTransport(interactions, name="two.yaml")
    with httpx.Client(transport=transport) as client:
        client.get("https://a.example/")
    assert transport.unplayed == interactions[1:]
    with pytest.raises(CassetteError, match=r"two\.yaml: 1 of 2 recorded interactions were never"):
        transport.assert_all_played()


def test_one_transport_serves_sync_and_async_clients_in_turn() -> None:
    import asyncio

    interactions = [_interaction(b'{"n": 1}'), _interaction(b'{"n": 2}')]
    transport = ReplayTransport(interactions)
    with httpx.Client(transport=transport) as client:
        assert client.get("https://a.example/").json() == {"n": 1}

    async def second() -> Any:
        async with httpx.AsyncClient(transport=transport) as client:
            return (await client.get("https://a.example/")).json()

    assert asyncio.run(second()) == {"n": 2}
    assert transport.unplayed == []


def test_chunk_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        ReplayTransport([], chunk_size=0)
