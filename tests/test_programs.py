"""The ``program`` scenarios: a framework's own program runs through every mode, its
prompt replayed with the system part compared by presence, its parsed answer judged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.modes import PROGRAM_MODES, features_needed
from conformance.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = next(s for s in SCENARIOS if s.kind == "program")
pytest_plugins = ["pytester"]


def run(pytester: pytest.Pytester, client: str) -> dict[tuple[str, str], dict[str, str]]:
    out = pytester.path / "parity.json"
    pytester.runpytest_subprocess(
        str(ROOT / "conformance" / "test_scenarios.py"),
        f"--client={client}",
        f"--cassette-dir={ROOT / 'cassettes'}",
        f"--rootdir={ROOT}",
        "--provider=openai,bedrock",
        "-k",
        PROGRAM.name,
        f"--parity-json={out}",
        "-p",
        "no:cacheprovider",
        "-q",
    )
    rows = json.loads(out.read_text())["results"]
    return {(row["provider"], row["mode"]): row for row in rows}


@pytest.fixture(autouse=True)
def importable_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))


def test_a_program_scenario_needs_the_program_features() -> None:
    assert features_needed(PROGRAM, "sync") == ["program"]
    assert features_needed(PROGRAM, "async") == ["aprogram"]
    assert features_needed(PROGRAM, "parallel") == ["parallel", "program", "context"]
    assert PROGRAM.providers == ("openai", "anthropic", "gemini", "bedrock")


def test_a_program_runs_in_every_mode_and_its_system_prompt_is_its_own(
    pytester: pytest.Pytester,
) -> None:
    rows = run(pytester, "conformance.controls:FieldMarkerProgram")
    assert set(rows) == {(p, m) for p in ("openai", "bedrock") for m in PROGRAM_MODES}
    assert {row["outcome"] for row in rows.values()} == {"pass"}, rows


def test_a_program_whose_answer_is_not_parsed_fails(pytester: pytest.Pytester) -> None:
    rows = run(pytester, "conformance.controls:UnparsedProgram")
    assert {row["outcome"] for row in rows.values()} == {"fail"}
    differences = rows[("openai", "thread_pool")]["differences"]
    assert differences[0]["field"] == "response.text"
    assert differences[0]["expected"] == "'Jupiter.'"


def test_the_reference_client_has_no_program(pytester: pytest.Pytester) -> None:
    rows = run(pytester, "reference")
    assert {row["outcome"] for row in rows.values()} == {"not supported"}
