"""The compatibility matrix: the conformance suite against real releases of other libraries.

    python compat/matrix.py list [--json]              the releases of compat/matrix.toml
    python compat/matrix.py run [LIB==VERSION ...]      run them (default: every listed one)
    python compat/matrix.py report [LIB ...]            regenerate reports/compat/<lib>.md
    python compat/matrix.py isolation LIB==VERSION      one process vs one process per spec

``run`` takes ANY release, listed or not. For each: a fresh virtual environment in
``.compat/<lib>-<version>`` (uv when it is on PATH, else venv + pip), this project with its
test extra, the release with the install rules of ``compat/installs.toml``; then the suite
(``pytest --pyargs conformance``) with that library's adapter, whose parity file becomes
``reports/compat/<lib>-<version>.json``, and the library's report is regenerated. A run
that fails to install or to produce its parity file writes nothing over an earlier one.

nox (``nox -s compat -- dspy==2.5.33``), tox (``tox -e compat -- dspy==2.5.33``) and the CI
workflow (``.github/workflows/compat.yml``) all call this script.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / "compat" / "matrix.toml"
RULES = ROOT / "compat" / "installs.toml"
REPORTS = ROOT / "reports" / "compat"
VENVS = ROOT / ".compat"


# --- what to run ---------------------------------------------------------------------------


def matrix() -> dict[str, dict[str, Any]]:
    """compat/matrix.toml: per library, its adapter, providers and listed releases."""
    return tomllib.loads(MATRIX.read_text(encoding="utf-8"))


def parse_release(text: str) -> tuple[str, str]:
    """``dspy==2.5.33`` -> (``dspy``, ``2.5.33``), for a library of the matrix."""
    library, sep, version = text.partition("==")
    known = matrix()
    if not sep or not version:
        raise SystemExit(f"{text!r}: name one release as LIBRARY==VERSION (e.g. dspy==2.5.33)")
    if library not in known:
        raise SystemExit(f"{library!r}: not in compat/matrix.toml ({', '.join(known)})")
    Version(version)  # a clear error for a malformed version
    return library, version


def _within(version: str, specifier: str) -> bool:
    """Whether ``version`` is in the PEP 440 ``specifier``, pre-releases included (a
    tested ``0.32a2`` is judged by the range, whatever the packaging release)."""
    return SpecifierSet(specifier).contains(Version(version), prereleases=True)


def listed() -> list[tuple[str, str]]:
    return [(lib, version) for lib, entry in matrix().items() for version in entry["releases"]]


def install_plan(library: str, version: str) -> list[list[str]]:
    """Installer runs for one release, from the first rule of compat/installs.toml whose
    ``versions`` contain it: the release (alone, with ``--no-deps``, when the rule says
    ``no_deps``), then its ``extra`` requirements in a resolver run of their own."""
    rules = tomllib.loads(RULES.read_text(encoding="utf-8")).get(library, {}).get("rules", [])
    rule = next((r for r in rules if _within(version, r["versions"])), {})
    package = matrix()[library].get("package", library)
    release = [*rule.get("args", []), f"{package}=={version}"]
    extra = list(rule.get("extra", []))
    if rule.get("no_deps"):
        return [["--no-deps", *release], *([extra] if extra else [])]
    return [[*release, *extra]]


# --- running one release -------------------------------------------------------------------


def _installer(venv: Path) -> list[str]:
    python = str(venv / "bin" / "python")
    if shutil.which("uv"):
        return ["uv", "pip", "install", "-q", "-p", python]
    return [python, "-m", "pip", "install", "-q"]


def prepare(library: str, version: str) -> Path:
    """A fresh venv with this project (test extra) and the release; its python."""
    venv = VENVS / f"{library}-{version}"
    shutil.rmtree(venv, ignore_errors=True)
    if shutil.which("uv"):
        subprocess.run(["uv", "venv", "-q", "-p", sys.executable, str(venv)], check=True)
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([*_installer(venv), "-e", f"{ROOT}[test]"], check=True)
    for args in install_plan(library, version):
        subprocess.run([*_installer(venv), *args], check=True)
    return venv / "bin" / "python"


def suite_command(python: Path, library: str, out: Path, *select: str) -> list[str]:
    entry = matrix()[library]
    providers = ",".join(entry.get("providers", []))
    return [
        str(python),
        "-m",
        "pytest",
        "--pyargs",
        *(select or ("conformance",)),
        f"--client={entry['adapter']}",
        *([f"--provider={providers}"] if providers else []),
        f"--parity-json={out}",
        "-p",
        "no:cacheprovider",
        "-q",
    ]


def run_release(library: str, version: str) -> Path | None:
    """Install and run one release; its parity file under reports/compat/, or None."""
    started = time.perf_counter()
    try:
        python = prepare(library, version)
    except subprocess.CalledProcessError as exc:
        print(f"{library}=={version}: install failed: {exc}", file=sys.stderr)
        return None
    installed = time.perf_counter() - started
    target = REPORTS / f"{library}-{version}.json"
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "parity.json"
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        subprocess.run(suite_command(python, library, out), cwd=scratch, env=env, check=False)
        if not out.exists():
            print(f"{library}=={version}: the suite wrote no parity file", file=sys.stderr)
            return None
        document = json.loads(out.read_text())
        document["library"], document["release"] = library, version
        REPORTS.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        temporary.replace(target)
    print(
        f"{library}=={version}: install {installed:.0f} s, suite "
        f"{time.perf_counter() - started - installed:.0f} s -> {target.relative_to(ROOT)}",
        file=sys.stderr,
    )
    return target


# --- the per-library report ----------------------------------------------------------------


def _catalogue() -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from conformance.regressions.catalogue import BY_ID

    return BY_ID


def _results(library: str) -> dict[str, dict[tuple[str, str], str]]:
    """release -> (spec id, mode) -> outcome, from reports/compat/<library>-*.json."""
    found: dict[str, dict[tuple[str, str], str]] = {}
    for path in REPORTS.glob(f"{library}-*.json"):
        document = json.loads(path.read_text())
        if document.get("library") != library:
            continue
        rows = found.setdefault(document["release"], {})
        for row in document["results"]:
            if row["scenario"].startswith("regression/"):
                key = (row["scenario"].removeprefix("regression/"), row["mode"])
                outcome = row["outcome"]
                if outcome == "skipped" and str(row.get("reason", "")).startswith("blocked"):
                    outcome = "blocked"  # another entry's bug stops the spec first
                rows[key] = _worse(rows.get(key), outcome)
    return found


ORDER = {"not supported": -1, "skipped": -1, "pass": 0, "blocked": 1, "leaked": 2, "fail": 3}
"""How a cell merges a row's providers: the worst outcome of those that ran (a provider the
adapter lacks, "not supported", hides no pass of another; the cell is n.s. only when no
provider ran the row)."""
CELL = {"pass": "pass", "fail": "FAIL", "not supported": "n.s.", "skipped": "skip"}
CELL["blocked"] = "blk"
CELL["leaked"] = "LEAKED"


def _worse(old: str | None, new: str) -> str:
    return new if old is None or ORDER.get(new, 3) > ORDER.get(old, 3) else old


def separates(specifiers: tuple[str, ...], cells: dict[str, str]) -> tuple[str, str]:
    """("yes"/"no"/"untested", why): FAIL on every tested release inside the range, pass
    on every one outside (releases where the mode is not supported say nothing)."""
    inside = [v for v in cells if any(_within(v, s) for s in specifiers)]
    outside = [v for v in cells if v not in inside]
    false_pass = [v for v in inside if cells[v] == "pass"]
    false_fail = [v for v in outside if cells[v] in ("fail", "leaked")]
    if false_pass or false_fail:
        why = []
        if false_pass:
            why.append(f"passes inside the range on {', '.join(false_pass)}")
        if false_fail:
            why.append(f"fails outside it on {', '.join(false_fail)}")
        return "no", "; ".join(why)
    if not any(cells[v] == "fail" for v in inside):
        return "untested", "no tested release inside the range ran it"
    return "yes", ""


def render(library: str) -> str:
    results = _results(library)
    releases = sorted(results, key=Version)
    catalogue = _catalogue()
    keys = sorted({key for rows in results.values() for key in rows})
    lines = [
        f"# {library}: the regression catalogue on real releases",
        "",
        f"Generated by `python compat/matrix.py report {library}` from "
        f"`reports/compat/{library}-*.json` (each: `python compat/matrix.py run "
        f"{library}==VERSION`). A cell is the spec's outcome in that mode on that release: "
        "pass, FAIL, n.s. (the adapter has no such feature on that release), blk (blocked: "
        "a step the spec needs fails through another entry's bug, which that entry's row "
        "shows), LEAKED (state an earlier spec left). A row of this library's own entries "
        "says whether it separates the releases its range names from the others.",
        "",
        "| spec / mode | range (cataloged) | " + " | ".join(releases) + " | separates |",
        "|---|---|" + "---|" * len(releases) + "---|",
    ]
    summary = {"yes": 0, "no": 0, "untested": 0, "outside": 0}
    for spec, mode in keys:
        entry = catalogue.get(spec)
        specifiers = tuple(entry.affected.get(library, ())) if entry else ()
        cells = {r: results[r][(spec, mode)] for r in releases if (spec, mode) in results[r]}
        shown = " | ".join(CELL.get(cells[r], cells[r]) if r in cells else "" for r in releases)
        if entry is not None and library in entry.affected and not specifiers:
            # a contract no tested release broke, or a range no release of which installs
            # here: every tested release must pass
            failing = [v for v in cells if cells[v] in ("fail", "leaked")]
            if failing:
                summary["no"] += 1
                verdict_text = f"no (fails on {', '.join(failing)}, inside no range)"
            else:
                summary["outside"] += 1
                verdict_text = "- (no tested release is inside a range; passes on all)"
            range_text = entry.versions
        elif specifiers:
            verdict, why = separates(specifiers, cells)
            summary[verdict] += 1
            verdict_text = verdict + (f" ({why})" if why else "")
            range_text = " or ".join(specifiers)
            open_ended = not any("<" in s or "==" in s for s in specifiers)
            if open_ended and releases and cells.get(releases[-1]) in ("fail", "leaked"):
                range_text += f" (still present in {releases[-1]})"
        else:
            verdict_text, range_text = "-", "not this library's"
        lines.append(f"| {spec} / {mode} | {range_text} | {shown} | {verdict_text} |")
    lines += [
        "",
        f"Rows of {library}'s entries: {summary['yes']} separate, {summary['no']} do not, "
        f"{summary['untested']} untested, {summary['outside']} with no tested release inside "
        "a range (passing on all).",
        "",
    ]
    return "\n".join(lines)


def write_report(library: str) -> Path:
    target = REPORTS / f"{library}.md"
    REPORTS.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".md.tmp")
    temporary.write_text(render(library), encoding="utf-8")
    temporary.replace(target)
    return target


# --- isolation -----------------------------------------------------------------------------


def isolation(library: str, version: str) -> int:
    """Run the regression specs in one process and in one process per spec; print every
    row's outcome both ways (the suite's own output goes to stderr); 1 if any differs."""
    started = time.perf_counter()
    python = prepare(library, version)
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}

    def suite(scratch: str, out: Path, *options: str) -> None:
        command = [*suite_command(python, library, out, "conformance.regressions"), *options]
        ran = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True)
        sys.stderr.write(ran.stdout[-2000:])

    with tempfile.TemporaryDirectory() as scratch:
        whole = Path(scratch) / "whole.json"
        suite(scratch, whole)
        listing = subprocess.run(
            [
                str(python),
                "-m",
                "pytest",
                "--pyargs",
                "conformance.regressions",
                "--collect-only",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--client={matrix()[library]['adapter']}",
            ],
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        specs = sorted({line.split("[")[0] for line in listing.stdout.splitlines() if "::" in line})
        apart: dict[tuple[str, str, str], str] = {}
        for index, spec in enumerate(specs):
            out = Path(scratch) / f"spec{index}.json"
            name = spec.partition("::")[2]
            longer = [s.partition("::")[2] for s in specs if s.partition("::")[2].startswith(name)]
            select = " and not ".join([name, *(n for n in longer if n != name)])  # -k: substrings
            suite(scratch, out, "-k", select)
            for row in json.loads(out.read_text())["results"] if out.exists() else []:
                apart[(row["scenario"], row["provider"], row["mode"])] = row["outcome"]
        together = {
            (row["scenario"], row["provider"], row["mode"]): row["outcome"]
            for row in json.loads(whole.read_text())["results"]
        }
    keys = sorted(together.keys() | apart.keys())
    differ = [k for k in keys if together.get(k) != apart.get(k)]
    print(
        f"{library}=={version}: the regression specs in one process, then each spec in a "
        f"process of its own ({len(specs)} processes); {time.perf_counter() - started:.0f} s"
    )
    print(f"{len(together)} rows in one process, {len(apart)} apart, {len(differ)} differ")
    print()
    print(f"{'row':<64} {'one process':>14} {'one per spec':>14}")
    for key in keys:
        one, many = together.get(key, "-"), apart.get(key, "-")
        mark = "  <- differs" if key in differ else ""
        print(f"{' / '.join(key):<64} {one:>14} {many:>14}{mark}")
    return 1 if differ else 0


# --- command line --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="the listed releases")
    listing.add_argument("--json", action="store_true", help="as a JSON list (CI matrix)")
    running = commands.add_parser("run", help="run releases (default: every listed one)")
    running.add_argument("releases", nargs="*", metavar="LIB==VERSION")
    reporting = commands.add_parser("report", help="regenerate reports/compat/<lib>.md")
    reporting.add_argument("libraries", nargs="*", metavar="LIB")
    isolating = commands.add_parser("isolation", help="one process vs one per spec")
    isolating.add_argument("release", metavar="LIB==VERSION")
    options = parser.parse_args(argv)

    if options.command == "list":
        names = [f"{lib}=={version}" for lib, version in listed()]
        print(json.dumps(names) if options.json else "\n".join(names))
        return 0
    if options.command == "isolation":
        return isolation(*parse_release(options.release))
    if options.command == "run":
        chosen = [parse_release(r) for r in options.releases] or listed()
        started = time.perf_counter()
        failed = [f"{lib}=={v}" for lib, v in chosen if run_release(lib, v) is None]
        libraries = sorted({lib for lib, _ in chosen})
        print(f"{len(chosen)} releases in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    else:
        libraries = options.libraries or sorted(matrix())
        failed = []
    for library in libraries:
        print(f"wrote {write_report(library).relative_to(ROOT)}")
    if failed:
        print(f"no result for: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
