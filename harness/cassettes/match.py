"""How a replayed request is matched to a recorded one: one canonical key, five matchers.

``request_key(request)`` is ``(method, host, path, query, body)``, each part normalized:

- host: lower-case, AWS regions masked (``bedrock-runtime.{region}.amazonaws.com``);
- path: percent-decoded (httpx and aiohttp encode ``:`` differently), empty -> ``/``,
  AWS regions and 12-digit account ids (ARNs in model ids) masked;
- query: sorted ``(name, value)`` pairs without ``key`` and presigned-URL parameters;
- body: JSON as canonical text (keys sorted, compact, ARN accounts masked); other
  bodies as bytes.

Two requests match exactly when their keys are equal; the vcrpy matchers ``MATCHERS``
each compare one part, so vcrpy's scan and ``IndexedCassette``'s dict lookup agree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from harness.cassettes.bodies import raw_body
from harness.cassettes.scrub import MASKED_ACCOUNT, PLACEHOLDER, SECRET_QUERY_PARAMS

__all__ = [
    "KEY_FIELDS",
    "MATCHERS",
    "STRICT",
    "RequestKey",
    "RequestMatcher",
    "body_excerpt",
    "canonical_body",
    "describe_difference",
    "display_uri",
    "request_key",
]

RequestKey = tuple[str, str, str, tuple[tuple[str, str], ...], bytes]
"""``(method, host, path, query, body)``, as built by ``request_key``."""

KEY_FIELDS = ("method", "host", "path", "query", "body")

IGNORED_QUERY = SECRET_QUERY_PARAMS | {"x-amz-date", "x-amz-expires", "x-amz-signedheaders"}

_REGION = re.compile(r"(?<![a-z0-9])[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d(?![a-z0-9])")
_ACCOUNT = re.compile(r"(?<!\d)\d{12}(?!\d)")
_ARN = re.compile(r"\b(arn:aws[a-z-]*:[a-z0-9-]*:)[a-z0-9-]*:\d{12}(?=:)")


def _parts(request: Any) -> tuple[str, str, str]:
    """(host, path, query) of a vcrpy request's URI, as received."""
    parsed = urlsplit(request.uri)
    return (parsed.hostname or ""), parsed.path, parsed.query


def method_of(request: Any) -> str:
    """The request method, upper-case."""
    return str(request.method).upper()


def host_of(request: Any) -> str:
    """The host, lower-case, with any AWS region replaced by ``{region}``."""
    return _REGION.sub("{region}", _parts(request)[0].lower())


def path_of(request: Any) -> str:
    """The percent-decoded path with AWS regions and account ids masked."""
    path = unquote(_parts(request)[1]) or "/"
    return _ACCOUNT.sub(MASKED_ACCOUNT, _REGION.sub("{region}", path))


def query_of(request: Any) -> tuple[tuple[str, str], ...]:
    """Sorted query pairs, without ``key`` and presigned-URL parameters."""
    pairs = parse_qsl(_parts(request)[2], keep_blank_values=True)
    return tuple(sorted((k, v) for k, v in pairs if k.lower() not in IGNORED_QUERY))


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys and ARN account ids and regions masked."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if "arn:" in text:
        text = _ARN.sub(lambda m: f"{m.group(1)}{{region}}:{MASKED_ACCOUNT}", text)
    return text


def canonical_body(request: Any) -> bytes:
    """The body as matched: canonical JSON text if it parses as JSON, else raw bytes."""
    body = raw_body(request)
    if not body:
        return b""
    try:
        value = json.loads(body)
    except ValueError:  # UnicodeDecodeError is a ValueError
        return body
    return canonical_json(value).encode("utf-8")


def request_key(request: Any) -> RequestKey:
    """The canonical key of a vcrpy request: equal keys <=> the requests match."""
    return (
        method_of(request),
        host_of(request),
        path_of(request),
        query_of(request),
        canonical_body(request),
    )


def _matcher(name: str, part: Callable[[Any], Any]) -> Callable[[Any, Any], None]:
    def matcher(r1: Any, r2: Any) -> None:
        first, second = part(r1), part(r2)
        if first != second:
            raise AssertionError(f"{_short(first)} != {_short(second)}")

    matcher.__name__ = matcher.__qualname__ = name
    matcher.__doc__ = f"vcrpy matcher: the requests' {name} parts of ``request_key`` are equal."
    return matcher


MATCHERS: dict[str, Callable[[Any, Any], None]] = {
    name: _matcher(name, part)
    for name, part in zip(
        KEY_FIELDS, (method_of, host_of, path_of, query_of, canonical_body), strict=True
    )
}
"""vcrpy matchers by name, in ``request_key`` order (register them on a ``vcr.VCR``)."""


@dataclass(frozen=True)
class RequestMatcher:
    """How replay decides that a request is a recorded one.

    ``key`` maps a vcrpy request to a tuple whose last item is the body (or what it
    means) as bytes or text: two requests match when their keys are equal. ``describe``
    names the first difference of two keys, for the error message.
    """

    name: str
    key: Callable[[Any], tuple[Hashable, ...]]
    describe: Callable[[Any, Any], tuple[str, str] | None]


# --- describing requests and differences (error messages) -----------------------------

EXCERPT = 200


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _short(value: Any, limit: int = 80) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return _clip(repr(value), limit)


def display_uri(request: Any) -> str:
    """The URI as the same text whichever HTTP library sent it: path decoded, query
    re-encoded, secret query values replaced."""
    parsed = urlsplit(request.uri)
    query = [
        (k, PLACEHOLDER if k.lower() in SECRET_QUERY_PARAMS else v)
        for k, v in parse_qsl(parsed.query, keep_blank_values=True)
    ]
    text = f"{parsed.scheme}://{parsed.netloc.lower()}{unquote(parsed.path) or '/'}"
    return f"{text}?{urlencode(query, quote_via=quote)}" if query else text


def body_excerpt(body: bytes, limit: int = EXCERPT) -> str:
    """The start of a (canonical) body for a message; binary bodies by size only."""
    if not body:
        return "(empty)"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(body)} bytes of binary data>"
    return text if len(text) <= limit else f"{text[:limit]}… ({len(body)} bytes)"


def describe_difference(request: RequestKey, recorded: RequestKey) -> tuple[str, str] | None:
    """The first differing field of two keys and what differs, or None if equal."""
    for name, new, old in zip(KEY_FIELDS, request, recorded, strict=True):
        if new == old:
            continue
        if isinstance(new, bytes) and isinstance(old, bytes):
            return name, _body_difference(new, old)
        return name, f"recorded {_short(old)}, requested {_short(new)}"
    return None


def _body_difference(new: bytes, old: bytes) -> str:
    try:
        new_value, old_value = json.loads(new or b"null"), json.loads(old or b"null")
    except ValueError:
        offset = next(
            (i for i, (a, b) in enumerate(zip(new, old, strict=False)) if a != b),
            min(len(new), len(old)),
        )
        return (
            f"first differing byte at offset {offset} ({len(old)} bytes recorded, "
            f"{len(new)} requested)"
        )
    where, old_part, new_part = _json_difference(new_value, old_value, "$")
    old_text, new_text = canonical_json(old_part), canonical_json(new_part)
    return f"at {where}: recorded {_clip(old_text)}, requested {_clip(new_text)}"


def _json_difference(new: Any, old: Any, where: str) -> tuple[str, Any, Any]:
    """The path to the first place two JSON values differ, and both values there."""
    if isinstance(new, dict) and isinstance(old, dict):
        for key in sorted(set(new) | set(old)):
            if key not in old or key not in new or new[key] != old[key]:
                if key in old and key in new:
                    return _json_difference(new[key], old[key], f"{where}.{key}")
                return f"{where}.{key}", old.get(key, "<absent>"), new.get(key, "<absent>")
    if isinstance(new, list) and isinstance(old, list):
        for index, (a, b) in enumerate(zip(new, old, strict=False)):
            if a != b:
                return _json_difference(a, b, f"{where}[{index}]")
        if len(new) != len(old):
            return f"{where} length", len(old), len(new)
    return where, old, new


STRICT = RequestMatcher(
    "strict",
    request_key,
    describe_difference,
)
"""Canonical JSON bodies, method, host, path and query: the reference client's own
matcher, under which an encoding regression fails replay."""
