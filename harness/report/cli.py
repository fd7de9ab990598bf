"""``harness report``: write a release's parity report and compare it with a baseline.

    harness report RESULTS [RESULTS ...] [--out-dir reports] [--version V]
                   [--baseline reports/<previous>.json]

RESULTS are ``--parity-json`` files, or directories whose ``parity-*.json`` files are
read (one per tox env). Exit status: 0, 1 when --baseline shows a regression, 2 on a
usage error (a missing or malformed file, an unknown version, an output path that cannot
be written or that is the baseline itself: a report never overwrites the report it is
compared with, so running the gate twice gives the same answer twice).
"""

from __future__ import annotations

import argparse
import contextlib
import os
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
RENDERERS = ((".md", to_markdown), (".json", to_json), (".html", to_html))
DESCRIPTION = (
    "Merge parity results into OUT_DIR/VERSION.md, .json and .html. With --baseline, "
    "print what got worse or better since that report and exit 1 if anything got worse. "
    "The report is never written over its baseline: give it another --out-dir (or "
    "--version) than the baseline's."
)
EPILOG = (
    "exit status: 0 done; 1 worse than --baseline; 2 usage error (a missing or malformed "
    "file, an unknown version, an output path that cannot be written or is the baseline)"
)


def add_parser(subparsers: Any) -> None:
    """Add the ``report`` subcommand to ``subparsers`` (from ``add_subparsers()``)."""
    parser = subparsers.add_parser(
        "report",
        help="merge --parity-json files into reports/<version>.md, .json and .html",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parser.add_argument(
        "results",
        nargs="+",
        metavar="RESULTS",
        help="a --parity-json file, or a directory: its parity-*.json files (one per tox env)",
    )
    parser.add_argument("--out-dir", default="reports", help="where to write (default: reports)")
    parser.add_argument("--version", default=None, help="default: the results files' version")
    parser.add_argument(
        "--baseline",
        default=None,
        metavar="PREVIOUS.json",
        help="a previous report's .json (or a parity file): print what got worse or better "
        "and exit 1 if anything got worse; it must not be one of the files this run writes",
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


def _targets(out_dir: Path, version: str) -> list[Path]:
    return [out_dir / f"{version}{suffix}" for suffix, _ in RENDERERS]


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def _check_targets(out_dir: Path, targets: list[Path], baseline: str | None) -> None:
    """Refuse, before writing anything, output paths that are the baseline or cannot be
    files."""
    for target in targets:
        if baseline is not None and _same_file(target, Path(baseline)):
            raise ReportError(
                f"this run would write {target}, which is its own --baseline {baseline}: "
                "a report is never written over the report it is compared with. Write "
                "this run's report elsewhere (for example --out-dir build/reports) or "
                "under another --version"
            )
    if out_dir.exists() and not out_dir.is_dir():
        raise ReportError(f"--out-dir {out_dir} is a file, not a directory")
    for target in targets:
        if target.is_dir():
            raise ReportError(
                f"cannot write {target}: it is a directory; choose another --out-dir or --version"
            )


def _write(out_dir: Path, pages: list[tuple[Path, str]]) -> None:
    """Write every page to a temporary file next to it, then put them in place; on any
    failure nothing is left behind but what was there before."""
    temporaries: list[Path] = []
    target = out_dir
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for target, text in pages:
            temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            temporaries.append(temporary)
            temporary.write_text(text, encoding="utf-8")
        for (target, _), temporary in zip(pages, temporaries, strict=True):
            temporary.replace(target)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if target == out_dir:
            raise ReportError(f"cannot create --out-dir {out_dir}: {reason}") from None
        raise ReportError(f"cannot write {target}: {reason}; choose another --out-dir") from None
    finally:
        for temporary in temporaries:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()


def run(args: argparse.Namespace) -> int:
    """Run ``harness report`` with parsed ``args``; returns the exit status."""
    out_dir = Path(args.out_dir)
    try:
        results = load_results(_expand(args.results))
        baseline = load_results([args.baseline]) if args.baseline else None
        version = _version(args, results)
        targets = _targets(out_dir, version)
        _check_targets(out_dir, targets, args.baseline)
        pages = [
            (t, render(results, version=version))
            for t, (_, render) in zip(targets, RENDERERS, strict=True)
        ]
        _write(out_dir, pages)
    except ReportError as exc:
        print(f"harness report: error: {exc}", file=sys.stderr)
        return 2
    for path in targets:
        print(f"wrote {path}")
    print(results.summary())
    if baseline is None:
        return 0
    changes = diff(baseline, results)
    print(f"compared with the baseline {args.baseline} ({baseline.summary()}):")
    for line in changes.lines():
        print(line)
    return 1 if changes.regressed else 0
