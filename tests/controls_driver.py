"""Run negative controls through the conformance suite, one after another in one process.

    python -m tests.controls_driver OUT.json NAME [NAME...]

Each NAME (a stand-in of ``conformance.controls``) is run as the suite's client
(``--client conformance.controls:NAME``) over every scenario on its provider, in-process
(``pytest.main``: the imports are paid once for the batch). OUT.json maps each name to its
parity rows: ``[scenario, mode, outcome]``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pytest

from conformance.controls import CHECK_CONTROLS, CONTROLS

ROOT = Path(__file__).resolve().parent.parent


def providers() -> dict[str, str]:
    """Control name -> the provider it runs on."""
    found = {c.name: c.provider for controls in CONTROLS.values() for c in controls}
    found.update({c.name: c.provider for c in CHECK_CONTROLS})
    return found


def run(name: str, provider: str, workdir: Path) -> list[list[str]]:
    out = workdir / f"{name}.json"
    pytest.main(
        [
            str(ROOT / "conformance" / "test_scenarios.py"),
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
    where = providers()
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            results[name] = run(name, where[name], Path(workdir))
    target.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
