"""harness.report: merging parity files, the three writers, diff, and the CLI's exit codes."""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from harness.report import (
    ReportError,
    Results,
    diff,
    load_results,
    to_html,
    to_json,
    to_markdown,
)
from harness.report.__main__ import main as report_main
from harness.report.cli import add_parser, run
from harness.report.diff import classify
from harness.report.views import cell, features, regressions

CITATION = "DSPy 2.5.40-2.5.43, stanfordnlp/dspy#1867"


def row(provider: str, scenario: str, mode: str, outcome: str = "pass", **extra: Any) -> Any:
    return {
        "provider": provider,
        "scenario": scenario,
        "mode": mode,
        "outcome": outcome,
        "duration": 0.25,
        **extra,
    }


def document(*rows: Any, python: str = "3.11.7", version: str = "0.1.0") -> Any:
    return {
        "format": "llm-parity/1",
        "version": version,
        "client": "reference",
        "python": python,
        "created": "2026-11-21T06:00:00Z",
        "results": list(rows),
    }


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


REGRESSION = {
    "kind": "regression",
    "citation": CITATION,
    "title": "async streaming drops the last chunk",
}


def sample_rows(**overrides: str) -> list[Any]:
    """openai: plain_text in 3 modes (astream not supported), tool_call_single in astream;
    anthropic: one failure; a regression scenario on openai."""
    rows = [
        row("openai", "plain_text", "sync"),
        row("openai", "plain_text", "async"),
        row(
            "openai",
            "plain_text",
            "astream",
            "not supported",
            reason="not supported: astream for openai",
        ),
        row("anthropic", "plain_text", "sync"),
        row(
            "anthropic",
            "plain_text",
            "async",
            "fail",
            differences=[{"field": "response.text", "expected": "'a'", "got": "'b'"}],
        ),
        row("openai", "tool_call_single", "astream"),
        row("openai", "stream_last_chunk", "astream", **REGRESSION),
    ]
    for item in rows:
        key = f"{item['provider']}/{item['scenario']}/{item['mode']}"
        if key in overrides:
            item["outcome"] = overrides[key]
            item.pop("differences", None)
    return rows


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return write(tmp_path / "parity-py311-ceiling.json", document(*sample_rows()))


# --- loading and merging -------------------------------------------------------------------


def test_one_file_loads_its_rows_and_run(sample: Path) -> None:
    results = load_results([sample])
    assert [run.env for run in results.runs] == ["py311-ceiling"]
    assert results.version == "0.1.0"
    assert len(results.cases) == 7
    case = results.cases[("anthropic", "plain_text", "async")]
    assert case.outcome == "fail"
    assert case.envs[0].differences[0].field == "response.text"
    regression = results.cases[("openai", "stream_last_chunk", "astream")]
    assert (regression.kind, regression.citation) == ("regression", CITATION)
    assert results.cases[("openai", "plain_text", "sync")].kind == "scenario"
    assert results.providers() == ["openai", "anthropic"]
    assert results.modes() == ["sync", "async", "astream"]
    assert results.modes("scenario") == ["sync", "async", "astream"]
    assert results.modes("regression") == ["astream"]
    assert results.scenarios("openai", "regression") == ["stream_last_chunk"]


def test_files_merge_by_case_and_a_failure_in_any_env_fails_the_case(tmp_path: Path) -> None:
    first = write(tmp_path / "parity-py310-floor.json", document(*sample_rows(), python="3.10.13"))
    second_rows = sample_rows(**{"openai/plain_text/async": "fail"})
    second_rows.append(row("gemini", "plain_text", "sync"))
    second = write(tmp_path / "parity-py313-ceiling.json", document(*second_rows, python="3.13.0"))
    results = load_results([first, second])
    assert [(r.env, r.python) for r in results.runs] == [
        ("py310-floor", "3.10.13"),
        ("py313-ceiling", "3.13.0"),
    ]
    case = results.cases[("openai", "plain_text", "async")]
    assert [(e.env, e.outcome) for e in case.envs] == [
        ("py310-floor", "pass"),
        ("py313-ceiling", "fail"),
    ]
    assert case.outcome == "fail" and case.mixed
    assert cell(case) == "FAIL (1/2)"
    assert case.duration == 0.5
    assert [e.env for e in results.cases[("gemini", "plain_text", "sync")].envs] == [
        "py313-ceiling"
    ]
    assert len(results.cases) == 8
    totals = results.totals()
    assert (totals.cases, totals.passed, totals.failed, totals.not_supported) == (8, 5, 2, 1)
    assert totals.duration == pytest.approx(15 * 0.25)


def test_env_labels_are_unique_and_fall_back_to_the_python(tmp_path: Path) -> None:
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    one = write(a / "parity.json", document(row("openai", "plain_text", "sync")))
    two = write(b / "parity.json", document(row("openai", "plain_text", "sync")))
    results = load_results([one, two])
    assert [r.env for r in results.runs] == ["py3.11.7", "py3.11.7#2"]
    assert len(results.cases[("openai", "plain_text", "sync")].envs) == 2


def test_versions_that_disagree_leave_the_version_unknown(tmp_path: Path) -> None:
    one = write(tmp_path / "parity-a.json", document(version="0.1.0"))
    two = write(tmp_path / "parity-b.json", document(version="0.2.0"))
    assert load_results([one, two]).version == ""


def test_a_report_json_loads_back_as_the_same_results(tmp_path: Path, sample: Path) -> None:
    results = load_results([sample])
    again = load_results([write(tmp_path / "0.1.0.json", json.loads(to_json(results)))])
    assert [r.env for r in again.runs] == ["py311-ceiling"]
    assert again.runs[0].source == str(sample)
    assert {k: c.outcome for k, c in again.cases.items()} == {
        k: c.outcome for k, c in results.cases.items()
    }
    assert again.cases[("openai", "stream_last_chunk", "astream")].citation == CITATION
    assert again.totals() == results.totals()
    assert not diff(results, again).worse and not diff(results, again).better


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"format": "other/1"}', "unknown format 'other/1'"),
        ('{"format": "llm-parity/1", "results": {}}', "'results' must be a list"),
        ('{"format": "llm-parity/1", "results": [3]}', "results[0]: expected an object"),
        (
            json.dumps(document(row("openai", "x", "sync", "exploded"))),
            "results[0]: 'outcome' must be one of",
        ),
        (json.dumps(document(row("openai", "", "sync"))), "'scenario' must be a non-empty"),
        (
            json.dumps(document(row("openai", "x", "sync", duration="slow"))),
            "'duration' must be a number",
        ),
        (
            json.dumps(document(row("openai", "x", "sync", differences="oops"))),
            "'differences' must be a list of objects",
        ),
        (json.dumps({**document(), "version": 3}), "'version' must be a non-empty string"),
        ('{"format": "llm-parity-report/1", "cases": []}', "'environments' and 'cases'"),
        (
            '{"format": "llm-parity-report/1", "environments": [], "cases": [{"envs": '
            '{"ghost": {"outcome": "pass"}}}]}',
            "unknown environment 'ghost'",
        ),
        ('{"format": "llm-parity-report/1", "environments": [1], "cases": []}', "expected an"),
        (
            '{"format": "llm-parity-report/1", "environments": [], "cases": [{}]}',
            "cases[0]: expected an object with an 'envs' object",
        ),
    ],
)
def test_malformed_files_raise_report_error_naming_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(ReportError) as caught:
        load_results([path])
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_a_missing_file_raises_report_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"nowhere\.json: no such file"):
        load_results([tmp_path / "nowhere.json"])


def test_an_undecodable_file_raises_report_error(tmp_path: Path) -> None:
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ReportError, match=r"binary\.json: cannot read it"):
        load_results([path])


# --- the tables ----------------------------------------------------------------------------


def test_feature_support_comes_from_not_supported_rows(tmp_path: Path) -> None:
    rows = [
        row("openai", "plain_text", "sync"),
        row("openai", "plain_text", "astream", "not supported", reason="no astream"),
        row("openai", "tool_call_single", "astream", "not supported", reason="no astream"),
        row("openai", "plain_text", "async"),
        row("openai", "chain_single_tool", "async", "not supported", reason="no achain"),
        row("openai", "tool_call_single", "async", "fail"),
    ]
    table = features(load_results([write(tmp_path / "p.json", document(*rows))]))["openai"]
    assert table["sync"].status == "supported"
    assert table["astream"].status == "not supported"
    assert table["astream"].reasons == ("no astream",)
    assert table["async"].status == "partial"
    assert (table["async"].supported, table["async"].total) == (2, 3)


def test_the_regression_catalogue_groups_scenarios_with_their_citations(sample: Path) -> None:
    (entry,) = regressions(load_results([sample]))
    assert (entry.scenario, entry.citation, entry.status) == ("stream_last_chunk", CITATION, "pass")
    assert entry.title == "async streaming drops the last chunk"
    assert entry.result == "pass 1/1"


def test_a_failing_regression_names_where_it_failed(tmp_path: Path) -> None:
    rows = [
        row("openai", "dspy_1867", "astream", "fail", **REGRESSION),
        row("gemini", "dspy_1867", "astream", **REGRESSION),
        row("bedrock", "dspy_1867", "astream", "not supported", **REGRESSION),
    ]
    (entry,) = regressions(load_results([write(tmp_path / "p.json", document(*rows))]))
    assert entry.status == "FAIL"
    assert entry.result == "FAIL 1/2: openai/astream"


def test_no_results_still_render(tmp_path: Path) -> None:
    results = load_results([write(tmp_path / "p.json", document())])
    assert results.totals().cases == 0
    assert "0 cases" in to_markdown(results)
    assert "<h1>" in to_html(results)
    assert json.loads(to_json(results))["cases"] == []


# --- the writers ---------------------------------------------------------------------------


def md_table_rows(markdown: str, heading: str) -> list[list[str]]:
    """The rows of the first table after ``heading``, as lists of cells."""
    section = markdown.split(heading + "\n", 1)[1]
    rows: list[list[str]] = []
    for line in section.splitlines()[1:]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        rows.append([c.strip() for c in line.strip("|").split(" | ")])
    return rows


def test_markdown_shows_totals_features_matrix_regressions_and_failures(sample: Path) -> None:
    markdown = to_markdown(load_results([sample]))
    assert markdown.startswith(
        "# llm-parity 0.1.0: parity report\n\n"
        "**Client under test:** reference (library and version not recorded)\n"
    )
    assert md_table_rows(markdown, "## Totals")[2] == ["7", "5", "1", "0", "1", "0", "1.75 s"]
    features_rows = md_table_rows(markdown, "## Feature support")
    assert features_rows[0] == ["provider", "sync", "async", "astream"]
    assert features_rows[2] == ["openai", "yes", "yes", "1/2 pass (1 n/s)"]
    assert features_rows[3] == ["anthropic", "yes", "0/1 pass (1 FAIL)", "—"]
    assert "- openai / astream: not supported: astream for openai" in markdown
    openai = md_table_rows(markdown, "### openai")
    assert openai[0] == ["scenario", "sync", "async", "astream", "description"]
    assert openai[2][:4] == ["plain_text", "pass", "pass", "n/s"]
    assert openai[3][:4] == ["tool_call_single", "—", "—", "pass"]
    assert len(openai) == 4  # regression rows are in the catalogue, not the matrix
    anthropic = md_table_rows(markdown, "### anthropic")
    assert anthropic[2][:4] == ["plain_text", "pass", "FAIL", "—"]
    assert anthropic[3][:4] == ["tool_call_single", "n/a", "n/a", "n/a"]  # openai's only
    catalogue = md_table_rows(markdown, "## Regression catalogue")
    assert catalogue[0] == [
        "spec",
        "behaviour that must hold",
        "result",
        "modes",
        "bug it guards against",
    ]
    assert catalogue[2] == [
        "stream_last_chunk",
        "async streaming drops the last chunk",
        "pass 1/1",
        "astream",
        CITATION,
    ]
    assert "### anthropic / plain_text / async" in markdown
    assert md_table_rows(markdown, "### anthropic / plain_text / async")[2] == [
        "py311-ceiling",
        "response.text",
        "'a'",
        "'b'",
    ]


def test_markdown_escapes_pipes_and_newlines(tmp_path: Path) -> None:
    rows = [
        row(
            "openai",
            "x",
            "sync",
            "fail",
            differences=[{"field": "a|b", "expected": "line1\nline2", "got": "z"}],
        )
    ]
    markdown = to_markdown(load_results([write(tmp_path / "p.json", document(*rows))]))
    assert "| a\\|b | line1 line2 | z |" in markdown


def test_markdown_has_no_catalogue_without_regression_rows(tmp_path: Path) -> None:
    results = load_results([write(tmp_path / "p.json", document(row("openai", "x", "sync")))])
    markdown = to_markdown(results)
    assert "## Regression catalogue" not in markdown
    assert "## Failures\n\nNone." in markdown


def test_json_report_has_merged_cases_and_every_section(sample: Path) -> None:
    data = json.loads(to_json(load_results([sample]), version="0.1.0"))
    assert data["format"] == "llm-parity-report/1"
    assert data["version"] == "0.1.0"
    assert data["totals"] == {
        "cases": 7,
        "passed": 5,
        "failed": 1,
        "leaked": 0,
        "not_supported": 1,
        "skipped": 0,
        "duration": 1.75,
    }
    assert data["environments"][0]["env"] == "py311-ceiling"
    assert data["features"]["openai"]["astream"]["status"] == "partial"
    assert data["regressions"] == [
        {
            "scenario": "stream_last_chunk",
            "title": "async streaming drops the last chunk",
            "citation": CITATION,
            "modes": "astream",
            "status": "pass",
            "result": "pass 1/1",
        }
    ]
    failing = next(c for c in data["cases"] if c["outcome"] == "fail")
    assert failing["envs"]["py311-ceiling"]["differences"][0]["got"] == "'b'"
    unsupported = next(c for c in data["cases"] if c["outcome"] == "not supported")
    assert unsupported["envs"]["py311-ceiling"]["reason"].startswith("not supported")
    assert data["summary"].startswith("llm-parity 0.1.0: 7 cases, 5 passed, 1 failed")


def html_cells(page: str, provider: str) -> list[list[str]]:
    table = page.split(f"<h3>{provider}</h3>", 1)[1].split("</table>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr)]
        for tr in re.findall(r"<tr>(.*?)</tr>", table)
    ]


def test_html_is_self_contained_and_shows_every_section(sample: Path) -> None:
    page = to_html(load_results([sample]))
    assert page.startswith("<!DOCTYPE html>")
    assert "<style>" in page
    assert not re.search(r"<script|<link|src=|url\(|https?://", page)
    assert html_cells(page, "openai")[1][:4] == ["plain_text", "pass", "pass", "n/s"]
    assert html_cells(page, "anthropic")[1][:3] == ["plain_text", "pass", "FAIL"]
    assert 'class="c fail" title="py311-ceiling: fail"' in page
    assert "1/2 pass (1 n/s)" in page and 'title="not supported: astream for openai"' in page
    assert html_cells(page, "anthropic")[2][:4] == ["tool_call_single", "n/a", "n/a", "n/a"]
    assert '<section id="regressions">' in page and CITATION in page
    assert "<summary>anthropic / plain_text / async</summary>" in page
    assert "<b>7</b>cases" in page and "<b>1.75 s</b>duration" in page


def test_html_escapes_everything_from_the_results(tmp_path: Path) -> None:
    rows = [row("openai", "<script>alert(1)</script>", "sync", "fail", message="a < b & c")]
    page = to_html(load_results([write(tmp_path / "p.json", document(*rows))]))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a &lt; b &amp; c" in page


def test_a_rows_title_describes_its_scenario(tmp_path: Path) -> None:
    rows = [row("openai", "plain_text", "sync", title="one question")]
    path = write(tmp_path / "parity.json", {"format": "llm-parity/1", "results": rows})
    markdown = to_markdown(load_results([path]))
    assert "| plain_text | pass | one question |" in markdown


def test_edge_cells_and_statuses(tmp_path: Path) -> None:
    from harness.report.model import Case
    from harness.report.views import feature_cell

    assert Case("openai", "x", "sync").outcome == "skipped"
    assert cell(None) == "—" and feature_cell(None) == "—"
    rows = [
        row("bedrock", "dspy_x", "astream", "not supported", **REGRESSION),
        row("bedrock", "dspy_y", "astream", "skipped", **REGRESSION),
    ]
    results = load_results([write(tmp_path / "p.json", document(*rows))])
    assert [(r.status, r.result) for r in regressions(results)] == [
        ("n/s", "n/s 0/0"),
        ("skip", "skip 0/0"),
    ]


def test_json_keeps_failure_messages(tmp_path: Path) -> None:
    rows = [row("openai", "x", "sync", "fail", message="RuntimeError: boom")]
    data = json.loads(to_json(load_results([write(tmp_path / "p.json", document(*rows))])))
    assert data["cases"][0]["envs"]["p"]["message"] == "RuntimeError: boom"


# --- diff ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("pass", "pass", None),
        ("pass", "fail", ("worse", "now fails")),
        ("pass", "not supported", ("worse", "no longer supported")),
        ("fail", "not supported", ("worse", "no longer supported")),
        ("pass", "skipped", ("worse", "no longer runs")),
        ("pass", None, ("worse", "case disappeared")),
        (None, "fail", ("worse", "new case fails")),
        (None, "pass", ("better", "new case")),
        ("fail", "pass", ("better", "fixed")),
        ("fail", "skipped", ("better", "no longer fails (skipped)")),
        ("not supported", "pass", ("better", "now supported")),
        ("skipped", "pass", ("better", "runs again")),
        ("skipped", "not supported", None),
        ("not supported", "skipped", None),
    ],
)
def test_classify(before: str | None, after: str | None, expected: Any) -> None:
    assert classify(before, after) == expected


def test_diff_finds_what_got_worse_and_what_got_better(tmp_path: Path) -> None:
    base_rows = sample_rows()
    base_rows.append(row("gemini", "plain_text", "sync"))
    baseline = load_results([write(tmp_path / "base.json", document(*base_rows))])
    current_rows = sample_rows(
        **{
            "openai/plain_text/async": "fail",
            "openai/plain_text/sync": "not supported",
            "anthropic/plain_text/async": "pass",
            "openai/plain_text/astream": "pass",
        }
    )
    current = load_results([write(tmp_path / "cur.json", document(*current_rows))])
    changes = diff(baseline, current)
    worse = {(c.provider, c.mode): (c.before, c.after, c.what) for c in changes.worse}
    assert worse == {
        ("gemini", "sync"): ("pass", None, "case disappeared"),
        ("openai", "async"): ("pass", "fail", "now fails"),
        ("openai", "sync"): ("pass", "not supported", "no longer supported"),
    }
    better = {(c.provider, c.mode): (c.before, c.after, c.what) for c in changes.better}
    assert better == {
        ("anthropic", "async"): ("fail", "pass", "fixed"),
        ("openai", "astream"): ("not supported", "pass", "now supported"),
    }
    assert changes.regressed
    lines = changes.lines()
    assert lines[0] == "worse: 3"
    assert "  - gemini / plain_text / sync: pass -> absent (case disappeared)" in lines
    assert "  + anthropic / plain_text / async: fail -> pass (fixed)" in lines
    reverse = diff(current, baseline)
    assert {(c.provider, c.mode) for c in reverse.worse} == {
        ("anthropic", "async"),
        ("openai", "astream"),
    }
    assert not diff(baseline, baseline).regressed


# --- the CLI -------------------------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="harness")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["report", *argv])


def test_cli_writes_three_reports_and_a_summary(
    tmp_path: Path, sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    assert run(parse(str(sample), "--out-dir", str(out))) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["0.1.0.html", "0.1.0.json", "0.1.0.md"]
    printed = capsys.readouterr().out
    for name in names:
        assert f"wrote {out / name}" in printed
    assert "llm-parity 0.1.0: 7 cases, 5 passed, 1 failed, 0 leaked, 1 not supported" in printed
    assert json.loads((out / "0.1.0.json").read_text())["totals"]["cases"] == 7


def test_cli_version_option_names_the_files(tmp_path: Path, sample: Path) -> None:
    assert run(parse(str(sample), "--out-dir", str(tmp_path), "--version", "1.0rc1")) == 0
    assert (tmp_path / "1.0rc1.md").read_text().startswith("# llm-parity 1.0rc1")


def test_cli_baseline_exit_codes(
    tmp_path: Path, sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    assert run(parse(str(sample), "--out-dir", str(out))) == 0
    baseline = tmp_path / "0.1.0-baseline.json"
    (out / "0.1.0.json").replace(baseline)
    capsys.readouterr()

    assert run(parse(str(sample), "--out-dir", str(out), "--baseline", str(baseline))) == 0
    assert "worse: 0" in capsys.readouterr().out

    fixed = write(
        tmp_path / "parity-fixed.json",
        document(*sample_rows(**{"anthropic/plain_text/async": "pass"})),
    )
    assert run(parse(str(fixed), "--out-dir", str(out), "--baseline", str(baseline))) == 0
    printed = capsys.readouterr().out
    assert "worse: 0" in printed and "better: 1" in printed and "(fixed)" in printed

    broken = write(
        tmp_path / "parity-broken.json",
        document(*sample_rows(**{"openai/plain_text/sync": "fail"})),
    )
    assert run(parse(str(broken), "--out-dir", str(out), "--baseline", str(baseline))) == 1
    printed = capsys.readouterr().out
    assert "worse: 1" in printed
    assert "openai / plain_text / sync: pass -> fail (now fails)" in printed


@pytest.mark.parametrize("which", ["results", "baseline"])
def test_cli_exits_2_naming_a_missing_or_malformed_file(
    tmp_path: Path, sample: Path, capsys: pytest.CaptureFixture[str], which: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    args = [str(bad)] if which == "results" else [str(sample), "--baseline", str(bad)]
    assert run(parse(*args, "--out-dir", str(tmp_path / "out"))) == 2
    err = capsys.readouterr().err
    assert f"harness report: error: {bad}: not JSON" in err
    assert not (tmp_path / "out").exists()
    assert run(parse(str(tmp_path / "missing.json"))) == 2
    assert "missing.json: no such file" in capsys.readouterr().err


def test_cli_needs_a_version_when_the_files_disagree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = write(tmp_path / "parity-a.json", document(version="0.1.0"))
    two = write(tmp_path / "parity-b.json", document(version="0.2.0"))
    assert run(parse(str(one), str(two), "--out-dir", str(tmp_path))) == 2
    assert "they name 0.1.0, 0.2.0): pass --version" in capsys.readouterr().err
    assert run(parse(str(one), str(two), "--out-dir", str(tmp_path), "--version", "0.2.0")) == 0


def test_cli_rejects_a_version_that_is_not_a_file_name(
    tmp_path: Path, sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(parse(str(sample), "--out-dir", str(tmp_path), "--version", "../x")) == 2
    assert "--version '../x'" in capsys.readouterr().err


def test_cli_exits_2_when_the_out_dir_cannot_be_written(
    tmp_path: Path, sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert run(parse(str(sample), "--out-dir", str(blocker / "reports"))) == 2
    assert "cannot create --out-dir" in capsys.readouterr().err
    assert run(parse(str(sample), "--out-dir", str(blocker))) == 2
    assert f"--out-dir {blocker} is a file, not a directory" in capsys.readouterr().err


def test_cli_needs_at_least_one_results_file() -> None:
    with pytest.raises(SystemExit) as caught:
        parse()
    assert caught.value.code == 2


def test_python_dash_m_entry_point(tmp_path: Path, sample: Path) -> None:
    assert report_main([str(sample), "--out-dir", str(tmp_path)]) == 0
    assert (tmp_path / "0.1.0.html").exists()


def test_results_default_is_empty() -> None:
    results = Results()
    assert results.summary() == (
        "llm-parity ?: 0 cases, 0 passed, 0 failed, 0 leaked, 0 not supported, 0 skipped, "
        "0.00 s over 0 environments"
    )


# --- readability (issue 12) ------------------------------------------------------------


def client_document(*rows: Any, python: str = "3.11.7", **client: str) -> Any:
    """A parity file that names the library under test and its version."""
    return {**document(*rows, python=python), **client}


def all_three(results: Results) -> tuple[str, str, Any]:
    return to_markdown(results), to_html(results), json.loads(to_json(results))


def test_the_client_under_test_and_its_version_come_first(tmp_path: Path) -> None:
    data = client_document(
        row("openai", "plain_text", "sync"),
        client="openai-sdk",
        client_library="openai",
        client_version="3.63.0",
    )
    data["client"] = "openai-sdk"
    markdown, page, report = all_three(load_results([write(tmp_path / "parity.json", data)]))
    top = "Client under test: openai-sdk (openai 3.63.0)"
    assert markdown.splitlines()[2] == "**Client under test:** openai-sdk (openai 3.63.0)"
    assert page.index("<b>Client under test:</b> openai-sdk (openai 3.63.0)") < page.index(
        '<section id="totals">'
    )
    assert report["client"] == top
    assert report["clients"] == [
        {"client": "openai-sdk", "library": "openai", "version": "3.63.0", "envs": ["py3.11.7"]}
    ]
    assert report["environments"][0]["client_version"] == "3.63.0"
    environments = md_table_rows(markdown, "## Environments")
    assert environments[0][2:6] == ["client", "library", "library version", "llm-parity"]
    assert environments[2][2:6] == ["openai-sdk", "openai", "3.63.0", "0.1.0"]


def test_clients_that_differ_by_environment_are_each_named(tmp_path: Path) -> None:
    floor = client_document(client_library="openai", client_version="1.40.0", python="3.10.13")
    ceiling = client_document(client_library="openai", client_version="3.63.0", python="3.13.0")
    results = load_results(
        [
            write(tmp_path / "parity-floor.json", floor),
            write(tmp_path / "parity-ceiling.json", ceiling),
        ]
    )
    markdown, page, report = all_three(results)
    expected = (
        "Clients under test: reference (openai 1.40.0) in floor; "
        "reference (openai 3.63.0) in ceiling"
    )
    assert f"**{expected.replace(': ', ':** ', 1)}" in markdown
    assert report["client"] == expected
    assert "reference (openai 1.40.0) in floor" in page


def test_a_report_json_keeps_the_client_for_the_next_release(tmp_path: Path) -> None:
    data = client_document(row("openai", "x", "sync"), client_library="openai", client_version="2")
    first = load_results([write(tmp_path / "parity.json", data)])
    again = load_results([write(tmp_path / "report.json", json.loads(to_json(first)))])
    assert again.runs[0].client_library == "openai" and again.runs[0].client_version == "2"


def test_scenarios_a_provider_lacks_are_marked_in_its_matrix(tmp_path: Path) -> None:
    rows = [
        row("openai", "plain_text", "sync"),
        row("openai", "usage_cached_tokens", "sync"),
        row("bedrock", "plain_text", "sync"),
    ]
    markdown, page, report = all_three(load_results([write(tmp_path / "p.json", document(*rows))]))
    bedrock = md_table_rows(markdown, "### bedrock")
    assert [r[:2] for r in bedrock[2:]] == [["plain_text", "pass"], ["usage_cached_tokens", "n/a"]]
    assert "n/a where the provider does not offer the scenario" in markdown
    assert html_cells(page, "bedrock")[2][:2] == ["usage_cached_tokens", "n/a"]
    assert 'title="not offered for this provider"' in page
    assert report["not_offered"] == {"openai": [], "bedrock": ["usage_cached_tokens"]}


def test_a_client_that_passes_nothing_is_not_reported_as_partly_working(tmp_path: Path) -> None:
    """A sync-only client: 21 sync cases fail, 7 are not supported, none passes."""
    rows = [row("openai", f"s{i:02}", "sync", "fail") for i in range(21)]
    rows += [row("openai", f"c{i}", "sync", "not supported", reason="no chains") for i in range(7)]
    results = load_results([write(tmp_path / "p.json", document(*rows))])
    markdown, page, report = all_three(results)
    cell_text = "0/28 pass (21 FAIL, 7 n/s)"
    assert md_table_rows(markdown, "## Feature support")[2] == ["openai", cell_text]
    assert f'<td class="c fail" title="no chains">{cell_text}</td>' in page
    feature = report["features"]["openai"]["sync"]
    assert (feature["cell"], feature["passed"], feature["failed"]) == (cell_text, 0, 21)
    assert "partial (21/28)" not in markdown + page


def test_the_regression_catalogue_shows_the_behaviour_then_the_bug_apart(sample: Path) -> None:
    page = to_html(load_results([sample]))
    table = page.split('<section id="regressions">', 1)[1].split("</table>", 1)[0]
    headers = re.findall(r"<th>(.*?)</th>", table)
    assert headers[:5] == [
        "spec",
        "behaviour that must hold",
        "result",
        "modes",
        "bug it guards against",
    ]
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", table)]
    assert cells[5:] == [
        "stream_last_chunk",
        "async streaming drops the last chunk",
        "pass 1/1",
        "astream",
        CITATION,
    ]


# --- the release gate ---------------------------------------------------------------------


def gate(*argv: str) -> int:
    from harness.cli import main

    return main(["report", *argv])


def test_the_gate_never_writes_its_baseline_and_fails_every_time_after_a_break(
    tmp_path: Path, sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    assert gate(str(sample), "--out-dir", str(reports)) == 0  # the release: 0.1.0.*
    committed = {p.name: p.read_bytes() for p in reports.iterdir()}
    broken = write(
        tmp_path / "parity.json",
        document(*sample_rows(**{"openai/plain_text/sync": "fail"})),
    )
    baseline = str(reports / "0.1.0.json")
    capsys.readouterr()
    for _ in range(2):  # the README's command: refused, however often it is run
        assert gate(str(broken), "--out-dir", str(reports), "--baseline", baseline) == 2
        err = capsys.readouterr().err
        assert f"this run would write {baseline}, which is its own --baseline {baseline}" in err
        assert "--out-dir" in err
    for _ in range(2):  # the report written elsewhere: the gate says "worse" every time
        build = str(tmp_path / "build")
        assert gate(str(broken), "--out-dir", build, "--baseline", baseline) == 1
        out = capsys.readouterr().out
        assert "worse: 1" in out and f"compared with the baseline {baseline}" in out
        assert f"wrote {baseline}" not in out
    assert {p.name: p.read_bytes() for p in reports.iterdir()} == committed


def test_report_help_says_a_directory_is_accepted_in_plain_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from harness.cli import main

    assert main(["report", "--help"]) == 0
    out = capsys.readouterr().out
    text = " ".join(out.split())
    assert "a --parity-json file, or a directory: its parity-*.json files" in text
    assert "``" not in out
    assert "never written over its baseline" in text


def test_an_output_path_that_is_a_directory_is_refused_before_anything_is_written(
    tmp_path: Path, sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    (out / "0.1.0.json").mkdir(parents=True)
    assert gate(str(sample), "--out-dir", str(out)) == 2
    err = capsys.readouterr().err
    assert f"cannot write {out / '0.1.0.json'}: it is a directory" in err
    assert sorted(p.name for p in out.iterdir()) == ["0.1.0.json"]  # no .md, no .tmp


def test_a_write_that_fails_midway_leaves_no_temporary_files(
    tmp_path: Path,
    sample: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "reports"
    real_write = Path.write_text

    def write_text(self: Path, text: str, *args: Any, **kwargs: Any) -> int:
        if ".json." in self.name:
            raise PermissionError(13, "Permission denied", str(self))
        return real_write(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    assert gate(str(sample), "--out-dir", str(out)) == 2
    assert f"cannot write {out / '0.1.0.json'}: Permission denied" in capsys.readouterr().err
    assert list(out.iterdir()) == []  # the .md's temporary is gone; nothing was replaced


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes to read-only dirs"
)
def test_a_read_only_out_dir_is_a_clear_error(
    tmp_path: Path, sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    out.chmod(0o500)
    try:
        assert gate(str(sample), "--out-dir", str(out)) == 2
    finally:
        out.chmod(0o700)
    assert "Permission denied; choose another --out-dir" in capsys.readouterr().err
    assert list(out.iterdir()) == []


def test_a_leaked_row_is_its_own_outcome_and_counts_as_worse(tmp_path: Path) -> None:
    """A regression row that found another spec's leftovers is shown as LEAKED, counted
    apart from the failures, and a gate treats it as worse than a pass."""
    from harness.report.diff import classify

    assert classify("pass", "leaked") == ("worse", "now finds state leaked from another spec")
    assert classify("leaked", "pass") == ("better", "fixed")
