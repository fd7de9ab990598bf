""" "Not supported" holds for any subset of features: the reference adapter restricted to a
random subset fails no case, and reports every case needing a missing feature as
"not supported" (never "pass" through a feature it lacks: those methods raise)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.adapters.base import FEATURES, PROGRAM_FEATURES

ROOT = Path(__file__).resolve().parent.parent
OPTIONAL = sorted(FEATURES - {"call"} - PROGRAM_FEATURES)  # the reference has no programs


def run_suite(features: frozenset[str], tmp: Path) -> tuple[int, list[dict[str, str]], str]:
    out = tmp / f"parity-{abs(hash(features))}.json"
    env = {**os.environ, "LLM_PARITY_FEATURES": ",".join(sorted(features))}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(ROOT / "conformance"),
            "--client=tests.feature_subsets:make",
            "--provider=gemini",
            f"--parity-json={out}",
            "-p",
            "no:cacheprovider",
            "-q",
            "-x",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = json.loads(out.read_text())["results"] if out.exists() else []
    return result.returncode, rows, result.stdout[-3000:]


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.frozensets(st.sampled_from(OPTIONAL)))
def test_any_subset_of_features_fails_nothing(tmp_path: Path, features: frozenset[str]) -> None:
    code, rows, output = run_suite(features, tmp_path)
    assert code == 0, output
    outcomes = {row["outcome"] for row in rows}
    assert outcomes <= {"pass", "not supported"}, output
    assert rows, output


def test_the_empty_subset_runs_the_sync_calls_and_nothing_else(tmp_path: Path) -> None:
    code, rows, output = run_suite(frozenset(), tmp_path)
    assert code == 0, output
    passed = {(row["scenario"], row["mode"]) for row in rows if row["outcome"] == "pass"}
    assert passed and {mode for _, mode in passed} == {"sync"}, passed
    assert ("plain_text", "sync") in passed
    assert ("chain_single_tool", "sync") not in passed  # needs 'chain'
    assert ("tool_choice_named", "sync") not in passed  # needs 'tool_choice'


def test_a_feature_used_without_being_declared_fails(tmp_path: Path) -> None:
    """The guard itself: the suite calling acall() on an adapter without 'acall' fails."""
    from tests.feature_subsets import Restricted

    adapter = Restricted(frozenset())
    try:
        adapter.acall  # noqa: B018
    except AssertionError as exc:
        assert "acall" in str(exc)
    else:
        raise AssertionError("the guard let acall through")
