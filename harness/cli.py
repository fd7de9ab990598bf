"""The ``harness`` command line: ``harness <command> ...``.

Commands register themselves in ``COMMANDS`` (a function adding a subparser whose
defaults set ``handler``: ``Namespace -> exit status``); ``main`` parses and dispatches.

    harness cassettes lint DIR [DIR...]   # secrets in recorded cassettes; exit 1 if any
    harness report RESULTS [...] [--out-dir DIR] [--baseline reports/PREVIOUS.json]
                                          # RESULTS: parity files or directories of them;
                                          # DIR/<version>.md/.json/.html; exit 1 if worse;
                                          # exit 2 rather than write over --baseline
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["COMMANDS", "build_parser", "main"]

Subparsers = Any  # argparse's _SubParsersAction is private
Handler = Callable[[argparse.Namespace], int]


def add_cassettes_command(commands: Subparsers) -> None:
    """``harness cassettes lint DIR [DIR...]``."""
    cassettes = commands.add_parser("cassettes", help="work with recorded cassettes")
    actions = cassettes.add_subparsers(dest="action", metavar="ACTION", required=True)
    lint = actions.add_parser(
        "lint",
        help="report secrets left in cassettes",
        description="Scan every file under each DIR for API keys, tokens, signatures, "
        "unredacted secret headers and account ids. Prints path:line: kind: excerpt "
        "(secret masked) per finding; exits 1 if there is any, 0 otherwise.",
    )
    lint.add_argument("paths", nargs="+", metavar="DIR", type=Path)
    lint.set_defaults(handler=_lint, prog=lint.prog)


def _lint(args: argparse.Namespace) -> int:
    from harness.cassettes.lint import cassette_files, lint_file

    missing = [path for path in args.paths if not path.exists()]
    if missing:
        for path in missing:
            print(f"{args.prog}: error: no such directory: {path}", file=sys.stderr)
        return 2
    files: dict[Path, Path] = {}  # each file once, however many arguments reach it
    for path in args.paths:
        for file in cassette_files(path):
            files.setdefault(file.resolve(), file)
    findings = [finding for file in files.values() for finding in lint_file(file)]
    for finding in findings:
        print(finding)
    where = f"{len(files)} file{'s' if len(files) != 1 else ''}"
    if findings:
        print(f"{len(findings)} secret(s) found in {where}", file=sys.stderr)
        return 1
    print(f"no secrets found in {where}", file=sys.stderr)
    return 0


def add_report_command(commands: Subparsers) -> None:
    """``harness report ...`` (see ``harness.report.cli``)."""
    from harness.report.cli import add_parser

    add_parser(commands)


COMMANDS: list[Callable[[Subparsers], None]] = [add_cassettes_command, add_report_command]
"""Functions adding one top-level command each (append to add a command)."""


def build_parser() -> argparse.ArgumentParser:
    """The ``harness`` parser with every command in ``COMMANDS``."""
    parser = argparse.ArgumentParser(prog="harness", description="llm-parity tools")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add_command in COMMANDS:
        add_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``harness``; returns the exit status (2 for a usage error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse reports usage errors (2) and --help (0) this way
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
