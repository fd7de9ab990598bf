"""Parametrizes every regression spec and hands it a ``Bench``.

``test_<id>(bench)`` runs once per mode of catalogue entry ``<id>``, and per selected
provider when the entry calls a model (provider ``-`` otherwise; only the entry's own
``providers`` when it names some). The ``bench`` fixture
turns missing adapter features into "not supported" (``conformance/conftest.py`` gives
each case its parity row).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.regressions.catalogue import BY_ID
from conformance.regressions.support import Bench, Case
from harness.pytest_plugin import Suite, selected_providers


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" not in metafunc.fixturenames:
        return
    name = metafunc.function.__name__.removeprefix("test_")
    regression = BY_ID.get(name)
    if regression is None:
        raise pytest.UsageError(
            f"{metafunc.function.__qualname__}: no catalogue entry {name!r} in "
            "conformance/regressions/catalogue.py"
        )
    providers = selected_providers(metafunc.config) if regression.calls_model else ("-",)
    if regression.providers:  # a bug in one provider's wire format runs for that one only
        providers = tuple(p for p in providers if p in regression.providers)
    cases = [
        Case(regression, provider, mode) for provider in providers for mode in regression.modes
    ]
    metafunc.parametrize("case", cases, ids=[case.id for case in cases])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the spec of a provider-specific entry when none of its providers is selected
    (pytest leaves one empty-parameter item for it), rather than report a skip."""
    here = Path(__file__).parent
    empty = [
        item
        for item in items
        if item.path.parent == here
        and "case" in getattr(item, "fixturenames", ())
        and not isinstance(getattr(getattr(item, "callspec", None), "params", {}).get("case"), Case)
    ]
    if empty:
        config.hook.pytest_deselected(items=empty)
        items[:] = [item for item in items if item not in empty]


@pytest.fixture
def bench(case: Case, parity_suite: Suite, request: pytest.FixtureRequest) -> Iterator[Bench]:
    bench = Bench(parity_suite, case, request)
    missing = bench.missing_features()
    if missing:
        where = case.provider if case.provider != "-" else "any selected provider"
        pytest.skip(f"not supported: {', '.join(missing)} for {where}")
    try:
        bench.start()
        yield bench
    finally:
        bench.close()
