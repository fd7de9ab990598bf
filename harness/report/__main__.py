"""``python -m harness.report ...``: the same as ``harness report ...``."""

from __future__ import annotations

import argparse
import sys

from harness.report.cli import add_parser, run


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` as the ``report`` subcommand's arguments and run it."""
    parser = argparse.ArgumentParser(prog="harness")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(["report", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(main())
