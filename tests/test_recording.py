"""The vcrpy layer: cassette format, matching, the O(1) index, typed errors, scrubbing.

Secret-looking test values are assembled at run time (``"sk-" + ...``) so that no
literal in this file looks like a credential to a secret scanner.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import random
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from vcr.cassette import Cassette
from vcr.errors import UnhandledHTTPRequestError
from vcr.matchers import requests_match
from vcr.request import Request

import harness.cassettes.record as recording
from harness.cassettes import (
    CassetteError,
    CassetteNotFoundError,
    UnmatchedRequestError,
    load_cassette,
)
from harness.cassettes.bodies import raw_body
from harness.cassettes.lint import lint_cassettes
from harness.cassettes.match import MATCHERS, RequestMatcher, describe_difference, request_key
from harness.cassettes.record import IndexedCassette, make_vcr, unplayed, use_cassette
from harness.cassettes.scrub import Scrubber
from harness.cassettes.serializer import CassetteSerializer
from harness.emulator import Emulator, Reply, serve
from harness.lm import LM

OPENAI = "https://api.openai.com/v1/chat/completions"
JSON = {"content-type": "application/json"}
ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o-mini",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "pong"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}
FAKE_KEY = "sk-" + "fake" * 8


def chat(text: str) -> bytes:
    """The body ``LM("openai/gpt-4o-mini")`` sends for the prompt ``text``."""
    return LM("openai/gpt-4o-mini", api_key=FAKE_KEY).request(text).body


def record(
    path: Path,
    exchanges: list[tuple[dict[str, Any], httpx.Response]],
    **options: Any,
) -> None:
    """Record ``(request kwargs, response)`` pairs through vcrpy (``record_mode="once"``
    unless ``options`` say otherwise)."""
    responses = iter([response for _, response in exchanges])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(responses)

    with (
        use_cassette(path, **{"record_mode": "once", **options}),
        httpx.Client(transport=httpx.MockTransport(handler)) as client,
    ):
        for kwargs, _ in exchanges:
            client.request(**{"method": "POST", **kwargs})


def post(body: bytes | str, url: str = OPENAI) -> dict[str, Any]:
    return {"url": url, "content": body, "headers": JSON}


def eventstream(*payloads: bytes) -> bytes:
    """AWS eventstream messages (no headers) carrying ``payloads``."""
    frames = []
    for payload in payloads:
        prelude = struct.pack(">II", 16 + len(payload), 0)
        message = prelude + struct.pack(">I", zlib.crc32(prelude)) + payload
        frames.append(message + struct.pack(">I", zlib.crc32(message)))
    return b"".join(frames)


def replay(path: Path, bodies: list[bytes], **options: Any) -> list[httpx.Response]:
    with use_cassette(path, **options), httpx.Client() as client:
        return [client.post(OPENAI, content=body, headers=JSON) for body in bodies]


# --- cassette format ------------------------------------------------------------------


def test_json_bodies_are_yaml_mappings_rebuilt_compact(tmp_path: Path) -> None:
    path = tmp_path / "openai" / "plain.yaml"
    spaced = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}, indent=2)
    record(path, [(post(spaced), httpx.Response(200, json=ANSWER))])

    stored = yaml.safe_load(path.read_text())
    assert stored["version"] == 1
    request, response = stored["interactions"][0]["request"], stored["interactions"][0]["response"]
    assert request["body"] == {"json": json.loads(spaced)}
    assert response["body"] == {"json": ANSWER}

    loaded = CassetteSerializer().deserialize(path.read_text())["interactions"][0]
    compact = json.dumps(ANSWER, separators=(",", ":"))
    assert loaded["request"]["body"] == json.dumps(json.loads(spaced), separators=(",", ":"))
    assert loaded["response"]["body"]["string"] == compact
    assert loaded["response"]["headers"]["content-length"] == [str(len(compact))]
    assert replay(path, [spaced.encode()])[0].json() == ANSWER


def test_sse_is_a_literal_block_and_replays_byte_for_byte(tmp_path: Path) -> None:
    sse = b'data: {"a": 1}\n\ndata: {"b": 2}\n\ndata: [DONE]\n\n'
    headers = {"content-type": "text/event-stream"}
    path = tmp_path / "sse.yaml"
    record(path, [(post(b"{}"), httpx.Response(200, content=sse, headers=headers))])
    text = path.read_text()
    assert "string: |" in text and 'data: {"a": 1}\n' in text
    assert replay(path, [b"{}"])[0].content == sse


def test_eventstream_is_binary_and_replays_byte_for_byte(tmp_path: Path) -> None:
    body = eventstream(b'{"delta":{"text":"po"}}', b'{"delta":{"text":"ng"}}')
    headers = {"content-type": "application/vnd.amazon.eventstream"}
    path = tmp_path / "stream.yaml"
    record(path, [(post(b"{}"), httpx.Response(200, content=body, headers=headers))])
    assert "!!binary" in path.read_text()
    assert replay(path, [b"{}"])[0].content == body


def test_compressed_responses_are_stored_decoded(tmp_path: Path) -> None:
    headers = {"content-encoding": "gzip", "content-type": "application/json"}
    compressed = gzip.compress(json.dumps(ANSWER).encode())
    path = tmp_path / "gzip.yaml"
    record(path, [(post(b"{}"), httpx.Response(200, content=compressed, headers=headers))])
    stored = yaml.safe_load(path.read_text())["interactions"][0]["response"]
    assert stored["body"] == {"json": ANSWER}
    assert "content-encoding" not in stored["headers"]
    assert replay(path, [b"{}"])[0].json() == ANSWER


def test_output_is_stable_with_sorted_lower_case_headers(tmp_path: Path) -> None:
    response = httpx.Response(200, json=ANSWER, headers={"X-B": "2", "X-A": "1", "Date": "d"})
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    record(first, [(post(chat("ping")), response)])
    record(
        second, [(post(chat("ping")), httpx.Response(200, json=ANSWER, headers=response.headers))]
    )
    assert first.read_text() == second.read_text()
    headers = yaml.safe_load(first.read_text())["interactions"][0]["response"]["headers"]
    assert list(headers) == sorted(headers) and all(name.islower() for name in headers)
    document = CassetteSerializer().deserialize(first.read_text())
    assert CassetteSerializer().serialize(document) == first.read_text()


TEXT = st.text(st.characters(exclude_categories=["Cs"]))
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)


def vcr_dict(request_body: Any, response_body: Any) -> dict[str, Any]:
    """A cassette as vcrpy hands it to a serializer (one interaction)."""
    return {
        "version": 1,
        "interactions": [
            {
                "request": {"method": "POST", "uri": OPENAI, "headers": {}, "body": request_body},
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {"Content-Length": ["0"]},
                    "body": {"string": response_body},
                },
            }
        ],
    }


@settings(max_examples=150, deadline=None)
@given(st.lists(JSON_VALUES, max_size=3) | st.dictionaries(TEXT, JSON_VALUES, max_size=3))
def test_any_json_body_round_trips(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False)
    serializer = CassetteSerializer()
    loaded = serializer.deserialize(serializer.serialize(vcr_dict(text, text.encode())))
    interaction = loaded["interactions"][0]
    assert json.loads(interaction["request"]["body"]) == value
    compact = interaction["response"]["body"]["string"]
    assert json.loads(compact) == value
    assert interaction["response"]["headers"]["content-length"] == [str(len(compact.encode()))]


@settings(max_examples=150, deadline=None)
@given(TEXT.filter(lambda text: text.lstrip()[:1] not in ("{", "[")), st.binary())
def test_any_text_or_binary_body_round_trips(text: str, data: bytes) -> None:
    serializer = CassetteSerializer()
    loaded = serializer.deserialize(serializer.serialize(vcr_dict(text, data)))
    interaction = loaded["interactions"][0]
    assert interaction["request"]["body"] == text
    stored = interaction["response"]["body"]["string"]
    assert (stored.encode() if isinstance(stored, str) else stored) == data


GEMINI_STREAM = "https://generativelanguage.googleapis.com/v1beta/models/g:streamGenerateContent"
ARRAY_STREAM = (
    b'[{\n  "candidates": [{"content": {"parts": [{"text": "po"}]}}]\n}\n,\r\n'
    b'{\n  "candidates": [{"content": {"parts": [{"text": "ng"}]}}]\n}\n]'
)


def test_json_array_streams_are_stored_verbatim_and_replay_byte_for_byte(tmp_path: Path) -> None:
    """Gemini's stream without ``alt=sse`` is one JSON array whose elements are separated
    by ``\\n,\\r\\n``: a client may split on those, so they must replay as recorded."""
    path = tmp_path / "gemini" / "stream.yaml"
    exchange = (post(b"{}", GEMINI_STREAM), httpx.Response(200, content=ARRAY_STREAM, headers=JSON))
    record(path, [exchange])
    stored = yaml.safe_load(path.read_text())["interactions"][0]["response"]["body"]
    assert stored == {"string": ARRAY_STREAM.decode()}
    with use_cassette(path), httpx.Client() as client:
        response = client.post(GEMINI_STREAM, content=b"{}", headers=JSON)
    assert response.content == ARRAY_STREAM
    assert response.headers["content-length"] == str(len(ARRAY_STREAM))
    (interaction,) = load_cassette(path)
    assert interaction.response.body == ARRAY_STREAM


@settings(max_examples=100, deadline=None)
@given(
    st.lists(JSON_VALUES, max_size=3),
    st.sampled_from([None, 1, 2]),
    st.sampled_from(["", " ", "\n", "\r\n"]),
)
def test_any_json_array_text_round_trips_verbatim(value: Any, indent: Any, tail: str) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=False) + tail
    serializer = CassetteSerializer()
    loaded = serializer.deserialize(serializer.serialize(vcr_dict(text, text.encode())))
    interaction = loaded["interactions"][0]
    assert interaction["request"]["body"] == text
    stored = interaction["response"]["body"]["string"]
    assert (stored.encode() if isinstance(stored, str) else stored) == text.encode()


def test_json_arrays_stored_under_json_by_older_versions_still_load(tmp_path: Path) -> None:
    path = tmp_path / "old.yaml"
    path.write_text(
        "interactions:\n"
        "- request:\n"
        "    body:\n      json: [1, {b: 2}]\n"
        "    headers: {content-type: [application/json]}\n"
        f"    method: POST\n    uri: {OPENAI}\n"
        "  response:\n"
        "    body:\n      json: [{a: 1}, {b: [2, 3]}]\n"
        "    headers: {content-length: ['0'], content-type: [application/json]}\n"
        "    status: {code: 200, message: OK}\n"
        "version: 1\n"
    )
    with use_cassette(path) as cassette, httpx.Client() as client:
        response = client.post(OPENAI, content=b'[1, {"b": 2}]', headers=JSON)
        assert unplayed(cassette) == []
    assert response.content == b'[{"a":1},{"b":[2,3]}]'
    assert response.headers["content-length"] == str(len(response.content))
    (interaction,) = load_cassette(path)
    assert interaction.response.body == response.content


def test_the_corpus_loader_reads_this_format(tmp_path: Path) -> None:
    path = tmp_path / "plain.yaml"
    record(path, [(post(chat("ping")), httpx.Response(200, json=ANSWER))])
    (interaction,) = load_cassette(path)
    assert interaction.request.json() == json.loads(chat("ping"))
    assert interaction.response.json() == ANSWER
    assert interaction.response.headers["content-length"] == str(len(interaction.response.body))


# --- saving ---------------------------------------------------------------------------------


def test_a_recording_that_raises_is_not_saved(tmp_path: Path) -> None:
    """An exception after the first of two requests must not leave a cassette that looks
    complete with one interaction; re-recording over a good cassette keeps it."""
    path = tmp_path / "two.yaml"

    def failing(mode: str) -> None:
        with (
            pytest.raises(RuntimeError, match="scenario failed"),
            use_cassette(path, record_mode=mode),
            httpx.Client(transport=httpx.MockTransport(lambda _: numbered(200, 9))) as client,
        ):
            client.post(OPENAI, content=b'{"q":0}', headers=JSON)
            raise RuntimeError("scenario failed")

    failing("once")
    assert not path.exists()
    record(path, [(post(f'{{"q":{n}}}'), numbered(200, n)) for n in range(2)])
    good = path.read_bytes()
    failing("all")
    assert path.read_bytes() == good


def test_a_failed_save_leaves_the_old_cassette_whole(tmp_path: Path) -> None:
    """Whatever fails while the new text is written, the old cassette stays as it was and
    nothing else is left in its directory (vcrpy's own persister truncated it first)."""
    path = tmp_path / "cassette.yaml"
    record(path, [(post(b'{"q":0}'), numbered(200, 0))])
    good = path.read_bytes()

    class Unencodable:  # a lone surrogate at the end: no encoding takes it
        def serialize(self, cassette_dict: dict[str, Any]) -> str:
            return CassetteSerializer().serialize(cassette_dict) + "\ud800"

    cassette = {
        "requests": [Request("POST", OPENAI, b'{"q":1}', JSON)],
        "responses": [
            {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {"string": b"{}"}}
        ],
    }
    # the persister ``use_cassette`` saves with (called directly: vcrpy leaves its patches
    # in place when saving raises inside ``use_cassette``)
    persister = make_vcr().persister
    with pytest.raises(UnicodeEncodeError):
        persister.save_cassette(path, cassette, serializer=Unencodable())
    assert path.read_bytes() == good
    assert [file.name for file in tmp_path.iterdir()] == ["cassette.yaml"]


RERECORD = """
import sys

import httpx

from harness.cassettes.record import use_cassette

path, url = sys.argv[1], sys.argv[2]
answer = {"text": "caf\\u00e9 \\u2713"}
transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
with use_cassette(path, record_mode="all"), httpx.Client(transport=transport) as client:
    client.post(url, content=b'{"q":1}')
with use_cassette(path), httpx.Client() as client:
    assert client.post(url, content=b'{"q":1}').json() == answer
"""


def test_cassettes_are_utf8_whatever_the_locale(tmp_path: Path) -> None:
    """Re-recording under an ASCII locale: vcrpy's own persister truncated the cassette,
    then failed to encode a non-ASCII body, leaving 0 bytes."""
    path = tmp_path / "cassette.yaml"
    record(path, [(post(b'{"q":0}'), numbered(200, 0))])
    script = tmp_path / "rerecord.py"
    script.write_text(RERECORD)
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("LC_", "LANG", "PYTHONUTF8", "PYTHONIOENCODING"))
    }
    root = str(Path(recording.__file__).resolve().parents[2])
    environment.update(LC_ALL="C", PYTHONCOERCECLOCALE="0", PYTHONUTF8="0", PYTHONPATH=root)
    result = subprocess.run(
        [sys.executable, str(script), str(path), OPENAI],
        env=environment,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        check=False,
    )
    assert result.returncode == 0, result.stderr
    text = path.read_bytes().decode("utf-8")
    assert "caf\u00e9 \u2713" in text and '"q":0' not in text
    assert sorted(file.name for file in tmp_path.iterdir()) == ["cassette.yaml", "rerecord.py"]


# --- matching ---------------------------------------------------------------------------

ARN = "arn:aws:bedrock:{region}:{account}:inference-profile/us.amazon.nova-micro-v1:0"


def bedrock(region: str, account: str, body: bytes = b"{}") -> Request:
    model = ARN.format(region=region, account=account).replace(":", "%3A").replace("/", "%2F")
    uri = f"https://bedrock-runtime.{region}.amazonaws.com/model/{model}/converse"
    return Request("POST", uri, body, JSON)


def test_region_and_account_ids_are_ignored() -> None:
    recorded = bedrock("us-east-1", "123456789012")
    assert request_key(recorded) == request_key(bedrock("eu-west-1", "210987654321"))
    assert request_key(recorded) != request_key(bedrock("eu-west-1", "210987654321", b"[1]"))
    arn_body = json.dumps({"guardrail": ARN.format(region="us-east-1", account="123456789012")})
    other_body = json.dumps({"guardrail": ARN.format(region="us-west-2", account="000000000000")})
    assert request_key(bedrock("us-east-1", "1", arn_body.encode())) == request_key(
        bedrock("us-east-1", "1", other_body.encode())
    )


def test_percent_encoded_and_decoded_paths_match() -> None:
    """aiohttp (yarl) sends ``:`` where httpx sent ``%3A``."""
    encoded = bedrock("us-east-1", "123456789012")
    decoded = Request("POST", encoded.uri.replace("%3A", ":"), b"{}", JSON)
    assert request_key(encoded) == request_key(decoded)


@pytest.mark.parametrize(
    ("first", "second", "equal"),
    [
        ("?alt=sse&key=one", "?key=two&alt=sse", True),
        ("?alt=sse", "?alt=sse&key=two", True),
        ("?alt=sse", "?alt=json", False),
        ("", "?beta=true", False),
    ],
)
def test_query_is_compared_without_key(first: str, second: str, equal: bool) -> None:
    url = "https://generativelanguage.googleapis.com/v1beta/models/g:streamGenerateContent"
    one, two = Request("POST", url + first, b"", {}), Request("POST", url + second, b"", {})
    assert (request_key(one) == request_key(two)) is equal


@pytest.mark.parametrize(
    ("first", "second", "equal"),
    [
        (b'{"a":1,"b":[1,2]}', b'{ "b": [1, 2],\n "a": 1 }', True),
        (b'{"a":1}', b'{"a":2}', False),
        (b'{"b":[1,2]}', b'{"b":[2,1]}', False),
        (b"raw text", b"raw text", True),
        (b"raw text", b"raw  text", False),
        (b"", b"", True),
    ],
)
def test_body_is_compared_as_canonical_json(first: bytes, second: bytes, equal: bool) -> None:
    one, two = Request("POST", OPENAI, first, JSON), Request("POST", OPENAI, second, JSON)
    assert (request_key(one) == request_key(two)) is equal
    assert requests_match(one, two, list(MATCHERS.values())) is equal


def test_matchers_name_the_differing_field() -> None:
    one = Request("POST", OPENAI, b'{"a":1}', JSON)
    two = Request("GET", OPENAI.replace("api.openai", "example"), b'{"a":1}', JSON)
    failed = [name for name, matcher in MATCHERS.items() if not _passes(matcher, one, two)]
    assert failed == ["method", "host"]


def _passes(matcher: Callable[[Any, Any], None], one: Request, two: Request) -> bool:
    try:
        matcher(one, two)
    except AssertionError:
        return False
    return True


def test_replay_in_another_region(tmp_path: Path) -> None:
    path = tmp_path / "bedrock.yaml"
    recorded = bedrock("us-east-1", "123456789012")
    record(
        path,
        [
            (
                {"url": recorded.uri, "content": b"{}", "headers": JSON},
                httpx.Response(200, json=ANSWER),
            )
        ],
    )
    elsewhere = bedrock("eu-west-1", "210987654321")
    with use_cassette(path), httpx.Client() as client:
        assert client.post(elsewhere.uri, content=b"{}", headers=JSON).json() == ANSWER


# --- the index: vcrpy's semantics, without the scan -------------------------------------


def numbered(status: int, number: int) -> httpx.Response:
    return httpx.Response(status, json={"n": number})


def test_identical_requests_play_in_recorded_order(tmp_path: Path) -> None:
    """A retry: the same request got 429, then 200."""
    path = tmp_path / "retry.yaml"
    record(path, [(post(b'{"q":1}'), numbered(429, 0)), (post(b'{"q":1}'), numbered(200, 1))])
    with use_cassette(path) as cassette, httpx.Client() as client:
        statuses = [client.post(OPENAI, content=b'{"q":1}').status_code for _ in range(2)]
        assert statuses == [429, 200]
        with pytest.raises(UnmatchedRequestError, match="already played"):
            client.post(OPENAI, content=b'{"q":1}')
        assert unplayed(cassette) == []


def test_allow_playback_repeats_replays_the_first_match(tmp_path: Path) -> None:
    """vcrpy's rule: with repeats allowed, the first matching interaction answers."""
    path = tmp_path / "repeats.yaml"
    record(path, [(post(b'{"q":1}'), numbered(429, 0)), (post(b'{"q":1}'), numbered(200, 1))])
    responses = replay(path, [b'{"q":1}'] * 3, allow_playback_repeats=True)
    assert [response.json()["n"] for response in responses] == [0, 0, 0]


def test_threads_replaying_identical_requests_each_get_their_own(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "threads.yaml"
    record(path, [(post(b'{"q":1}'), numbered(200, n)) for n in range(40)])
    with use_cassette(path) as cassette, httpx.Client() as client:

        def five(_: int) -> list[int]:
            return [client.post(OPENAI, content=b'{"q":1}').json()["n"] for _ in range(5)]

        with ThreadPoolExecutor(8) as pool:
            served = sorted(n for batch in pool.map(five, range(8)) for n in batch)
        assert served == list(range(40))
        assert unplayed(cassette) == []


def cassette_pair(path: Path, repeats: bool) -> tuple[Cassette, IndexedCassette]:
    config = make_vcr().get_merged_config(
        path=str(path), record_mode="none", allow_playback_repeats=repeats
    )
    for name in ("path_transformer", "func_path_generator", "record_on_exception"):
        config.pop(name)
    return Cassette.load(**config), IndexedCassette.load(**config)


@pytest.mark.parametrize("repeats", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_same_answers_as_vcrpy_scan(tmp_path: Path, repeats: bool, seed: int) -> None:
    """Random request sequences get the same responses, misses, ``in`` answers and play
    counts from ``IndexedCassette`` as from vcrpy's own ``Cassette``."""
    rng = random.Random(seed)
    recorded = [rng.randrange(6) for _ in range(20)]  # duplicates on purpose
    path = tmp_path / "random.yaml"
    record(path, [(post(f'{{"q":{q}}}'), numbered(200, n)) for n, q in enumerate(recorded)])
    stock, indexed = cassette_pair(path, repeats)
    for step in range(60):
        if step == 40:
            stock.rewind()
            indexed.rewind()
        request = Request("POST", OPENAI, f'{{"q":{rng.randrange(8)}}}', JSON)
        assert (request in stock) == (request in indexed)
        assert [i for i, _ in stock._responses(request)] == [
            i for i, _ in indexed._responses(request)
        ]
        assert _outcome(stock, request) == _outcome(indexed, request)
        assert stock.play_counts == indexed.play_counts
    assert unplayed(stock) == unplayed(indexed)


def _outcome(cassette: Cassette, request: Request) -> Any:
    try:
        return cassette.play_response(request)["body"]
    except (UnhandledHTTPRequestError, UnmatchedRequestError):
        return "miss"


def test_a_lookup_costs_one_key_whatever_the_size(tmp_path: Path) -> None:
    recorded: set[int] = set()
    calls: list[int] = []

    def counting_key(request: Any) -> Any:
        if id(request) not in recorded:  # keys of the live request only, not the index
            calls.append(1)
        return request_key(request)

    counting = RequestMatcher("counting", counting_key, describe_difference)
    for size in (10, 300):
        path = tmp_path / f"n{size}.yaml"
        record(path, [(post(f'{{"q":{n}}}'), numbered(200, n)) for n in range(size)])
        with use_cassette(path, matcher=counting) as cassette, httpx.Client() as client:
            recorded.update(id(request) for request, _ in cassette.data)
            calls.clear()
            assert client.post(OPENAI, content=f'{{"q":{size - 1}}}').json() == {"n": size - 1}
            assert len(calls) == 1  # asked once, remembered for play_response
            assert unplayed(cassette) == list(range(size - 1))


# --- errors ------------------------------------------------------------------------------


@pytest.fixture
def openai_cassette(tmp_path: Path) -> Path:
    path = tmp_path / "openai" / "plain_text.yaml"
    record(path, [(post(chat("ping")), httpx.Response(200, json=ANSWER))])
    return path


def _error(call: Callable[[], Any]) -> UnmatchedRequestError:
    with pytest.raises(UnmatchedRequestError) as info:
        call()
    assert type(info.value) is UnmatchedRequestError  # not wrapped on the way out
    return info.value


async def test_unmatched_request_error_is_the_same_sync_and_async(openai_cassette: Path) -> None:
    lm = LM("openai/gpt-4o-mini", api_key=FAKE_KEY)
    request = lm.request("pong")
    with use_cassette(openai_cassette):
        from_lm = _error(lambda: lm("pong"))
        with httpx.Client() as client:
            from_httpx = _error(
                lambda: client.post(request.url, content=request.body, headers=request.headers)
            )
        with pytest.raises(UnmatchedRequestError) as info:
            await lm.acall("pong")  # through httpx_aiohttp and aiohttp
        from_aiohttp = info.value
    assert type(from_aiohttp) is UnmatchedRequestError
    assert str(from_lm) == str(from_httpx) == str(from_aiohttp)
    message = str(from_lm)
    assert str(openai_cassette) in message
    assert f"POST {OPENAI}" in message
    assert '"content":"pong"' in message
    assert "closest:  [0] POST" in message
    assert 'body at $.messages[0].content: recorded "ping", requested "pong"' in message
    assert (from_lm.closest, from_lm.field) == (0, "body")
    assert isinstance(from_lm, CassetteError)
    copied = pickle.loads(pickle.dumps(from_lm))  # crosses process boundaries intact
    assert (str(copied), copied.field, copied.cassette_path) == (
        message,
        "body",
        str(openai_cassette),
    )


async def test_already_played_is_explained_the_same_sync_and_async(openai_cassette: Path) -> None:
    lm = LM("openai/gpt-4o-mini", api_key=FAKE_KEY)
    with use_cassette(openai_cassette):
        assert lm("ping").text == "pong"
        sync = _error(lambda: lm("ping"))
        with pytest.raises(UnmatchedRequestError) as info:
            await lm.acall("ping")
    assert str(info.value) == str(sync)
    assert "identical, but already played" in str(sync) and sync.field is None


def test_the_error_names_the_first_differing_field(openai_cassette: Path) -> None:
    with use_cassette(openai_cassette), httpx.Client() as client:
        error = _error(lambda: client.get(OPENAI))
        assert error.field == "method"
        assert "differs:  method recorded 'POST', requested 'GET'" in str(error)
        error = _error(lambda: client.post(OPENAI + "?x=1", content=chat("ping")))
        assert error.field == "query"


def test_a_missing_cassette_says_how_to_record_it(tmp_path: Path) -> None:
    command = "pytest conformance/ --provider openai -k plain_text --record-mode=once"
    path = tmp_path / "openai" / "plain_text.yaml"
    with pytest.raises(CassetteNotFoundError) as info, use_cassette(path, record_command=command):
        pass
    assert command in str(info.value) and str(path) in str(info.value)
    assert isinstance(info.value, CassetteError)
    path.parent.mkdir()
    path.write_text("")
    with pytest.raises(CassetteNotFoundError, match="is empty"), use_cassette(path):
        pass


def test_a_broken_cassette_is_a_cassette_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("interactions: [unclosed")
    with pytest.raises(CassetteError, match=r"broken\.yaml"), use_cassette(path):
        pass


def test_unplayed_lists_what_was_never_requested(tmp_path: Path) -> None:
    path = tmp_path / "three.yaml"
    record(path, [(post(f'{{"q":{n}}}'), numbered(200, n)) for n in range(3)])
    with use_cassette(path) as cassette, httpx.Client() as client:
        assert unplayed(cassette) == [0, 1, 2]
        client.post(OPENAI, content=b'{"q":1}')
        assert unplayed(cassette) == [0, 2]


# --- scrubbing -----------------------------------------------------------------------------

ACCOUNT = "1234" * 3
UUID = "8f2c1b7e-" + "4d3a-4c1e-9b2f-" + "5a6b7c8d9e0f"
SECRETS = {
    "openai-key": "sk-" + "proj-" + "Ab1" * 16,
    "anthropic-key": "sk-" + "ant-api03-" + "Zy9" * 14,
    "google-key": "AIza" + "Sy" + "Q7" * 16 + "x",
    "aws-access-key-id": "AKIA" + "Q7W3" * 4,
    "aws-session-token": "FwoGZXIvYXdzE" + "Kp9" * 20,
    "sigv4-signature": "9c" * 32,
    "presigned-signature": "3e" * 32,
    "cookie": "session=" + "c0ok1e" * 5,
    "set-cookie": "__cf_bm=" + "s3tc00k" * 5,
    "openai-org-header": "org-" + "Hd7" * 8,
    "openai-project-header": "proj_" + "Pj4" * 8,
    "openai-org-in-body": "org-" + "Bd2" * 8,
    "openai-project-in-body": "proj_" + "Bp5" * 8,
    "anthropic-org-id": UUID,
    "account-id": ACCOUNT,
    "key-query": "AIza" + "Qk" * 17 + "9",
}


@pytest.fixture(scope="module")
def scrubbed_cassette(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One cassette recorded with every kind of secret planted in requests and responses."""
    s = SECRETS
    arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.amazon.nova-micro-v1:0"
    sigv4 = (
        f"AWS4-HMAC-SHA256 Credential={s['aws-access-key-id']}/20250101/us-east-1/bedrock/"
        f"aws4_request, SignedHeaders=host;x-amz-date, Signature={s['sigv4-signature']}"
    )
    bedrock_uri = (
        f"https://bedrock-runtime.us-east-1.amazonaws.com/model/{arn.replace(':', '%3A')}/converse"
    )
    presigned = (
        f"https://example.s3.amazonaws.com/object?X-Amz-Credential={s['aws-access-key-id']}"
        f"%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature={s['presigned-signature']}"
        f"&X-Amz-Security-Token={s['aws-session-token']}"
    )
    echo = {
        "error": f"key {s['openai-key']} of {s['openai-org-in-body']} "
        f"in {s['openai-project-in-body']}",
        "organization_id": UUID,
        "model": arn,
        "anthropic": s["anthropic-key"],
    }
    response_headers = [
        ("set-cookie", s["set-cookie"]),
        ("openai-organization", s["openai-org-header"]),
        ("openai-project", s["openai-project-header"]),
        ("anthropic-organization-id", s["anthropic-org-id"]),
        ("x-amz-content-sha256", "e3b0c442" * 8),
    ]
    stream_headers = {"content-type": "application/vnd.amazon.eventstream"}
    exchanges: list[tuple[dict[str, Any], httpx.Response]] = [
        (
            {
                "url": OPENAI,
                "content": b"{}",
                "headers": {
                    "authorization": f"Bearer {s['openai-key']}",
                    "openai-organization": s["openai-org-header"],
                    "openai-project": s["openai-project-header"],
                    "cookie": s["cookie"],
                },
            },
            httpx.Response(200, json=echo, headers=response_headers),
        ),
        (
            {
                "url": "https://api.anthropic.com/v1/messages",
                "content": b"{}",
                "headers": {"x-api-key": s["anthropic-key"], "anthropic-organization-id": UUID},
            },
            httpx.Response(200, json={"ok": True}, headers={"anthropic-organization-id": UUID}),
        ),
        (
            {
                "url": f"https://generativelanguage.googleapis.com/v1beta/models/g:generateContent?key={s['key-query']}&alt=json",
                "content": b"{}",
                "headers": {"x-goog-api-key": s["google-key"]},
            },
            httpx.Response(200, json={"ok": True}),
        ),
        (
            {
                "url": bedrock_uri,
                "content": json.dumps({"guardrail": arn}).encode(),
                "headers": {
                    "authorization": sigv4,
                    "x-amz-security-token": s["aws-session-token"],
                    "x-amz-content-sha256": "e3b0c442" * 8,
                },
            },
            httpx.Response(
                200, content=eventstream(json.dumps({"arn": arn}).encode()), headers=stream_headers
            ),
        ),
        ({"method": "GET", "url": presigned}, httpx.Response(200, text="ok")),
    ]
    path = tmp_path_factory.mktemp("scrub") / "secrets.yaml"
    record(path, exchanges)
    return path.read_text()


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_no_planted_secret_is_written(scrubbed_cassette: str, kind: str) -> None:
    assert SECRETS[kind] not in scrubbed_cassette


def test_scrubbing_keeps_structure(scrubbed_cassette: str) -> None:
    text = scrubbed_cassette
    assert "Credential=REDACTED/20250101/us-east-1/bedrock/aws4_request" in text
    assert "Signature=REDACTED" in text and "key=REDACTED&alt=json" in text
    assert "arn:aws:bedrock:us-east-1:000000000000:inference-profile" in text
    assert "arn%3Aaws%3Abedrock%3Aus-east-1%3A000000000000%3A" in text
    assert "e3b0c442" * 8 in text  # x-amz-content-sha256 is no secret
    assert "- REDACTED" in text


def test_scrubbed_eventstream_stays_valid(scrubbed_cassette: str) -> None:
    from botocore.eventstream import EventStreamBuffer

    document = yaml.safe_load(scrubbed_cassette)
    body = document["interactions"][3]["response"]["body"]["string"]
    buffer = EventStreamBuffer()
    buffer.add_data(body)  # checks lengths and CRCs
    (message,) = list(buffer)
    assert json.loads(message.payload)["arn"].split(":")[4] == "000000000000"


def test_scrubbed_cassette_passes_the_linter(scrubbed_cassette: str, tmp_path: Path) -> None:
    (tmp_path / "secrets.yaml").write_text(scrubbed_cassette)
    assert [str(finding) for finding in lint_cassettes(tmp_path)] == []


@pytest.mark.parametrize(
    "body",
    [
        {"api_key": SECRETS["anthropic-key"], "n": 1},
        [{"api_key": SECRETS["anthropic-key"]}, 1],
        iter([b'{"api_key": "', SECRETS["anthropic-key"].encode(), b'", "n": 1}']),
    ],
    ids=["mapping", "list", "chunks"],
)
def test_bodies_vcrpy_holds_unencoded_are_scrubbed_as_json(body: Any) -> None:
    """vcrpy's aiohttp stub keeps ``json=``/``data={...}`` as the object passed: the hook
    and the serializer turn it into the bytes ``request_key`` matches, then scrub them."""
    secret = SECRETS["anthropic-key"]
    request = Scrubber().request(Request("POST", OPENAI, body, JSON))
    assert not isinstance(request.body, (dict, list))  # bytes (or chunks of bytes) now
    scrubbed = raw_body(request)
    assert secret.encode() not in scrubbed
    assert b"sk-ant-REDACTED" in scrubbed
    assert request_key(request)[4] == request_key(Request("POST", OPENAI, scrubbed, JSON))[4]


@pytest.mark.parametrize(
    "body",
    [{"api_key": SECRETS["anthropic-key"], "n": 1}, [{"api_key": SECRETS["anthropic-key"]}, 1]],
    ids=["mapping", "list"],
)
def test_the_serializer_writes_unencoded_bodies_as_scrubbed_json(body: Any) -> None:
    """Not ``str(body)``: the Python repr, secrets in clear, that never matches on replay."""
    secret = SECRETS["anthropic-key"]
    text = CassetteSerializer().serialize(vcr_dict(body, b"{}"))
    assert secret not in text
    stored = yaml.safe_load(text)["interactions"][0]["request"]["body"]
    expected = json.loads(json.dumps(body).replace(secret, "sk-ant-REDACTED"))
    assert stored == ({"json": expected} if isinstance(body, dict) else json.dumps(expected))


async def test_aiohttp_json_argument_is_scrubbed_and_replays(tmp_path: Path) -> None:
    import aiohttp

    secret = SECRETS["openai-key"]
    body = {"model": "gpt-test", "user": secret, "messages": [{"role": "user", "content": "hi"}]}
    path = tmp_path / "json_argument.yaml"
    with serve(Emulator([Reply("pong")])) as url:
        with use_cassette(path, record_mode="once"):
            async with (
                aiohttp.ClientSession() as session,
                session.post(f"{url}/v1/chat/completions", json=body) as response,
            ):
                recorded = await response.json()
        text = path.read_text()
        assert secret not in text
        stored = yaml.safe_load(text)["interactions"][0]["request"]["body"]
        assert stored == {"json": {**body, "user": "sk-REDACTED"}}
        assert lint_cassettes(path) == []
    with use_cassette(path) as cassette:  # the server is gone
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{url}/v1/chat/completions", json=body) as response,
        ):
            assert await response.json() == recorded
        assert unplayed(cassette) == []


# --- aiohttp records, httpx replays ---------------------------------------------------------


async def test_recorded_through_aiohttp_replays_through_httpx(tmp_path: Path) -> None:
    path = tmp_path / "loopback.yaml"
    with serve(Emulator([Reply("pong")])) as url:
        lm = LM("openai/gpt-test", api_key=FAKE_KEY, base_url=f"{url}/v1")
        with use_cassette(path, record_mode="once"):
            recorded = await lm.acall("ping")
    assert FAKE_KEY not in path.read_text()
    with use_cassette(path) as cassette:  # the server is gone
        assert lm("ping") == recorded
        assert unplayed(cassette) == []


def test_a_truncated_cassette_names_the_file_the_interaction_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "cut.yaml"
    record(path, [(post(b'{"q":0}'), numbered(200, 0)), (post(b'{"q":1}'), numbered(200, 1))])
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.rindex("  response:")], encoding="utf-8")  # cut mid-way
    with pytest.raises(CassetteError) as caught, use_cassette(path):
        pass
    message = str(caught.value)
    assert str(path) in message and "interaction 2 of 2" in message
    assert "'response' key is missing" in message and "truncated or malformed" in message
