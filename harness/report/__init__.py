"""Parity reports for releases: merge ``--parity-json`` files, render, compare.

Usage::

    results = load_results(["parity-py311-floor.json", "parity-py313-ceiling.json"])
    markdown, document, page = to_markdown(results), to_json(results), to_html(results)
    regressions = diff(load_results(["reports/0.1.0.json"]), results).worse
"""

from __future__ import annotations

from harness.report.diff import Change, Diff, diff
from harness.report.model import (
    Case,
    Difference,
    EnvOutcome,
    ReportError,
    Results,
    Run,
    Totals,
    load_results,
)
from harness.report.render_html import to_html
from harness.report.render_json import to_json
from harness.report.render_md import to_markdown

__all__ = [
    "Case",
    "Change",
    "Diff",
    "Difference",
    "EnvOutcome",
    "ReportError",
    "Results",
    "Run",
    "Totals",
    "diff",
    "load_results",
    "to_html",
    "to_json",
    "to_markdown",
]
