"""The checks on requests as sent (conformance/sent.py): credentials in the provider's own
place, a SigV4 signature the suite's secret reproduces, waits that honour Retry-After.
A problem never shows a credential's value."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from botocore.credentials import Credentials

from conformance.sent import SentRequest, credential_problems, from_emulated, wait_problems
from harness.adapters.base import Target
from harness.emulator import Emulator, EmulatorTransport, Reply
from harness.lm import LM

KEY = "test-key"
CREDENTIALS = Credentials("AKIDEXAMPLE", "fake-secret-for-replay")


def target(provider: str, **options: object) -> Target:
    base = {"api_key": KEY, "region": "us-east-1", "aws_credentials": CREDENTIALS}
    return Target(provider, "m", **{**base, **options})  # type: ignore[arg-type]


def sent(url: str, **headers: str) -> SentRequest:
    return SentRequest("POST", url, {k.replace("_", "-"): v for k, v in headers.items()})


OPENAI = "https://api.openai.com/v1/chat/completions"
ANTHROPIC = "https://api.anthropic.com/v1/messages"
GEMINI = "https://generativelanguage.googleapis.com/v1beta/models/m:generateContent"


@pytest.mark.parametrize(
    ("provider", "request_"),
    [
        ("openai", sent(OPENAI, authorization=f"Bearer {KEY}")),
        ("anthropic", sent(ANTHROPIC, x_api_key=KEY)),
        ("anthropic", sent(ANTHROPIC, authorization=f"Bearer {KEY}")),
        ("gemini", sent(GEMINI, x_goog_api_key=KEY)),
        ("gemini", sent(f"{GEMINI}?alt=sse&key={KEY}")),
    ],
)
def test_the_key_in_its_place_passes(provider: str, request_: SentRequest) -> None:
    assert credential_problems(provider, [request_], target(provider)) == []


@pytest.mark.parametrize(
    ("provider", "request_", "got"),
    [
        ("openai", sent(OPENAI, x_api_key=KEY), "present: x-api-key"),
        ("openai", sent(OPENAI, authorization="Bearer sk-real"), "present: authorization"),
        ("openai", sent(OPENAI), "present: no credential at all"),
        ("anthropic", sent(ANTHROPIC, api_key=KEY), "present: api-key"),
        ("gemini", sent(GEMINI, authorization=f"Bearer {KEY}"), "present: authorization"),
        ("gemini", sent(f"{GEMINI}?key=other"), "present: ?key="),
    ],
)
def test_the_key_elsewhere_or_another_key_fails_without_showing_it(
    provider: str, request_: SentRequest, got: str
) -> None:
    problems = credential_problems(provider, [request_], target(provider))
    assert [p[2] for p in problems] == [got]
    assert "sk-real" not in repr(problems) and KEY not in repr(problems)


def bedrock_request(credentials: Credentials, **options: object) -> SentRequest:
    """What the reference client sends to Bedrock, signed with ``credentials``."""
    em = Emulator([Reply("hi")])
    lm = LM(
        "bedrock/us.amazon.nova-micro-v1:0",
        region="us-east-1",
        credentials=credentials,
        transport=EmulatorTransport(em),
        signing_time=datetime(2025, 1, 1, tzinfo=timezone.utc),
        **options,
    )
    lm("hi")
    lm.close()
    return from_emulated(em.requests[0])


def test_a_sigv4_signature_made_with_the_suites_secret_passes() -> None:
    assert credential_problems("bedrock", [bedrock_request(CREDENTIALS)], target("bedrock")) == []


@pytest.mark.parametrize(
    ("credentials", "got"),
    [
        (Credentials("AKIDOTHER", "fake-secret-for-replay"), "another access key id"),
        (Credentials("AKIDEXAMPLE", "another-secret"), "does not reproduce"),
    ],
)
def test_a_signature_made_with_other_credentials_fails(credentials: Credentials, got: str) -> None:
    problems = credential_problems("bedrock", [bedrock_request(credentials)], target("bedrock"))
    assert len(problems) == 1 and got in problems[0][2]
    assert "another-secret" not in repr(problems)


def test_a_signature_for_another_region_or_a_tampered_body_fails() -> None:
    request = bedrock_request(CREDENTIALS)
    problems = credential_problems("bedrock", [request], target("bedrock", region="eu-west-1"))
    assert "region 'us-east-1'" in problems[0][2]
    tampered = SentRequest(request.method, request.url, request.headers, request.body + b" ")
    problems = credential_problems("bedrock", [tampered], target("bedrock"))
    assert "does not reproduce" in problems[0][2]
    unsigned = SentRequest(request.method, request.url, {}, request.body)
    assert "no SigV4" in credential_problems("bedrock", [unsigned], target("bedrock"))[0][2]


def at(*times: float) -> list[SentRequest]:
    return [SentRequest("POST", OPENAI, {}, at=t) for t in times]


def test_a_retry_sooner_than_retry_after_fails() -> None:
    assert wait_problems((0.05,), at(10.0, 10.06)) == []
    assert wait_problems((0.05,), at(10.0, 10.049)) == []  # within the clock's tolerance
    ((field, wanted, got),) = wait_problems((0.05,), at(10.0, 10.01))
    assert (field, wanted, got) == ("wait before attempt #2", ">= 50 ms", "10.0 ms")
    assert wait_problems((0.0, 0.05), at(1.0, 1.0, 1.01))[0][0] == "wait before attempt #3"


def test_a_request_never_shows_its_headers() -> None:
    assert KEY not in repr(sent(OPENAI, authorization=f"Bearer {KEY}"))
