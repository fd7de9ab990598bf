"""One mutation session: mutmut over the client's core, judged by ``conformance/`` alone.

    python mutation/run.py [--max-children 2] [--resume] [MUTANT_NAME_OR_GLOB ...]

Mutates ``harness/providers/``, ``harness/transport.py``, ``harness/context.py`` and
``harness/tools/`` (``[tool.mutmut]`` in pyproject.toml) and runs, per mutant,
``pytest conformance/ -x -q -p no:cacheprovider`` (mutmut selects the cases that execute
the mutated function: the others cannot see the mutant). Starts from a fresh
``mutants/`` unless ``--resume``, then writes the survivors report (``mutation/report.py``:
``reports/mutation/<module>.md`` and ``summary.md``) with the session's wall time.
``nox -s mutation`` runs this in its own virtualenv.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--resume", action="store_true", help="keep mutants/ and its results")
    parser.add_argument("mutants", nargs="*", help="only these mutants (mutmut names, globs)")
    args = parser.parse_args(argv)

    if not args.resume:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    mutmut = Path(sys.executable).with_name("mutmut")
    command = [str(mutmut), "run", "--max-children", str(args.max_children), *args.mutants]
    log = ROOT / "mutants-run.log"
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as output:  # mutmut's spinner: kept out of the terminal
        done = subprocess.run(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    elapsed = time.perf_counter() - started
    print(f"mutmut run: exit {done.returncode} after {elapsed / 60:.1f} min (log: {log})")
    if done.returncode != 0:
        print(log.read_text(encoding="utf-8", errors="replace")[-3000:])
        return done.returncode
    sys.path.insert(0, str(ROOT / "mutation"))
    import report

    return report.main(["--session-seconds", f"{elapsed:.0f}"])


if __name__ == "__main__":
    sys.exit(main())
