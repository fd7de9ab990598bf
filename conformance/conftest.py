"""Each conformance case carries its parity row from collection on, so a case that errors
in setup or teardown is still reported (as a failure) by ``--parity-json``."""

from __future__ import annotations

import pytest

from conformance.modes import Case


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        case = callspec.params.get("case") if callspec is not None else None
        if isinstance(case, Case):
            item.user_properties.append(("parity", case.row()))
