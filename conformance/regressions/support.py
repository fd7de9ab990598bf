"""What every regression spec shares: cases, clients, cassettes, checks and failure messages.

A spec gets a ``Bench`` (fixture ``bench``, see ``conftest.py``): the adapter under test,
clients named by *role* (``bench.client("first")`` is the model ``<provider model>-first``,
whose recorded answer is ``"I am first."``), the cassette of its regression, and
``expect``/``verdict`` to report every problem at once, naming regression, provider, mode
and the upstream citation.

Specs that scope a client with ``context`` first ``configure(bench.lost())``: the process
default then names the model ``context-lost``, which no cassette holds, so a call that lost
the caller's context sends a request the replay cannot answer, and the failure says so.
Specs about what the process default itself reaches configure a recorded ``default`` role.
Specs whose mechanism is not the context take their client from ``bench.using(role)``: the
context-selected client when the adapter has the ``context`` feature, else the connected one.

One row, one mechanism: a step that only sets the scene for a spec's mechanism (reading
the settings in a user thread, running a primitive at all) goes through
``bench.requires(..., owner=<entry>)``; when it raises, the case is "blocked by <entry>"
(a skip with that reason) rather than failed, and that entry's own spec reports the bug.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeVar

import pytest

from conformance import loops
from conformance.models import LOST, MODELS, model_for
from conformance.regressions.catalogue import Regression
from conformance.runs import Emulation, RecordingFailed, emulated, target
from harness.adapters.base import ChainOutcome, ClientAdapter, StreamResult, Target
from harness.cassettes.record import IndexedCassette, recording_transaction, use_cassette
from harness.emulator import Emulator, EmulatorTransport, Fault, Reply, Step, serve
from harness.pytest_plugin import Suite
from harness.types import LLMError, Message, Response, Usage

T = TypeVar("T")

QUESTION: tuple[Message, ...] = (Message.user("Which model are you?"),)
LOST_MODELS = frozenset(names[1] for names in MODELS.values())
"""The process default's model on each provider (role ``LOST``): no answer a context spec
replays is recorded for it."""
THREAD_TIMEOUT = 30.0


def answer_text(role: str) -> str:
    """What the model of ``role`` answers to ``QUESTION``."""
    return f"I am {role}."


def reply(role: str) -> Reply:
    return Reply(text=answer_text(role), usage=Usage(11, 5))


@dataclass(frozen=True)
class Case:
    """One parity row: a regression, in one mode, for one provider (``-``: no model call)."""

    regression: Regression
    provider: str
    mode: str

    @property
    def id(self) -> str:
        return self.mode if self.provider == "-" else f"{self.provider}-{self.mode}"

    @property
    def features(self) -> tuple[str, ...]:
        return self.regression.modes[self.mode]

    def row(self) -> dict[str, Any]:
        """The parity report's row (the plugin adds outcome and duration)."""
        regression = self.regression
        return {
            "provider": self.provider,
            "scenario": regression.scenario,
            "mode": self.mode,
            "kind": "regression",
            "citation": regression.citation,
            "title": regression.title,
        }


@dataclass(frozen=True)
class Take:
    """One recorded exchange of a cassette: the client of ``role`` is asked ``messages``
    (a call, a stream, or a tool chain offering ``tools``) and the emulator answers with
    ``steps``, in order."""

    role: str
    steps: tuple[Step, ...]
    kind: Literal["call", "stream", "chain", "achain"] = "call"
    tools: tuple[Callable[..., Any], ...] = ()
    messages: tuple[Message, ...] = QUESTION
    error_tools: frozenset[str] = frozenset()
    """Tools whose results are error results: their wording is each client's own, so the
    requests carrying them match whatever the text (``SemanticOptions.opaque_tool_results``)."""


def answers(*roles: str, stream: bool = False) -> list[Take]:
    """One ``QUESTION`` per role, answered ``I am <role>.`` (plus a streamed one if asked)."""
    takes = [Take(role, (reply(role),)) for role in roles]
    if stream:
        takes += [Take(role, (reply(role),), kind="stream") for role in roles]
    return takes


# --- running things the way users do ---------------------------------------------------


def capture(fn: Callable[[], T]) -> T | BaseException:
    """``fn()``, or the exception it raised (``asyncio.CancelledError`` included), for the
    spec to report. ``KeyboardInterrupt``, ``SystemExit`` and ``GeneratorExit`` are never
    caught: Ctrl-C stops the run at once."""
    try:
        return fn()
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # reported by the spec, never swallowed
        return exc


def in_raw_thread(fn: Callable[[], T]) -> T | BaseException:
    """Run ``fn`` in a plain ``threading.Thread`` (what a user creates) and return its
    result, or the exception it raised. The thread is a daemon: one that deadlocks in the
    client is reported as a timeout and cannot keep pytest from exiting."""
    box: list[T | BaseException] = []
    thread = threading.Thread(
        target=lambda: box.append(capture(fn)), name="user-thread", daemon=True
    )
    thread.start()
    thread.join(THREAD_TIMEOUT)
    if not box:
        return TimeoutError(f"the thread did not finish within {THREAD_TIMEOUT:.0f} s")
    return box[0]


def run_async(main: Callable[[], Awaitable[T]]) -> T | BaseException:
    """``asyncio.run(main())`` on the calling thread (``conformance.loops.run``: a
    bounded shutdown); the result or the exception."""

    async def wrapper() -> T:
        return await main()

    return capture(lambda: loops.run(wrapper()))


def thread_inherits_context() -> bool:
    """CPython's ``-X thread_inherit_context`` (default on free-threaded 3.14): new threads
    start in a copy of their creator's context, so a raw thread sees its creator's overrides."""
    import sys

    return bool(getattr(sys.flags, "thread_inherit_context", 0))


def describe(value: Any) -> str:
    """A short, readable account of a result or an error, for failure messages."""
    if isinstance(value, BaseException):
        text = str(value).strip()
        first = text.splitlines()[0] if text else ""
        shown = f"{type(value).__name__}: {first}" if first else type(value).__name__
        # an unmatched replay says how the request differs from the closest recorded one
        shown += "".join(
            f"; {line.strip()}" for line in text.splitlines()[1:] if "differs:" in line
        )
        lost = next((model for model in LOST_MODELS if model in text), None)
        if lost is not None:
            shown += (
                f"  [a request for the process default's model {lost!r}, which no answer "
                "of this spec is recorded for: the caller's context was lost]"
            )
        return shown
    if isinstance(value, Response):
        return f"answer {value.text!r}"
    if isinstance(value, StreamResult):
        return f"stream answering {value.response.text!r} in {len(value.events)} events"
    if isinstance(value, ChainOutcome):
        return f"chain answering {value.response.text!r}"
    return repr(value)


# --- the bench -----------------------------------------------------------------------------


class Bench:
    """One spec run: adapter, clients by role, cassette, checks and the failure message."""

    def __init__(self, suite: Suite, case: Case, request: pytest.FixtureRequest) -> None:
        self.suite = suite
        self.case = case
        self.request = request
        self.adapter: ClientAdapter = suite.adapter
        self.regression = case.regression
        self.mode = case.mode
        self.provider = case.provider if case.provider != "-" else self._connectable_provider()
        self._stack = ExitStack()
        self._clients: dict[str, Any] = {}
        self._roles: dict[int, str] = {}
        self._problems: list[tuple[str, Any, Any]] = []

    def _connectable_provider(self) -> str:
        for provider in self.suite.providers:
            if all(self._supports(f, provider) for f in self.case.features):
                return provider
        return self.suite.providers[0]

    def _supports(self, feature: str, provider: str) -> bool:
        if feature == "base_url":  # in a regression spec: the live emulator, either way
            return any(self.adapter.supports(f, provider) for f in ("base_url", "transport"))
        return self.adapter.supports(feature, provider)

    def missing_features(self) -> list[str]:
        """Features the case needs that the adapter lacks (for provider ``-``: on the selected
        provider that lacks the fewest; the case needs no particular provider)."""
        providers = self.suite.providers if self.case.provider == "-" else (self.case.provider,)
        best: list[str] | None = None
        for provider in providers:
            missing = [f for f in self.case.features if not self._supports(f, provider)]
            if best is None or len(missing) < len(best):
                best = missing
        return best or []

    def start(self) -> None:
        """Start from a known state and check it: ``reset()`` the adapter, then, with a
        context store, ``configure`` the process default and read it back outside any
        block. Anything else read back was left by an earlier spec: reported as leaked
        from it, never as this spec's own failure."""
        previous = self.suite.cache.get("previous spec")
        self.suite.cache["previous spec"] = self.request.node.nodeid
        self.adapter.reset()
        if not self._supports("context", self.provider):
            return
        lost = self.lost()
        self.adapter.configure(lost)
        current = capture(self.adapter.current)
        if current is not lost:
            source = previous or "an earlier test"
            got = describe(current) if isinstance(current, BaseException) else self.role_of(current)
            self.request.node.user_properties.append(("parity_leaked", source))
            pytest.fail(
                f"{self.regression.scenario} / {self.case.provider} / mode {self.mode}: "
                f"state leaked from {source}: right after configure(), current() gives "
                f"{got!r}, not the configured client (the adapter's reset() did not clear it)",
                pytrace=False,
            )

    def close(self) -> None:
        self._stack.close()

    # --- clients ---------------------------------------------------------------------

    def model(self, role: str) -> str:
        return model_for(self.provider, role)

    def target(self, role: str, emulation: Emulation | None = None) -> Target:
        return target(self.suite, self.provider, self.model(role), emulation)

    def connect(self, role: str, emulation: Emulation | None = None) -> Any:
        """A new client for ``role`` (closed when the spec ends)."""
        client = self.adapter.connect(self.target(role, emulation))
        self._stack.callback(self.adapter.close, client)
        self._roles[id(client)] = role
        return client

    def client(self, role: str) -> Any:
        """The client of ``role`` (one per role and spec), replayed from the cassette."""
        if role not in self._clients:
            self._clients[role] = self.connect(role)
        return self._clients[role]

    def clients(self, *roles: str) -> list[Any]:
        return [self.client(role) for role in roles]

    def lost(self) -> Any:
        """The process default's client: configured first by every spec."""
        return self.client(LOST)

    @contextmanager
    def using(self, role: str) -> Iterator[Callable[[], Any]]:
        """For specs whose mechanism is not the context: a function giving the client of
        ``role`` at each use. With the ``context`` feature it is selected the way programs
        do (the process default configured to ``lost()``, ``context(client)`` entered for
        the block, ``current()`` called at each use); without it, the connected client."""
        client = self.client(role)
        adapter = self.adapter
        if not self._supports("context", self.provider):
            yield lambda: client
            return
        adapter.configure(self.lost())
        with adapter.context(client):
            yield adapter.current

    def emulated(self, role: str, steps: Sequence[Step], wrap: Any = None) -> Any:
        """A client answered live by the emulator (for timing and transport faults a
        cassette cannot hold). Modes needing ``transport`` get it in-process, ``wrap``
        wrapping its transport; modes needing only ``base_url`` get it in-process when the
        client has ``transport``, else served on loopback (``harness.emulator.serve``,
        stopped when the spec ends) at ``Target.base_url``."""
        features = self.case.features
        if "transport" not in features and ("base_url" not in features or wrap is not None):
            raise AssertionError(
                f"{self.regression.id} / mode {self.mode} uses the emulator: add 'transport' "
                "(or 'base_url', when it wraps nothing) to its features in "
                "conformance/regressions/catalogue.py"
            )
        emulator = Emulator(steps)
        if "transport" in features or self.adapter.supports("transport", self.provider):
            transport: Any = EmulatorTransport(emulator)
            if wrap is not None:
                transport = wrap(transport)
            return self.connect(role, Emulation(transport=transport))
        base_url = self._stack.enter_context(serve(emulator))
        return self.connect(role, Emulation(base_url=base_url))

    def role_of(self, client: Any) -> str:
        """The role a client was connected for (or its repr)."""
        if client is None:
            return "None"
        return self._roles.get(id(client), repr(client))

    # --- cassettes -------------------------------------------------------------------

    def cassette_path(self) -> Path:
        return self.suite.cassette(self.provider, f"regressions/{self.regression.id}")

    def record_command(self) -> str:
        return (
            f"pytest conformance/regressions --provider {self.provider} "
            f"-k {self.regression.id} --record-mode=rewrite --emulator"
        )

    @contextmanager
    def replay(self, takes: Sequence[Take], *, ordered: bool = False) -> Iterator[IndexedCassette]:
        """Replay the regression's cassette (recording it first when the run records)."""
        path = self.cassette_path()
        if self.suite.recording:
            self._record_once(path, takes)
        with use_cassette(
            path,
            record_mode="none",
            allow_playback_repeats=not ordered,
            record_command=self.record_command(),
            matcher=self.suite.matcher(
                opaque_tool_results=frozenset().union(*(take.error_tools for take in takes))
            ),
        ) as cassette:
            yield cassette

    def _record_once(self, path: Path, takes: Sequence[Take]) -> None:
        """Record the cassette once per session, whatever the modes; a failed recording
        fails every spec of that cassette with its cause."""
        key = ("recorded", path)
        if key not in self.suite.cache:
            try:
                self._record(path, takes)
            except Exception as exc:  # every spec of this cassette fails with the cause
                self.suite.cache[key] = "".join(traceback.format_exception_only(exc)).strip()
            else:
                self.suite.cache[key] = None
        failure = self.suite.cache[key]
        if failure is not None:
            pytest.fail(
                f"recording {path} failed; the cassette was left unchanged.\n  {failure}",
                pytrace=False,
            )

    def _record(self, path: Path, takes: Sequence[Take]) -> None:
        """Record every take into the cassette, as a transaction (see
        ``harness.cassettes.record.recording_transaction``); a take that fails for any
        other reason than the scripted fault it ends on fails the recording."""
        mode = self.suite.record_mode
        if mode == "once" and path.exists():
            return
        adapter, origins = self.adapter, dict[str, str]()
        with recording_transaction(path, keep=mode != "rewrite") as temporary:
            with use_cassette(
                temporary,
                record_mode="all" if mode == "rewrite" else mode,
                record_command=self.record_command(),
                origins=origins,
            ):
                for take in takes:
                    with emulated(self.suite, self.provider, take.steps, origins) as emulation:
                        client = adapter.connect(self.target(take.role, emulation))
                        try:
                            self._record_take(client, take)
                        finally:
                            adapter.close(client)
            if not temporary.exists():
                raise RecordingFailed("no request reached the recorder")

    def _record_take(self, client: Any, take: Take) -> None:
        adapter = self.adapter
        try:
            if take.kind == "call":
                adapter.call(client, take.messages, {})
            elif take.kind == "stream":
                adapter.stream(client, take.messages, {})
            elif take.kind == "chain":
                adapter.chain(client, take.messages, take.tools, {})
            else:
                loops.run(_achain(adapter, client, take))
        except LLMError as error:
            if not isinstance(take.steps[-1], Fault):
                raise RecordingFailed(
                    f"take {take.role!r} ({take.kind}): {type(error).__name__}: {error}"
                ) from error

    # --- checks and failures ---------------------------------------------------------

    def expect(self, what: str, expected: Any, got: Any) -> bool:
        """Note a problem unless ``got == expected`` (an exception never equals)."""
        if isinstance(got, BaseException) or got != expected:
            self._problems.append((what, expected, got))
            return False
        return True

    def expect_answer(self, what: str, got: Any, role: str) -> bool:
        """``got`` must be a response (or stream/chain result) answering as ``role``."""
        text = _text_of(got)
        if text == answer_text(role):
            return True
        self._problems.append((what, f"answer {answer_text(role)!r}", got))
        return False

    def expect_client(self, what: str, got: Any, expected: Any) -> bool:
        """``got`` must be the very client ``expected`` (compared by identity)."""
        if not isinstance(got, BaseException) and got is expected:
            return True
        shown = got if isinstance(got, BaseException) else _Role(self.role_of(got))
        self._problems.append((what, _Role(self.role_of(expected)), shown))
        return False

    def problem(self, what: str, expected: Any, got: Any) -> None:
        self._problems.append((what, expected, got))

    def requires(self, what: str, got: T | BaseException, *, owner: str) -> T:
        """A precondition of the spec, which catalogue entry ``owner`` holds the client to:
        ``got`` (a result, or the exception that step raised) is returned, or, when the
        step raised, the case is reported "blocked by <owner>" (skipped with that reason)
        and not judged: its mechanism cannot be reached on this client. ``owner``'s own
        spec fails there, so no bug goes unreported and no row mixes two bugs."""
        if isinstance(got, BaseException):
            pytest.skip(f"blocked by {owner}: {what} raised {describe(got)}")
        return got

    def verdict(self, summary: str) -> None:
        """Fail with every problem noted so far, if any."""
        if self._problems:
            problems, self._problems = self._problems, []
            self.fail(summary, problems)

    def fail(self, summary: str, problems: Sequence[tuple[str, Any, Any]] = ()) -> NoReturn:
        regression, case = self.regression, self.case
        self.request.node.user_properties.append(
            (
                "parity_diff",
                [{"field": f, "expected": _shown(a), "got": _shown(b)} for f, a, b in problems],
            )
        )
        lines = [f"{regression.scenario} / {case.provider} / mode {case.mode}: {summary}"]
        lines += [
            f"  {field}:\n    expected {_shown(a)}\n    got      {_shown(b)}"
            for field, a, b in problems
        ]
        lines.append(f"  upstream: {regression.citation}")
        lines.append(f"  mechanism: {regression.mechanism}")
        pytest.fail("\n".join(lines), pytrace=False)


@dataclass(frozen=True)
class _Role:
    role: str

    def __repr__(self) -> str:
        return f"the client of {self.role!r}"


def _text_of(value: Any) -> str | None:
    if isinstance(value, Response):
        return value.text
    if isinstance(value, (StreamResult, ChainOutcome)):
        return value.response.text
    return None


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value
    return describe(value)


async def _achain(adapter: ClientAdapter, client: Any, take: Take) -> ChainOutcome:
    return await adapter.achain(client, take.messages, take.tools, {})
