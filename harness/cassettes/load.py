"""Recorded HTTP traffic: one loader for every cassette layout, and an offline replayer.

``load_cassette`` turns any cassette the suite meets into the same plain data (a list of
``Interaction``):

- vcrpy YAML (``interactions:`` + ``version: 1``), whatever serializer wrote it: bodies as
  plain strings, ``!!binary`` bytes (possibly gzip/deflate-compressed, with the
  ``Content-Encoding`` header kept), ``body: {string: ...}``, pydantic-ai's
  ``parsed_body`` mapping (rebuilt with ``json.dumps``) or our own ``body: {json: ...}``
  (``harness.cassettes.serializer``, rebuilt compact); header values as lists, scalars or
  ``!!binary`` bytes, names in any case;
- langchain-aws's gzip-compressed YAML with parallel ``requests:`` / ``responses:`` lists
  (every header value ``**REDACTED**``).

After loading, header names are lower-case and single-valued, bodies are decompressed
(``content-encoding`` removed, ``content-length`` corrected), and a missing or redacted
``content-type`` is inferred from the body.

``ReplayTransport`` serves such a list, in order, to ``httpx.Client`` and
``httpx.AsyncClient`` without touching the network, streaming every body in small chunks.

Test support: needs PyYAML (the ``test`` extra); nothing in the client imports it.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import struct
import threading
import zlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from harness.cassettes.errors import (
    CassetteError,
    CassetteNotFoundError,
    ReplayExhaustedError,
    UnmatchedRequestError,
)

__all__ = [
    "REDACTED",
    "CassetteError",
    "CassetteNotFoundError",
    "Interaction",
    "MalformedCassetteError",
    "RecordedRequest",
    "RecordedResponse",
    "ReplayExhaustedError",
    "ReplayTransport",
    "UnmatchedRequestError",
    "cassette_problem",
    "interactions_from_document",
    "load_cassette",
    "read_document",
]

REDACTED = "**REDACTED**"
"""The placeholder langchain-aws (and our own scrubber) puts in place of a header value."""

JSON_TYPE = "application/json"
SSE_TYPE = "text/event-stream"
EVENTSTREAM_TYPE = "application/vnd.amazon.eventstream"


MALFORMED_HINT = (
    "the cassette is truncated or malformed: restore it from version control, or record it again"
)


class MalformedCassetteError(CassetteError):
    """A cassette file that is not a whole cassette (cut short, hand-edited wrongly...).

    ``path`` is the file, ``interaction`` the 1-based index of the bad interaction (None
    when the problem is the file as a whole) and ``key`` the missing or bad key, if any.
    """

    def __init__(
        self,
        path: str,
        problem: str,
        *,
        interaction: int | None = None,
        count: int | None = None,
        key: str | None = None,
    ) -> None:
        where = path
        if interaction is not None:
            where += f": interaction {interaction}" + (f" of {count}" if count else "")
        super().__init__(f"{where}: {problem}; {MALFORMED_HINT}")
        self.path = path
        self.interaction = interaction
        self.key = key


# --- data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """A recorded request. Header names are lower-case; the body is decompressed."""

    method: str
    uri: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class RecordedResponse:
    """A recorded response, as a client would see it after transfer decoding."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Interaction:
    request: RecordedRequest
    response: RecordedResponse


# --- loading -------------------------------------------------------------------------

_GZIP_MAGIC = b"\x1f\x8b"

try:  # the C loader is much faster; both understand ``!!binary``.
    _YamlLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _YamlLoader = yaml.SafeLoader


def load_cassette(path: str | os.PathLike[str]) -> list[Interaction]:
    """Read a cassette file (any supported layout) into a list of interactions.

    Raises ``CassetteError`` naming the file and the problem if it cannot be read.
    """
    name = os.fspath(path)
    return interactions_from_document(read_document(name), name)


def read_document(path: str | os.PathLike[str]) -> Any:
    """The cassette's YAML document as stored (gunzipped first if the file is gzip)."""
    name = os.fspath(path)
    try:
        raw = Path(name).read_bytes()
    except OSError as exc:
        raise CassetteError(f"{name}: cannot read cassette: {exc.strerror or exc}") from None
    if raw.startswith(_GZIP_MAGIC):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise CassetteError(f"{name}: corrupt gzip-compressed cassette: {exc}") from None
    try:
        return yaml.load(raw, Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        problem = " ".join(f"invalid YAML: {exc}".split())
        raise MalformedCassetteError(name, problem) from None


def interactions_from_document(document: Any, name: str = "<cassette>") -> list[Interaction]:
    """Normalize a loaded cassette document; ``name`` is used in error messages."""
    pairs = _pairs(name, document)
    return [
        _interaction(_Where(name, index, len(pairs)), request, response)
        for index, (request, response) in enumerate(pairs, start=1)
    ]


def cassette_problem(path: str | os.PathLike[str]) -> CassetteError | None:
    """Why ``path`` is not a readable cassette (the error ``load_cassette`` would raise:
    the file, the interaction and the missing key), or None if it is one.

    For code that reads cassettes another way (vcrpy's loader says only ``KeyError:
    'response'``) and wants to say what is wrong with the file."""
    try:
        load_cassette(path)
    except CassetteError as exc:
        return exc
    return None


@dataclass(frozen=True)
class _Where:
    """Interaction ``index`` (1-based) of ``count`` in cassette ``name``: for messages."""

    name: str
    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.name}: interaction {self.index}"

    def malformed(self, problem: str, key: str | None = None) -> MalformedCassetteError:
        return MalformedCassetteError(
            self.name, problem, interaction=self.index, count=self.count, key=key
        )


_MESSAGE_KEYS = ("request", "response")


def _pairs(name: str, document: Any) -> list[tuple[Any, Any]]:
    """The raw (request, response) mappings, whatever the layout."""
    if isinstance(document, Mapping) and "interactions" in document:
        interactions = document["interactions"]
        if not isinstance(interactions, list):
            raise MalformedCassetteError(name, "'interactions' is not a list", key="interactions")
        pairs = []
        for index, item in enumerate(interactions, start=1):
            where = _Where(name, index, len(interactions))
            if not isinstance(item, Mapping):
                raise where.malformed(f"the interaction is a {type(item).__name__}, not a mapping")
            for key in _MESSAGE_KEYS:
                if item.get(key) is None:
                    raise where.malformed(f"the '{key}' key is missing", key)
            pairs.append((item["request"], item["response"]))
        return pairs
    if isinstance(document, Mapping) and "requests" in document and "responses" in document:
        requests, responses = document["requests"], document["responses"]
        if not isinstance(requests, list) or not isinstance(responses, list):
            raise MalformedCassetteError(name, "'requests' and 'responses' must be lists")
        if len(requests) != len(responses):
            raise MalformedCassetteError(
                name, f"{len(requests)} requests but {len(responses)} responses recorded"
            )
        return list(zip(requests, responses, strict=True))
    if document is None:
        raise MalformedCassetteError(name, "the file holds no YAML document (it is empty)")
    found = (
        f"top-level keys {sorted(map(str, document))}"
        if isinstance(document, Mapping)
        else f"a {type(document).__name__}"
    )
    raise CassetteError(
        f"{name}: unknown cassette layout (expected 'interactions:' or "
        f"'requests:' + 'responses:'; found {found})"
    )


def _interaction(where: _Where, request: Any, response: Any) -> Interaction:
    for key, value in zip(_MESSAGE_KEYS, (request, response), strict=True):
        if not isinstance(value, Mapping):
            raise where.malformed(f"'{key}' is a {type(value).__name__}, not a mapping", key)
    for key in ("method", "uri"):
        if not isinstance(request.get(key), str):
            raise where.malformed(f"the request has no '{key}'", key)
    method, uri = request["method"], request["uri"]

    req_headers = _headers(where, request.get("headers"))
    req_body = _body(where, request, "request")
    req_body = _decode_content(where, "request", req_headers, req_body)
    _infer_content_type(req_headers, uri, req_body, response=False)

    status = _status(where, response.get("status"))
    resp_headers = _headers(where, response.get("headers"))
    resp_body = _body(where, response, "response")
    resp_body = _decode_content(where, "response", resp_headers, resp_body)
    _infer_content_type(resp_headers, uri, resp_body, response=True)

    return Interaction(
        RecordedRequest(method.upper(), uri, req_headers, req_body),
        RecordedResponse(status, resp_headers, resp_body),
    )


def _status(where: _Where, value: Any) -> int:
    if isinstance(value, Mapping):
        value = value.get("code")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise where.malformed("the response has no 'status' code", "status")
    try:
        return int(value)
    except ValueError:
        raise where.malformed(f"bad status code {value!r}", "status") from None


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(value).decode("latin-1")
    return str(value)


def _headers(where: _Where, value: Any) -> dict[str, str]:
    """Lower-case names; lists joined with ``", "``; ``!!binary`` values decoded."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise where.malformed("headers are not a mapping", "headers")
    headers: dict[str, str] = {}
    for key, raw in value.items():
        values = raw if isinstance(raw, list) else [raw]
        joined = ", ".join(_text(item) for item in values if item is not None)
        name = _text(key).lower()
        headers[name] = f"{headers[name]}, {joined}" if name in headers else joined
    return headers


def _body(where: _Where, message: Mapping[str, Any], kind: str) -> bytes:
    """The body bytes as stored: ``parsed_body`` (JSON), ``body: {string: ...}`` or bare."""
    if "parsed_body" in message:
        # pydantic-ai's serializer: re-create the JSON text exactly as its loader does.
        return json.dumps(message["parsed_body"]).encode("utf-8")
    body = message.get("body")
    if isinstance(body, Mapping) and "json" in body:
        # harness.cassettes.serializer: the JSON value, rebuilt as compact text.
        return json.dumps(body["json"], separators=(",", ":"), ensure_ascii=False).encode()
    if isinstance(body, Mapping):
        body = body.get("string")
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    raise where.malformed(f"{kind} body is a {type(body).__name__}, not text or bytes", "body")


def _optional_decoder(*modules: str) -> Callable[[bytes], bytes] | None:
    for module_name in modules:
        try:
            module = import_module(module_name)
        except ImportError:
            continue
        decompress = getattr(module, "decompress", None)
        if callable(decompress):
            return lambda data: bytes(decompress(data))
    return None


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error:  # servers also send raw deflate without the zlib wrapper
        return zlib.decompress(data, -zlib.MAX_WBITS)


def _decoder(encoding: str) -> Callable[[bytes], bytes] | None:
    """The function undoing one content coding, or None if no library is available."""
    if encoding in ("gzip", "x-gzip"):
        return gzip.decompress
    if encoding == "deflate":
        return _inflate
    if encoding == "br":
        return _optional_decoder("brotli", "brotlicffi")
    if encoding == "zstd":
        return _optional_decoder("compression.zstd", "zstandard")
    raise KeyError(encoding)


_LIBRARIES = {"br": "'brotli' or 'brotlicffi'", "zstd": "'zstandard'"}


def _decode_content(where: _Where, kind: str, headers: dict[str, str], body: bytes) -> bytes:
    """Undo ``content-encoding`` (last coding first), then fix the framing headers."""
    encodings = [
        token.strip().lower()
        for token in headers.get("content-encoding", "").split(",")
        if token.strip() and token.strip().lower() not in ("identity", REDACTED.lower())
    ]
    if body:
        for encoding in reversed(encodings):
            try:
                decode = _decoder(encoding)
            except KeyError:
                raise CassetteError(
                    f"{where}: unsupported {kind} content-encoding {encoding!r}"
                ) from None
            if decode is None:
                raise CassetteError(
                    f"{where}: the {kind} body is {encoding}-compressed; install "
                    f"{_LIBRARIES[encoding]} to read this cassette"
                )
            try:
                body = decode(body)
            except Exception as exc:  # every library raises its own error type
                raise CassetteError(
                    f"{where}: cannot decompress {encoding} {kind} body: {exc}"
                ) from None
    headers.pop("content-encoding", None)
    if "content-length" in headers:
        headers["content-length"] = str(len(body))
    return body


_SSE_LINE = re.compile(rb"(?:^|[\r\n])(?:data|event|id|retry):", re.ASCII)


def _is_eventstream(body: bytes) -> bool:
    """Whether ``body`` starts with a valid AWS eventstream prelude (lengths + CRC)."""
    if len(body) < 16:
        return False
    total, header_length, prelude_crc = struct.unpack(">III", body[:12])
    return bool(zlib.crc32(body[:8]) == prelude_crc and total >= 16 and header_length <= total - 16)


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:  # UnicodeDecodeError is a ValueError too
        return False
    return True


def _infer_content_type(headers: dict[str, str], uri: str, body: bytes, *, response: bool) -> None:
    """Fill in a missing or redacted ``content-type`` from what the body looks like."""
    if headers.get("content-type", REDACTED) != REDACTED:
        return
    headers.pop("content-type", None)
    if not body:
        return
    if _is_json(body):
        headers["content-type"] = JSON_TYPE
    elif response and (_is_eventstream(body) or urlsplit(uri).path.endswith("-stream")):
        headers["content-type"] = EVENTSTREAM_TYPE
    elif _SSE_LINE.search(body[:1024]):
        headers["content-type"] = SSE_TYPE


# --- replay --------------------------------------------------------------------------


class _ChunkedStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body delivered in ``chunk_size`` pieces, so stream decoders see split input."""

    def __init__(self, body: bytes, chunk_size: int) -> None:
        self._body = body
        self._chunk_size = chunk_size

    def _chunks(self) -> Iterator[bytes]:
        for start in range(0, len(self._body), self._chunk_size):
            yield self._body[start : start + self._chunk_size]

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks():
            yield chunk


class ReplayTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Serves recorded interactions in order, to sync and async httpx clients alike.

    Requests are not matched against the recording (cassettes from other clients encode
    requests differently); the n-th request gets the n-th response. Every request
    received is kept in ``requests``; ``unplayed`` lists what has not been served yet.
    """

    def __init__(
        self,
        interactions: Sequence[Interaction],
        *,
        name: str = "<cassette>",
        chunk_size: int = 7,
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        self.interactions = list(interactions)
        self.name = name
        self.chunk_size = chunk_size
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()

    @classmethod
    def from_cassette(cls, path: str | os.PathLike[str], *, chunk_size: int = 7) -> ReplayTransport:
        return cls(load_cassette(path), name=os.fspath(path), chunk_size=chunk_size)

    @property
    def unplayed(self) -> list[Interaction]:
        """Interactions not served yet."""
        return self.interactions[len(self.requests) :]

    def assert_all_played(self) -> None:
        """Raise ``CassetteError`` if some recorded interaction was never requested."""
        if self.unplayed:
            raise CassetteError(
                f"{self.name}: {len(self.unplayed)} of {len(self.interactions)} "
                "recorded interactions were never requested"
            )

    def _next(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            served = len(self.requests)
            if served >= len(self.interactions):
                raise ReplayExhaustedError(
                    f"{self.name}: request {served + 1} ({request.method} {request.url}) "
                    f"but the cassette recorded only {len(self.interactions)} interactions"
                )
            self.requests.append(request)
        recorded = self.interactions[served].response
        return httpx.Response(
            recorded.status,
            headers=list(recorded.headers.items()),
            stream=_ChunkedStream(recorded.body, self.chunk_size),
            request=request,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        return self._next(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self._next(request)
