"""Time a full offline replay of the conformance suite, serial and under pytest-xdist.

    python bench/bench_suite.py [--workers 2] [--repeats 2]

Prints, for each provider selection, the cases run, the wall time and milliseconds per
case for a plain run and for ``-n WORKERS``, so the README's default can follow the data.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str]) -> tuple[int, float]:
    """(cases passed, best wall seconds) for ``pytest conformance/ ARGS``."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance/", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    found = re.search(r"(\d+) passed", done.stdout)
    if done.returncode != 0 or not found:
        raise SystemExit(f"pytest failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return int(found.group(1)), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    selections = {"all providers": [], "bedrock only": ["--provider", "bedrock"]}
    print(f"{'selection':<16}{'run':<10}{'cases':>7}{'wall s':>9}{'ms/case':>9}")
    for label, selection in selections.items():
        for run_label, extra in (("serial", []), (f"-n {args.workers}", ["-n", str(args.workers)])):
            results = [run([*selection, *extra]) for _ in range(args.repeats)]
            cases = results[0][0]
            wall = min(seconds for _, seconds in results)
            print(f"{label:<16}{run_label:<10}{cases:>7}{wall:>9.2f}{1000 * wall / cases:>9.1f}")


if __name__ == "__main__":
    main()
