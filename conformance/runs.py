"""Running a scenario case against its cassette: connect the clients, replay, record.

``replay`` runs one mode inside ``use_cassette`` and returns what it played. Every mode
runs inside ``configure(default client)`` + ``context(scenario client)`` where the adapter
has a context store, and the default names another model: a mode that loses the caller's
context sends a request no recording answers.

``play_live`` runs one mode of a live scenario (``Scenario.source``) against the emulator
on a loopback server (or a port nothing listens on): no cassette; the emulator counts the
requests and keeps them.

``record_scenario`` records a cassette once per session, as a transaction: the recording
runs write a temporary file beside the cassette, which replaces it only when every run
succeeded (and, against the emulator, met the scenario's expectation). A refused,
failed or interrupted recording leaves the committed cassette byte-identical.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import struct
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from unittest.mock import patch
from urllib.parse import urlsplit

import pytest

from conformance.models import LOST, SCENARIO, model_for
from conformance.modes import Case, Outcome, Runner, programs, unmet
from conformance.scenarios import DEFAULT_PORTS, UNRESOLVABLE_HOST, Expected, Scenario, Source
from conformance.sent import SentRequest, from_emulated, observing
from harness.adapters.base import ClientAdapter, Target
from harness.cassettes import load_cassette
from harness.cassettes.errors import UnmatchedRequestError
from harness.cassettes.load import RecordedRequest
from harness.cassettes.match import RequestMatcher
from harness.cassettes.record import recording_transaction, use_cassette
from harness.emulator import (
    Emulator,
    EmulatorTransport,
    LoopbackServer,
    Step,
    public_origin,
    serve,
)
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
    real: bool = True
    """False for the emulator of a live scenario: its clients get the fake keys even in
    a recording run."""
    connections: Callable[[], frozenset[Any]] | None = None
    """The client connections the loopback server holds open now (live scenarios)."""


def fake_aws_credentials() -> Any:
    from botocore.credentials import Credentials

    return Credentials("AKIDEXAMPLE", "fake-secret-for-replay")


FAKE_API_KEY = "test-key"
"""The key every replayed or emulated client gets (checked at replay, never recorded)."""


def target(
    suite: Suite,
    provider: str,
    model: str,
    emulation: Emulation | None,
    *,
    fast_retries: bool = True,
    max_retries: int = 2,
    timeout: float | None = None,
) -> Target:
    """The ``Target`` of one client: replayed (fake keys), live, or emulated."""
    live = suite.recording and not suite.emulator and (emulation is None or emulation.real)
    return Target(
        provider=provider,
        model=model,
        api_key=None if live else FAKE_API_KEY,
        region="us-east-1",
        aws_credentials=None if live else fake_aws_credentials(),
        max_retries=max_retries,
        timeout=timeout,
        fast_retries=fast_retries,
        transport=emulation.transport if emulation else None,
        base_url=emulation.base_url if emulation else None,
    )


def case_target(suite: Suite, case: Case, emulation: Emulation | None = None) -> Target:
    """The ``Target`` of the case's own client (what its credentials are checked against)."""
    return target(
        suite,
        case.provider,
        model_for(case.provider, SCENARIO),
        emulation,
        **client_settings(case.scenario),
    )


def client_settings(scenario: Scenario) -> dict[str, Any]:
    """The ``Target`` settings a scenario sets: real backoff, retries, timeout."""
    return {
        "fast_retries": not scenario.honours_retry_after,
        "max_retries": scenario.max_retries,
        "timeout": scenario.timeout,
    }


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
    caller's context, so a mode that loses the context sends the default's model.

    Every outcome carries the requests the run sent (seen at replay before scrubbing;
    ``Outcome.sent``) and, for a scenario that tracks usage, what the client's usage
    tracker summed over the whole run (``Outcome.tracked_usage``), and how long the whole
    run took (``Outcome.seconds``: clients connected, the mode run, clients closed)."""
    started = time.perf_counter()
    with observing() as sent:
        outcomes, tracked = _run(suite, case, mode, emulation)
    seconds = time.perf_counter() - started
    usage, calls = tracked if isinstance(tracked, tuple) else (tracked, None)
    return [
        replace(o, sent=tuple(sent), tracked_usage=usage, tracked_calls=calls, seconds=seconds)
        for o in outcomes
    ]


def _run(
    suite: Suite, case: Case, mode: str, emulation: Emulation | None
) -> tuple[list[Outcome], Any]:
    adapter, scenario = suite.adapter, case.scenario
    settings = client_settings(scenario)
    targets = [
        target(suite, case.provider, model_for(case.provider, role), emulation, **settings)
        for role in roles(scenario)
    ]
    if scenario.organization is not None:
        targets = [replace(one, organization=scenario.organization) for one in targets]
    with ExitStack() as stack:
        if scenario.key_from_env and targets[0].api_key is not None:
            key = {KEY_VARIABLES[case.provider]: targets[0].api_key}
            stack.enter_context(patch.dict(os.environ, key))  # restored after the run
            targets = [replace(one, api_key=None) for one in targets]
        if scenario.keyless:
            stack.enter_context(patch.dict(os.environ))  # restored after the run
            os.environ.pop(KEY_VARIABLES[case.provider], None)
            targets = [replace(one, api_key=None) for one in targets]
        connections = emulation.connections if emulation else None
        return _run_on(adapter, case, mode, targets, connections)


KEY_VARIABLES = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
"""The environment variable each provider's clients read their key from."""


def _run_on(
    adapter: ClientAdapter,
    case: Case,
    mode: str,
    targets: list[Target],
    connections: Callable[[], frozenset[Any]] | None,
) -> tuple[list[Outcome], Any]:
    scenario = case.scenario
    if not adapter.supports("aclose", case.provider):
        connections = None  # nothing to check them against
    with connected(adapter, targets) as (client, default, *task_clients):
        if scenario.kind == "tasks":
            adapter.configure(default)
            return Runner(adapter, scenario, adapter.current).run_tasks(
                task_clients, concurrently=mode == "tasks"
            ), None
        if not adapter.supports("context", case.provider):
            return _tracked(
                adapter,
                case,
                lambda: Runner(adapter, scenario, lambda: client, connections).run(mode),
            )
        adapter.configure(default)
        with adapter.context(client):
            runner = Runner(adapter, scenario, adapter.current, connections, other=default)
            return _tracked(adapter, case, lambda: runner.run(mode))


def _tracked(
    adapter: ClientAdapter, case: Case, go: Callable[[], list[Outcome]]
) -> tuple[list[Outcome], Any]:
    """``go()``, inside the adapter's usage tracker when the scenario tracks usage (one
    that counts calls too, with the feature ``usage_calls``: then a (usage, calls) pair)."""
    if not case.scenario.tracks_usage:
        return go(), None
    if adapter.supports("usage_calls", case.provider):
        with adapter.track_usage_calls() as counted:
            outcomes = go()
        return outcomes, counted()
    with adapter.track_usage() as total:
        outcomes = go()
    return outcomes, total()


def expectation(suite: Suite, case: Case, index: int | None = None) -> Expected:
    """The scenario's whole expectation (a ``batch`` scenario's: for input ``index``), less
    the fields the client does not report (a finish reason, without the ``finish_reason``
    feature; reasoning, without ``reasoning``; a chain's usage, without ``chain_usage``;
    an error's body, without ``error_body``; what a failure the client words itself says,
    without ``describes_failures``)."""
    expected = case.scenario.expected(case.provider, index)
    if not suite.adapter.supports("finish_reason", case.provider):
        expected = replace(expected, finish_reason=None)
    if not suite.adapter.supports("reasoning", case.provider):
        expected = replace(expected, reasoning=None)
    if not suite.adapter.supports("chain_usage", case.provider):
        expected = replace(expected, chain_usage=None)
    if not suite.adapter.supports("error_body", case.provider):
        expected = replace(expected, error_body=None)
    if not suite.adapter.supports("describes_failures", case.provider):
        expected = replace(expected, says=())
    if not suite.adapter.supports("usage_calls", case.provider):
        expected = replace(expected, calls_total=None)
    return expected


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
        json_tool_results=scenario.json_tools,
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


# --- live scenarios -----------------------------------------------------------------------


@dataclass(frozen=True)
class Lived:
    """What one live run did: its outcomes, and every request the emulator received."""

    where: str
    outcomes: list[Outcome]
    sent: list[SentRequest]
    models: list[str]
    """The model each recognized request named."""
    unmatched: list[UnmatchedRequestError]
    """The requests that match none recorded for the same conversation."""
    most_waiting: int = 0
    """The most requests the emulator had waiting for their answer at once."""
    address: str = ""
    """The ``host:port`` the requests were sent to (the port the scheme implies where
    the URL gives none)."""


class NotTLSServer:
    """A loopback port that answers whatever arrives, a TLS handshake included, with a
    plain-HTTP 400, then waits for the client to close: an ``https://`` URL to it fails
    the TLS handshake the same way every time (the answer is read whole, never cut by a
    reset)."""

    ANSWER = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"

    def __init__(self) -> None:
        self._listening = socket.create_server(("127.0.0.1", 0))
        self._listening.settimeout(0.05)
        self._stop = threading.Event()
        self.url = f"https://127.0.0.1:{self._listening.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, name="not-tls", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listening.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection, suppress(OSError):
            connection.settimeout(5.0)
            connection.recv(65536)
            connection.sendall(self.ANSWER)
            connection.shutdown(socket.SHUT_WR)
            while connection.recv(65536):  # until the client, its handshake failed, closes
                pass

    def close(self) -> None:
        """Stop accepting (connections being answered end with their client)."""
        self._stop.set()
        self._thread.join()
        self._listening.close()


class ResettingServer(NotTLSServer):
    """A loopback port that reads what arrives (a TLS ClientHello) and resets the
    connection: an ``https://`` URL to it fails in the middle of the TLS handshake."""

    def _answer(self, connection: socket.socket) -> None:
        with connection, suppress(OSError):
            connection.settimeout(5.0)
            connection.recv(65536)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class UntrustedTLSServer(NotTLSServer):
    """A loopback TLS server whose certificate (``conformance/self_signed.pem``, for
    127.0.0.1) is self-signed: an ``https://`` URL to it fails the certificate check of
    any client that trusts only the public CAs."""

    CERTIFICATE = Path(__file__).with_name("self_signed.pem")

    def __init__(self) -> None:
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.load_cert_chain(self.CERTIFICATE)
        super().__init__()

    def _answer(self, connection: socket.socket) -> None:
        with connection, suppress(OSError):  # the client's alert ends the handshake
            connection.settimeout(5.0)
            with self._tls.wrap_socket(connection, server_side=True) as tls:
                tls.recv(65536)


SCHEME_PORTS = {scheme: port for scheme, port, _ in DEFAULT_PORTS}
"""The port each scheme implies (RFC 9110)."""


DEFAULT_PORT_URLS: dict[str, str] = {
    source: f"{scheme}://127.0.0.1" for scheme, _, source in DEFAULT_PORTS
}
"""The URLs without a port of the ``default_*_port`` sources: nothing must listen on the
port their scheme implies (80, 443)."""


def default_port_url(source: str) -> str:
    """The URL of a ``default_*_port`` source; skips the test where something listens on
    that port on this machine (the scenario needs it refused)."""
    url = DEFAULT_PORT_URLS[source]
    port = SCHEME_PORTS[urlsplit(url).scheme]
    with socket.socket() as probe:
        probe.settimeout(1.0)
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            pytest.skip(f"127.0.0.1:{port} accepts connections here: {source} needs it closed")
    return url


class LiveEndpoints:
    """Where live scenarios send their requests, for a whole session: one loopback server
    (whose emulator each run replaces, so the address, and every message naming it, stays
    the same), one port that refuses connections (bound, never listening, held until
    ``close()`` so nothing else can take it), and one that is no TLS server
    (``NotTLSServer``)."""

    def __init__(self) -> None:
        self._server: LoopbackServer | None = None
        self._closed: socket.socket | None = None
        self._not_tls: NotTLSServer | None = None
        self._resetting: ResettingServer | None = None
        self._untrusted: UntrustedTLSServer | None = None

    def server(self, emulator: Emulator) -> str:
        if self._server is None:
            self._server = LoopbackServer(emulator)
        self._server.emulator = emulator
        return self._server.url

    def connections(self) -> frozenset[Any]:
        """The client connections the loopback server holds open now."""
        return self._server.connections() if self._server is not None else frozenset()

    def closed_port(self) -> str:
        if self._closed is None:
            self._closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._closed.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{self._closed.getsockname()[1]}"

    def not_tls(self) -> str:
        if self._not_tls is None:
            self._not_tls = NotTLSServer()
        return self._not_tls.url

    def resetting(self) -> str:
        if self._resetting is None:
            self._resetting = ResettingServer()
        return self._resetting.url

    def untrusted(self) -> str:
        if self._untrusted is None:
            self._untrusted = UntrustedTLSServer()
        return self._untrusted.url

    def base_url(self, source: Source, emulator: Emulator) -> str:
        """Where a live scenario of ``source`` sends its requests (``emulator`` serves
        them where it is ``loopback``)."""
        if source == "closed_port":
            return self.closed_port()
        if source == "tls_mismatch":
            return self.not_tls()
        if source == "tls_reset":
            return self.resetting()
        if source == "tls_untrusted":
            return self.untrusted()
        if source == "unresolvable":
            return f"http://{UNRESOLVABLE_HOST}"
        if source in DEFAULT_PORT_URLS:
            return default_port_url(source)
        return self.server(emulator)

    def close(self) -> None:
        if self._untrusted is not None:
            self._untrusted.close()
            self._untrusted = None
        if self._not_tls is not None:
            self._not_tls.close()
            self._not_tls = None
        if self._resetting is not None:
            self._resetting.close()
            self._resetting = None
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._closed is not None:
            self._closed.close()
            self._closed = None


def play_live(suite: Suite, case: Case, mode: str, endpoints: LiveEndpoints) -> Lived:
    """Run ``mode`` of a live scenario against a fresh emulator serving its steps (once
    per parallel copy) on the session's loopback server, or against the refusing port."""
    scenario = case.scenario
    steps = tuple(scenario.replies) * (1 if scenario.inputs else programs(scenario, mode))
    if mode == "parallel" and scenario.spread is not None and scenario.spread.steps:
        steps = scenario.spread.steps
    emulator = Emulator(steps)
    base_url = endpoints.base_url(scenario.source, emulator)
    connections = endpoints.connections if scenario.source == "loopback" else None
    emulation = Emulation(base_url=base_url, real=False, connections=connections)
    outcomes = run(suite, case, mode, emulation)
    sent = [from_emulated(request) for request in emulator.requests]
    return Lived(
        f"the emulator at {base_url}",
        outcomes,
        sent,
        [call.model for call in emulator.calls],
        unmatched_live(suite, case, sent, base_url),
        emulator.most_waiting,
        address_of(base_url),
    )


def address_of(url: str) -> str:
    """``host:port`` of ``url``, with the scheme's default port (RFC 9110) where it has none."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or SCHEME_PORTS[parts.scheme]}"


def unmatched_live(
    suite: Suite, case: Case, sent: Sequence[SentRequest], base_url: str
) -> list[UnmatchedRequestError]:
    """The live requests that match no request recorded in the cassette of the scenario
    sending the same conversation (``Scenario.requests_like``), under the run's matcher,
    once moved from ``base_url`` to the provider's public origin."""
    like = case.scenario.requests_like
    if like is None or not sent:
        return []
    path = suite.cassette(case.provider, like)
    recorded = [interaction.request for interaction in load_cassette(path)]
    match = matcher(suite, case.scenario)
    keys = [match.key(request) for request in recorded]
    origin = public_origin(case.provider, "us-east-1")
    problems = []
    for request in sent:
        public = RecordedRequest(
            request.method,
            origin + request.url.removeprefix(base_url),
            dict(request.headers),
            request.body,
        )
        key = match.key(public)
        if key in keys:
            continue
        closest = next((i for i, k in enumerate(keys) if k[:-1] == key[:-1]), 0)
        difference = match.describe(key, keys[closest]) if keys else None
        shown = f"{public.method} {public.uri}"
        lines = [
            f"no request recorded for this conversation in {path} matches it",
            f"  request:  {shown}",
            f"  matcher:  {match.name}",
        ]
        if difference is not None:
            lines.append(f"  differs:  {difference[0]} {difference[1]}")
        problems.append(
            UnmatchedRequestError(
                "\n".join(lines),
                cassette_path=str(path),
                request=shown,
                closest=closest,
                field=difference[0] if difference else None,
            )
        )
    return problems


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
    scenario = case.scenario
    plan = [
        next((m for m in modes if not missing(m)), None)
        for family, modes in FAMILY_MODES.items()
        if (family == "sync" and scenario.plain)
        or (family == "stream" and scenario.streams and scenario.kind == "call")
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
            index = outcomes.index(outcome) if case.scenario.inputs else None
            problems = unmet(expectation(suite, case, index), outcome)
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
