"""Secret scrubbing for recorded HTTP traffic, applied before anything is written.

``Scrubber`` is the vcrpy ``before_record_request`` / ``before_record_response`` hook pair;
the cassette serializer runs it again on the way to disk. Every replacement is idempotent.

What goes: the values of ``SECRET_HEADERS``; ``key=`` and presigned-URL query parameters;
SigV4 access key ids and signatures; AWS account ids inside ARNs (``000000000000``); API
keys, bearer tokens, OpenAI ``org-``/``proj_`` ids and Anthropic organization ids in bodies;
and any secret header value seen earlier, wherever it appears again. The patterns
(``SECRET_PATTERNS``) are the ones ``harness.cassettes.lint`` looks for.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from harness.cassettes.bodies import raw_body

__all__ = [
    "MASKED_ACCOUNT",
    "PLACEHOLDER",
    "SECRET_HEADERS",
    "SECRET_PATTERNS",
    "SECRET_QUERY_PARAMS",
    "Scrubber",
    "SecretPattern",
    "is_placeholder",
    "scrub_body",
    "scrub_header",
    "scrub_text",
]

PLACEHOLDER = "REDACTED"
MASKED_ACCOUNT = "000000000000"

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
        "x-amz-security-token",
        "openai-organization",
        "openai-project",
        "anthropic-organization-id",
    }
)
"""Header names (lower-case) whose values are replaced by ``PLACEHOLDER``."""

SECRET_QUERY_PARAMS = frozenset(
    {"key", "x-amz-signature", "x-amz-credential", "x-amz-security-token"}
)
"""Query parameter names (lower-case) whose values are replaced by ``PLACEHOLDER``."""

_PLACEHOLDERS = frozenset(
    {
        "redacted",
        "**redacted**",
        "<redacted>",
        "[redacted]",
        "test_openai_api_key",
        "dummy_google_api_key",
        "none",
        "null",
        "",
    }
)


_NAMED_PLACEHOLDER = re.compile(r"(?:test|dummy|fake|mock)_[a-z0-9_]+", re.IGNORECASE)
"""``test_openai_api_key``, ``DUMMY_GOOGLE_API_KEY``, ``test_set_cookie``..."""


def is_placeholder(value: str) -> bool:
    """Whether ``value`` is a known stand-in for a secret rather than a secret."""
    text = value.strip().strip("'\"[]").strip()
    if text.lower().startswith("bearer "):
        text = text[7:].strip()
    return (
        text.lower() in _PLACEHOLDERS
        or PLACEHOLDER in text.upper()
        or set(text) <= set("*xX0-_.")
        or _NAMED_PLACEHOLDER.fullmatch(text) is not None
    )


_SIGV4 = re.compile(r"^AWS4-HMAC-SHA256\s", re.IGNORECASE)
_COLON = r"(?::|%3[Aa])"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_QUOTE = r"\\?[\"']?"  # an optional (escaped) quote around keys and values


@dataclass(frozen=True)
class SecretPattern:
    """One kind of secret, shared by the scrubber and the linter (``harness.cassettes.lint``).

    A match is ``context`` (kept, not part of the secret), then the secret: ``kept`` (a
    recognisable start such as ``sk-``, which the scrubber keeps) and ``secret`` (what
    the scrubber replaces by ``replacement``). ``triggers`` are lower-case substrings one
    of which any match contains: text without them is not searched.
    """

    kind: str
    triggers: tuple[str, ...]
    context: str
    kept: str
    secret: str
    replacement: str = PLACEHOLDER

    @property
    def scrub_regex(self) -> str:
        """Group 1 is kept, group 2 replaced."""
        return f"({self.context}{self.kept})({self.secret})"

    @property
    def lint_regex(self) -> str:
        """Group ``s`` is the whole secret."""
        return f"{self.context}(?P<s>{self.kept}{self.secret})"


SECRET_PATTERNS: tuple[SecretPattern, ...] = (
    SecretPattern("anthropic-api-key", ("sk-ant-",), r"\b", "sk-ant-", r"[A-Za-z0-9_-]{20,}"),
    SecretPattern("openai-api-key", ("sk-",), r"\b", "sk-(?!ant-)", r"[A-Za-z0-9_-]{20,}"),
    SecretPattern(
        "google-api-key", ("aiza",), r"\b", "", r"AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"
    ),
    SecretPattern(
        "aws-access-key-id",
        ("akia", "asia"),
        r"(?<![A-Z0-9])",
        "",
        r"(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])",
    ),
    SecretPattern(
        "aws-secret-access-key",
        ("access",),
        rf"(?i:secret_?access_?key){_QUOTE}\s*[:=]\s*{_QUOTE}",
        "",
        r"[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])",
    ),
    SecretPattern(
        "sigv4-signature", ("signature=",), "Signature=", "", r"[0-9a-fA-F]{64}(?![0-9a-fA-F])"
    ),
    SecretPattern(
        "aws-session-token",
        ("x-amz-security-token",),
        r"(?i:X-Amz-Security-Token)=",
        "",
        r"[^&\s\"'#]+",
    ),
    SecretPattern(
        "aws-credential", ("x-amz-credential",), r"(?i:X-Amz-Credential)=", "", r"[^&\s\"'#]+"
    ),
    SecretPattern("bearer-token", ("bearer",), r"\b(?i:bearer)\s+", "", r"[A-Za-z0-9._~+/=-]{20,}"),
    SecretPattern("key-query-param", ("key=",), "[?&]key=", "", r"[^&\s\"'#]+"),
    SecretPattern("openai-org-id", ("org-",), r"\b", "org-", r"[A-Za-z0-9]{20,}"),
    SecretPattern("openai-project-id", ("proj_",), r"\b", "proj_", r"[A-Za-z0-9]{20,}"),
    SecretPattern(
        "anthropic-org-id",
        ("organization",),
        rf"(?i:organization[_-]?id){_QUOTE}\s*[:=]\s*{_QUOTE}",
        "",
        _UUID,
    ),
    SecretPattern(
        "aws-account-id",
        ("arn",),
        rf"\barn{_COLON}aws[a-z-]*{_COLON}[a-z0-9-]*{_COLON}[a-z0-9-]*{_COLON}",
        "",
        r"\d{12}(?!\d)",
        MASKED_ACCOUNT,
    ),
)
"""Secrets in text (bodies, URIs, header values), in priority order: where two kinds
match overlapping text, the linter reports the first; the scrubber applies them in turn."""

_COMPILED = tuple(
    (pattern.triggers, re.compile(pattern.scrub_regex), pattern.replacement)
    for pattern in SECRET_PATTERNS
)


def _replacer(replacement: str) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        secret = match.group(2)
        if secret == replacement or secret.upper().startswith(PLACEHOLDER):
            return match.group(0)
        return match.group(1) + replacement

    return replace


_REPLACERS = {replacement: _replacer(replacement) for *_, replacement in _COMPILED}


def scrub_text(text: str, known: Iterable[str] = ()) -> str:
    """``text`` with every secret pattern and every ``known`` secret value replaced."""
    for value in known:
        if value in text:
            text = text.replace(value, PLACEHOLDER)
    lowered = text.lower()
    for triggers, pattern, replacement in _COMPILED:
        if any(trigger in lowered for trigger in triggers):
            text = pattern.sub(_REPLACERS[replacement], text)
    return text


def scrub_header(name: str, value: str) -> str:
    """The value to record for one header: secrets replaced, SigV4 structure kept."""
    if name.lower() not in SECRET_HEADERS or is_placeholder(value):
        return value
    if name.lower() == "authorization" and _SIGV4.match(value):
        return scrub_text(value)  # keeps the algorithm, scope and signed header names
    return PLACEHOLDER


def scrub_body(body: bytes, known: Iterable[str] = ()) -> bytes:
    """A body with secrets replaced: UTF-8 text in place, AWS eventstream frame by frame
    (lengths and CRCs recomputed); other binary data is returned unchanged."""
    known = tuple(known)
    frames = _eventstream_frames(body)
    if frames is not None:
        return b"".join(_frame(headers, scrub_body(payload, known)) for headers, payload in frames)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body
    scrubbed = scrub_text(text, known)
    return body if scrubbed == text else scrubbed.encode("utf-8")


def _eventstream_frames(body: bytes) -> list[tuple[bytes, bytes]] | None:
    """(headers, payload) of each AWS eventstream message, or None if ``body`` is not one."""
    frames: list[tuple[bytes, bytes]] = []
    position = 0
    while position < len(body):
        if len(body) - position < 16:
            return None
        total, header_length, prelude_crc = struct.unpack_from(">III", body, position)
        end = position + total
        if (
            zlib.crc32(body[position : position + 8]) != prelude_crc
            or total < 16 + header_length
            or end > len(body)
        ):
            return None
        start = position + 12
        frames.append((body[start : start + header_length], body[start + header_length : end - 4]))
        position = end
    return frames or None


def _frame(headers: bytes, payload: bytes) -> bytes:
    prelude = struct.pack(">II", 16 + len(headers) + len(payload), len(headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


class Scrubber:
    """vcrpy hooks that scrub requests and responses before they are recorded.

    Secret header values are remembered (``known``) and replaced wherever they appear
    later in the same recording session: a URI, another header, a body.
    """

    def __init__(self) -> None:
        self.known: set[str] = set()

    def _learn(self, name: str, value: str) -> None:
        if name.lower() not in SECRET_HEADERS or is_placeholder(value):
            return
        if _SIGV4.match(value):
            return  # its secret parts (key id, signature) are covered by patterns
        secret = value.split(None, 1)[1] if value.lower().startswith("bearer ") else value
        if len(secret) >= 8:
            self.known.add(secret)

    def headers(self, headers: dict[str, Any]) -> dict[str, Any]:
        """A header mapping (values strings or lists of strings) with secrets replaced."""
        for name, value in headers.items():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str):
                    self._learn(name, item)
        known = sorted(self.known, key=len, reverse=True)
        scrubbed: dict[str, Any] = {}
        for name, value in headers.items():
            if isinstance(value, list):
                scrubbed[name] = [self._header(name, item, known) for item in value]
            else:
                scrubbed[name] = self._header(name, value, known)
        return scrubbed

    @staticmethod
    def _header(name: str, value: Any, known: list[str]) -> Any:
        if not isinstance(value, str):
            return value
        return scrub_text(scrub_header(name, value), known)

    def request(self, request: Any) -> Any:
        """``before_record_request`` hook: scrubs a ``vcr.request.Request`` in place.

        A body vcrpy holds in another form than bytes (a mapping or list passed to
        aiohttp as ``json=`` or ``data=``, a file, chunks) becomes bytes first, as
        ``harness.cassettes.bodies.raw_body`` reads it: the bytes scrubbed, recorded and matched.
        """
        request.headers = self.headers(dict(request.headers))
        known = sorted(self.known, key=len, reverse=True)
        request.uri = scrub_text(request.uri, known)
        body = request.body
        if body is None or isinstance(body, (bytes, bytearray)):
            if body:
                request.body = scrub_body(bytes(body), known)
            return request
        scrubbed = scrub_body(raw_body(request), known)
        # vcrpy hands an iterator body back as ``iter(stored)``: store one chunk
        request.body = [scrubbed] if isinstance(body, Iterator) else scrubbed
        return request

    def response(self, response: Any) -> Any:
        """``before_record_response`` hook: scrubs a vcrpy response dict in place."""
        if not isinstance(response, dict):
            return response
        if isinstance(response.get("headers"), dict):
            response["headers"] = self.headers(response["headers"])
        body = response.get("body")
        if isinstance(body, dict):
            content = body.get("string")
            known = sorted(self.known, key=len, reverse=True)
            if isinstance(content, (bytes, bytearray)) and content:
                body["string"] = scrub_body(bytes(content), known)
            elif isinstance(content, str) and content:
                body["string"] = scrub_text(content, known)
        return response
