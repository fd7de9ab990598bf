"""The conformance spec: every scenario, in every mode, for every selected provider.

Each case replays ``cassettes/<provider>/<scenario>.yaml`` in its own mode and is judged
on its own:

1. every request the mode sends must match a recorded one (``--match``: semantic for
   other clients, strict canonical JSON for the reference client), including requests
   the client wrapped in its own exception;
2. the result must meet the scenario's whole expectation (``Scenario.expected``);
3. the mode must make as many requests as the script has steps (per copy), and play
   every interaction of its family (streamed or not);
4. where the adapter also has the mode's baseline (sync, or stream for the stream
   modes) and that baseline meets the expectation, the result must equal it field by
   field: error texts, raw tool-call arguments, provider data, stream events, the exact
   tool results. A failing or missing baseline fails only its own row.

When the run records (``--record-mode``), each cassette is recorded once per session, as
a transaction: into a temporary file that replaces the cassette only when every
recording run succeeded (see ``conformance.runs``).
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.models import LOST, model_for
from conformance.modes import (
    MODES,
    PARALLEL_COPIES,
    STREAM_MODES,
    Case,
    Outcome,
    applies,
    baseline_of,
    differences,
    features_needed,
    unmet,
)
from conformance.runs import expectation, record_scenario, replay, streamed_indices
from conformance.scenarios import PROVIDERS_WITHOUT_CALL_IDS
from harness.pytest_plugin import Suite, selected_providers


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        from conformance.scenarios import SCENARIOS

        providers = selected_providers(metafunc.config)
        cases = [
            Case(scenario, mode, provider)
            for provider in providers
            for scenario in SCENARIOS
            if provider in scenario.providers
            for mode in MODES
            if applies(scenario, mode)
        ]
        metafunc.parametrize("case", cases, ids=[c.id for c in cases])


def fail_with(
    request: pytest.FixtureRequest, case: Case, what: str, problems: list[tuple[str, Any, Any]]
) -> None:
    request.node.user_properties.append(
        ("parity_diff", [{"field": f, "expected": repr(a), "got": repr(b)} for f, a, b in problems])
    )
    lines = [f"{case.scenario.name} / {case.provider} / mode {case.mode}: {what}"]
    lines += [f"  {field}:\n    expected {a!r}\n    got      {b!r}" for field, a, b in problems]
    pytest.fail("\n".join(lines), pytrace=False)


def missing_features(suite: Suite, case: Case, mode: str) -> list[str]:
    needed = features_needed(case.scenario, mode)
    return [f for f in needed if not suite.adapter.supports(f, case.provider)]


def baseline(suite: Suite, case: Case) -> list[Outcome] | None:
    """The outcomes of the case's baseline mode, when the adapter has it and they meet the
    expectation (computed once per session); None otherwise."""
    family = baseline_of(case.mode)
    if family == case.mode or missing_features(suite, case, family):
        return None
    key = (case.provider, case.scenario.name, family)
    if key not in suite.cache:
        try:
            played = replay(suite, case, family)
        except Exception:  # the baseline's own row reports it
            suite.cache[key] = None
        else:
            expected = expectation(suite, case)
            good = not played.unmatched and all(not unmet(expected, o) for o in played.outcomes)
            suite.cache[key] = played.outcomes if good else None
    return suite.cache[key]


def test_scenario(case: Case, parity_suite: Suite, request: pytest.FixtureRequest) -> None:
    scenario, suite = case.scenario, parity_suite
    missing = missing_features(suite, case, case.mode)
    if missing:
        pytest.skip(f"not supported: {', '.join(missing)} for {case.provider}")
    if suite.recording:
        record_scenario(suite, case, lambda mode: missing_features(suite, case, mode))

    played = replay(suite, case, case.mode)
    if played.unmatched:
        text = str(played.unmatched[0])
        lost = model_for(case.provider, LOST)
        if f'"{lost}"' in text:
            text += f"\n  [{lost!r} is the process default's model: the caller's context was lost]"
        fail_with(
            request,
            case,
            "the client sent a request that no recorded interaction matches:\n  "
            + text.replace("\n", "\n  "),
            [],
        )
    expected = expectation(suite, case)
    copies = PARALLEL_COPIES if case.mode == "parallel" else 1
    if scenario.kind != "tasks" and len(played.outcomes) != copies:
        fail_with(
            request, case, "wrong number of results", [("results", copies, len(played.outcomes))]
        )
    for index, outcome in enumerate(played.outcomes):
        label = f"result #{index + 1}" if len(played.outcomes) > 1 else "result"
        if scenario.kind == "tasks":
            wanted = scenario.replies[index].text  # type: ignore[union-attr]
            got = outcome.response.text if outcome.response else repr(outcome.error)
            if wanted != got:
                fail_with(
                    request,
                    case,
                    f"task #{index + 1} got another task's answer",
                    [("text", wanted, got)],
                )
            continue
        problems = unmet(expected, outcome)
        if problems:
            fail_with(request, case, f"{label} misses the scenario's expectation", problems)

    made = played.requests
    if made != expected.attempts * copies:
        fail_with(
            request,
            case,
            "made a different number of requests than the script has steps",
            [("requests", expected.attempts * copies, made)],
        )
    stream = case.mode in STREAM_MODES
    wanted_indices = (
        set(range(len(played.recorded)))
        if scenario.kind == "tasks"
        else streamed_indices(played.recorded, stream=stream)
    )
    left = sorted(i for i in wanted_indices if not played.play_counts[i])
    if left:
        fail_with(
            request, case, f"interactions left unplayed in {played.path}", [("unplayed", [], left)]
        )

    reference = baseline(suite, case)
    if reference is None:
        return
    family = baseline_of(case.mode)
    for index, outcome in enumerate(played.outcomes):
        problems = differences(
            reference[index if scenario.kind == "tasks" else 0],
            outcome,
            call_ids=case.provider not in PROVIDERS_WITHOUT_CALL_IDS,
        )
        if problems:
            label = f"result #{index + 1}" if len(played.outcomes) > 1 else "result"
            fail_with(request, case, f"{label} differs from the {family} baseline", problems)
