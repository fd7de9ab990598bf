"""The conformance spec: every scenario, in every mode, for every selected provider.

Each case replays ``cassettes/<provider>/<scenario>.yaml`` in its own mode and is judged
on its own:

1. every request the mode sends must match a recorded one (``--match``: semantic for
   other clients, strict canonical JSON for the reference client), including requests
   the client wrapped in its own exception;
2. the result must meet the scenario's whole expectation (``Scenario.expected``);
3. the mode must make as many requests as the script has steps (per copy), and play
   every interaction of its family (streamed or not);
4. every request must carry the suite's fake key in the provider's own place (checked
   on the request as sent, before scrubbing; see ``conformance.sent``), a JSON body
   must be labelled ``Content-Type: application/json``, a request for a JSON answer
   that sends ``Accept`` must accept JSON, and a retry must come no sooner than the
   provider's ``Retry-After`` said;
5. a scenario with late tools (``Expect.within``) must end, event loop shut down,
   before they would have answered; a scenario that tracks usage must find in the
   client's tracker the usage of every call the mode made;
6. where the adapter also has the mode's baseline (sync, or stream for the stream
   modes) and that baseline meets the expectation, the result must equal it field by
   field: error texts, raw tool-call arguments, provider data, stream events, the exact
   tool results. A failing or missing baseline fails only its own row.

Live scenarios (``Scenario.source``) run against the emulator on a loopback server
instead of a cassette; the emulator counts their requests, and each must name the
scenario's model (a mode that lost the caller's context names the default's).

When the run records (``--record-mode``), each cassette is recorded once per session, as
a transaction: into a temporary file that replaces the cassette only when every
recording run succeeded (see ``conformance.runs``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance.models import LOST, SCENARIO, model_for
from conformance.modes import (
    MODES,
    STREAM_MODES,
    Case,
    ForeignExit,
    Outcome,
    applies,
    baseline_of,
    differences,
    fails_fast,
    features_needed,
    programs,
    results,
    unmet,
)
from conformance.runs import (
    LiveEndpoints,
    case_target,
    expectation,
    play_live,
    record_scenario,
    replay,
    streamed_indices,
)
from conformance.scenarios import PROVIDERS_WITHOUT_CALL_IDS, Spread
from conformance.sent import (
    SentRequest,
    accept_problems,
    content_type_problems,
    credential_problems,
    organization_problems,
    wait_problems,
)
from harness.cassettes.errors import UnmatchedRequestError
from harness.emulator import returned_model
from harness.pytest_plugin import Suite, selected_providers
from harness.types import ConfigurationError, Usage


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


@pytest.fixture(scope="session")
def live_endpoints() -> Iterator[LiveEndpoints]:
    """The loopback server and refusing port of the session's live scenarios."""
    endpoints = LiveEndpoints()
    yield endpoints
    endpoints.close()


@dataclass(frozen=True)
class Played:
    """One run of a mode, replayed or live, in the terms the checks need."""

    where: str
    outcomes: list[Outcome]
    requests: int
    sent: tuple[SentRequest, ...]
    unmatched: list[UnmatchedRequestError] = field(default_factory=list)
    unplayed: list[int] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    """Live runs: the model each request named."""
    most_waiting: int | None = None
    """Live runs: the most requests the emulator had waiting for their answer at once."""
    address: str | None = None
    """Live runs: the ``host:port`` the requests were sent to."""


def play(suite: Suite, case: Case, mode: str, endpoints: LiveEndpoints) -> Played:
    """Run ``mode`` of the case: against the emulator for a live scenario, else replayed.

    A case's own mode (``mode == case.mode``) always runs. Another mode of the case's
    scenario (its baseline) is the same run as that mode's own case: when that case has
    already run in this session, what it played is returned instead of running it a
    second time (never while recording). Only baseline modes (sync, stream) are kept."""
    key = ("played", case.provider, case.scenario.name, mode)
    if mode != case.mode and key in suite.cache:
        kept: Played = suite.cache[key]
        return kept
    played = _play(suite, case, mode, endpoints)
    if mode == case.mode and baseline_of(mode) == mode and not suite.recording:
        suite.cache[key] = played
    return played


def _play(suite: Suite, case: Case, mode: str, endpoints: LiveEndpoints) -> Played:
    if case.scenario.live:
        lived = play_live(suite, case, mode, endpoints)
        return Played(
            lived.where,
            lived.outcomes,
            len(lived.sent),
            tuple(lived.sent),
            lived.unmatched,
            models=lived.models,
            most_waiting=lived.most_waiting,
            address=lived.address,
        )
    played = replay(suite, case, mode)
    stream = mode in STREAM_MODES
    wanted = (
        set(range(len(played.recorded)))
        if case.scenario.kind == "tasks"
        else streamed_indices(played.recorded, stream=stream)
    )
    return Played(
        str(played.path),
        played.outcomes,
        played.requests,
        played.outcomes[0].sent if played.outcomes else (),
        played.unmatched,
        sorted(i for i in wanted if not played.play_counts[i]),
    )


def baseline(suite: Suite, case: Case, endpoints: LiveEndpoints) -> list[Outcome] | None:
    """The outcomes of the case's baseline mode, when the adapter has it and they meet the
    expectation (computed once per session); None otherwise."""
    family = baseline_of(case.mode)
    if family == case.mode or missing_features(suite, case, family):
        return None
    key = (case.provider, case.scenario.name, family)
    if key not in suite.cache:
        try:
            played = play(suite, case, family, endpoints)
        except Exception:  # the baseline's own row reports it
            suite.cache[key] = None
        else:
            expected = expectation(suite, case)
            good = not played.unmatched and not any(
                unmet(expected, o, played.address) for o in played.outcomes
            )
            suite.cache[key] = played.outcomes if good else None
    outcomes: list[Outcome] | None = suite.cache[key]
    return outcomes


def spread_problems(spread: Spread, played: Played) -> list[tuple[str, Any, Any]]:
    """What a ``parallel_with`` run misses of its options (``Spread``)."""
    problems: list[tuple[str, Any, Any]] = []
    bound = spread.num_threads
    if bound is not None and (played.most_waiting or 0) > bound:
        problems.append(("requests in flight at once", f"at most {bound}", played.most_waiting))
    if spread.usages:
        for index, outcome in enumerate(played.outcomes):
            answered = outcome.response.usage if outcome.response else None
            if outcome.task_usage != answered:
                problems.append((f"usage of program #{index + 1}", answered, outcome.task_usage))
    if spread.joins:
        left = played.outcomes[0].left_running if played.outcomes else None
        if left != 0:
            problems.append(("programs still running when the run returned", 0, left))
    if spread.progress:
        shown = played.outcomes[0].progress if played.outcomes else None
        problems += progress_problems(spread.programs, shown)
    return problems


def foreign_exit_problems(
    errors: tuple[type[Exception], ...], exited: ForeignExit | None
) -> list[tuple[str, Any, Any]]:
    """What an exit in a thread where the block is not open missed: a refusal of one of
    ``errors`` naming the block, and both threads' blocks as they were."""
    if exited is None:
        return [("the exit elsewhere", "made", None)]
    problems: list[tuple[str, Any, Any]] = []
    kinds = " or ".join(kind.__name__ for kind in errors)
    if not isinstance(exited.error, errors):
        problems.append(("error of the exit", kinds, repr(exited.error)))
    elif exited.block not in str(exited.error):
        problems.append(("error message (names the block)", exited.block, str(exited.error)))
    if not exited.kept_there:
        problems.append(("the other thread's own block", "still selecting its client", "lost"))
    if not exited.kept_here:
        problems.append(("the block in its own thread", "still selecting its client", "lost"))
    if exited.crashed is not None:
        problems.append(("a block's own exit", "no error", repr(exited.crashed)))
    return problems


def progress_problems(
    total: int, shown: tuple[tuple[int, int], ...] | None
) -> list[tuple[str, Any, Any]]:
    """What a progress display of ``total`` programs missed: it must end at ``total`` of
    ``total``, never count back nor past the total, and show a count in between."""
    if not shown:
        return [("progress shown", f"ending at {total}/{total}", shown)]
    problems: list[tuple[str, Any, Any]] = []
    if shown[-1] != (total, total):
        problems.append(("progress at the end", (total, total), shown[-1]))
    counts = [done for done, _ in shown]
    if any(of != total for _, of in shown) or any(d > total for d in counts):
        problems.append(("progress totals", f"every count of {total}, at most {total}", shown))
    if counts != sorted(counts):
        problems.append(("progress counted back", "never", shown))
    if not any(0 < done < total for done in counts):
        between = f"a count from 1 to {total - 1}"
        problems.append(("progress while the programs ran", between, shown))
    return problems


def _times(usage: Usage, copies: int) -> Usage:
    total = Usage()
    for _ in range(copies):
        total = total + usage
    return total


def test_scenario(
    case: Case,
    parity_suite: Suite,
    live_endpoints: LiveEndpoints,
    request: pytest.FixtureRequest,
) -> None:
    scenario, suite = case.scenario, parity_suite
    missing = missing_features(suite, case, case.mode)
    if missing:
        pytest.skip(f"not supported: {', '.join(missing)} for {case.provider}")
    if suite.recording and not scenario.live:
        record_scenario(suite, case, lambda mode: missing_features(suite, case, mode))

    played = play(suite, case, case.mode, live_endpoints)
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
    lost = model_for(case.provider, LOST)
    strays = sorted({m for m in played.models if m != model_for(case.provider, SCENARIO)})
    if strays:
        note = " (the process default's: the caller's context was lost)" if lost in strays else ""
        fail_with(
            request,
            case,
            f"the client asked {played.where} for another model than the scenario's{note}",
            [("requested model", model_for(case.provider, SCENARIO), ", ".join(strays))],
        )
    expected = expectation(suite, case)
    copies = programs(scenario, case.mode)
    count = results(scenario, case.mode)
    if scenario.kind != "tasks" and len(played.outcomes) != count:
        fail_with(
            request, case, "wrong number of results", [("results", count, len(played.outcomes))]
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
            asked = model_for(case.provider, f"task{index}")
            named = returned_model(case.provider, asked) or asked
            if outcome.response is not None and outcome.response.model != named:
                fail_with(
                    request,
                    case,
                    f"task #{index + 1} reports another model than its answer named",
                    [("response.model", named, outcome.response.model)],
                )
            continue
        if scenario.kind == "settings":
            (name,) = scenario.rejects[index]
            rejected = outcome.rejected
            if not isinstance(rejected, ConfigurationError) or name not in str(rejected):
                instead = rejected or outcome.error or outcome.response
                fail_with(
                    request,
                    case,
                    f"bad setting #{index + 1} was not rejected, naming it, before any request",
                    [(name, f"ConfigurationError naming {name!r}", repr(instead))],
                )
            says = scenario.reject_says[index] if index < len(scenario.reject_says) else ()
            missing = [word for word in says if word not in str(rejected)]
            if missing:
                fail_with(
                    request,
                    case,
                    f"the rejection of bad setting #{index + 1} does not say what {name!r} "
                    "takes or was given",
                    [(f"{name} (words)", ", ".join(missing), str(rejected))],
                )
            continue
        wanted_here = expectation(suite, case, index) if scenario.inputs else expected
        problems = unmet(wanted_here, outcome, played.address)
        if problems:
            fail_with(request, case, f"{label} misses the scenario's expectation", problems)

    if scenario.foreign_exit and case.mode == "sync":
        problems = foreign_exit_problems(scenario.foreign_exit, played.outcomes[0].foreign_exit)
        if problems:
            fail_with(
                request,
                case,
                "a context block exited in a thread where it is not open was not refused "
                "cleanly there",
                problems,
            )

    made = played.requests
    if fails_fast(scenario, case.mode):
        spread = scenario.spread
        threads = spread.num_threads if spread is not None and spread.num_threads else copies
        # with a bound, every program fails: a thread is only freed by a failure, and no
        # program still waiting for one may start after it (with none, every one may start)
        if not 1 <= made <= threads:
            fail_with(
                request,
                case,
                "the first failure did not stop the run: a program waiting for a thread "
                "started after it",
                [("requests", f"1 to {threads} (the programs already running)", made)],
            )
    elif expected.attempts is not None and made != expected.attempts * copies:
        fail_with(
            request,
            case,
            "made a different number of requests than the script has steps",
            [("requests", expected.attempts * copies, made)],
        )
    if played.unplayed:
        fail_with(
            request,
            case,
            f"interactions left unplayed in {played.where}",
            [("unplayed", [], played.unplayed)],
        )
    given = case_target(suite, case)
    # a recording run with real keys sends the user's own; a keyless client has none to send
    if given.api_key is not None and not scenario.keyless:
        problems = credential_problems(case.provider, played.sent, given)
        if problems:
            fail_with(
                request,
                case,
                "a request does not carry the suite's credentials in the provider's own "
                "place (values not shown)",
                problems[:3],
            )
    if scenario.organization is not None:
        problems = organization_problems(played.sent, scenario.organization)
        if problems:
            fail_with(request, case, "a request does not name the client's organization", problems)
    problems = content_type_problems(played.sent)
    if problems:
        fail_with(request, case, "a JSON request body is not labelled as JSON", problems[:3])
    problems = accept_problems(played.sent)
    if problems:
        fail_with(request, case, "a request for a JSON answer does not accept JSON", problems[:3])
    if copies == 1 and expected.waits:
        problems = wait_problems(expected.waits, played.sent)
        if problems:
            fail_with(
                request, case, "retried sooner than Retry-After (or a backoff) allows", problems
            )
    took = played.outcomes[0].seconds if played.outcomes else None
    if expected.within is not None and took is not None and took > expected.within:
        fail_with(
            request,
            case,
            "took longer than the scenario allows: it waited for a late tool",
            [("seconds", f"at most {expected.within}", round(took, 2))],
        )
    if expected.usage_total is not None:
        total = _times(expected.usage_total, copies)
        for outcome in played.outcomes[:1]:
            if outcome.tracked_usage != total:
                fail_with(
                    request,
                    case,
                    f"the usage tracker does not hold the usage of the {copies} call(s)",
                    [("tracked usage", total, outcome.tracked_usage)],
                )

    if case.mode == "parallel" and scenario.spread is not None:
        problems = spread_problems(scenario.spread, played)
        if problems:
            fail_with(request, case, "the parallel run misses its options' expectation", problems)

    if expected.calls_total is not None:
        calls = expected.calls_total * copies
        for outcome in played.outcomes[:1]:
            if outcome.tracked_calls != calls:
                fail_with(
                    request,
                    case,
                    f"the usage tracker does not count the {calls} call(s) it summed",
                    [("tracked calls", calls, outcome.tracked_calls)],
                )

    reference = baseline(suite, case, live_endpoints)
    if reference is None or scenario.kind == "settings":
        return
    family = baseline_of(case.mode)
    for index, outcome in enumerate(played.outcomes):
        problems = differences(
            reference[index if scenario.kind == "tasks" or scenario.inputs else 0],
            outcome,
            call_ids=case.provider not in PROVIDERS_WITHOUT_CALL_IDS,
        )
        if problems:
            label = f"result #{index + 1}" if len(played.outcomes) > 1 else "result"
            fail_with(request, case, f"{label} differs from the {family} baseline", problems)
