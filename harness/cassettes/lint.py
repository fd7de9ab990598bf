"""A secret linter for recorded cassettes: ``lint_cassettes(path) -> list[Finding]``.

Scans every text file under a directory (``.gz`` files decompressed, ``!!binary`` YAML
blocks base64-decoded) for the secrets ``harness.cassettes.scrub`` removes (``SECRET_PATTERNS``,
shared): API keys (OpenAI, Anthropic, Google, AWS access key ids and secret keys),
bearer tokens, SigV4 signatures, session tokens and presigned-URL credentials,
unredacted secret header values, ``key=`` query values, OpenAI organization/project ids,
Anthropic organization ids and AWS account ids in ARNs. Placeholders (``REDACTED``,
``**REDACTED**``, ``test_openai_api_key``, ``DUMMY_GOOGLE_API_KEY``...) are not findings.
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


def _header_findings(lines: list[str]) -> Iterator[tuple[int, int, int, str]]:
    """(line index, start, end, kind) of secret header values, inline or as list items."""
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
                value = _header_value(text)
                if not value or _ignored(value) or value.upper().startswith("AWS4-HMAC-SHA256"):
                    continue
                yield index, start, end, kind


def _pattern_findings(lines: list[str]) -> Iterator[tuple[int, int, int, str]]:
    for number, line in enumerate(lines):
        for kind, pattern in PATTERNS:
            for match in pattern.finditer(line):
                secret = match.group("s")
                if _ignored(secret) or secret == _REPLACEMENTS[kind]:
                    continue
                yield number, match.start("s"), match.end("s"), kind


def lint_text(text: str, name: str, first_line: int = 1) -> list[Finding]:
    """Findings in one text; ``name`` and ``first_line`` say where it came from."""
    lines = text.splitlines()
    accepted: dict[int, list[tuple[int, int]]] = {}
    findings: list[Finding] = []
    for number, start, end, kind in [*_pattern_findings(lines), *_header_findings(lines)]:
        spans = accepted.setdefault(number, [])
        if any(start < other_end and other_start < end for other_start, other_end in spans):
            continue
        spans.append((start, end))
        findings.append(
            Finding(name, first_line + number, kind, _excerpt(lines[number], start, end))
        )
    findings.extend(_binary_findings(lines, name, first_line))
    return sorted(findings, key=lambda finding: (finding.line, finding.kind))


_BINARY = re.compile(
    r"!!binary\s+"  # a block (``|``) on the next lines, or the base64 inline
    r"(?:[|>][-+0-9]*|[\"']?(?P<inline>[A-Za-z0-9+/=]+)[\"']?)\s*$"
)


def _binary_findings(lines: list[str], name: str, first_line: int) -> list[Finding]:
    """Findings inside YAML ``!!binary`` blocks (decoded; gzip inside undone)."""
    findings: list[Finding] = []
    for number, line in enumerate(lines):
        match = _BINARY.search(line)
        if match is None:
            continue
        start, chunks = number, [match.group("inline") or ""]
        if not chunks[0]:
            start = number + 1
            indent = len(line) - len(line.lstrip())
            for follow in lines[number + 1 :]:
                if not follow.strip() or len(follow) - len(follow.lstrip()) <= indent:
                    break
                chunks.append(follow.strip())
        try:
            data = base64.b64decode("".join(chunks))
        except (binascii.Error, ValueError):
            continue
        text = _decode(data)
        for finding in lint_text(text, name):
            findings.append(
                Finding(name, first_line + start, finding.kind, f"(in !!binary) {finding.excerpt}")
            )
    return findings


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
