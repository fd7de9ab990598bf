"""Run the plain reproduction scripts of one library against real releases.

    python3 repro/run_matrix.py --library dspy --versions 2.5.29 2.5.36 3.4.1
    python3 repro/run_matrix.py --library dspy --versions 2.6.27 \
        --scripts concurrent_tasks_overwrite -v

For each release: a venv in the cache dir (``<library>-<version>-py<X.Y>``, reused while
its install recipe is unchanged), installed with the rule of ``compat/installs.toml``
that matches the release (uv when it is on PATH, pip otherwise); then every script of
``repro/<library>/`` runs in its own process, with a timeout. Stdlib only (Python 3.11+).

A script ends with its exit code, and may print a line ``VERDICT: <word>`` that matches it:
0 ``OK`` (bug absent), 1 ``BUG`` (bug present), 2 ``BLOCKED`` (another defect prevents
the check), 3 ``ABSENT`` (the feature does not exist in this release). Anything else is
reported as ``ERR`` (the script crashed) or ``T/O`` (timed out).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
VERDICTS = {0: "OK", 1: "BUG", 2: "BLOCKED", 3: "ABSENT"}
_UNCAUGHT = re.compile(r"[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)(: |$)")
"""The last stderr line of a script that died of an uncaught exception (scripts that
print no VERDICT line are judged by their exit code, unless they crashed)."""
SHORT = {"OK": "ok", "BUG": "BUG", "BLOCKED": "blk", "ABSENT": "n/a"}
_VERSION = re.compile(r"(\d+(?:\.\d+)*)(?:(a|b|rc)(\d+))?(?:\.post(\d+))?(?:\.dev(\d+))?$")


def version_key(text: str) -> tuple[tuple[int, ...], tuple[int, int], int, float]:
    """A sort key for the PEP 440 versions releases use (no epochs, no local parts)."""
    match = _VERSION.match(text.strip().lstrip("v"))
    if not match:
        raise ValueError(f"not a release version: {text!r}")
    release, stage, number, post, dev = match.groups()
    parts = tuple(int(p) for p in release.split("."))
    parts += (0,) * (4 - len(parts))
    pre = ({"a": 0, "b": 1, "rc": 2}[stage], int(number)) if stage else (3, 0)
    return parts, pre, int(post or 0), int(dev) if dev else float("inf")


def in_spec(version: str, spec: str) -> bool:
    """Whether ``version`` satisfies a comma-separated specifier (==, !=, <, <=, >, >=)."""
    key = version_key(version)
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        op, bound = re.match(r"(==|!=|<=|>=|<|>)\s*(.+)", clause).groups()  # type: ignore[union-attr]
        other = version_key(bound)
        ok = {
            "==": key == other, "!=": key != other, "<": key < other,
            "<=": key <= other, ">": key > other, ">=": key >= other,
        }[op]
        if not ok:
            return False
    return True


def recipe(library: str, version: str, table: Path) -> dict:
    """The first rule of ``table`` for ``library`` whose ``versions`` contain ``version``."""
    rules = tomllib.loads(table.read_text(encoding="utf-8")).get(library, {}).get("rules", [])
    for rule in rules:
        if in_spec(version, rule.get("versions", "")):
            return {"no_deps": False, "args": [], "extra": [], **rule}
    return {"versions": "*", "no_deps": False, "args": [], "extra": []}


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)


def ensure_venv(library: str, version: str, args: argparse.Namespace) -> tuple[Path, float]:
    """A venv with ``library==version`` installed; (its python, seconds spent installing)."""
    rule = recipe(library, version, args.installs)
    stamp = json.dumps({"python": args.python, "rule": rule}, sort_keys=True)
    digest = hashlib.sha256(stamp.encode()).hexdigest()[:12]
    pyver = run([args.python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
    venv = args.cache_dir / f"{library}-{version}-py{pyver.stdout.strip()}"
    python = venv / "bin" / "python"
    marker = venv / ".recipe"
    if python.exists() and marker.exists() and marker.read_text() == digest:
        return python, 0.0
    started = time.monotonic()
    shutil.rmtree(venv, ignore_errors=True)
    uv = shutil.which("uv") if args.installer != "pip" else None
    if args.installer == "uv" and not uv:
        raise SystemExit("--installer uv: uv is not on PATH (pip install uv)")
    if uv:
        steps = [[uv, "venv", "-q", "-p", args.python, str(venv)]]
        install = [uv, "pip", "install", "-q", "--python", str(python)]
    else:
        steps = [[args.python, "-m", "venv", str(venv)]]
        install = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    first = [*install, *rule["args"], f"{library}=={version}"]
    steps.append([*first[:-1], "--no-deps", first[-1]] if rule["no_deps"] else first)
    if rule["extra"]:
        steps.append([*install, *rule["args"], *rule["extra"]])
    for step in steps:
        done = run(step)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(step)}\n{done.stdout}{done.stderr}")
    marker.write_text(digest)
    return python, time.monotonic() - started


def run_script(python: Path, script: Path, timeout: float) -> tuple[str, str, float]:
    """(verdict, output, seconds) of one script in its own process."""
    started = time.monotonic()
    # LITELLM_LOCAL_MODEL_COST_MAP: litellm fetches a price list at import, for a minute offline
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    env.pop("PYTHONPATH", None)
    try:
        done = run([str(python), str(script)], timeout=timeout, env=env, cwd=script.parent)
    except subprocess.TimeoutExpired as expired:
        out = (expired.stdout or b"").decode() if isinstance(expired.stdout, bytes) else ""
        return "T/O", out, time.monotonic() - started
    output = done.stdout + done.stderr
    said = re.findall(r"^VERDICT: (\w+)", done.stdout, re.MULTILINE)
    verdict = VERDICTS.get(done.returncode)
    errors = done.stderr.strip().splitlines()
    crashed = done.returncode == 1 and errors and _UNCAUGHT.match(errors[-1])
    if verdict is None or (said and said[-1] != verdict) or (not said and crashed):
        verdict = f"ERR{done.returncode}"  # a script that died: no verdict, not a BUG
    return verdict, output, time.monotonic() - started


def one_release(
    library: str, version: str, scripts: list[Path], args: argparse.Namespace
) -> dict:
    started = time.monotonic()
    row: dict = {"version": version, "results": {}, "outputs": {}}
    try:
        python, installing = ensure_venv(library, version, args)
    except (RuntimeError, OSError) as error:
        row["install_error"] = str(error)
        return row
    row["install_seconds"] = round(installing, 1)
    for script in scripts:
        verdict, output, seconds = run_script(python, script, args.timeout)
        print(f"  {library}=={version} {script.stem}: {verdict} ({seconds:.0f}s)", flush=True)
        row["results"][script.stem] = verdict
        row["outputs"][script.stem] = output
    row["seconds"] = round(time.monotonic() - started, 1)
    return row


def table(rows: list[dict], scripts: list[Path]) -> str:
    names = [s.stem for s in scripts]
    width = max(len(n) for n in names)
    head = f"| {'script':<{width}} | " + " | ".join(r["version"] for r in rows) + " |"
    rule = "|".join("-" * (len(r["version"]) + 2) for r in rows)
    lines = [head, "|" + "-" * (width + 2) + "|" + rule + "|"]
    for name in names:
        cells = []
        for r in rows:
            verdict = "inst!" if "install_error" in r else r["results"][name]
            cell = SHORT.get(verdict, verdict)
            cells.append(f"{cell:<{len(r['version'])}}")
        lines.append(f"| {name:<{width}} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--library", required=True, help="a compat/installs.toml section; scripts: repro/<library>/"
    )
    parser.add_argument("--versions", nargs="+", required=True)
    parser.add_argument("--scripts", nargs="*", help="script names (default: all of them)")
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/compat-venvs"))
    parser.add_argument("--python", default="python3")
    parser.add_argument("--installer", choices=("auto", "uv", "pip"), default="auto")
    parser.add_argument("--installs", type=Path, default=ROOT / "compat" / "installs.toml")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per script run")
    parser.add_argument("--jobs", type=int, default=1, help="releases handled at once")
    parser.add_argument("--json", type=Path, help="also write every verdict and output here")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each script's output")
    args = parser.parse_args()

    folder = ROOT / "repro" / args.library
    scripts = sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))
    if args.scripts:
        scripts = [folder / f"{name.removesuffix('.py')}.py" for name in args.scripts]
    if not scripts:
        parser.error(f"no scripts in {folder}")
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = list(pool.map(lambda v: one_release(args.library, v, scripts, args), args.versions))
    for row in rows:
        name = f"{args.library}=={row['version']}"
        if "install_error" in row:
            print(f"{name}: install failed:\n{row['install_error']}", file=sys.stderr)
        else:
            print(f"{name}: install {row['install_seconds']}s, total {row['seconds']}s")
        if args.verbose:
            for name, output in row["outputs"].items():
                print(f"--- {row['version']} {name}\n{output.rstrip()}")
    print(table(rows, scripts))
    print(f"whole run: {time.monotonic() - started:.1f}s for {len(rows)} release(s)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 1 if any("install_error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
