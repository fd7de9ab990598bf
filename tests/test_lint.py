"""The cassette secret linter and ``harness cassettes lint``.

Every planted secret is assembled at run time, so this file holds no literal that looks
like a credential (to the linter or to any other secret scanner).
"""

from __future__ import annotations

import base64
import gzip
from pathlib import Path

import pytest

from harness.cassettes.lint import PATTERNS, Finding, cassette_files, lint_cassettes, lint_text
from harness.cassettes.scrub import SECRET_PATTERNS, scrub_text
from harness.cli import main

REPOSITORY_CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"

UUID = "8f2c1b7e-" + "4d3a-4c1e-9b2f-" + "5a6b7c8d9e0f"
HEADER_TOP = "interactions:\n- request:\n    headers:\n"

# case -> (kind, file text with the secret on line 3, the secret)
PLANTED: dict[str, tuple[str, str, str]] = {}


def plant(case: str, kind: str, line: str, secret: str) -> None:
    PLANTED[case] = (kind, f"version: 1\n# recorded\n{line}\n", secret)


OPENAI_KEY = "sk-" + "Ab1Cd2Ef3Gh4" * 4
PROJECT_KEY = "sk-" + "proj-" + "Xy9_Zw8-" * 6
ANTHROPIC_KEY = "sk-" + "ant-api03-" + "Qr5St6Uv7" * 5
GOOGLE_KEY = "AIza" + "SyB3" * 8 + "k2_"
ACCESS_KEY = "AKIA" + "Z7Y6X5W4V3U2T1S0"
SESSION_KEY = "ASIA" + "Z7Y6X5W4V3U2T1S0"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzQ8kLm3Np2"
BEARER = "eyJhbGciOiJIUzI1NiJ9" + ".payload1234567890"
SIGNATURE = "5d" * 32
TOKEN = "IQoJb3JpZ2luX2VjE" + "Hk4" * 10
ORG = "org-" + "Q1w2E3r4T5y6U7i8O9p0A1s2"
PROJECT = "proj_" + "Z9x8C7v6B5n4M3l2K1j0H9g8"
CREDENTIAL = "ci-user" + "%2F20250101%2Fus-east-1%2Fs3%2Faws4_request"

plant("openai-key", "openai-api-key", f'      "api_key": "{OPENAI_KEY}"', OPENAI_KEY)
plant("openai-project-key", "openai-api-key", f"  key: {PROJECT_KEY}", PROJECT_KEY)
plant("anthropic-key", "anthropic-api-key", f"  text: use {ANTHROPIC_KEY} here", ANTHROPIC_KEY)
plant("google-key", "google-api-key", f'  "google": "{GOOGLE_KEY}"', GOOGLE_KEY)
plant("aws-access-key-id", "aws-access-key-id", f"  id: {ACCESS_KEY}", ACCESS_KEY)
plant("aws-temporary-key-id", "aws-access-key-id", f"  id: {SESSION_KEY}", SESSION_KEY)
plant(
    "aws-secret-key", "aws-secret-access-key", f"aws_secret_access_key = {SECRET_KEY}", SECRET_KEY
)
plant(
    "aws-secret-key-json",
    "aws-secret-access-key",
    f'{{"SecretAccessKey": "{SECRET_KEY}"}}',
    SECRET_KEY,
)
plant("bearer-token", "bearer-token", f'  "note": "sent Bearer {BEARER}"', BEARER)
plant(
    "sigv4-signature",
    "sigv4-signature",
    f"  - AWS4-HMAC-SHA256 Credential=REDACTED/x, SignedHeaders=host, Signature={SIGNATURE}",
    SIGNATURE,
)
plant(
    "presigned-signature",
    "sigv4-signature",
    f"  uri: https://b.s3.amazonaws.com/o?X-Amz-Signature={SIGNATURE}",
    SIGNATURE,
)
plant(
    "security-token-query",
    "aws-session-token",
    f"  uri: https://b.s3.amazonaws.com/o?X-Amz-Security-Token={TOKEN}&a=1",
    TOKEN,
)
plant("security-token-header", "aws-session-token", f"  x-amz-security-token: {TOKEN}", TOKEN)
plant(
    "authorization-header",
    "authorization-header",
    "  Authorization: Basic dXNlcjpwYXNz",
    "dXNlcjpwYXNz",
)
plant(
    "x-api-key-header", "x-api-key-header", "  x-api-key: abc123-not-a-known-format", "abc123-not"
)
plant(
    "x-goog-api-key-header",
    "x-goog-api-key-header",
    '  "x-goog-api-key": ["gk-123456"]',
    "gk-123456",
)
plant("cookie-header", "cookie-header", "  cookie: session=a1b2c3d4e5", "session=a1b2c3d4e5")
plant(
    "set-cookie-header",
    "cookie-header",
    "  Set-Cookie: __cf_bm=z9y8x7w6; path=/",
    "__cf_bm=z9y8x7w6",
)
plant(
    "key-query-param",
    "key-query-param",
    "  uri: https://generativelanguage.googleapis.com/v1/m:generateContent?alt=sse&key=k3y-v4lu3",
    "k3y-v4lu3",
)
plant(
    "presigned-credential",
    "aws-credential",
    "  uri: https://b.s3.amazonaws.com/o?X-Amz-Credential=" + CREDENTIAL + "&a=1",
    CREDENTIAL,
)
plant("openai-org-id", "openai-org-id", f"  openai-org: {ORG}", ORG)
plant("openai-project-id", "openai-project-id", f'  "project": "{PROJECT}"', PROJECT)
plant("anthropic-org-header", "anthropic-org-id", f"  anthropic-organization-id: {UUID}", UUID)
plant("anthropic-org-in-body", "anthropic-org-id", f'  {{"organization_id": "{UUID}"}}', UUID)
plant(
    "aws-account-id",
    "aws-account-id",
    "  model: arn:aws:bedrock:us-east-1:" + "4567" * 3 + ":inference-profile/x",
    "4567" * 3,
)
plant(
    "aws-account-id-encoded",
    "aws-account-id",
    "  uri: https://h/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A" + "4567" * 3 + "%3Ax/converse",
    "4567" * 3,
)


def findings_for(tmp_path: Path, name: str, text: str) -> list[Finding]:
    (tmp_path / name).write_text(text)
    return lint_cassettes(tmp_path)


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_every_kind_of_secret_is_found(tmp_path: Path, case: str) -> None:
    kind, text, secret = PLANTED[case]
    findings = findings_for(tmp_path, "scenario.yaml", text)
    assert [(f.file, f.line, f.kind) for f in findings] == [
        (str(tmp_path / "scenario.yaml"), 3, kind)
    ]
    assert secret not in findings[0].excerpt and "****" in findings[0].excerpt
    assert str(findings[0]).startswith(f"{tmp_path / 'scenario.yaml'}:3: {kind}: ")


HEADER_CASES = {
    "authorization-header",
    "x-api-key-header",
    "x-goog-api-key-header",
    "cookie-header",
    "set-cookie-header",
    "security-token-header",
}
"""Planted secrets found as header values: the scrubber replaces those by header name."""


def test_the_linter_looks_for_what_the_scrubber_removes() -> None:
    """One table (``harness.cassettes.scrub.SECRET_PATTERNS``) drives both: every secret the linter
    finds in text, ``scrub_text`` replaces, and the linter accepts the result."""
    assert [kind for kind, _ in PATTERNS] == [pattern.kind for pattern in SECRET_PATTERNS]
    for case, (_, text, secret) in sorted(PLANTED.items()):
        if case in HEADER_CASES:
            continue
        scrubbed = scrub_text(text)
        assert secret not in scrubbed, case
        assert lint_text(scrubbed, case) == [], case
        assert scrub_text(scrubbed) == scrubbed, case


def test_secret_header_values_on_list_lines(tmp_path: Path) -> None:
    text = (
        HEADER_TOP
        + "      authorization:\n      - Token abcdef123456\n      x-api-key:\n"
        + ("      - REDACTED\n")
    )
    (finding,) = findings_for(tmp_path, "list.yaml", text)
    assert (finding.line, finding.kind) == (5, "authorization-header")


@pytest.mark.parametrize(
    "line",
    [
        "  authorization: REDACTED",
        "  Authorization: '**REDACTED**'",
        "  - Bearer test_openai_api_key",
        "  x-goog-api-key: DUMMY_GOOGLE_API_KEY",
        "  Set-Cookie: test_set_cookie",
        "  openai-organization: test_openai_org_id",
        "  x-amz-security-token: REDACTED",
        "  cookie: ''",
        "  anthropic-organization-id: REDACTED",
        "  - AWS4-HMAC-SHA256 Credential=REDACTED/2025/us-east-1/bedrock/aws4_request, "
        "SignedHeaders=host, Signature=REDACTED",
        "  uri: https://g/v1/m:generateContent?key=REDACTED&alt=sse",
        "  model: arn:aws:bedrock:us-east-1:000000000000:inference-profile/x",
        "  error: key sk-REDACTED of org-REDACTED in proj_REDACTED",
        "  id: AKIA" + "IOSFODNN7EXAMPLE",  # AWS's documented example key
        "  content: 'the x-api-key header is required'",
        "  id: chatcmpl-" + "a1" * 15,
    ],
)
def test_placeholders_are_not_findings(tmp_path: Path, line: str) -> None:
    assert findings_for(tmp_path, "clean.yaml", HEADER_TOP + line + "\n") == []


def test_gzip_cassettes_are_read_decompressed(tmp_path: Path) -> None:
    text = "requests:\n- body: ok\n" + f"- body: {OPENAI_KEY}\n"
    (tmp_path / "scenario.yaml.gz").write_bytes(gzip.compress(text.encode()))
    (finding,) = lint_cassettes(tmp_path)
    assert (finding.file, finding.line, finding.kind) == (
        str(tmp_path / "scenario.yaml.gz"),
        3,
        "openai-api-key",
    )


def test_binary_bodies_are_decoded(tmp_path: Path) -> None:
    encoded = base64.encodebytes(f'{{"key": "{ANTHROPIC_KEY}"}}'.encode()).decode()
    block = "".join(f"        {line}\n" for line in encoded.splitlines())
    text = "interactions:\n- response:\n    body:\n      string: !!binary |\n" + block
    (finding,) = findings_for(tmp_path, "binary.yaml", text)
    assert (finding.line, finding.kind) == (5, "anthropic-api-key")
    assert ANTHROPIC_KEY not in finding.excerpt


def binary_headers(values: dict[str, str], style: str) -> str:
    """A request whose header values are ``!!binary`` (as botocore and pydantic-ai
    record them): as list items with a block, as an inline block, or inline base64."""
    text = HEADER_TOP
    for name, value in values.items():
        encoded = base64.b64encode(value.encode()).decode()
        if style == "list":
            text += f"      {name}:\n      - !!binary |\n        {encoded}\n"
        elif style == "block":
            text += f"      {name}: !!binary |\n        {encoded}\n"
        else:
            text += f'      {name}: !!binary "{encoded}"\n'
    return text


BINARY_STYLES = pytest.mark.parametrize("style", ["list", "block", "inline"])


@BINARY_STYLES
def test_placeholders_in_binary_header_values_are_not_findings(tmp_path: Path, style: str) -> None:
    values = {
        "Authorization": "Bearer test_aws_authorization",
        "X-Amz-Security-Token": "test_aws_security_token",
        "x-api-key": "**REDACTED**",
        "Cookie": "REDACTED",
    }
    assert findings_for(tmp_path, "botocore.yaml", binary_headers(values, style)) == []


@BINARY_STYLES
def test_secrets_in_binary_header_values_are_found_once(tmp_path: Path, style: str) -> None:
    values = {
        "Authorization": "Basic dXNlcjpwYXNz",
        "X-Amz-Security-Token": TOKEN,
        "x-api-key": ANTHROPIC_KEY,
        "proxy-authorization": f"Bearer {BEARER}",
    }
    text = binary_headers(values, style)
    findings = findings_for(tmp_path, "leaky.yaml", text)
    assert [f.kind for f in findings] == [
        "authorization-header",
        "aws-session-token",
        "anthropic-api-key",  # the pattern inside the decoded bytes names it best
        "bearer-token",
    ]
    lines = text.splitlines()
    base64_lines = [  # each finding is reported on the line of its value's base64
        next(n for n, line in enumerate(lines, 1) if base64.b64encode(v.encode()).decode() in line)
        for v in values.values()
    ]
    assert [f.line for f in findings] == base64_lines
    assert findings[0].excerpt == "authorization: !!binary Basi****"
    for secret in ("dXNlcjpwYXNz", TOKEN, ANTHROPIC_KEY, BEARER):
        assert not any(secret in f.excerpt for f in findings)


def test_directories_are_walked_and_hidden_ones_skipped(tmp_path: Path) -> None:
    (tmp_path / "openai").mkdir()
    (tmp_path / ".cache").mkdir()
    (tmp_path / "openai" / "a.yaml").write_text(f"k: {OPENAI_KEY}\n")
    (tmp_path / ".cache" / "b.yaml").write_text(f"k: {OPENAI_KEY}\n")
    (tmp_path / "blob.bin").write_bytes(b"\0\1" + OPENAI_KEY.encode())
    assert [f.file for f in lint_cassettes(tmp_path)] == [str(tmp_path / "openai" / "a.yaml")]
    assert len(cassette_files(tmp_path)) == 2


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        lint_cassettes(tmp_path / "absent")


# --- the command line ----------------------------------------------------------------------


def test_cli_exit_0_on_clean_directories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.yaml").write_text("authorization: REDACTED\n")
    (tmp_path / "b.yaml").write_text("version: 1\n")
    assert main(["cassettes", "lint", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "no secrets found in 2 files" in captured.err


def test_cli_reads_each_file_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A directory given twice, or a file inside a directory also given, is one file."""
    (tmp_path / "a.yaml").write_text("authorization: REDACTED\n")
    path = tmp_path / "openai" / "plain_text.yaml"
    path.parent.mkdir()
    path.write_text(f"b: {OPENAI_KEY}\n")
    assert main(["cassettes", "lint", str(tmp_path), str(tmp_path), str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"{path}:1: openai-api-key: b: {OPENAI_KEY[:4]}****"]
    assert "1 secret(s) found in 2 files" in captured.err


def test_cli_exit_1_and_one_line_per_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "openai" / "plain_text.yaml"
    path.parent.mkdir()
    path.write_text(f"a: 1\nb: {OPENAI_KEY}\nc: {GOOGLE_KEY}\n")
    assert main(["cassettes", "lint", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"{path}:2: openai-api-key: b: {OPENAI_KEY[:4]}****",
        f"{path}:3: google-api-key: c: {GOOGLE_KEY[:4]}****",
    ]


@pytest.mark.parametrize(
    "argv",
    [[], ["cassettes"], ["cassettes", "lint"], ["nonsense"], ["cassettes", "lint", "--bogus", "."]],
)
def test_cli_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_cli_missing_directory_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cassettes", "lint", str(tmp_path), str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err
    assert f"no such directory: {tmp_path / 'absent'}" in err


def test_cli_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cassettes", "lint", "--help"]) == 0
    assert "DIR" in capsys.readouterr().out


# --- the repository's own cassettes ----------------------------------------------------------


MIN_REPOSITORY_CASSETTES = 100
"""The suite records well over this many: fewer means cassettes/ went missing or moved."""


def test_repository_cassettes_hold_no_secrets() -> None:
    assert REPOSITORY_CASSETTES.is_dir(), f"{REPOSITORY_CASSETTES} is missing"
    files = cassette_files(REPOSITORY_CASSETTES)
    assert len(files) >= MIN_REPOSITORY_CASSETTES, f"only {len(files)} files in cassettes/"
    assert [str(finding) for finding in lint_cassettes(REPOSITORY_CASSETTES)] == []
