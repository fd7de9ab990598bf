"""The HTML report: one self-contained page (inline CSS, no scripts, no external assets)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from harness.report.model import Case, Results
from harness.report.views import (
    CATALOGUE_HEADER,
    MATRIX_KIND,
    MATRIX_LEGEND,
    NOT_OFFERED,
    MatrixRow,
    cell,
    client_line,
    describe,
    failures,
    feature_cell,
    feature_state,
    features,
    matrix,
    regressions,
)

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;
 color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;
 border-bottom:1px solid #d0d7de;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
.summary{color:#57606a;margin:0 0 16px}.client{font-size:16px;margin:4px 0 2px}
.totals{display:flex;gap:12px;flex-wrap:wrap}
.totals div{border:1px solid #d0d7de;border-radius:6px;padding:8px 14px;min-width:90px}
.totals b{display:block;font-size:20px}
table{border-collapse:collapse;margin:4px 0 12px}
th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
td.c{text-align:center;font-weight:600;white-space:nowrap}
.pass,.yes{background:#dafbe1;color:#116329}.fail,.no{background:#ffebe9;color:#a40e26}
.ns,.partial{background:#fff8c5;color:#7d4e00}.skip,.na{background:#f6f8fa;color:#8c959f}
td.d{color:#57606a}code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
details{margin:6px 0}summary{cursor:pointer;font-weight:600}
"""
CLASS = {
    "pass": "pass",
    "fail": "fail",
    "leaked": "fail",
    "not supported": "ns",
    "skipped": "skip",
}
STATUS_CLASS = {"pass": "pass", "FAIL": "fail", "n/s": "ns", "skip": "skip"}


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _table(header: Sequence[str], rows: Sequence[str], cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _row(*cells: str) -> str:
    return "<tr>" + "".join(cells) + "</tr>"


def _td(value: object, cls: str = "", title: str = "") -> str:
    attrs = (f' class="{cls}"' if cls else "") + (f' title="{_e(title)}"' if title else "")
    return f"<td{attrs}>{_e(value)}</td>"


def _matrix_cell(case: Case | None) -> str:
    if case is None:
        return _td(cell(None), "c na", "does not apply")
    title = "; ".join(f"{e.env}: {e.outcome}" for e in case.envs)
    return _td(cell(case), f"c {CLASS[case.outcome]}", title)


def _matrix_cells(row: MatrixRow) -> list[str]:
    if not row.offered:
        return [_td(NOT_OFFERED, "c na", "not offered for this provider") for _ in row.cases]
    return [_matrix_cell(case) for case in row.cases]


def to_html(results: Results, *, version: str | None = None) -> str:
    """The report as a self-contained HTML page (same sections as the Markdown)."""
    version = version or results.version or "?"
    t = results.totals()
    modes = results.modes(MATRIX_KIND)
    label, _, client = client_line(results).partition(": ")
    parts = [
        f"<h1>llm-parity {_e(version)}: parity report</h1>",
        f'<p class="client"><b>{_e(label)}:</b> {_e(client)}</p>',
        f'<p class="summary">{_e(results.summary())}</p>',
        '<section id="totals"><h2>Totals</h2><div class="totals">',
        *(
            f"<div><b>{_e(value)}</b>{_e(label)}</div>"
            for label, value in (
                ("cases", t.cases),
                ("passed", t.passed),
                ("failed", t.failed),
                ("leaked", t.leaked),
                ("not supported", t.not_supported),
                ("skipped", t.skipped),
                ("duration", f"{t.duration:.2f} s"),
            )
        ),
        "</div></section>",
        '<section id="features"><h2>Feature support</h2>',
    ]
    table = features(results)
    feature_rows = []
    for provider in results.providers(MATRIX_KIND):
        tds = []
        for mode in modes:
            f = table[provider].get(mode)
            cls = f"c {feature_state(f)}" if f else "c na"
            tds.append(_td(feature_cell(f), cls, "; ".join(f.reasons) if f else ""))
        feature_rows.append(_row(f"<th>{_e(provider)}</th>", *tds))
    parts += [_table(("provider", *modes), feature_rows, "features"), "</section>"]

    parts.append(f'<section id="matrix"><h2>Matrix</h2><p>{_e(MATRIX_LEGEND)}</p>')
    for provider in results.providers(MATRIX_KIND):
        rows = [
            _row(
                f"<th><code>{_e(row.scenario)}</code></th>",
                *_matrix_cells(row),
                _td(describe(results, row.scenario), "d"),
            )
            for row in matrix(results, provider)
        ]
        parts += [
            f"<h3>{_e(provider)}</h3>",
            _table(("scenario", *modes, "description"), rows, "matrix"),
        ]
    parts.append("</section>")

    catalogue = regressions(results)
    if catalogue:
        rows = [
            _row(
                f"<th><code>{_e(r.scenario)}</code></th>",
                _td(r.title),
                _td(r.result, STATUS_CLASS[r.status]),
                _td(r.modes),
                _td(r.citation, "d"),
            )
            for r in catalogue
        ]
        parts += [
            '<section id="regressions"><h2>Regression catalogue</h2>',
            _table(CATALOGUE_HEADER, rows, "regressions"),
            "</section>",
        ]

    parts.append('<section id="failures"><h2>Failures</h2>')
    failed = failures(results)
    if not failed:
        parts.append("<p>None.</p>")
    for case in failed:
        envs = ", ".join(f"{e.env}: {e.outcome}" for e in case.envs)
        details = [f"<p>{_e(envs)}</p>"]
        details += [
            f"<p><code>{_e(e.env)}</code>: {_e(e.message)}</p>" for e in case.envs if e.message
        ]
        diffs = [
            _row(_td(e.env), _td(d.field), _td(d.expected), _td(d.got))
            for e in case.envs
            for d in e.differences
        ]
        if diffs:
            details.append(_table(("env", "field", "expected", "got"), diffs))
        parts.append(
            f"<details><summary>{_e(case.provider)} / {_e(case.scenario)} / {_e(case.mode)}"
            f"</summary>{''.join(details)}</details>"
        )
    parts.append("</section>")
    parts += [
        '<section id="environments"><h2>Environments</h2>',
        _table(
            (
                "env",
                "python",
                "client",
                "library",
                "library version",
                "llm-parity",
                "created",
                "source",
            ),
            [
                _row(
                    *(
                        _td(v)
                        for v in (
                            r.env,
                            r.python,
                            r.client,
                            r.client_library,
                            r.client_version,
                            r.version,
                            r.created,
                            r.source,
                        )
                    )
                )
                for r in results.runs
            ],
        ),
        "</section>",
    ]
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>llm-parity {_e(version)} parity report</title><style>{CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
