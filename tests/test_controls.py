"""Negative controls: every scenario has at least one deliberately broken stand-in
(``conformance.controls``), and each fails exactly the rows it names: its own scenario's,
in the modes it breaks, and no row of any other scenario.

The controls run through the real suite (``--client conformance.controls:NAME``, every
scenario on one provider each) in a few subprocesses, each running its share one control
after another (tests/controls_driver.py), so that the imports are paid once per share.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.controls import (
    CHECK_CONTROLS,
    CONTROLS,
    REACH_MEMBERS,
    CheckControl,
    Control,
    Tampered,
    reaches,
)
from conformance.modes import MODES, applies, features_needed
from conformance.scenarios import SCENARIOS, Scenario

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = 4
"""Subprocesses running the controls at once (the live scenarios mostly wait on sockets:
another process fills the gaps)."""
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


def every_control() -> list[Control | CheckControl]:
    controls: list[Control | CheckControl] = [c for cs in CONTROLS.values() for c in cs]
    return [*controls, *CHECK_CONTROLS]


def rows_of(control: Control | CheckControl) -> Iterator[tuple[Scenario, str]]:
    """Every (scenario, mode) row the suite runs for ``control`` on its provider: those
    whose features its stand-in has (the reference client's stand-ins have no program)."""
    adapter, provider = control.adapter(), control.provider
    for scenario in SCENARIOS:
        if provider in scenario.providers:
            for mode in MODES:
                needed = features_needed(scenario, mode)
                if applies(scenario, mode) and all(adapter.supports(f, provider) for f in needed):
                    yield scenario, mode


def must_fail(control: Control | CheckControl) -> set[tuple[str, str]]:
    """The rows ``control`` must fail, and no others."""
    if isinstance(control, CheckControl):
        return {
            (scenario.name, mode)
            for scenario, mode in rows_of(control)
            if control.fails(scenario, mode)
        }
    (name,) = [n for n, controls in CONTROLS.items() if control in controls]
    return {
        (scenario.name, mode)
        for scenario, mode in rows_of(control)
        if scenario.name == name and (control.modes is None or mode in control.modes)
    }


def test_every_scenario_has_a_control() -> None:
    missing = sorted(s.name for s in SCENARIOS if not CONTROLS.get(s.name))
    assert not missing, (
        f"scenarios without a negative control in conformance/controls.py: {missing}"
    )
    unknown = sorted(set(CONTROLS) - set(BY_NAME))
    assert not unknown, f"controls for scenarios that do not exist: {unknown}"


@pytest.mark.parametrize("control", every_control(), ids=lambda c: c.name)
def test_a_control_names_rows_that_exist(control: Control | CheckControl) -> None:
    """Each control runs on a provider its scenario has, and names modes it runs in."""
    assert must_fail(control), f"{control.name} names no row on {control.provider}"
    if isinstance(control, Control) and control.modes is not None:
        names = {mode for _, mode in must_fail(control)}
        assert names == set(control.modes), f"{control.name}: modes {control.modes} vs {names}"


@pytest.mark.parametrize(
    "control",
    [c for cs in CONTROLS.values() for c in cs if c.reach != "all"],
    ids=lambda c: c.name,
)
def test_a_control_runs_through_every_row_its_code_can_reach(control: Control) -> None:
    """A control that runs through fewer rows than all overrides only what those rows
    call (a chain's hooks run for chain scenarios only, ``parallel`` in its mode only...),
    so the rows left out run the reference client's own code; and it names no row it
    does not run through."""
    bases = set(Tampered.__mro__)
    overridden = {
        name
        for klass in control.adapter.__mro__
        if klass not in bases
        for name in vars(klass)
        if not name.startswith("_")
    }
    assert overridden <= REACH_MEMBERS[control.reach], (control.name, overridden)
    assert all(reaches(control.reach, BY_NAME[s], m) for s, m in must_fail(control))


def test_controls_have_distinct_names() -> None:
    names = [c.name for c in every_control()]
    assert len(names) == len(set(names))


def run_controls(names: list[str], workdir: Path) -> dict[str, list[list[str]]]:
    """Run the named controls through the suite, in ``PROCESSES`` subprocesses at once;
    their parity rows by name."""
    shares = [names[i::PROCESSES] for i in range(PROCESSES) if names[i::PROCESSES]]
    running = []
    for index, share in enumerate(shares):
        out, log = workdir / f"rows{index}.json", workdir / f"driver{index}.log"
        command = [sys.executable, "-m", "tests.controls_driver", str(out), *share]
        stream = log.open("w")
        process = subprocess.Popen(command, cwd=ROOT, stdout=stream, stderr=subprocess.STDOUT)
        running.append((process, stream, out, log))
    rows: dict[str, list[list[str]]] = {}
    for process, stream, out, log in running:
        try:
            returncode = process.wait(timeout=900)
        finally:
            stream.close()
        assert returncode == 0, log.read_text()[-3000:]
        rows.update(json.loads(out.read_text()))
    return rows


def problems_of(control: Control | CheckControl, rows: list[list[str]]) -> list[str]:
    """What is wrong with ``control``'s rows: a row it should fail and did not, one it
    failed and should not, one that neither passed nor failed."""
    failed = {(scenario, mode) for scenario, mode, outcome in rows if outcome == "fail"}
    wanted = must_fail(control)
    problems = [
        f"  {scenario}/{mode}: {outcome}"
        for scenario, mode, outcome in rows
        if outcome not in ("pass", "fail", "not supported")
    ]
    problems += [f"  should fail but passed: {s}/{m}" for s, m in sorted(wanted - failed)]
    problems += [f"  failed but should not:  {s}/{m}" for s, m in sorted(failed - wanted)]
    return problems


def test_each_control_fails_exactly_its_rows(tmp_path: Path) -> None:
    """Every control fails its own rows and no other scenario's. One test, so that
    pytest-xdist never queues the controls' runs behind each other on one worker."""
    controls = every_control()
    rows = run_controls([c.name for c in controls], tmp_path)
    report = []
    for control in controls:
        problems = problems_of(control, rows[control.name])
        if problems:
            report += [f"{control.name} ({control.provider}):", *problems]
    assert not report, "\n".join(report)
