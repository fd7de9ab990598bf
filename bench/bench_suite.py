"""Time a full offline replay of the conformance suite, against a baseline checkout in the
same run.

    python bench/bench_suite.py --baseline-dir ../wt-base [--repeats 5] [--workers 2]

Runs ``pytest conformance/ -q -p no:cacheprovider`` (serial, the reference client) in this
checkout and, alternately, in ``--baseline-dir`` (another checkout of the project, with its
own ``.venv``, or ``--baseline-python``), ``--repeats`` times each, and prints for each the
cases run, the best wall time, the best CPU time (user + system of the pytest process),
milliseconds per case, and the ratio. Alternating the two keeps a busy machine from
favouring one side. The selections below split the suite in its scenario cases and its
regression specs, whose deliberate waits (an emulator answering after 0.3 s, tools that
wait for each other) are a floor no replay speed removes; ``--workers N`` adds runs under
pytest-xdist. Without ``--baseline-dir`` only this checkout is timed.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SELECTIONS: dict[str, list[str]] = {
    "suite": ["conformance/"],
    "scenarios": ["conformance/test_scenarios.py"],
    "regressions": ["conformance/regressions/"],
}


@dataclass(frozen=True)
class Checkout:
    label: str
    root: Path
    python: str


@dataclass(frozen=True)
class Timing:
    cases: int
    wall: float
    cpu: float


def run(checkout: Checkout, args: list[str], retries: int = 1) -> Timing:
    """Cases passed, wall seconds and CPU seconds of ``pytest ARGS -q`` in ``checkout``.

    A failed run is run again up to ``retries`` times (a timing-sensitive regression spec
    can fail on a loaded machine), and said so; one that keeps failing stops the bench."""
    for attempt in range(retries + 1):
        try:
            return _run(checkout, args)
        except RunFailed as failure:
            if attempt == retries:
                raise SystemExit(str(failure)) from None
            last = failure.output.strip().splitlines()[-1:] or [""]
            print(f"  ({checkout.label}: a run failed ({last[0]}); running it again)")
    raise AssertionError("unreachable")


class RunFailed(Exception):
    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


def _run(checkout: Checkout, args: list[str]) -> Timing:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [checkout.python, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider"],
        cwd=checkout.root,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""},
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    found = re.search(r"(\d+) passed", done.stdout)
    if done.returncode != 0 or not found:
        raise RunFailed(
            f"pytest failed in {checkout.root}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}",
            done.stdout,
        )
    return Timing(int(found.group(1)), wall, cpu)


def best(timings: list[Timing]) -> Timing:
    return Timing(timings[0].cases, min(t.wall for t in timings), min(t.cpu for t in timings))


def revision(root: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-dir", type=Path, help="a checkout of the baseline revision")
    parser.add_argument(
        "--baseline-python", help="its interpreter (default: BASELINE_DIR/.venv/bin/python)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=0, help="also time -n WORKERS (0: no)")
    parser.add_argument(
        "--only", choices=sorted(SELECTIONS), action="append", help="time these selections"
    )
    args = parser.parse_args()

    checkouts = [Checkout("this", ROOT, sys.executable)]
    if args.baseline_dir is not None:
        base = args.baseline_dir.resolve()
        python = args.baseline_python or str(base / ".venv" / "bin" / "python")
        checkouts.insert(0, Checkout("baseline", base, python))
    for checkout in checkouts:
        print(f"{checkout.label:<9} {checkout.root} @ {revision(checkout.root)}")
    print(f"best of {args.repeats}, alternating; CPU = user + system of pytest\n")

    runs: list[tuple[str, list[str]]] = []
    for name in args.only or list(SELECTIONS):
        runs.append((f"{name} serial", SELECTIONS[name]))
        if args.workers:
            runs.append((f"{name} -n {args.workers}", [*SELECTIONS[name], "-n", str(args.workers)]))

    header = f"{'run':<22}{'cases':>6}"
    for checkout in checkouts:
        header += f"  {checkout.label + ' wall s':>15}{'ms/case':>9}{'cpu ms/case':>12}"
    if len(checkouts) == 2:
        header += f"{'wall ratio':>12}{'cpu ratio':>11}"
    print(header)
    for label, selection in runs:
        timings: dict[str, list[Timing]] = {checkout.label: [] for checkout in checkouts}
        for _ in range(args.repeats):
            for checkout in checkouts:
                timings[checkout.label].append(run(checkout, selection))
        line = ""
        results = [best(timings[checkout.label]) for checkout in checkouts]
        line = f"{label:<22}{results[-1].cases:>6}"
        for result in results:
            line += (
                f"  {result.wall:>15.2f}{1000 * result.wall / result.cases:>9.2f}"
                f"{1000 * result.cpu / result.cases:>12.2f}"
            )
        if len(results) == 2:
            old, new = results
            line += f"{old.wall / new.wall:>11.2f}x{old.cpu / new.cpu:>10.2f}x"
            if old.cases != new.cases:
                line += f"   (baseline ran {old.cases} cases)"
        print(line, flush=True)


if __name__ == "__main__":
    main()
