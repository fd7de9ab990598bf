"""The litellm adapter: its translation (options, requests, messages, errors) against the
installed litellm, calls against the emulator on a loopback port, retries without
waiting, and the conformance suite run on a small selection. Skipped when litellm is not
installed (``pip install 'llm-parity[litellm]'``)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # importorskip imports it
litellm = pytest.importorskip("litellm")

from harness.adapters import retry_wait  # noqa: E402
from harness.adapters.base import Target  # noqa: E402
from harness.adapters.litellm_adapter import LiteLLMAdapter  # noqa: E402
from harness.emulator import Emulator, Fault, Reply, Step, serve  # noqa: E402
from harness.types import (  # noqa: E402
    BadRequestError,
    Message,
    RateLimitError,
    ServerError,
    Usage,
)

ROOT = Path(__file__).resolve().parent.parent
MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-sonnet-4-5",
    "gemini": "gemini-2.5-flash",
    "bedrock": "us.amazon.nova-micro-v1:0",
}
HELLO = (Message.user("Say hello."),)


def fake_credentials() -> Any:
    from botocore.credentials import Credentials

    return Credentials("AKIDEXAMPLE", "fake-secret", "fake-token")


def target(provider: str, base_url: str | None = None, **extra: Any) -> Target:
    return Target(
        provider=provider,
        model=MODELS[provider],
        api_key="test-key",
        region="us-east-1",
        aws_credentials=fake_credentials() if provider == "bedrock" else None,
        base_url=base_url,
        **extra,
    )


@pytest.fixture
def adapter() -> LiteLLMAdapter:
    return LiteLLMAdapter()


@pytest.fixture
def emulated() -> Iterator[Any]:
    """``emulated(provider, steps)``: a litellm client answered by the emulator."""
    adapter = LiteLLMAdapter()
    stack: list[Any] = []

    def make(provider: str, steps: Sequence[Step], **extra: Any) -> Any:
        server = serve(Emulator(steps))
        stack.append(server)
        return adapter.connect(target(provider, server.__enter__(), **extra))

    yield make
    for server in reversed(stack):
        server.__exit__(None, None, None)


# --- translation --------------------------------------------------------------------------


def test_features(adapter: LiteLLMAdapter) -> None:
    for provider in MODELS:
        assert adapter.supports("astream", provider)
        assert adapter.supports("tool_choice", provider)
        assert not adapter.supports("chain", provider)
        assert not adapter.supports("context", provider)
    assert adapter.connect(target("bedrock")).model == "bedrock/converse/us.amazon.nova-micro-v1:0"


def test_provider_message_strips_litellm_labels() -> None:
    """litellm's own labels go, whatever their shape; what litellm put after them stays."""
    from harness.adapters.litellm_adapter import provider_message

    rate = (
        "litellm.MidStreamFallbackError: litellm.RateLimitError: BedrockException: Rate Limit "
        'Error - throttlingException {"message": "slow down"}'
    )
    assert provider_message(rate) == 'throttlingException {"message": "slow down"}'
    assert provider_message("BedrockException Invalid Authentication - no") == "no"
    gemini = "litellm.InternalServerError: Vertex_ai_betaException InternalServerError - x - y"
    assert provider_message(gemini) == "x - y"
    assert provider_message('BedrockException - {"message": "internal failure"}') == (
        "internal failure"
    )
    assert provider_message("AnthropicException - Rate limit - x") == "Rate limit - x"


# --- against the emulator ---------------------------------------------------------------


@pytest.mark.parametrize("provider", list(MODELS))
def test_call_and_stream_agree(provider: str, emulated: Any, adapter: LiteLLMAdapter) -> None:
    reply = Reply(text="Hello there!", usage=Usage(9, 10))
    called = adapter.call(emulated(provider, [reply]), HELLO, {})
    streamed = adapter.stream(emulated(provider, [reply]), HELLO, {})
    assert called.text == streamed.response.text == "Hello there!"
    assert called.finish_reason == streamed.response.finish_reason == "stop"
    assert called.usage == streamed.response.usage == Usage(9, 10)
    assert asyncio.run(adapter.acall(emulated(provider, [reply]), HELLO, {})) == called


def test_errors_name_provider_status_and_message(emulated: Any, adapter: LiteLLMAdapter) -> None:
    client = emulated("anthropic", [Fault(429, "slow down", retry_after=3)], max_retries=0)
    with pytest.raises(RateLimitError) as caught:
        adapter.call(client, HELLO, {})
    error = caught.value
    assert (error.provider, error.status, error.provider_message) == ("anthropic", 429, "slow down")
    assert error.retry_after == 3
    with pytest.raises(BadRequestError) as bad:
        adapter.call(emulated("openai", [Fault(400, "no")]), HELLO, {})
    assert (bad.value.provider, bad.value.provider_message) == ("openai", "no")


def test_stream_errors_keep_what_litellm_gives(emulated: Any, adapter: LiteLLMAdapter) -> None:
    """litellm 1.110.2: a streamed Gemini error names vertex_ai_beta, with a bytes repr."""
    with pytest.raises(ServerError) as caught:
        adapter.stream(emulated("gemini", [Fault(500, "boom")], max_retries=0), HELLO, {})
    assert caught.value.status == 500
    assert caught.value.provider in ("gemini", "vertex_ai_beta")
    assert "boom" in caught.value.provider_message


def test_fast_retries_do_not_wait(emulated: Any, adapter: LiteLLMAdapter) -> None:
    """litellm's async retry of a 429 waits 1 s (tenacity.wait_exponential) unless the
    target asks for fast retries."""
    steps = [Fault(429, "slow down", retry_after=0), Reply(text="Hi.")]
    asyncio.run(adapter.acall(emulated("gemini", [Reply(text="warm")]), HELLO, {}))
    started = time.perf_counter()
    response = asyncio.run(adapter.acall(emulated("gemini", steps), HELLO, {}))
    assert response.text == "Hi."
    assert time.perf_counter() - started < 0.8


def test_no_wait_only_inside_the_block() -> None:
    import tenacity
    from openai import OpenAI

    retry_wait.install()
    retry_wait.install()  # idempotent
    wait = tenacity.wait_exponential(multiplier=1, max=10)
    state = type("State", (), {"attempt_number": 2})()
    client = OpenAI(api_key="k", base_url="http://127.0.0.1:9")
    options: Any = type("Options", (), {"get_max_retries": lambda self, default: 2})()
    assert wait(state) == 2.0
    assert client._calculate_retry_timeout(1, options) > 0
    with retry_wait.no_wait():
        assert wait(state) == 0.0
        assert client._calculate_retry_timeout(1, options) == 0.0
        with retry_wait.no_wait(False):
            assert wait(state) == 2.0
    assert wait(state) == 2.0


# --- the suite ----------------------------------------------------------------------------


def test_suite_finds_the_gemini_stream_differences(tmp_path: Path) -> None:
    """On the shipped cassettes: plain text passes in every mode litellm has; the streamed
    reasoning tokens and the unretried streamed 429 are the known real differences."""
    out = tmp_path / "parity.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(ROOT / "conformance" / "test_scenarios.py"),
            "--client=litellm",
            "--provider=gemini",
            "-k",
            "plain_text or reasoning_text or retry_after_429",
            f"--parity-json={out}",
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    document = json.loads(out.read_text())
    assert document["client"] == "litellm"
    assert document["client_version"] == metadata.version("litellm")
    outcomes = {(row["scenario"], row["mode"]): row["outcome"] for row in document["results"]}
    failed = {case for case, outcome in outcomes.items() if outcome == "fail"}
    assert failed == {
        ("reasoning_text", "stream"),
        ("reasoning_text", "astream"),
        ("retry_after_429", "stream"),
        ("retry_after_429", "astream"),
    }, result.stdout[-3000:]
    for mode in ("sync", "async", "stream", "astream"):
        assert outcomes[("plain_text", mode)] == "pass"
    assert outcomes[("plain_text", "thread_pool")] == "not supported"
