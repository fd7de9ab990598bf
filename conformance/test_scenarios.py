"""The conformance spec: every scenario, in every mode, for every selected provider.

Each case replays ``cassettes/<provider>/<scenario>.yaml``:

1. the baselines (sync call, and sync stream where the scenario streams) must play every
   recorded interaction and give the scenario's expected result, streamed == not streamed;
2. the cassette is rewound and the case's own mode runs; its requests must match the
   recording (canonical JSON: a mode that sends other bytes fails the replay), it must
   play its family's interactions again, make the same number of attempts, and give a
   result equal to its baseline, field by field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest

from conformance.modes import (
    MODES,
    PARALLEL_COPIES,
    STREAM_MODES,
    Case,
    Outcome,
    Runner,
    applies,
    baseline_of,
    differences,
    features_needed,
)
from conformance.scenarios import CONTEXT_LOST_MODEL, MODEL, SCENARIOS, Scenario
from harness.adapters.base import ClientAdapter, Target
from harness.cassettes.record import unplayed, use_cassette
from harness.emulator import Emulator, EmulatorTransport
from harness.pytest_plugin import Suite, selected_providers


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
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


def fake_aws_credentials() -> Any:
    from botocore.credentials import Credentials

    return Credentials("AKIDEXAMPLE", "fake-secret-for-replay")


def target(suite: Suite, provider: str, model: str, emulator: Emulator | None) -> Target:
    live = suite.recording and not suite.emulator
    return Target(
        provider=provider,
        model=model,
        api_key=None if live else "test-key",
        region="us-east-1",
        aws_credentials=None if live else fake_aws_credentials(),
        transport=EmulatorTransport(emulator) if emulator is not None else None,
    )


@contextmanager
def connected(adapter: ClientAdapter, targets: list[Target]) -> Iterator[list[Any]]:
    with ExitStack() as stack:
        clients = []
        for one in targets:
            client = adapter.connect(one)
            stack.callback(adapter.close, client)
            clients.append(client)
        yield clients


def models(case: Case) -> list[str]:
    """The scenario's model, the process default's, and one per concurrent task."""
    names = [MODEL[case.provider], CONTEXT_LOST_MODEL]
    if case.scenario.kind == "tasks":
        names += [f"{MODEL[case.provider]}-task{i}" for i in range(len(case.scenario.replies))]
    return names


def run(suite: Suite, case: Case, mode: str, *, emulator: Emulator | None = None) -> list[Outcome]:
    """Run ``case.scenario`` in ``mode``. With a context store, every call runs inside
    ``configure(default)`` + ``context(scenario client)`` and picks its client from the
    caller's context, so a mode that loses the context sends the default's model."""
    adapter = suite.adapter
    targets = [target(suite, case.provider, model, emulator) for model in models(case)]
    with connected(adapter, targets) as (client, default, *task_clients):
        if case.scenario.kind == "tasks":
            adapter.configure(default)
            return Runner(adapter, case.scenario, adapter.current).run_tasks(
                task_clients, concurrently=mode == "tasks"
            )
        if not adapter.supports("context", case.provider):
            return Runner(adapter, case.scenario, lambda: client).run(mode)
        adapter.configure(default)
        with adapter.context(client):
            return Runner(adapter, case.scenario, adapter.current).run(mode)


def families(scenario: Scenario) -> list[str]:
    return ["sync", "stream"] if scenario.streams and scenario.kind == "call" else ["sync"]


def run_baselines(suite: Suite, case: Case, *, recording: bool) -> dict[str, list[Outcome]]:
    """The sync (and stream) baselines; each family gets a fresh emulator when recording."""
    return {
        family: run(
            suite,
            case,
            family,
            emulator=Emulator(case.scenario.replies) if recording and suite.emulator else None,
        )
        for family in families(case.scenario)
    }


def expectation_problems(scenario: Scenario, outcome: Outcome) -> list[tuple[str, Any, Any]]:
    """(field, expected, got) for every expectation the outcome misses."""
    expect = scenario.expect
    problems: list[tuple[str, Any, Any]] = []
    if expect.error is not None:
        if not isinstance(outcome.error, expect.error):
            problems.append(("error type", expect.error.__name__, repr(outcome.error)))
        elif expect.error_message and expect.error_message not in str(outcome.error):
            problems.append(("error message", expect.error_message, str(outcome.error)))
        return problems
    if outcome.error is not None or outcome.response is None:
        return [("error", None, repr(outcome.error))]
    response = outcome.response
    checks = {
        "text": (expect.text, response.text),
        "finish_reason": (expect.finish_reason, response.finish_reason),
        "usage": (expect.usage, response.usage),
        "tool_calls": (
            expect.tool_calls,
            tuple((call.name, call.arguments) for call in response.tool_calls),
        ),
        "tool_results": (
            expect.tool_results,
            None
            if outcome.tool_results is None
            else tuple((m.content, m.is_error) for m in outcome.tool_results),
        ),
    }
    for name, (wanted, got) in checks.items():
        if wanted is not None and wanted != got:
            problems.append((name, wanted, got))
    return problems


def fail_with(
    request: pytest.FixtureRequest, case: Case, what: str, problems: list[tuple[str, Any, Any]]
) -> None:
    request.node.user_properties.append(
        ("parity_diff", [{"field": f, "expected": repr(a), "got": repr(b)} for f, a, b in problems])
    )
    lines = [f"{case.scenario.name} / {case.provider} / mode {case.mode}: {what}"]
    lines += [f"  {field}:\n    expected {a!r}\n    got      {b!r}" for field, a, b in problems]
    pytest.fail("\n".join(lines), pytrace=False)


def record_command(suite: Suite, case: Case) -> str:
    """The exact command that records this case's cassette."""
    where = (
        "" if suite.cassette_dir.name == "cassettes" else f" --cassette-dir {suite.cassette_dir}"
    )
    return (
        f"pytest conformance/ --provider {case.provider} -k '{case.scenario.name}'{where} "
        "--record-mode=once   (add --emulator to record against the built-in emulator)"
    )


def test_scenario(case: Case, parity_suite: Suite, request: pytest.FixtureRequest) -> None:
    scenario, suite = case.scenario, parity_suite
    needed = features_needed(scenario, case.mode)
    missing = [f for f in needed if not suite.adapter.supports(f, case.provider)]
    if missing:
        pytest.skip(f"not supported: {', '.join(missing)} for {case.provider}")

    path = suite.cassette(case.provider, scenario.name)
    if suite.recording:
        mode = suite.record_mode
        if mode == "rewrite":  # a fresh recording, not appended to the old one
            path.unlink(missing_ok=True)
            mode = "all"
        with use_cassette(path, record_mode=mode, record_command=record_command(suite, case)):
            run_baselines(suite, case, recording=True)

    with use_cassette(
        path,
        record_mode="none",
        allow_playback_repeats=not scenario.ordered,
        record_command=record_command(suite, case),
    ) as cassette:
        baselines: dict[str, list[Outcome]] = {}
        attempts: dict[str, int] = {}
        for family in families(scenario):
            before = sum(cassette.play_counts.values())
            baselines[family] = run(suite, case, family)
            attempts[family] = sum(cassette.play_counts.values()) - before
        check_baselines(request, case, cassette, baselines, attempts)
        if case.mode == baseline_of(case.mode):
            return  # this mode was its own baseline

        cassette.rewind()
        outcomes = run(suite, case, case.mode)
        family = baseline_of(case.mode)
        for index, outcome in enumerate(outcomes):
            reference = baselines[family][index if scenario.kind == "tasks" else 0]
            problems = differences(reference, outcome)
            if problems:
                label = f"result #{index + 1}" if len(outcomes) > 1 else "result"
                fail_with(request, case, f"{label} differs from the {family} baseline", problems)
        copies = PARALLEL_COPIES if case.mode == "parallel" else 1
        made = sum(cassette.play_counts.values())
        if made != attempts[family] * copies:
            fail_with(
                request,
                case,
                f"made a different number of requests than the {family} baseline",
                [("requests", attempts[family] * copies, made)],
            )
        wanted = (
            set(range(len(cassette.data)))
            if scenario.kind == "tasks"
            else streamed_indices(cassette, stream=case.mode in STREAM_MODES)
        )
        left = sorted(i for i in wanted if not cassette.play_counts[i])
        if left:
            fail_with(request, case, "interactions left unplayed", [("unplayed", [], left)])


def check_baselines(
    request: pytest.FixtureRequest,
    case: Case,
    cassette: Any,
    baselines: dict[str, list[Outcome]],
    attempts: dict[str, int],
) -> None:
    """The baselines played every interaction, met the expectations, and agree."""
    scenario = case.scenario
    left = unplayed(cassette)
    if left:
        fail_with(request, case, "baseline left interactions unplayed", [("unplayed", [], left)])
    for family, outcomes in baselines.items():
        if scenario.kind == "tasks":
            texts = tuple(o.response.text if o.response else None for o in outcomes)
            wanted = tuple(reply.text for reply in scenario.replies)  # type: ignore[union-attr]
            if texts != wanted:
                fail_with(
                    request, case, "tasks got each other's answers", [("texts", wanted, texts)]
                )
            continue
        problems = expectation_problems(scenario, outcomes[0])
        if attempts[family] != len(scenario.replies):  # one request per scripted reply
            problems.append(("requests", len(scenario.replies), attempts[family]))
        if problems:
            fail_with(request, case, f"the {family} baseline misses expectations", problems)
    if "stream" in baselines:
        streamed = Outcome(baselines["stream"][0].response, baselines["stream"][0].error)
        problems = differences(baselines["sync"][0], streamed)
        if problems:
            fail_with(request, case, "streamed result differs from the sync call", problems)


def streamed_indices(cassette: Any, *, stream: bool) -> set[int]:
    """Indices of the streamed (``stream=True``) or non-streamed interactions."""
    indices = set()
    for index, (recorded, _) in enumerate(cassette.data):
        try:
            flagged = json.loads(recorded.body or b"{}").get("stream") is True
        except (ValueError, AttributeError):
            flagged = False
        if (flagged or "stream" in recorded.path.lower()) == stream:
            indices.add(index)
    return indices
