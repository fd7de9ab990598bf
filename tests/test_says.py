"""``Expect.says``: what a failure the client words itself must say (conformance/modes.py)."""

from __future__ import annotations

import pytest

from conformance.modes import Outcome, unmet
from conformance.scenarios import Expected
from harness.types import APIConnectionError

REFUSED = Expected(error=APIConnectionError, error_provider="openai", says=("{address}", "refused"))


def failing(message: str) -> Outcome:
    return Outcome(error=APIConnectionError(message, provider="openai"))


def test_each_item_must_appear_ignoring_case_with_the_address_filled_in() -> None:
    said = failing("Connection REFUSED to 127.0.0.1:8080")
    assert unmet(REFUSED, said, "127.0.0.1:8080") == []
    assert [p[0] for p in unmet(REFUSED, said, "127.0.0.1:9090")] == ["error.message says"]
    unsaid = unmet(REFUSED, failing("Connection error."), "127.0.0.1:8080")
    assert [(p[1], p[2]) for p in unsaid] == [
        ("'127.0.0.1:8080'", "Connection error."),
        ("'refused'", "Connection error."),
    ]


def test_an_item_with_alternatives_needs_one_of_them() -> None:
    timed_out = Expected(
        error=APIConnectionError, error_provider="openai", says=("timed out|timeout",)
    )
    assert unmet(timed_out, failing("read timeout"), None) == []
    assert unmet(timed_out, failing("request timed out"), None) == []
    assert unmet(timed_out, failing("request failed"), None) != []


def test_an_address_item_outside_a_live_run_is_a_scenario_error() -> None:
    with pytest.raises(ValueError, match="only a live scenario"):
        unmet(REFUSED, failing("connection refused"), None)
