"""``harness report``: write a release's parity report and compare it with a baseline.

    harness report RESULTS.json [MORE.json ...] [--out-dir reports] [--version V]
                   [--baseline reports/<previous>.json]

Exit status: 0, 1 when --baseline shows a regression, 2 on a usage error (a missing or
malformed file, an unknown version).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from harness.report.diff import diff
from harness.report.model import ReportError, Results, load_results
from harness.report.render_html import to_html
from harness.report.render_json import to_json
from harness.report.render_md import to_markdown

VERSION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def add_parser(subparsers: Any) -> None:
    """Add the ``report`` subcommand to ``subparsers`` (from ``add_subparsers()``)."""
    parser = subparsers.add_parser(
        "report",
        help="merge --parity-json files into reports/<version>.md, .json and .html",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("results", nargs="+", metavar="RESULTS.json", help="--parity-json files")
    parser.add_argument("--out-dir", default="reports", help="where to write (default: reports)")
    parser.add_argument("--version", default=None, help="default: the results files' version")
    parser.add_argument(
        "--baseline",
        default=None,
        metavar="PREVIOUS.json",
        help="a previous report's .json (or a parity file): print what got worse or better "
        "and exit 1 if anything got worse",
    )
    parser.set_defaults(handler=run)


def _version(args: argparse.Namespace, results: Results) -> str:
    if args.version:
        version = str(args.version)
    else:
        found = sorted({run.version for run in results.runs if run.version})
        if len(found) != 1:
            what = f"they name {', '.join(found)}" if found else "they name none"
            raise ReportError(
                f"cannot tell the version from the results files ({what}): pass --version"
            )
        version = found[0]
    if not VERSION_PATTERN.fullmatch(version):
        raise ReportError(f"--version {version!r}: use letters, digits, '.', '_', '+' or '-'")
    return version


def _expand(paths: list[str]) -> list[Path]:
    """Each directory stands for the ``parity-*.json`` files in it (one per tox env)."""
    expanded: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(path.glob("parity-*.json"))
            if not found:
                raise ReportError(f"{path}: no parity-*.json files in this directory")
            expanded += found
        else:
            expanded.append(path)
    return expanded


def run(args: argparse.Namespace) -> int:
    """Run ``harness report`` with parsed ``args``; returns the exit status."""
    try:
        results = load_results(_expand(args.results))
        baseline = load_results([args.baseline]) if args.baseline else None
        version = _version(args, results)
    except ReportError as exc:
        print(f"harness report: error: {exc}", file=sys.stderr)
        return 2
    out_dir = Path(args.out_dir)
    written = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for suffix, render in ((".md", to_markdown), (".json", to_json), (".html", to_html)):
            path = out_dir / f"{version}{suffix}"
            temporary = path.with_name(path.name + ".tmp")
            temporary.write_text(render(results, version=version), encoding="utf-8")
            temporary.replace(path)
            written.append(path)
    except OSError as exc:
        print(f"harness report: error: cannot write to {out_dir}: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    print(results.summary())
    if baseline is None:
        return 0
    changes = diff(baseline, results)
    print(f"compared with {args.baseline}:")
    for line in changes.lines():
        print(line)
    return 1 if changes.regressed else 0
