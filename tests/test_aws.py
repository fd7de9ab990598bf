"""AWS plumbing of the Bedrock codec (harness.providers.aws): no network attempt while
looking for credentials unless the user opted in, and a fixed SigV4 clock on request.

Only fake credentials are used (AKIDEXAMPLE).
"""

from __future__ import annotations

import datetime
import socket
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from harness.lm import LM
from harness.providers import aws
from harness.providers.bedrock import BedrockCodec
from harness.types import ConfigurationError
from tests.test_codec_bedrock import AWS_ENV, KEY_ID, SECRET, authorization, expected_signature

NOVA = "bedrock/us.amazon.nova-micro-v1:0"


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Any]:
    """An AWS environment with no credentials anywhere, on a machine that is not EC2,
    where every outgoing connection is refused and recorded (the list returned)."""
    for name in (*AWS_ENV, "AWS_EC2_METADATA_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setattr(aws, "on_ec2", lambda sys_root=None: False)
    attempts: list[Any] = []

    def connect(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise ConnectionRefusedError(111, "the test allows no network")

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


def test_no_credentials_is_a_clear_error_before_any_network_attempt(
    no_credentials: list[Any],
) -> None:
    with pytest.raises(ConfigurationError) as info:
        LM(NOVA, region="us-east-1")
    assert no_credentials == []  # botocore's chain would have tried 169.254.169.254
    assert str(info.value) == (
        "no AWS credentials found for Bedrock: set AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (or pass profile=... or credentials=...); "
        "the EC2 instance metadata service was not asked (this machine does not look like "
        "EC2): set AWS_EC2_METADATA_DISABLED=false to use an instance role"
    )


def test_the_instance_metadata_service_is_asked_when_the_user_opts_in(
    no_credentials: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
    with pytest.raises(ConfigurationError) as info:
        LM(NOVA, region="us-east-1")
    assert [host for host, _ in no_credentials][:1] == ["169.254.169.254"]
    assert str(info.value) == aws.NO_CREDENTIALS


def test_the_instance_metadata_service_is_asked_on_ec2(
    no_credentials: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aws, "on_ec2", lambda sys_root=None: True)
    with pytest.raises(ConfigurationError):
        LM(NOVA, region="us-east-1")
    assert [host for host, _ in no_credentials][:1] == ["169.254.169.254"]
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # botocore's switch still wins
    no_credentials.clear()
    with pytest.raises(ConfigurationError):
        LM(NOVA, region="us-east-1")
    assert no_credentials == []


def test_credentials_from_the_environment_need_no_network(
    no_credentials: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    assert LM(NOVA, region="us-east-1").codec.credentials.access_key == KEY_ID  # type: ignore[attr-defined]
    assert no_credentials == []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, False),
        ({"hypervisor/uuid": "ec2e1916-9099-7caf-fd21-012345abcdef\n"}, True),
        ({"hypervisor/uuid": "4b0c2f6e-9099-7caf-fd21-012345abcdef\n"}, False),
        ({"class/dmi/id/board_asset_tag": "i-0123456789abcdef0\n"}, True),
        ({"class/dmi/id/sys_vendor": "Amazon EC2\n"}, True),
        ({"class/dmi/id/sys_vendor": "QEMU\n", "class/dmi/id/board_asset_tag": "\n"}, False),
    ],
)
def test_ec2_is_recognised_from_local_files_only(
    tmp_path: Path, files: dict[str, str], expected: bool
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert aws.on_ec2(tmp_path) is expected


# --- the signing clock -----------------------------------------------------------------


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


MOMENT = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)


@pytest.mark.usefixtures("keys")
def test_a_fixed_signing_time_signs_as_botocore_would_at_that_instant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codec = BedrockCodec(region="us-east-1", signing_time=MOMENT)
    request = LM(NOVA, region="us-east-1").request("hi", stream=True)
    signed = codec.sign(request)
    assert signed.headers["x-amz-date"] == "20250101T000000Z"
    assert authorization(signed)["Credential"] == (
        f"{KEY_ID}/20250101/us-east-1/bedrock/aws4_request"
    )
    assert authorization(signed)["Signature"] == expected_signature(signed, SECRET, "us-east-1")
    monkeypatch.setattr(
        "botocore.auth.get_current_datetime", lambda *a, **k: datetime.datetime(2025, 1, 1)
    )
    reference = AWSRequest(
        method="POST", url=request.url, data=request.body, headers=dict(request.headers)
    )
    SigV4Auth(Credentials(KEY_ID, SECRET), "bedrock", "us-east-1").add_auth(reference)
    assert signed.headers["authorization"] == reference.headers["Authorization"]


@pytest.mark.usefixtures("keys")
def test_a_fixed_signing_time_does_not_move_and_may_name_any_time_zone() -> None:
    paris = datetime.timezone(datetime.timedelta(hours=1))
    codec = BedrockCodec(region="us-east-1", signing_time=MOMENT.astimezone(paris))
    request = BedrockCodec(region="us-east-1").build_request(
        LM(NOVA, region="us-east-1").params("hi"), stream=False
    )
    first = codec.sign(request)
    assert codec.sign(first) == first == codec.sign(request)
    assert first.headers["x-amz-date"] == "20250101T000000Z"
    naive = BedrockCodec(region="us-east-1", signing_time=datetime.datetime(2025, 1, 1))
    assert naive.sign(request) == first


@pytest.mark.usefixtures("keys")
def test_signing_time_must_be_a_datetime() -> None:
    with pytest.raises(ConfigurationError, match="signing_time must be a datetime"):
        LM(NOVA, region="us-east-1", signing_time="2025-01-01")


@pytest.mark.usefixtures("keys")
def test_the_emulator_transport_implies_its_signing_time_and_an_explicit_one_wins() -> None:
    from harness.emulator import Emulator, EmulatorTransport
    from harness.emulator.shells import EMULATOR_SIGNING_TIME

    transport = EmulatorTransport(Emulator([]))
    implied = LM(NOVA, region="us-east-1", transport=transport)
    assert implied.codec.signing_time == EMULATOR_SIGNING_TIME  # type: ignore[attr-defined]
    explicit = LM(NOVA, region="us-east-1", transport=transport, signing_time=MOMENT)
    assert explicit.codec.signing_time == MOMENT  # type: ignore[attr-defined]
    assert LM(NOVA, region="us-east-1").codec.signing_time is None  # type: ignore[attr-defined]
    LM("openai/gpt-test", api_key="k", transport=transport)  # takes no signing_time: not given
