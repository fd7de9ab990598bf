"""nox sessions mirroring tox.ini, for nox users.

    nox                                   every session
    nox -s "tests-3.11(deps='ceiling')" lint
    nox -s tests -p 3.12                  floor and ceiling on one Python
    nox -s report -- --baseline reports/0.1.0.json

``tests`` runs the README's test command (pytest, with the test extra) and the conformance
suite, which writes ``.nox/parity-py<XY>-<deps>.json``: ``floor`` pins the lowest httpx,
vcrpy and pytest-asyncio the code supports (read from tox.ini's ``[floor]``, one list for
both tools), ``ceiling`` takes the newest releases.
"""

from __future__ import annotations

import configparser
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
CEILING = ["httpx", "vcrpy", "pytest-asyncio"]

nox.options.error_on_missing_interpreters = True


def floor_pins() -> list[str]:
    """The requirement lines of tox.ini's ``[floor] deps`` (markers included)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini", encoding="utf-8")
    return [line.strip() for line in parser["floor"]["deps"].splitlines() if line.strip()]


@nox.session(python=PYTHONS)
@nox.parametrize("deps", ["floor", "ceiling"])
def tests(session: nox.Session, deps: str) -> None:
    """The tests and the conformance suite, with floor or ceiling dependencies."""
    if deps == "floor":
        # One pip run: the pins constrain the package's own requirements.
        session.install("-e", ".[test]", *floor_pins())
    else:
        session.install("--upgrade", "--upgrade-strategy", "eager", "-e", ".[test]", *CEILING)
    session.run(
        "python",
        "-c",
        "import httpx, vcr, pytest_asyncio; print('httpx', httpx.__version__, '| vcrpy', "
        "vcr.__version__, '| pytest-asyncio', pytest_asyncio.__version__)",
    )
    python = str(session.python).replace(".", "")
    parity = ROOT / ".nox" / f"parity-py{python}-{deps}.json"
    # Conformance first: its parity file is written whatever the outcome, for the report.
    session.run("pytest", "conformance/", "-q", "--parity-json", str(parity))
    session.run("pytest", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check and mypy --strict (pyproject's [tool.mypy])."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", ".")
    session.run("mypy")


@nox.session(python="3.11")
def coverage(session: nox.Session) -> None:
    """The tests with line coverage of harness/ (coverage run: see tox.ini); fails under 90%."""
    session.install("-e", ".[test]", "pytest-cov")
    env = {"COVERAGE_FILE": str(Path(session.create_tmp()) / ".coverage")}
    session.run("coverage", "run", "--source=harness", "-m", "pytest", *session.posargs, env=env)
    session.run(
        "coverage", "report", "--show-missing", "--skip-covered", "--fail-under=90", env=env
    )


@nox.session(python="3.11")
def report(session: nox.Session) -> None:
    """Merge the tests sessions' parity files into reports/<version>.md, .json and .html."""
    session.install("-e", ".")
    session.run("harness", "report", str(ROOT / ".nox"), "--out-dir", "reports", *session.posargs)


@nox.session(python="3.11")
def compat(session: nox.Session) -> None:
    """The compatibility matrix: the suite against real releases of other libraries.

        nox -s compat                          every release listed in compat/matrix.toml
        nox -s compat -- dspy==2.5.33          any release, listed or not (several allowed)
        nox -s compat -- --report dspy         only regenerate reports/compat/dspy.md

    Each release gets a fresh venv under .compat/ (uv), this project with its test extra,
    the release with the install rules of compat/installs.toml; its parity file goes to
    reports/compat/<lib>-<version>.json and reports/compat/<lib>.md is regenerated.
    """
    session.install("uv", "packaging")
    if session.posargs[:1] == ["--report"]:
        session.run("python", "compat/matrix.py", "report", *session.posargs[1:])
    else:
        session.run("python", "compat/matrix.py", "run", *session.posargs)


@nox.session(python="3.11")
def mutation(session: nox.Session) -> None:
    """mutmut over harness/providers/, transport.py, context.py and tools/, judged by
    ``pytest conformance/ -x`` alone; writes reports/mutation/ (mutation/run.py). Posargs
    go to mutation/run.py: ``-- --resume``, ``-- --max-children 4``, mutant names."""
    session.install("-e", ".[test]", "mutmut>=3.8")
    session.run("python", "mutation/run.py", *session.posargs)
