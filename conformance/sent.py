"""What a client put on the wire: each request as sent (credentials included) and when.

At replay, ``observing()`` collects the requests the cassette is asked about before the
recording hooks scrub them; in live runs the emulator keeps them. Two checks read them:

- ``credential_problems``: the key the suite gave (``Target.api_key``, Bedrock's
  ``Target.aws_credentials``) is sent in the provider's own place: OpenAI
  ``Authorization: Bearer``, Anthropic ``x-api-key`` (or, as its official SDK sends it
  since 2.x, ``Authorization: Bearer``), Gemini ``x-goog-api-key`` (or the
  ``key`` query parameter), Bedrock a SigV4 ``Authorization`` whose signature is
  recomputed with the given secret. Nothing here is ever recorded, and a problem names
  headers, never their values: a client that sends some other key may be sending a real
  one.
- ``wait_problems``: the time between a failed attempt and the next one is at least
  what the provider's ``Retry-After`` asked for.
- ``organization_problems``: an OpenAI organization the client was given is sent as
  ``OpenAI-Organization`` on every request.
- ``content_type_problems``: a request whose body is JSON says so
  (``Content-Type: application/json``), as every provider's API reference asks; servers
  built on FastAPI (vLLM and other OpenAI-compatible ones) do not read a JSON body
  labelled otherwise.
- ``accept_problems``: a request that asks for a JSON answer (not streamed) and says what
  it accepts (``Accept``) accepts JSON: a server may answer a request whose ``Accept``
  excludes the media type it would send with 406 Not Acceptable (RFC 9110, 12.5.1).
  Streamed requests are not checked: the official SDKs ask for ``application/json`` there
  too, and the providers ignore it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from harness.adapters.base import Target
from harness.cassettes.bodies import raw_body
from harness.cassettes.record import observe_requests

SIGV4 = "AWS4-HMAC-SHA256"
WAIT_TOLERANCE = 0.002
"""Seconds a measured wait may fall short of ``Retry-After`` (clock granularity)."""


@dataclass(frozen=True)
class SentRequest:
    """One request as the client sent it. Header names are lower-case."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""
    at: float = field(default=0.0, compare=False)
    """``time.monotonic()`` when it was sent (0.0 where unknown)."""

    def __repr__(self) -> str:  # never show header values: they hold credentials
        return f"SentRequest({self.method} {urlsplit(self.url).path})"


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return str(value)


def from_vcr(request: Any) -> SentRequest:
    """A ``vcr.request.Request``, copied before anything scrubs it."""
    headers = {str(name).lower(): _text(value) for name, value in dict(request.headers).items()}
    return SentRequest(
        request.method.upper(), request.uri, headers, raw_body(request), time.monotonic()
    )


def from_emulated(request: Any) -> SentRequest:
    """A request the emulator received (``harness.emulator.EmulatedRequest``)."""
    return SentRequest(request.method.upper(), request.url, dict(request.headers), request.body)


@contextmanager
def observing() -> Iterator[list[SentRequest]]:
    """Collect every request replay is asked to answer within the block, once each, in
    the order sent (from any thread)."""
    seen: list[Any] = []
    sent: list[SentRequest] = []
    lock = threading.Lock()

    def observe(request: Any) -> None:
        with lock:
            if any(request is other for other in seen):
                return  # vcrpy asks about one request more than once
            seen.append(request)
            sent.append(from_vcr(request))

    with observe_requests(observe):
        yield sent


# --- credentials -------------------------------------------------------------------------


def credential_problems(
    provider: str, sent: Sequence[SentRequest], target: Target
) -> list[tuple[str, str, str]]:
    """(field, expected, got) for every request that does not carry ``target``'s
    credentials in ``provider``'s own place. Values are never shown."""
    problems = []
    for index, request in enumerate(sent):
        problem = _credential_problem(provider, request, target)
        if problem is not None:
            where = f"request #{index + 1} ({request.method} {urlsplit(request.url).path})"
            problems.append((f"credentials of {where}", problem[0], problem[1]))
    return problems


def _present(request: SentRequest) -> str:
    """The credential-like headers and query parameters present, by name only."""
    names = [
        name
        for name in ("authorization", "x-api-key", "api-key", "x-goog-api-key")
        if name in request.headers
    ]
    if "key" in parse_qs(urlsplit(request.url).query):
        names.append("?key=")
    return "present: " + (", ".join(names) if names else "no credential at all")


def _bearer(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" else None


def _credential_problem(
    provider: str, request: SentRequest, target: Target
) -> tuple[str, str] | None:
    headers = request.headers
    key = target.api_key
    if provider == "openai":
        wanted = "Authorization: Bearer <the suite's key>"
        if key is not None and _bearer(headers) == key:
            return None
        return wanted, _present(request)
    if provider == "anthropic":  # the official SDK sends the key as a bearer token
        wanted = "x-api-key: <the suite's key> (or Authorization: Bearer)"
        if key is not None and key in (headers.get("x-api-key"), _bearer(headers)):
            return None
        return wanted, _present(request)
    if provider == "gemini":
        wanted = "x-goog-api-key: <the suite's key> (or ?key=)"
        query = parse_qs(urlsplit(request.url).query).get("key", [])
        if key is not None and (headers.get("x-goog-api-key") == key or query == [key]):
            return None
        return wanted, _present(request)
    if provider == "bedrock":
        return _sigv4_problem(request, target)
    return None


def _sigv4_problem(request: SentRequest, target: Target) -> tuple[str, str] | None:
    """A SigV4 ``Authorization`` made with ``target``'s credentials and region, whose
    signature the given secret reproduces."""
    credentials = target.aws_credentials
    wanted = f"{SIGV4} signed with the suite's credentials for bedrock in {target.region}"
    value = request.headers.get("authorization", "")
    if credentials is None or not value.startswith(SIGV4 + " "):
        return wanted, _present(request) + " (no SigV4 signature)"
    parts = dict(
        item.strip().split("=", 1) for item in value[len(SIGV4) :].split(",") if "=" in item
    )
    scope = parts.get("Credential", "").split("/")
    if len(scope) != 5 or scope[0] != credentials.access_key:
        return wanted, "a signature made with another access key id"
    if scope[2:4] != [target.region, "bedrock"]:
        return wanted, f"a signature for service {scope[3]!r} in region {scope[2]!r}"
    signed = [name for name in parts.get("SignedHeaders", "").split(";") if name]
    if "host" not in signed or "x-amz-date" not in signed:
        return wanted, "a signature that does not cover host and x-amz-date"
    if parts.get("Signature") != _signature(request, target, signed):
        return wanted, "a signature the suite's secret key does not reproduce"
    return None


def _signature(request: SentRequest, target: Target, signed: Sequence[str]) -> str:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    host = urlsplit(request.url).netloc
    headers = {name: request.headers.get(name, host if name == "host" else "") for name in signed}
    aws = AWSRequest(method=request.method, url=request.url, data=request.body, headers=headers)
    aws.context["timestamp"] = request.headers.get("x-amz-date", "")
    auth = SigV4Auth(target.aws_credentials, "bedrock", target.region or "")
    canonical = auth.canonical_request(aws)
    return str(auth.signature(auth.string_to_sign(aws, canonical), aws))


# --- organization ------------------------------------------------------------------------


def organization_problems(
    sent: Sequence[SentRequest], organization: str
) -> list[tuple[str, str, str]]:
    """(field, expected, got) for every request whose ``openai-organization`` header is not
    ``organization``."""
    return [
        (f"openai-organization of request #{index + 1}", organization, got or "none")
        for index, request in enumerate(sent)
        if (got := request.headers.get("openai-organization", "")) != organization
    ]


# --- content type ------------------------------------------------------------------------


def content_type_problems(sent: Sequence[SentRequest]) -> list[tuple[str, str, str]]:
    """(field, expected, got) for every request with a JSON body whose ``content-type`` is
    not ``application/json`` (parameters and case aside)."""
    problems = []
    for index, request in enumerate(sent):
        if not request.body.lstrip().startswith((b"{", b"[")):
            continue
        value = request.headers.get("content-type", "")
        if value.split(";")[0].strip().lower() != "application/json":
            where = f"content-type of request #{index + 1} ({urlsplit(request.url).path})"
            problems.append((where, "application/json", value or "none"))
    return problems


def streamed(request: SentRequest) -> bool:
    """Whether ``request`` asks for a streamed answer (``"stream": true`` in its body, or a
    streaming path: Gemini's ``streamGenerateContent``, Bedrock's ``converse-stream``)."""
    if "stream" in urlsplit(request.url).path.lower():
        return True
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("stream") is True


JSON_RANGES = frozenset({"*/*", "application/*", "application/json"})
"""The media ranges of an ``Accept`` header that admit ``application/json``."""


def accepts_json(accept: str) -> bool:
    """Whether an ``Accept`` value admits ``application/json`` (case aside; a range with
    ``q=0`` admits nothing)."""
    for item in accept.split(","):
        media, *parameters = (part.strip().lower() for part in item.split(";"))
        refused = any(
            p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in parameters
        )
        if media in JSON_RANGES and not refused:
            return True
    return False


def accept_problems(sent: Sequence[SentRequest]) -> list[tuple[str, str, str]]:
    """(field, expected, got) for every request asking for a JSON answer whose ``Accept``
    header, when it sends one, does not admit ``application/json``."""
    problems = []
    for index, request in enumerate(sent):
        value = request.headers.get("accept")
        if value is None or streamed(request) or accepts_json(value):
            continue
        where = f"accept of request #{index + 1} ({urlsplit(request.url).path})"
        problems.append((where, "a range admitting application/json", value))
    return problems


# --- waits ---------------------------------------------------------------------------------


def wait_problems(
    waits: Sequence[float], sent: Sequence[SentRequest]
) -> list[tuple[str, str, str]]:
    """(field, expected, got) for every retry sent sooner after the previous attempt than
    ``waits`` (per retry, in seconds: ``Retry-After``, or the least backoff) allows."""
    times = sorted(request.at for request in sent)
    problems = []
    for index, wait in enumerate(waits):
        if wait <= 0 or index + 1 >= len(times):
            continue
        waited = times[index + 1] - times[index]
        if waited + WAIT_TOLERANCE < wait:
            problems.append(
                (
                    f"wait before attempt #{index + 2}",
                    f">= {wait * 1000:.0f} ms",
                    f"{waited * 1000:.1f} ms",
                )
            )
    return problems
