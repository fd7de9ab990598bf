"""AWS plumbing for the Bedrock codec: region and credentials, and SigV4 signing.

botocore does the work (its config chain, credential providers and signer); this module
decides two things around it:

- **No blind network call for credentials.** botocore's credential chain ends with the
  EC2 instance metadata service (IMDS): on a machine without credentials it sends
  ``PUT http://169.254.169.254/latest/api/token`` and waits for it to fail, which under
  a cassette recorder is an unmatched request and elsewhere a delay. Here IMDS is asked
  only when the user opted in (``AWS_EC2_METADATA_DISABLED=false``) or when the machine
  says, locally, that it is an EC2 instance (the hypervisor or DMI files Linux exposes
  under ``/sys``). ``AWS_EC2_METADATA_DISABLED=true`` keeps it off, as in botocore. The
  other providers (environment, profiles and config files, SSO, web identity, the
  container endpoint named by ``AWS_CONTAINER_CREDENTIALS_*``) are botocore's own.
  With no credentials, :func:`resolve` raises ``ConfigurationError`` at once: nothing
  was sent.
- **A fixed signing clock, on request.** :func:`sign` signs at the current time, or at
  ``signing_time`` when one is given: recordings made against an emulator then hold the
  same ``x-amz-date`` and credential scope every time (AWS itself rejects a signature
  more than 5 minutes off, so never against the real service).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness.types import ConfigurationError

INSTANCE_METADATA_PROVIDER = "iam-role"
"""botocore's name for the credential provider that asks the instance metadata service."""

NO_CREDENTIALS = (
    "no AWS credentials found for Bedrock: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
    "or AWS_PROFILE (or pass profile=... or credentials=...)"
)


def resolve(region: str | None, credentials: Any, profile: str | None) -> tuple[str, Any]:
    """Region and credentials from the arguments, the environment or botocore's chain
    (the instance metadata service only as the module docstring says).

    Raises ``ConfigurationError`` naming the fix when either is missing."""
    try:
        import botocore.exceptions
        import botocore.session
    except ImportError:  # pragma: no cover - botocore is a declared extra
        raise ConfigurationError(
            "Bedrock needs botocore: pip install 'llm-parity[bedrock]'"
        ) from None
    session: Any = None
    metadata = True  # whether the instance metadata service could have been asked
    try:
        region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            session = botocore.session.Session(profile=profile)
            region = session.get_config_variable("region")
        if not region:
            raise ConfigurationError(
                "no AWS region for Bedrock: pass region=... or set AWS_REGION "
                "(or a region in your AWS profile)"
            )
        if credentials is None:
            session = session or botocore.session.Session(profile=profile)
            resolver = session.get_component("credential_provider")
            metadata = instance_metadata_allowed()
            if not metadata:
                resolver.remove(INSTANCE_METADATA_PROVIDER)
            credentials = resolver.load_credentials()
    except botocore.exceptions.BotoCoreError as exc:
        raise ConfigurationError(f"cannot configure Bedrock: {exc}") from None
    if credentials is None:
        hint = (
            ""
            if metadata
            else "; the EC2 instance metadata service was not asked (this machine does not "
            "look like EC2): set AWS_EC2_METADATA_DISABLED=false to use an instance role"
        )
        raise ConfigurationError(NO_CREDENTIALS + hint)
    return str(region), credentials


def instance_metadata_allowed(sys_root: Path = Path("/sys")) -> bool:
    """Whether botocore may ask the EC2 instance metadata service for credentials:
    ``AWS_EC2_METADATA_DISABLED`` if set (``false`` opts in), else whether this machine
    looks like an EC2 instance."""
    setting = os.environ.get("AWS_EC2_METADATA_DISABLED", "").strip().lower()
    if setting in ("true", "false"):
        return setting == "false"
    return on_ec2(sys_root)


def on_ec2(sys_root: Path = Path("/sys")) -> bool:
    """Whether the files Linux exposes under ``/sys`` say this is an EC2 instance
    (Xen: ``hypervisor/uuid`` starts with ``ec2``; Nitro: the DMI board asset tag is an
    instance id, or the system vendor is Amazon EC2). Reads files only, never the network.
    Elsewhere (macOS, Windows) it says no: opt in with ``AWS_EC2_METADATA_DISABLED=false``.
    """
    hypervisor = _read(sys_root / "hypervisor" / "uuid")
    asset_tag = _read(sys_root / "class" / "dmi" / "id" / "board_asset_tag")
    vendor = _read(sys_root / "class" / "dmi" / "id" / "sys_vendor")
    return (
        hypervisor.lower().startswith("ec2") or asset_tag.startswith("i-") or vendor == "Amazon EC2"
    )


def _read(path: Path) -> str:
    """A small system file's text, or "" when it is absent or unreadable by this user."""
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return ""


def sign(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    credentials: Any,
    service: str,
    region: str,
    signing_time: datetime | None = None,
) -> dict[str, str]:
    """The request's headers signed with SigV4 by botocore's signer (lower-case names),
    at the current time or at ``signing_time``, with one consistent snapshot of the
    credentials (refreshable ones may rotate). Any previous signature is replaced."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    if hasattr(credentials, "get_frozen_credentials"):
        credentials = credentials.get_frozen_credentials()
    stale = {"authorization", "x-amz-date", "x-amz-security-token"}
    kept = {k: v for k, v in headers.items() if k.lower() not in stale}
    request = AWSRequest(method=method, url=url, data=body, headers=kept)
    signer = SigV4Auth(credentials, service, region)
    if signing_time is None:
        signer.add_auth(request)
    else:
        _add_auth_at(signer, request, signing_time)
    return {k.lower(): str(v) for k, v in request.headers.items()}


def _add_auth_at(signer: Any, request: Any, moment: datetime) -> None:
    """``SigV4Auth.add_auth`` at ``moment`` instead of botocore's clock: the same steps,
    in the same order, with the timestamp set where ``add_auth`` sets it."""
    from botocore.auth import SIGV4_TIMESTAMP
    from botocore.exceptions import NoCredentialsError

    if signer.credentials is None:
        raise NoCredentialsError()
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    request.context["timestamp"] = moment.strftime(SIGV4_TIMESTAMP)
    signer._modify_request_before_signing(request)
    canonical_request = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical_request)
    signature = signer.signature(string_to_sign, request)
    signer._inject_signature_to_request(request, signature)
