"""The suite ships as a package: the wheel holds the specs and the cassettes, and
``pytest --pyargs conformance`` runs from an empty directory on the installed copy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
BUILD_IGNORED = (".git", ".venv", ".tox", ".nox", "build", "dist", "*.egg-info", "__pycache__")
BUILD_IGNORED += (".*_cache", ".hypothesis", "reports", ".compat", "mutants", "mutants-run.log")


def listed_packages() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(project["tool"]["setuptools"]["packages"])


def test_every_package_directory_is_listed_for_the_wheel() -> None:
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("harness", "conformance")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found | {"conformance.cassettes"} == set(listed_packages())


@pytest.fixture(scope="module")
def unpacked_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built wheel, unpacked: what ``pip install`` puts in site-packages."""
    out = tmp_path_factory.mktemp("wheel")
    # built from a copy: an in-tree build would leave build/ behind, whose stale files a
    # later wheel would pick up
    source = out / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*BUILD_IGNORED))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("llm_parity-*.whl")
    site = out / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def test_the_wheel_holds_the_specs_and_every_cassette(unpacked_wheel: Path) -> None:
    shipped = sorted(
        p.relative_to(unpacked_wheel / "conformance" / "cassettes").as_posix()
        for p in (unpacked_wheel / "conformance" / "cassettes").rglob("*.yaml")
    )
    in_repo = sorted(
        p.relative_to(ROOT / "cassettes").as_posix() for p in (ROOT / "cassettes").rglob("*.yaml")
    )
    assert shipped == in_repo and len(shipped) > 100
    assert (unpacked_wheel / "conformance" / "test_scenarios.py").is_file()
    assert (unpacked_wheel / "conformance" / "regressions" / "conftest.py").is_file()


def test_pyargs_runs_the_installed_suite_from_an_empty_directory(
    unpacked_wheel: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "parity.json"
    # the unpacked wheel comes first on sys.path, ahead of this checkout's editable install
    env = {**os.environ, "PYTHONPATH": str(unpacked_wheel)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "conformance",
            "--provider",
            "bedrock",
            f"--parity-json={out}",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    document = json.loads(out.read_text())
    assert {row["provider"] for row in document["results"]} <= {"bedrock", "-"}
    assert len(document["results"]) > 150
    assert Path(document["cassettes"]).is_relative_to(unpacked_wheel)
    assert list(empty.iterdir()) == []  # nothing written where it ran
