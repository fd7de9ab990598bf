"""Run negative controls through the conformance suite, one after another in one process.

    python -m tests.controls_driver OUT.json NAME [NAME...]

Each NAME (a stand-in of ``conformance.controls``) is run as the suite's client
(``--client conformance.controls:NAME``) over every row of its provider that its broken
code can reach (``Control.reach``; every row for most), in-process (``pytest.main``: the
imports are paid once for the batch). OUT.json maps each name to its parity rows:
``[scenario, mode, outcome]``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pytest

from conformance.controls import CHECK_CONTROLS, CONTROLS, Reach, reaches
from conformance.modes import MODES, applies
from conformance.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "conformance" / "test_scenarios.py"


def controls() -> dict[str, tuple[str, Reach]]:
    """Control name -> (the provider it runs on, its reach)."""
    found: dict[str, tuple[str, Reach]] = {
        c.name: (c.provider, c.reach) for cs in CONTROLS.values() for c in cs
    }
    found.update({c.name: (c.provider, "all") for c in CHECK_CONTROLS})
    return found


def selected(provider: str, reach: Reach) -> list[str]:
    """The node ids of the rows a stand-in of ``reach`` can change on ``provider``."""
    return [
        f"{SUITE}::test_scenario[{provider}-{scenario.name}-{mode}]"
        for scenario in SCENARIOS
        if provider in scenario.providers
        for mode in MODES
        if applies(scenario, mode) and reaches(reach, scenario, mode)
    ]


def run(name: str, provider: str, reach: Reach, workdir: Path) -> list[list[str]]:
    out = workdir / f"{name}.json"
    pytest.main(
        [
            *selected(provider, reach),
            f"--client=conformance.controls:{name}",
            f"--provider={provider}",
            f"--cassette-dir={ROOT / 'cassettes'}",
            f"--rootdir={ROOT}",
            f"--parity-json={out}",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "-p",
            "no:hypothesispytest",
            "-p",
            "no:xdist",
            "-p",
            "no:asyncio",
            "-W",
            "ignore::pytest.PytestAssertRewriteWarning",
            "-q",
            "--no-header",
            "--tb=no",
            "-o",
            "console_output_style=classic",
        ]
    )
    rows = json.loads(out.read_text())["results"]
    return [[row["scenario"], row["mode"], row["outcome"]] for row in rows]


def main(argv: list[str]) -> int:
    target, names = Path(argv[0]), argv[1:]
    known = controls()
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            provider, reach = known[name]
            results[name] = run(name, provider, reach, Path(workdir))
    target.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
