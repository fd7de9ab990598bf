"""The pytest plugin: usage errors, and --parity-json rows for every way a case can end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]

CASES = """
import pytest

def pytest_collection_modifyitems(items):
    for item in items:
        row = {"provider": "openai", "scenario": item.name, "mode": "sync"}
        item.user_properties.append(("parity", row))

@pytest.fixture
def broken_setup():
    raise RuntimeError("setup boom")

@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown boom")
"""

TESTS = """
import pytest

def test_passes():
    pass

def test_fails():
    assert 1 == 2

def test_not_supported():
    pytest.skip("not supported: astream for openai")

def test_skipped():
    pytest.skip("no reason")

def test_setup_error(broken_setup):
    pass

def test_teardown_error(broken_teardown):
    pass
"""

EXPECTED = {
    "test_passes": "pass",
    "test_fails": "fail",
    "test_not_supported": "not supported",
    "test_skipped": "skipped",
    "test_setup_error": "fail",
    "test_teardown_error": "fail",
}


def rows(pytester: pytest.Pytester, *args: str) -> dict[str, dict[str, Any]]:
    pytester.makeconftest(CASES)
    pytester.makepyfile(test_cases=TESTS)
    out = pytester.path / "parity.json"
    pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--parity-json={out}", *args)
    document = json.loads(Path(out).read_text())
    return {row["scenario"]: row for row in document["results"]}


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_every_outcome_becomes_one_row(pytester: pytest.Pytester, workers: list[str]) -> None:
    found = rows(pytester, *workers)
    assert {name: row["outcome"] for name, row in found.items()} == EXPECTED
    assert found["test_setup_error"]["message"].startswith("error in setup")
    assert found["test_teardown_error"]["message"].startswith("error in teardown")
    assert found["test_not_supported"]["reason"] == "not supported: astream for openai"


def test_an_unknown_provider_lists_the_valid_ones(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--provider", "openai,mistral")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown provider(s) mistral; choose from openai, anthropic*"])


def test_an_unknown_client_lists_the_valid_ones(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--client", "nowhere:make")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--client 'nowhere:make': cannot load nowhere:make*registered adapters: reference*"]
    )
