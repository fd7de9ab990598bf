"""Running a scenario case against its cassette: connect the clients, replay, record.

``replay`` runs one mode inside ``use_cassette`` and returns what it played. Every mode
runs inside ``configure(default client)`` + ``context(scenario client)`` where the adapter
has a context store, and the default names another model: a mode that loses the caller's
context sends a request no recording answers.

``record_scenario`` records a cassette once per session, as a transaction: the recording
runs write a temporary file beside the cassette, which replaces it only when every run
succeeded (and, against the emulator, met the scenario's expectation). A refused,
failed or interrupted recording leaves the committed cassette byte-identical.
"""

from __future__ import annotations

import json
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance.models import LOST, SCENARIO, model_for
from conformance.modes import Case, Outcome, Runner, unmet
from conformance.scenarios import Scenario
from harness.adapters.base import ClientAdapter, Target
from harness.cassettes.errors import UnmatchedRequestError
from harness.cassettes.record import RequestMatcher, recording_transaction, use_cassette
from harness.emulator import Emulator, EmulatorTransport, Step, public_origin, serve
from harness.pytest_plugin import Suite
from harness.types import APIConnectionError, RequestTimeoutError

FAMILY_MODES = {
    "sync": ("sync", "async", "thread_pool", "asyncify"),
    "stream": ("stream", "astream"),
}
"""The modes that can record each family's interactions, in order of preference."""


@dataclass(frozen=True)
class Emulation:
    """How recording clients reach the emulator: in-process, or over loopback."""

    transport: Any = None
    base_url: str | None = None


def fake_aws_credentials() -> Any:
    from botocore.credentials import Credentials

    return Credentials("AKIDEXAMPLE", "fake-secret-for-replay")


def target(suite: Suite, provider: str, model: str, emulation: Emulation | None) -> Target:
    """The ``Target`` of one client: replayed (fake keys), live, or emulated."""
    live = suite.recording and not suite.emulator
    return Target(
        provider=provider,
        model=model,
        api_key=None if live else "test-key",
        region="us-east-1",
        aws_credentials=None if live else fake_aws_credentials(),
        transport=emulation.transport if emulation else None,
        base_url=emulation.base_url if emulation else None,
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


def roles(scenario: Scenario) -> list[str]:
    """The scenario's client, the process default, and one client per concurrent task."""
    names = [SCENARIO, LOST]
    if scenario.kind == "tasks":
        names += [f"task{i}" for i in range(len(scenario.replies))]
    return names


def run(suite: Suite, case: Case, mode: str, emulation: Emulation | None = None) -> list[Outcome]:
    """Run ``case.scenario`` in ``mode``. With a context store, every call runs inside
    ``configure(default)`` + ``context(scenario client)`` and picks its client from the
    caller's context, so a mode that loses the context sends the default's model."""
    adapter = suite.adapter
    targets = [
        target(suite, case.provider, model_for(case.provider, role), emulation)
        for role in roles(case.scenario)
    ]
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


# --- replay ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Played:
    """What one replayed run did: its outcomes, the requests it made, and the requests
    no recording matched (even those the client caught or wrapped)."""

    path: Path
    outcomes: list[Outcome]
    requests: int
    play_counts: Counter[int]
    recorded: Sequence[tuple[Any, Any]]
    unmatched: list[UnmatchedRequestError]


def matcher(suite: Suite, scenario: Scenario) -> RequestMatcher:
    """The run's request matcher, told what the scenario sets."""
    return suite.matcher(
        params=scenario.sampling_params,
        opaque_tool_results=scenario.error_tools,
        opaque_system=scenario.kind == "program",  # the framework's own prompt
    )


def record_command(suite: Suite, case: Case) -> str:
    """The exact command that re-records this case's cassette against the emulator."""
    where = "" if suite.packaged_cassettes else f" --cassette-dir {suite.cassette_dir}"
    return (
        f"pytest --pyargs conformance --provider {case.provider} -k '{case.scenario.name}'"
        f"{where} --record-mode=rewrite --emulator   (or --record-mode=once with real keys)"
    )


def replay(suite: Suite, case: Case, mode: str) -> Played:
    """Run ``mode`` against the case's cassette, replaying only."""
    path = suite.cassette(case.provider, case.scenario.name)
    with use_cassette(
        path,
        record_mode="none",
        allow_playback_repeats=not case.scenario.ordered,
        record_command=record_command(suite, case),
        matcher=matcher(suite, case.scenario),
    ) as cassette:
        try:
            outcomes = run(suite, case, mode)
        except UnmatchedRequestError:
            if not cassette.unmatched:
                raise
            outcomes = []
        return Played(
            path,
            outcomes,
            sum(cassette.play_counts.values()),
            cassette.play_counts,
            cassette.data,
            list(cassette.unmatched),
        )


def streamed_indices(recorded: Sequence[tuple[Any, Any]], *, stream: bool) -> set[int]:
    """Indices of the streamed (``stream=True``) or non-streamed interactions."""
    indices = set()
    for index, (request, _) in enumerate(recorded):
        try:
            flagged = json.loads(request.body or b"{}").get("stream") is True
        except (ValueError, AttributeError):
            flagged = False
        if (flagged or "stream" in request.path.lower()) == stream:
            indices.add(index)
    return indices


# --- recording -------------------------------------------------------------------------


class RecordingFailed(Exception):
    """A recording run failed; the committed cassette was left as it was."""


def record_scenario(suite: Suite, case: Case, missing: Callable[[str], list[str]]) -> None:
    """Record the case's cassette once per session (see the module docstring); a failure
    fails every case of that cassette with the real cause."""
    path = suite.cassette(case.provider, case.scenario.name)
    key = ("recorded", path)
    if key not in suite.cache:
        try:
            _record(suite, case, path, missing)
        except Exception as exc:  # every case of this cassette fails with the cause
            suite.cache[key] = "".join(traceback.format_exception_only(exc)).strip()
        else:
            suite.cache[key] = None
    failure = suite.cache[key]
    if failure is not None:
        pytest.fail(
            f"recording {path} failed; the cassette was left unchanged.\n  {failure}",
            pytrace=False,
        )


def _record(suite: Suite, case: Case, path: Path, missing: Callable[[str], list[str]]) -> None:
    mode = suite.record_mode
    if mode == "once" and path.exists():
        return
    plan = [
        next((m for m in modes if not missing(m)), None)
        for family, modes in FAMILY_MODES.items()
        if family == "sync" or (case.scenario.streams and case.scenario.kind == "call")
    ]
    if case.scenario.kind == "tasks":
        plan = ["sync"] if not missing("sync") else [None]
    runs = [m for m in plan if m is not None]
    if not runs:
        raise RecordingFailed("the client supports no mode that can record this scenario")
    origins: dict[str, str] = {}
    with recording_transaction(path, keep=mode != "rewrite") as temporary:
        with use_cassette(
            temporary,
            record_mode="all" if mode == "rewrite" else mode,
            record_command=record_command(suite, case),
            matcher=matcher(suite, case.scenario),
            origins=origins,
        ):
            for run_mode in runs:
                with emulated(suite, case.provider, case.scenario.replies, origins) as emulation:
                    outcomes = run(suite, case, run_mode, emulation)
                _check_recording(suite, case, run_mode, outcomes)
        if not temporary.exists():
            raise RecordingFailed("no request reached the recorder")


def _check_recording(suite: Suite, case: Case, mode: str, outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        if isinstance(outcome.error, (APIConnectionError, RequestTimeoutError)):
            raise RecordingFailed(f"mode {mode}: {type(outcome.error).__name__}: {outcome.error}")
        if suite.emulator and case.scenario.kind != "tasks":
            problems = unmet(case.scenario.expected(case.provider), outcome)
            if problems:
                shown = "; ".join(f"{f}: expected {a!r}, got {b!r}" for f, a, b in problems)
                raise RecordingFailed(
                    f"mode {mode}: the client's result against the emulator misses the "
                    f"scenario's expectation ({shown})"
                )


@contextmanager
def emulated(
    suite: Suite, provider: str, steps: Sequence[Step], origins: dict[str, str]
) -> Iterator[Emulation | None]:
    """One recording run's way to a fresh emulator serving ``steps`` (None: live). An
    adapter with the ``transport`` feature gets it in-process; one with ``base_url`` a
    loopback server, whose origin the recording rewrites (``origins``) to the provider's
    public one."""
    if not suite.emulator:
        yield None
        return
    emulator = Emulator(steps)
    if suite.adapter.supports("transport", provider):
        yield Emulation(transport=EmulatorTransport(emulator))
        return
    if not suite.adapter.supports("base_url", provider):
        raise RecordingFailed(
            "--emulator needs an adapter with the 'transport' or 'base_url' feature"
        )
    with serve(emulator) as base_url:
        origins[base_url] = public_origin(provider, "us-east-1")
        yield Emulation(base_url=base_url)
