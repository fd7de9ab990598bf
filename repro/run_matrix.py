"""Run every reproduction script of one library over several of its releases.

    python repro/run_matrix.py --library llm --versions 0.26 0.32a2 0.36

For each release: a venv in <cache>/<library>-<release> (made with uv when it is on PATH,
else venv + pip; reused when already installed), the release installed with the rules of
compat/installs.toml, then each script of repro/<library>/ run in its own process with a
timeout. Script exit codes: 0 pass, 1 FAIL (bug present), 3 n.a. (feature absent); a
script that dies of an uncaught exception (exit 1 with a traceback) is an "error".
Stdlib only.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
VERDICTS = {0: "pass", 1: "FAIL", 3: "n.a."}
_UNCAUGHT = re.compile(r"[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)(: |$)")
"""The last stderr line of a script that died of an uncaught exception."""
_VERSION = re.compile(r"(\d+(?:\.\d+)*)(?:\.?(a|b|rc)(\d+))?(?:\.?post(\d+))?$")


def version_key(text: str) -> tuple:
    """A sort key for the PEP 440 versions these libraries publish (release, pre, post)."""
    match = _VERSION.match(text.strip().lstrip("v"))
    if not match:
        raise ValueError(f"unsupported version {text!r}")
    release = tuple(int(part) for part in match[1].split("."))
    release += (0,) * (6 - len(release))
    pre = ({"a": 0, "b": 1, "rc": 2}[match[2]], int(match[3])) if match[2] else (3, 0)
    return release, pre, int(match[4] or 0)


def contains(specifier: str, version: str) -> bool:
    """Whether `version` satisfies every clause of a PEP 440 specifier like '>=1.0,<2'."""
    ops = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
           ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}
    for clause in filter(None, (c.strip() for c in specifier.split(","))):
        op, bound = re.match(r"(<=|>=|==|!=|<|>)\s*(\S+)", clause).groups()
        if not ops[op](version_key(version), version_key(bound)):
            return False
    return True


def install_args(library: str, version: str, rules_file: Path) -> list[str]:
    """The pip arguments for one release, from the first matching rule."""
    rules = tomllib.loads(rules_file.read_text()).get(library, {}).get("rules", [])
    rule = next((r for r in rules if contains(r["versions"], version)), {})
    args = [f"{library}=={version}", *rule.get("extra", [])]
    return (["--no-deps"] if rule.get("no_deps") else []) + args


def prepare(venv: Path, args: list[str], python: str) -> float:
    """Create and install the venv unless it already holds exactly `args`; seconds spent."""
    marker = venv / ".installed"
    if marker.exists() and marker.read_text() == " ".join(args):
        return 0.0
    start = time.perf_counter()
    shutil.rmtree(venv, ignore_errors=True)
    if shutil.which("uv"):
        subprocess.run(["uv", "venv", "-q", "-p", python, str(venv)], check=True)
        pip = ["uv", "pip", "install", "-q", "-p", str(venv / "bin" / "python")]
    else:
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, *args], check=True)
    marker.write_text(" ".join(args))
    return time.perf_counter() - start


def run_script(python: Path, script: Path, timeout: float) -> tuple[str, str]:
    """Run one script; its verdict and the last line it printed."""
    try:
        done = subprocess.run([str(python), str(script)], capture_output=True, text=True,
                              timeout=timeout, cwd=script.parent)
    except subprocess.TimeoutExpired:
        return "timeout", ""
    lines = (done.stdout + done.stderr).strip().splitlines()
    last = lines[-1] if lines else ""
    errors = done.stderr.strip().splitlines()
    if done.returncode == 1 and errors and _UNCAUGHT.match(errors[-1]):
        return "error", errors[-1]  # the script crashed: no verdict, not a FAIL
    return VERDICTS.get(done.returncode, f"error({done.returncode})"), last


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", required=True)
    parser.add_argument("--versions", nargs="+", required=True)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/compat-venvs"))
    parser.add_argument("--python", default="python3.11")
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--rules", type=Path, default=ROOT / "compat" / "installs.toml")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each last line")
    options = parser.parse_args()
    scripts = sorted((ROOT / "repro" / options.library).glob("*.py"))
    if not scripts:
        parser.error(f"no scripts in repro/{options.library}/")
    table: dict[str, dict[str, str]] = {script.stem: {} for script in scripts}
    started = time.perf_counter()
    for version in options.versions:
        venv = options.cache / f"{options.library}-{version}"
        args = install_args(options.library, version, options.rules)
        try:
            spent = prepare(venv, args, options.python)
        except subprocess.CalledProcessError:
            for row in table.values():
                row[version] = "no install"
            print(f"{version}: install failed ({' '.join(args)})", file=sys.stderr)
            continue
        run_start = time.perf_counter()
        for script in scripts:
            verdict, last = run_script(venv / "bin" / "python", script, options.timeout)
            table[script.stem][version] = verdict
            if options.verbose:
                print(f"  {version} {script.stem}: {verdict}: {last}", file=sys.stderr)
        print(f"{version}: install {spent:.1f} s, scripts {time.perf_counter() - run_start:.1f} s",
              file=sys.stderr)
    width = max(len(name) for name in table)
    print(f"| {options.library:<{width}} | " + " | ".join(options.versions) + " |")
    print(f"|{'-' * (width + 2)}|" + "|".join("-" * (len(v) + 2) for v in options.versions) + "|")
    for name, row in table.items():
        cells = " | ".join(f"{row[v]:<{len(v)}}" for v in options.versions)
        print(f"| {name:<{width}} | {cells} |")
    print(f"total {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
