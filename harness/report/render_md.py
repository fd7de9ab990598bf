"""The Markdown report."""

from __future__ import annotations

from collections.abc import Sequence

from harness.report.model import Results
from harness.report.views import (
    CATALOGUE_HEADER,
    MATRIX_KIND,
    MATRIX_LEGEND,
    client_line,
    describe,
    failures,
    feature_cell,
    features,
    matrix,
    regressions,
)


def _escape(value: object) -> str:
    text = " ".join(str(value).split())
    return text.replace("\\", "\\\\").replace("|", "\\|") or " "


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(_escape(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(_escape(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def to_markdown(results: Results, *, version: str | None = None) -> str:
    """The report as Markdown: the client under test, totals, feature support, the matrix
    per provider, the regression catalogue with citations, the failures' details and the
    environments."""
    version = version or results.version or "?"
    totals = results.totals()
    client = client_line(results).replace(": ", ":** ", 1)
    out = [f"# llm-parity {version}: parity report", "", f"**{client}", ""]
    out += [results.summary(), ""]
    out += ["## Totals", ""]
    out += _table(
        ("cases", "passed", "failed", "leaked", "not supported", "skipped", "duration"),
        [
            (
                totals.cases,
                totals.passed,
                totals.failed,
                totals.leaked,
                totals.not_supported,
                totals.skipped,
                f"{totals.duration:.2f} s",
            )
        ],
    )
    modes = results.modes(MATRIX_KIND)
    table = features(results)
    out += ["## Feature support", ""]
    out += _table(
        ("provider", *modes),
        [
            (p, *(feature_cell(table[p].get(m)) for m in modes))
            for p in results.providers(MATRIX_KIND)
        ],
    )
    notes = [
        f"- {f.provider} / {f.mode}: {'; '.join(f.reasons)}"
        for row in table.values()
        for f in row.values()
        if f.reasons
    ]
    if notes:
        out += ["Not supported:", "", *notes, ""]

    out += ["## Matrix", "", MATRIX_LEGEND, ""]
    for provider in results.providers(MATRIX_KIND):
        out += [f"### {provider}", ""]
        rows = [
            (row.scenario, *row.cells(), describe(results, row.scenario))
            for row in matrix(results, provider)
        ]
        out += _table(("scenario", *modes, "description"), rows)

    catalogue = regressions(results)
    if catalogue:
        out += ["## Regression catalogue", ""]
        out += _table(
            CATALOGUE_HEADER,
            [(r.scenario, r.title, r.result, r.modes, r.citation) for r in catalogue],
        )

    failed_cases = failures(results)
    out += ["## Failures", ""]
    if not failed_cases:
        out += ["None.", ""]
    for case in failed_cases:
        out += [f"### {case.provider} / {case.scenario} / {case.mode}", ""]
        for env in case.envs:
            message = " ".join(env.message.split())
            out.append(f"- {env.env}: {env.outcome}" + (f" — {message}" if message else ""))
        out.append("")
        diffs = [(e.env, d.field, d.expected, d.got) for e in case.envs for d in e.differences]
        if diffs:
            out += _table(("env", "field", "expected", "got"), diffs)
    out += ["## Environments", ""]
    env_rows = []
    for run in results.runs:
        mine = [e for c in results.cases.values() for e in c.envs if e.env == run.env]
        failed = sum(e.outcome == "fail" for e in mine)
        env_rows.append(
            (
                run.env,
                run.python,
                run.client,
                run.client_library,
                run.client_version,
                run.version,
                run.created,
                len(mine),
                failed,
            )
        )
    header = ("env", "python", "client", "library", "library version", "llm-parity")
    out += _table((*header, "created", "cases", "failed"), env_rows)
    return "\n".join(out).rstrip() + "\n"
