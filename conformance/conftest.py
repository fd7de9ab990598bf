"""Each conformance case (scenario or regression spec) carries the ``parity`` marker and its
parity row from collection on, so a case that errors in setup or teardown is still
reported (as a failure) by ``--parity-json``, and ``-m parity`` selects the suite."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        case = callspec.params.get("case") if callspec is not None else None
        if case is not None and callable(getattr(case, "row", None)):
            item.add_marker(pytest.mark.parity)
            item.user_properties.append(("parity", case.row()))
