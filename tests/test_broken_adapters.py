"""The conformance suite fails deliberately broken clients, with messages that say why.

Each broken adapter (tests/broken_adapters.py) is run through the real suite with
``--client``, on one provider, and the failing cases and their messages are checked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def importable_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite runs in a subprocess from a temporary directory: let it import tests."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))


def run_suite(pytester: pytest.Pytester, client: str, *select: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        str(ROOT / "conformance"),
        f"--client=tests.broken_adapters:{client}",
        f"--cassette-dir={ROOT / 'cassettes'}",
        f"--rootdir={ROOT}",
        "--provider=openai",
        "-p",
        "no:cacheprovider",
        "-q",
        *select,
    )


def test_the_reference_client_passes_the_same_selection(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        str(ROOT / "conformance"),
        f"--cassette-dir={ROOT / 'cassettes'}",
        f"--rootdir={ROOT}",
        "--provider=openai",
        "-p",
        "no:cacheprovider",
        "-q",
        "-k",
        "retry or asyncify or astream",
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0, result.stdout.str()
    assert outcomes.get("errors", 0) == 0, result.stdout.str()
    assert outcomes["passed"] > 10 and result.ret == pytest.ExitCode.OK, result.stdout.str()


def test_an_async_path_without_retries_fails_the_retry_specs(pytester: pytest.Pytester) -> None:
    result = run_suite(
        pytester,
        "AsyncSkipsRetries",
        "-k",
        "retry_after and async and not astream and not asyncify",
    )
    outcomes = result.parseoutcomes()
    # 429, 5xx, Retry-After wait, a Retry-After longer than a backoff, a backoff
    assert outcomes.get("failed") == 5, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["*retry_after_429 / openai / mode async: result misses the scenario's expectation*"]
    )
    result.stdout.fnmatch_lines(["*error*", "*expected None*", "*got*RateLimitError*slow down*"])


def test_an_asyncify_that_loses_the_context_fails(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "AsyncifyLosesContext", "-k", "plain_text-asyncify")
    result.assert_outcomes(failed=1)
    # the worker fell back to the process default's model, which no cassette holds
    result.stdout.fnmatch_lines(['*requested "gpt-4.1-nano"*', "*the caller's context was lost*"])


def test_an_async_stream_that_reorders_chunks_fails(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "AsyncStreamReorders", "-k", "long_text-astream")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*long_text / openai / mode astream: result misses the scenario's expectation*"]
    )
    result.stdout.fnmatch_lines(["*response.text*"])


def test_a_client_without_a_context_store_is_held_to_the_call_specs(
    pytester: pytest.Pytester,
) -> None:
    """What an official SDK or boto3 adapter looks like: no configure/context, no httpx
    transport. Call, stream and chain specs run; the context modes are not supported."""
    out = pytester.path / "parity.json"
    result = pytester.runpytest_subprocess(
        str(ROOT / "conformance" / "test_scenarios.py"),
        "--client=tests.regressed_adapters:ReferenceWithoutContextOrTransport",
        f"--cassette-dir={ROOT / 'cassettes'}",
        f"--rootdir={ROOT}",
        "--provider=gemini",
        f"--parity-json={out}",
        "-p",
        "no:cacheprovider",
        "-q",
    )
    assert result.ret == 0, result.stdout.str()
    rows = json.loads(out.read_text())["results"]
    programs = [row for row in rows if row["scenario"] == "program_question"]
    assert programs and {row["outcome"] for row in programs} == {"not supported"}
    by_mode: dict[str, set[str]] = {}
    for row in rows:
        if row not in programs:  # no framework program: those rows are "not supported"
            by_mode.setdefault(row["mode"], set()).add(row["outcome"])
    assert by_mode["sync"] == {"pass", "not supported"}  # the concurrent-tasks scenario
    assert by_mode["async"] == by_mode["stream"] == by_mode["astream"] == {"pass"}
    for mode in ("thread_pool", "asyncify", "parallel", "tasks"):
        assert by_mode[mode] == {"not supported"}, mode
