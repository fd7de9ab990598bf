"""No regression spec inherits another's leftovers: state an earlier spec left behind is
reported as leaked from it (outcome "leaked"), and an adapter's ``reset()`` clears it so
one process gives the same verdicts as one process per spec."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = "test_threads.py::test_user_thread_settings", "test_threads.py::test_stale_worker_config"


def rows(client: str, tmp_path: Path, *specs: str) -> dict[str, dict[str, str]]:
    out = tmp_path / f"{client}-{len(specs)}.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *(str(ROOT / "conformance" / "regressions" / spec) for spec in specs),
            f"--client=tests.leaky_adapters:{client}",
            "--provider=openai",
            f"--parity-json={out}",
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        check=False,
    )
    return {f"{r['scenario']}-{r['mode']}": r for r in json.loads(out.read_text())["results"]}


def test_leftovers_are_reported_as_leaked_from_the_spec_that_left_them(tmp_path: Path) -> None:
    found = rows("LeakyContext", tmp_path, *SPECS)
    leaked = {name: row["leaked_from"] for name, row in found.items() if "leaked_from" in row}
    prefix = "conformance/regressions/test_threads.py::"
    assert leaked == {  # each names the spec that ran just before it (thread mode enters none)
        "regression/stale_worker_config-thread_pool": (
            f"{prefix}test_user_thread_settings[asyncify]"
        ),
        "regression/stale_worker_config-parallel": (
            f"{prefix}test_stale_worker_config[openai-thread_pool]"
        ),
    }
    assert {found[name]["outcome"] for name in leaked} == {"leaked"}


def test_reset_gives_one_process_the_verdicts_of_one_process_per_spec(tmp_path: Path) -> None:
    together = rows("LeakyContextWithReset", tmp_path, *SPECS)
    apart = {**rows("LeakyContextWithReset", tmp_path, SPECS[0])}
    apart.update(rows("LeakyContextWithReset", tmp_path / "..", SPECS[1]))
    assert {k: r["outcome"] for k, r in together.items()} == {
        k: r["outcome"] for k, r in apart.items()
    }
    assert "leaked" not in {r["outcome"] for r in together.values()}
