"""The compatibility matrix's own logic (no release is installed here): which rule
installs a release, and when a catalogue row separates the releases its range names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compat import matrix


def test_any_release_of_a_listed_library_is_accepted() -> None:
    assert matrix.parse_release("dspy==2.5.33") == ("dspy", "2.5.33")
    assert matrix.parse_release("llm==0.32a2") == ("llm", "0.32a2")


@pytest.mark.parametrize(
    ("text", "says"),
    [("dspy", "LIBRARY==VERSION"), ("dspy==", "LIBRARY==VERSION"), ("nope==1.0", "not in")],
)
def test_a_bad_release_names_the_fix(text: str, says: str) -> None:
    with pytest.raises(SystemExit, match=says):
        matrix.parse_release(text)


def test_a_no_deps_rule_installs_the_release_alone_then_its_chosen_requirements() -> None:
    plan = matrix.install_plan("dspy", "2.5.33")
    assert plan[0] == ["--no-deps", "dspy==2.5.33"]
    assert any(requirement.startswith("litellm==") for requirement in plan[1])
    assert matrix.install_plan("dspy", "3.4.1") == [["dspy==3.4.1"]]


CELLS = {"2.5.29": "fail", "2.5.36": "pass", "2.6.0": "pass", "2.5.40": "not supported"}


def test_a_row_separates_when_it_fails_inside_and_passes_outside() -> None:
    assert matrix.separates(("<=2.5.29",), CELLS) == ("yes", "")


def test_a_pass_inside_the_range_is_a_false_pass() -> None:
    verdict, why = matrix.separates(("<=2.5.36",), CELLS)
    assert verdict == "no" and "passes inside the range on 2.5.36" in why


def test_a_fail_outside_the_range_is_a_false_fail() -> None:
    verdict, why = matrix.separates((">=2.6.0",), {**CELLS, "2.6.0": "fail"})
    assert verdict == "no" and "fails outside it on 2.5.29" in why


def test_a_range_no_tested_release_ran_is_untested() -> None:
    cells = {"2.5.40": "not supported", "2.6.0": "pass"}
    assert matrix.separates(("==2.5.40",), cells)[0] == "untested"


def test_the_report_has_a_row_per_spec_mode_and_a_column_per_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matrix, "REPORTS", tmp_path)
    for release, outcome in (("2.5.29", "fail"), ("2.5.36", "pass")):
        rows = [
            {
                "scenario": "regression/stale_worker_config",
                "provider": "openai",
                "mode": "thread_pool",
                "outcome": outcome,
            }
        ]
        document = {"library": "dspy", "release": release, "results": rows}
        (tmp_path / f"dspy-{release}.json").write_text(json.dumps(document))
    text = matrix.render("dspy")
    assert "| spec / mode | range (cataloged) | 2.5.29 | 2.5.36 | separates |" in text
    assert "| stale_worker_config / thread_pool |" in text
    assert "FAIL | pass |" in text
