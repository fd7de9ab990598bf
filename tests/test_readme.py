"""The README opens with the two commands, and CI runs exactly the second one."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    return [
        line.removeprefix("    $ ")
        for line in (ROOT / "README.md").read_text().splitlines()
        if line.startswith("    $ ")
    ][:2]


def test_the_readme_opens_with_the_main_job_and_the_tests() -> None:
    main_job, tests = readme_commands()
    assert "pytest conformance/ --parity-json" in main_job and "harness report" in main_job
    assert tests.endswith(".venv/bin/pytest")
    assert all(
        c.startswith("python3 -m venv .venv && .venv/bin/pip install") for c in (main_job, tests)
    )


def test_ci_runs_the_readmes_test_command_last() -> None:
    """Last, so a failed install fails CI (set -e does not stop inside an && list)."""
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line]
    assert ci_lines[-1] == readme_commands()[1]
