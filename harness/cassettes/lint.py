"""A secret linter for recorded cassettes: ``lint_cassettes(path) -> list[Finding]``.

Scans every text file under a directory (``.gz`` files decompressed, ``!!binary`` YAML
blocks base64-decoded) for the secrets ``harness.cassettes.scrub`` removes (``SECRET_PATTERNS``,
shared): API keys (OpenAI, Anthropic, Google, AWS access key ids and secret keys),
bearer tokens, SigV4 signatures, session tokens and presigned-URL credentials,
unredacted secret header values, ``key=`` query values, OpenAI organization/project ids,
Anthropic organization ids and AWS account ids in ARNs. Placeholders (``REDACTED``,
``**REDACTED**``, ``test_openai_api_key``, ``DUMMY_GOOGLE_API_KEY``...) are not findings,
also when a header value is stored as ``!!binary`` bytes (botocore and pydantic-ai
cassettes): such values are decoded and judged by the same rules.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import gzip
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.cassettes.scrub import SECRET_HEADERS, SECRET_PATTERNS, is_placeholder

__all__ = ["PATTERNS", "Finding", "cassette_files", "lint_cassettes", "lint_file", "lint_text"]


@dataclass(frozen=True)
class Finding:
    """One secret found: where, what kind, and the line with the secret masked."""

    file: str
    line: int
    kind: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.kind}: {self.excerpt}"


PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (pattern.kind, re.compile(pattern.lint_regex)) for pattern in SECRET_PATTERNS
)
"""``(kind, regex)`` for every secret the scrubber removes (``scrub.SECRET_PATTERNS``),
in priority order: where findings overlap, the first kind wins. Group "s" is the secret."""

_REPLACEMENTS = {pattern.kind: pattern.replacement for pattern in SECRET_PATTERNS}
"""What the scrubber writes in place of each kind (a masked account id is no finding)."""

_HEADER_KINDS = {
    "anthropic-organization-id": "anthropic-org-id",
    "x-amz-security-token": "aws-session-token",
    "set-cookie": "cookie-header",
    "cookie": "cookie-header",
}
_HEADER = re.compile(
    r"(?<![\w-])[\"']?(?P<name>" + "|".join(sorted(SECRET_HEADERS, key=len, reverse=True)) + ")"
    r"[\"']?\s*:[ \t]*(?P<v>\"(?:[^\"\\]|\\.)*\"|'(?:[^']|'')*'|\[[^\]]*\]|[^`]*)",
    re.IGNORECASE,
)
_LIST_ITEM = re.compile(r"^(?P<indent>\s*)-[ \t]+(?P<v>.*)$")
_MARKERS = ("redacted", "dummy", "placeholder", "example")


@dataclass(frozen=True)
class _Span:
    """A secret found at ``line`` (0-based), columns ``start:end``; ``excerpt`` replaces
    the masked line when the line itself would not show it (a decoded ``!!binary``)."""

    line: int
    start: int
    end: int
    kind: str
    excerpt: str | None = None


def _ignored(secret: str) -> bool:
    lowered = secret.lower()
    return is_placeholder(secret) or any(marker in lowered for marker in _MARKERS)


def _mask(secret: str) -> str:
    return f"{secret[:4]}****" if len(secret) > 6 else "****"


def _excerpt(line: str, start: int, end: int, width: int = 120) -> str:
    masked = line[:start] + _mask(line[start:end]) + line[end:]
    masked = masked.strip()
    if len(masked) <= width:
        return masked
    middle = masked.find(_mask(line[start:end]))
    left = max(0, middle - width // 2)
    return ("…" if left else "") + masked[left : left + width] + "…"


def _header_value(value: str) -> str:
    text = value.strip()
    if text[:1] in "\"'" and text[-1:] == text[:1] and len(text) > 1:
        text = text[1:-1]
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1].strip().strip("\"'")
    return text.strip()


def _header_findings(lines: list[str]) -> Iterator[_Span]:
    """Secret header values, inline or as list items; a ``!!binary`` value is decoded
    first (botocore and pydantic-ai record header values as bytes), so its placeholders
    are recognised and its secrets found."""
    for number, line in enumerate(lines):
        for match in _HEADER.finditer(line):
            name = match.group("name").lower()
            kind = _HEADER_KINDS.get(name, f"{name}-header")
            raw = match.group("v")
            values = [(number, match.start("v"), match.end("v"), raw)] if raw.strip() else []
            if not values:  # a YAML list on the next lines
                indent = len(line) - len(line.lstrip())
                for follow in range(number + 1, len(lines)):
                    item = _LIST_ITEM.match(lines[follow])
                    if item is None or len(item.group("indent")) < indent:
                        break
                    values.append((follow, item.start("v"), item.end("v"), item.group("v")))
            for index, start, end, text in values:
                excerpt = None
                if _BINARY.match(text.strip()):
                    block = _binary_block(lines, index)
                    if block is None:
                        continue  # not base64: no value to judge
                    index, start, end, data = block
                    text = _decode(data)
                    excerpt = f"{name}: !!binary {_mask(_header_value(text))}"
                value = _header_value(text)
                if not value or _ignored(value) or value.upper().startswith("AWS4-HMAC-SHA256"):
                    continue
                yield _Span(index, start, end, kind, excerpt)


def _pattern_findings(lines: list[str]) -> Iterator[_Span]:
    for number, line in enumerate(lines):
        for kind, pattern in PATTERNS:
            for match in pattern.finditer(line):
                secret = match.group("s")
                if _ignored(secret) or secret == _REPLACEMENTS[kind]:
                    continue
                yield _Span(number, match.start("s"), match.end("s"), kind)


def lint_text(text: str, name: str, first_line: int = 1) -> list[Finding]:
    """Findings in one text; ``name`` and ``first_line`` say where it came from.

    One finding per secret: where a pattern, a decoded ``!!binary`` block and a header
    rule find the same text, the first of them (in that order) reports it."""
    lines = text.splitlines()
    accepted: dict[int, list[tuple[int, int]]] = {}
    findings: list[Finding] = []
    spans = [*_pattern_findings(lines), *_binary_findings(lines), *_header_findings(lines)]
    for span in spans:
        taken = accepted.setdefault(span.line, [])
        if any(span.start < end and start < span.end for start, end in taken):
            continue
        taken.append((span.start, span.end))
        excerpt = span.excerpt or _excerpt(lines[span.line], span.start, span.end)
        findings.append(Finding(name, first_line + span.line, span.kind, excerpt))
    return sorted(findings, key=lambda finding: (finding.line, finding.kind))


_BINARY = re.compile(
    r"(?:-[ \t]+)?!!binary\s+"  # a block (``|``) on the next lines, or the base64 inline
    r"(?:[|>][-+0-9]*|[\"']?(?P<inline>[A-Za-z0-9+/=]+)[\"']?)\s*$"
)


def _binary_block(lines: list[str], number: int) -> tuple[int, int, int, bytes] | None:
    """The ``!!binary`` value on line ``number``: ``(line, start, end, bytes)``, where the
    span is the base64 text (inline, or the block's first line); None if not base64."""
    line = lines[number]
    match = _BINARY.search(line)
    if match is None:
        return None
    if match.group("inline"):
        index, start, end = number, match.start("inline"), match.end("inline")
        chunks = [match.group("inline")]
    else:
        index, chunks = number + 1, []
        indent = len(line) - len(line.lstrip())
        for follow in lines[number + 1 :]:
            if not follow.strip() or len(follow) - len(follow.lstrip()) <= indent:
                break
            chunks.append(follow.strip())
        if not chunks:
            return None
        text = lines[index]
        start = len(text) - len(text.lstrip())
        end = len(text.rstrip())
    try:
        return index, start, end, base64.b64decode("".join(chunks))
    except (binascii.Error, ValueError):
        return None


def _binary_findings(lines: list[str]) -> Iterator[_Span]:
    """Findings inside YAML ``!!binary`` blocks (decoded; gzip inside undone), each
    reported on the block's first base64 line."""
    for number in range(len(lines)):
        block = _binary_block(lines, number)
        if block is None:
            continue
        index, start, end, data = block
        for finding in lint_text(_decode(data), ""):
            yield _Span(index, start, end, finding.kind, f"(in !!binary) {finding.excerpt}")


def _decode(data: bytes) -> str:
    if data.startswith(b"\x1f\x8b"):
        with contextlib.suppress(OSError, EOFError, zlib.error):
            data = gzip.decompress(data)
    return data.decode("utf-8", "replace")


def cassette_files(path: str | os.PathLike[str]) -> list[Path]:
    """The files ``lint_cassettes`` reads: ``path`` itself or every file under it
    (hidden directories skipped), sorted."""
    root = Path(path)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"no such file or directory: {root}")
    return sorted(
        file
        for file in root.rglob("*")
        if file.is_file()
        and not any(part.startswith(".") for part in file.relative_to(root).parts[:-1])
    )


def lint_cassettes(path: str | os.PathLike[str]) -> list[Finding]:
    """Every secret in the text files under ``path`` (a directory or one file)."""
    return [finding for file in cassette_files(path) for finding in lint_file(file)]


def lint_file(file: Path) -> list[Finding]:
    """Every secret in one file (gzip decompressed; binary files hold none)."""
    data = file.read_bytes()
    if file.name.endswith(".gz") or data.startswith(b"\x1f\x8b"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return []
    if b"\0" in data[:8192]:
        return []  # binary, not a cassette
    return lint_text(data.decode("utf-8", "replace"), str(file))
