"""The pytest plugin: usage errors, and --parity-json rows for every way a case can end."""

from __future__ import annotations

import json
import os
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
        ["*--client 'nowhere:make': cannot load nowhere:make*registered adapters: *reference*"]
    )


# --- options are validated before any test runs --------------------------------------------

FACTORIES = """
from harness.adapters.reference import ReferenceAdapter

def raises():
    raise RuntimeError("no credentials configured")

def not_an_adapter():
    return object()

not_callable = 42

def good():
    return ReferenceAdapter()
"""


def usage_error(pytester: pytest.Pytester, *args: str) -> str:
    pytester.makepyfile(my_factories=FACTORIES, test_nothing="def test_nothing(): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    assert "test_nothing" not in result.stdout.str()  # refused before any test ran
    return result.stderr.str()


def test_a_factory_that_raises_is_a_usage_error_naming_it(pytester: pytest.Pytester) -> None:
    err = usage_error(pytester, "--client", "my_factories:raises")
    assert "my_factories:raises() raised RuntimeError: no credentials configured" in err
    assert "INTERNALERROR" not in err


def test_a_factory_returning_no_adapter_is_a_usage_error(pytester: pytest.Pytester) -> None:
    err = usage_error(pytester, "--client", "my_factories:not_an_adapter")
    assert "returned object, not a harness.adapters.base.ClientAdapter" in err


def test_a_factory_that_is_not_callable_is_a_usage_error(pytester: pytest.Pytester) -> None:
    err = usage_error(pytester, "--client", "my_factories:not_callable")
    assert "my_factories:not_callable is not callable" in err


def test_a_factory_module_is_found_in_the_rootdir_without_pythonpath(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTHONPATH", raising=False)
    pytester.makepyfile(my_factories=FACTORIES, test_nothing="def test_nothing(): pass")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--client", "my_factories:good", f"--rootdir={pytester.path}"
    )
    assert result.ret == pytest.ExitCode.OK, result.stderr.str()


def test_an_empty_provider_is_a_usage_error(pytester: pytest.Pytester) -> None:
    err = usage_error(pytester, "--provider", "")
    assert "--provider: no provider named; choose from openai" in err


def test_emulator_without_a_record_mode_is_a_usage_error(pytester: pytest.Pytester) -> None:
    err = usage_error(pytester, "--emulator")
    assert "--emulator answers recordings: use it with --record-mode=rewrite" in err


def test_a_parity_json_that_is_a_directory_is_refused_up_front(pytester: pytest.Pytester) -> None:
    (pytester.path / "out").mkdir()
    err = usage_error(pytester, f"--parity-json={pytester.path / 'out'}")
    assert "is a directory; name a file in it" in err
    assert not (pytester.path / "out.tmp").exists()


def test_a_parity_json_in_a_read_only_directory_is_refused_up_front(
    pytester: pytest.Pytester,
) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere: a read-only directory cannot be made")
    locked = pytester.path / "locked"
    locked.mkdir(mode=0o500)
    err = usage_error(pytester, f"--parity-json={locked / 'parity.json'}")
    assert "not writable" in err


def test_a_parity_json_under_a_file_is_refused_up_front(pytester: pytest.Pytester) -> None:
    (pytester.path / "afile").write_text("x")
    err = usage_error(pytester, f"--parity-json={pytester.path / 'afile' / 'parity.json'}")
    assert "is not a directory" in err
