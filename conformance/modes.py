"""Modes: the ways of running one scenario through an adapter, and how results compare.

Every mode runs inside ``configure(default client)`` + ``context(scenario client)``,
and the default client names another model. A mode that loses the caller's context
therefore sends a request that the cassette does not hold, and fails on it.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import sys
import threading
import weakref
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, fields, replace
from typing import Any, Final

from conformance import loops
from conformance.scenarios import ERROR, Expected, ExpectedTranscript, JSONText, Scenario
from conformance.sent import SentRequest
from harness.adapters.base import (
    ChainOutcome,
    ChainStop,
    ChainTurn,
    ClientAdapter,
    SettingRefused,
    StreamResult,
    ToolCallFailed,
)
from harness.types import (
    ConfigurationError,
    LLMError,
    Message,
    Response,
    StreamEvent,
    ToolCall,
    ToolCallDelta,
    Usage,
)

CALL_MODES = ("sync", "async", "stream", "astream", "thread_pool", "asyncify", "parallel")
MODES = (*CALL_MODES, "thread", "tasks", "two_loops")
OPT_IN_MODES = frozenset({"thread", "two_loops"})
"""Modes a scenario runs in only when its ``modes`` name them."""
STREAM_MODES = frozenset({"stream", "astream"})
FEATURE = {
    "sync": "call",
    "async": "acall",
    "stream": "stream",
    "astream": "astream",
    "thread_pool": "thread_pool",
    "asyncify": "asyncify",
    "parallel": "parallel",
    "thread": "thread",
    "tasks": "context",
    "two_loops": "acall",
}
PARALLEL_COPIES = 3
LOOP_COPIES = 2
"""``two_loops``: the same client makes the call in this many event loops, one after the
other (each ``asyncio.run``-like, closed before the next starts)."""


PROGRAM_MODES = ("sync", "async", "thread_pool", "asyncify", "parallel")
"""The modes a ``program`` scenario runs in (a framework's program has no stream form here)."""


def applies(scenario: Scenario, mode: str) -> bool:
    """Whether ``mode`` makes sense for ``scenario``."""
    if scenario.kind == "program":
        return mode in PROGRAM_MODES
    if scenario.modes is not None and mode not in scenario.modes:
        return False
    if mode in OPT_IN_MODES and (scenario.modes is None or scenario.kind != "call"):
        return False
    if scenario.kind == "tasks":
        return mode in ("sync", "tasks")
    if mode == "tasks":
        return False
    if mode in STREAM_MODES:
        return scenario.streams and scenario.kind == "call"
    if not scenario.plain:
        return False
    if mode == "parallel":
        return not scenario.ordered
    return True


def programs(scenario: Scenario, mode: str) -> int:
    """How many times one run of ``mode`` runs the scenario's program (a ``batch``
    scenario's: once per input, in every mode)."""
    if scenario.inputs:
        return len(scenario.inputs)
    if scenario.kind == "settings":
        return len(scenario.rejects)
    if mode == "two_loops":
        return LOOP_COPIES
    if mode != "parallel":
        return 1
    return scenario.spread.programs if scenario.spread is not None else PARALLEL_COPIES


def fails_fast(scenario: Scenario, mode: str) -> bool:
    """Whether the run is one ``fail_fast`` parallel run: one outcome, the error it raised."""
    return mode == "parallel" and scenario.spread is not None and scenario.spread.fail_fast


def results(scenario: Scenario, mode: str) -> int:
    """How many outcomes one run of ``mode`` must give."""
    return 1 if fails_fast(scenario, mode) else programs(scenario, mode)


def baseline_of(mode: str) -> str:
    """The mode whose result ``mode`` must equal (its own family's sync form)."""
    return "stream" if mode in STREAM_MODES else "sync"


CONTEXT_MODES = frozenset({"thread_pool", "asyncify", "parallel", "thread", "tasks"})
INPUT_FEATURES = {"parallel": "batch", "thread_pool": "submit_arguments"}
"""The feature through which a mode runs a ``batch`` scenario's program on its inputs."""


def features_needed(scenario: Scenario, mode: str) -> list[str]:
    """Adapter features the run needs. Only the modes that carry a context to other
    threads or tasks (and the concurrent-tasks scenario) need the client's ``context``;
    the others run on a plain client."""
    needed = [FEATURE[mode], *scenario.features]
    if scenario.kind == "program":  # the framework's program in place of a plain call
        needed = {"sync": ["program"], "async": ["aprogram"]}.get(mode, [FEATURE[mode], "program"])
    if scenario.inputs and mode in INPUT_FEATURES:  # how the mode passes the inputs on
        needed.append(INPUT_FEATURES[mode])
    if mode in CONTEXT_MODES or scenario.kind == "tasks" or scenario.unordered_exits:
        needed.append("context")
    if scenario.foreign_exit:
        needed.append("context")
    if mode == "tasks":
        needed.append("acall")
    if scenario.kind == "tool_run":
        needed.append("arun_tools" if mode == "async" else "run_tools")
    if scenario.kind == "chain":
        kinds = {inspect.iscoroutinefunction(tool) for tool in scenario.tools}
        if mode == "async":
            needed += ["achain", *(["achain_sync_tools"] if False in kinds else [])]
        else:
            needed += ["chain", *(["chain_async_tools"] if True in kinds else [])]
    return list(dict.fromkeys(needed))


@dataclass(frozen=True)
class Case:
    """One conformance case: a scenario, in a mode, for a provider."""

    scenario: Scenario
    mode: str
    provider: str

    @property
    def id(self) -> str:
        return f"{self.provider}-{self.scenario.name}-{self.mode}"

    def row(self) -> dict[str, str]:
        """The case's identity in the parity report."""
        return {
            "provider": self.provider,
            "scenario": self.scenario.name,
            "mode": self.mode,
            "title": self.scenario.summary,
        }


@dataclass(frozen=True)
class ForeignExit:
    """A ``context`` block exited in a thread where it is not open (``foreign_exit``)."""

    block: str
    """The name of the block's type."""
    error: Exception | None
    """What that exit raised."""
    kept_there: bool
    """The other thread's own block still selected the client after the exit."""
    kept_here: bool
    """The block still selected the client in its own thread after that exit."""
    crashed: Exception | None = None
    """An error of the other thread's own block, or of the block's own exit."""


@dataclass(frozen=True)
class Outcome:
    """What one run produced, normalized: a response or a provider error."""

    response: Response | None = None
    error: LLMError | None = None
    events: tuple[StreamEvent, ...] | None = None
    tool_results: tuple[Message, ...] | None = None
    tracked_usage: Usage | None = None
    """What the client's usage tracker held after the whole run (every copy), for
    scenarios that track usage."""
    tracked_calls: int | None = None
    """How many calls the client's usage tracker counted (feature ``usage_calls``)."""
    sent: tuple[SentRequest, ...] = ()
    """Every request the whole run sent (every copy), as sent, in order."""
    seconds: float | None = None
    """How long the whole run (every copy) took."""
    chain_usage: Usage | None = None
    """What a chain reported as the usage of all its model calls (``ChainOutcome.usage``)."""
    turns: tuple[ChainTurn, ...] | None = None
    """A chain's turns (``ChainOutcome.turns``)."""
    stopped: ChainStop | None = None
    """How a chain stopped by ``max_turns`` said so (``ChainOutcome.stopped``)."""
    tool_failure: ToolCallFailed | None = None
    """The failing tool call a chain or run ended on (``on_error="raise"``)."""
    refused: SettingRefused | None = None
    """The client refused a chain setting before any model call."""

    task_usage: Usage | None = None
    """A ``parallel_with`` slot: the usage the client reported for that program alone."""
    progress: tuple[tuple[int, int], ...] | None = None
    """A ``parallel_with`` run asked for progress: every (done, total) its display showed."""
    rejected: ConfigurationError | None = None
    """A ``settings`` scenario: the client's rejection of a bad setting."""
    foreign_exit: ForeignExit | None = None
    """A ``foreign_exit`` scenario: what the exit in another thread did."""
    left_running: int | None = None
    """A ``parallel_with`` run of a ``Spread.joins`` scenario: how many of the programs it
    started had not ended when it returned (or raised)."""


def _outcome(value: Any) -> Outcome:
    if isinstance(value, StreamResult):
        return Outcome(value.response, events=value.events)
    if isinstance(value, ChainOutcome):
        return Outcome(
            value.response,
            tool_results=value.tool_results,
            chain_usage=value.usage,
            turns=value.turns,
            stopped=value.stopped,
        )
    return Outcome(value)


def _ended(error: ToolCallFailed | SettingRefused) -> Outcome:
    """A chain (or run) the client ended without an answer, not for a provider error."""
    if isinstance(error, ToolCallFailed):
        return Outcome(tool_failure=error)
    return Outcome(refused=error)


def _call(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


def _parallel_outcome(value: Any) -> Outcome:
    """A ``parallel`` slot: a provider error is an outcome, any other exception a bug."""
    if isinstance(value, LLMError):
        return Outcome(error=value)
    if isinstance(value, (ToolCallFailed, SettingRefused)):
        return _ended(value)
    if isinstance(value, BaseException):
        raise value
    return _outcome(value)


class _Running:
    """Counts the programs that have started and not ended yet."""

    def __init__(self) -> None:
        self._ended = threading.Condition()
        self._count = 0

    @property
    def now(self) -> int:
        with self._ended:
            return self._count

    def counted(self, program: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with self._ended:
                self._count += 1
            try:
                return program()
            finally:
                with self._ended:
                    self._count -= 1
                    self._ended.notify_all()

        return run

    def settle(self, timeout: float = 10.0) -> None:
        """Wait (a while) for the programs a client left running: their requests must not
        reach the next run's emulator."""
        with self._ended:
            self._ended.wait_for(lambda: self._count == 0, timeout)


class Runner:
    """Runs a scenario's calls through an adapter in any mode.

    ``client`` picks the client each call uses: ``adapter.current`` (the caller's
    context decides, so a mode that loses it is caught), or a fixed client for adapters
    without a context store. ``connections``, for a client with ``aclose`` on a live
    scenario: the connections the server holds open now (``two_loops`` checks that
    ``aclose`` closes those the loop opened).
    """

    def __init__(
        self,
        adapter: ClientAdapter,
        scenario: Scenario,
        client: Callable[[], Any],
        connections: Callable[[], frozenset[Any]] | None = None,
        other: Any = None,
    ) -> None:
        self.adapter = adapter
        self.scenario = scenario
        self.client = client
        self.connections = connections
        self.other = other
        """Another client than the scenario's (the process default's)."""

    # the one program every mode runs, on the client the caller's context selects
    def _program(self, mode: str) -> Callable[[], Any]:
        adapter, scenario, client = self.adapter, self.scenario, self.client
        params = dict(scenario.params)
        messages = scenario.messages
        if scenario.kind == "chain":
            return lambda: adapter.chain(client(), messages, scenario.tools, params)
        if scenario.kind == "tool_run":
            return lambda: adapter.run_tools(client(), messages, scenario.tools, params)
        if scenario.kind == "program":
            return lambda: adapter.program(client(), messages, params)
        if mode == "stream":
            return lambda: adapter.stream(client(), messages, params)
        return lambda: adapter.call(client(), messages, params)

    async def _aprogram(self, mode: str) -> Any:
        adapter, scenario = self.adapter, self.scenario
        params = dict(scenario.params)
        if scenario.kind == "chain":
            return await adapter.achain(self.client(), scenario.messages, scenario.tools, params)
        if scenario.kind == "tool_run":
            return await adapter.arun_tools(
                self.client(), scenario.messages, scenario.tools, params
            )
        if scenario.kind == "program":
            return await adapter.aprogram(self.client(), scenario.messages, params)
        if mode == "astream":
            return await adapter.astream(self.client(), scenario.messages, params)
        return await adapter.acall(self.client(), scenario.messages, params)

    def _asker(self) -> Callable[..., Response]:
        """A ``batch`` scenario's program: its question, from the inputs, asked on the
        client the caller's context selects."""
        adapter, scenario, client = self.adapter, self.scenario, self.client
        question = scenario.question
        assert question is not None

        def ask(*args: Any, **kwargs: Any) -> Response:
            messages = (Message.user(question(*args, **kwargs)),)
            return adapter.call(client(), messages, dict(scenario.params))

        return ask

    def _run_inputs(self, mode: str) -> list[Outcome]:
        ask, inputs = self._asker(), self.scenario.inputs
        if mode == "parallel":
            spread = self.scenario.spread
            run = self.adapter.batch(
                ask,
                inputs,
                num_threads=spread.num_threads if spread else None,
                progress=bool(spread and spread.progress),
                fail_fast=False if spread and spread.errors_in_slots else None,
            )
            return [replace(_parallel_outcome(v), progress=run.progress) for v in run.results]
        submit = self.adapter.submit_with if mode == "thread_pool" else _call
        outcomes = []
        for one in inputs:  # in turn
            try:
                response = submit(ask, **one) if isinstance(one, dict) else submit(ask, *one)
            except LLMError as error:
                outcomes.append(Outcome(error=error))
            else:
                outcomes.append(Outcome(response))
        return outcomes

    def _run_spread(self) -> list[Outcome]:
        spread = self.scenario.spread
        assert spread is not None
        running = _Running()
        copies = [running.counted(self._program("sync"))] * spread.programs
        try:
            run = self.adapter.parallel_with(
                copies,
                num_threads=spread.num_threads,
                fail_fast=spread.fail_fast,
                progress=spread.progress,
            )
        except LLMError as error:
            if not spread.fail_fast:
                raise
            left = running.now
            running.settle()
            return [Outcome(error=error, left_running=left)]
        left = running.now
        running.settle()
        usages: list[Usage | None] = [None] * len(run.results)
        if spread.usages and run.usages is not None:
            usages = list(run.usages)
        return [
            replace(
                _parallel_outcome(value), task_usage=usage, progress=run.progress, left_running=left
            )
            for value, usage in zip(run.results, usages, strict=False)
        ]

    def _run_rejects(self, mode: str) -> list[Outcome]:
        """Each bad setting of a ``settings`` scenario, in its own run."""
        adapter, scenario, client = self.adapter, self.scenario, self.client
        messages, params = scenario.messages, dict(scenario.params)

        def one(bad: Any) -> Any:
            if mode == "parallel" and "input" in bad:
                call = self._program("sync")
                return adapter.batch(lambda *_, **__: call(), [bad["input"]]).results
            if mode == "parallel":
                call = self._program("sync")
                return adapter.parallel_with([call, call], **bad).results
            if mode == "async":

                async def main() -> Response:
                    with adapter.settings_block(bad):
                        return await adapter.acall(client(), messages, params)

                return loops.run(main())
            with adapter.settings_block(bad):
                return adapter.call(client(), messages, params)

        outcomes = []
        for bad in scenario.rejects:
            try:
                value = one(bad)
            except ConfigurationError as rejected:
                outcomes.append(Outcome(rejected=rejected))
            except LLMError as error:
                outcomes.append(Outcome(error=error))
            else:
                outcomes.append(Outcome(value if isinstance(value, Response) else None))
        return outcomes

    def _exit_out_of_order(self) -> None:
        """Two blocks selecting ``other``, exited outer first (an exit may raise)."""
        outer, inner = self.adapter.context(self.other), self.adapter.context(self.other)
        outer.__enter__()
        inner.__enter__()
        for block in (outer, inner):
            with suppress(Exception):  # the client's own way of refusing an exit
                block.__exit__(None, None, None)

    def _exit_elsewhere(self) -> ForeignExit:
        """A block entered here, exited in a plain thread inside a block of its own."""
        adapter, mine = self.adapter, self.client()
        block = adapter.context(mine)
        block.__enter__()
        seen: dict[str, Any] = {}

        def elsewhere() -> None:
            try:
                with adapter.context(mine):
                    try:
                        block.__exit__(None, None, None)
                    except Exception as error:  # the refusal the scenario expects
                        seen["error"] = error
                    seen["kept"] = adapter.current() is mine
            except Exception as error:
                seen["crashed"] = error

        thread = threading.Thread(target=elsewhere, name="foreign-exit")
        thread.start()
        thread.join()
        kept_here = adapter.current() is mine
        try:
            block.__exit__(None, None, None)
        except Exception as error:
            seen.setdefault("crashed", error)
        return ForeignExit(
            type(block).__name__,
            seen.get("error"),
            bool(seen.get("kept")),
            kept_here,
            seen.get("crashed"),
        )

    def run(self, mode: str) -> list[Outcome]:
        """Run in ``mode``; one outcome (``parallel``: one per copy, each slot its own,
        so ``parallel`` itself raising a provider error is a failure, not an outcome,
        unless it runs ``fail_fast``; a ``batch`` scenario: one per input)."""
        if not self.scenario.no_stderr:
            return self._run_mode(mode)
        stderr = sys.stderr
        sys.stderr = None  # as under pythonw (typeshed: TextIO | Any)
        try:
            return self._run_mode(mode)
        finally:
            sys.stderr = stderr

    def _run_mode(self, mode: str) -> list[Outcome]:
        if self.scenario.inputs:
            return self._run_inputs(mode)
        if self.scenario.kind == "settings":
            return self._run_rejects(mode)
        if mode == "parallel" and self.scenario.spread is not None:
            return self._run_spread()
        if mode == "parallel":
            copies = [self._program("sync")] * PARALLEL_COPIES
            return [_parallel_outcome(value) for value in self.adapter.parallel(copies)]
        if mode == "two_loops":
            return self._in_successive_loops()
        if self.scenario.unordered_exits and mode == "sync":
            self._exit_out_of_order()
        if self.scenario.foreign_exit and mode == "sync":
            exited = self._exit_elsewhere()
            return [replace(outcome, foreign_exit=exited) for outcome in self._run(mode)]
        return self._run(mode)

    def _run(self, mode: str) -> list[Outcome]:
        try:
            if mode in ("sync", "stream"):
                return [_outcome(self._program(mode)())]
            if mode in ("async", "astream"):
                return [_outcome(loops.run(self._aprogram(mode)))]
            if mode == "thread_pool":
                return [_outcome(self.adapter.submit(self._program("sync")))]
            if mode == "thread":
                return [_outcome(self.adapter.in_thread(self._program("sync")))]
            if mode == "asyncify":
                program = self._program("sync")

                async def main() -> Any:
                    return await self.adapter.asyncify(program)

                return [_outcome(loops.run(main()))]
        except LLMError as error:
            return [Outcome(error=error)]
        except (ToolCallFailed, SettingRefused) as ended:
            return [_ended(ended)]
        raise ValueError(f"unknown mode {mode!r}")

    def _in_successive_loops(self) -> list[Outcome]:
        """The async call in ``LOOP_COPIES`` event loops in turn, on the same client. A
        loop the client reports an error to fails the run (``loops.LoopErrors``), and so
        does the client keeping the first loop alive once all have ended
        (``loops.LoopKeptAlive``: a per-loop cache that never lets go). With
        ``connections``, each loop ends with ``aclose``, which must close every connection
        the loop opened (``ConnectionsLeftOpen``)."""
        outcomes: list[Outcome] = []
        first: list[weakref.ref[asyncio.AbstractEventLoop]] = []

        async def main() -> Any:
            if not first:
                first.append(weakref.ref(asyncio.get_running_loop()))
            if self.connections is None:
                return await self._aprogram("async")
            before = self.connections()
            try:
                return await self._aprogram("async")
            finally:
                await self.adapter.aclose(self.client())
                await _closed_since(self.connections, before)

        for _ in range(LOOP_COPIES):
            try:
                outcomes.append(_outcome(loops.run(main(), strict=True)))
            except LLMError as error:
                outcomes.append(Outcome(error=error))
        loops.check_released(first[0])
        return outcomes

    def run_tasks(self, clients: Sequence[Any], *, concurrently: bool) -> list[Outcome]:
        """One call per client, each inside its own context: in turn or as asyncio tasks."""
        adapter, scenario = self.adapter, self.scenario

        def one(client: Any) -> Response:
            with adapter.context(client):
                return adapter.call(adapter.current(), scenario.messages, dict(scenario.params))

        async def aone(client: Any) -> Response:
            with adapter.context(client):
                await asyncio.sleep(0)  # let the other tasks enter their contexts
                return await adapter.acall(
                    adapter.current(), scenario.messages, dict(scenario.params)
                )

        async def gather() -> list[Response]:
            return list(await asyncio.gather(*(aone(client) for client in clients)))

        responses = loops.run(gather()) if concurrently else [one(c) for c in clients]
        return [Outcome(response) for response in responses]


class ConnectionsLeftOpen(RuntimeError):
    """The client's ``aclose`` left connections open."""


CLOSE_GRACE = 1.0
"""Seconds the server may take to see connections the client closed."""


async def _closed_since(connections: Callable[[], frozenset[Any]], before: frozenset[Any]) -> None:
    """Wait until every connection opened since ``before`` is closed, or raise
    ``ConnectionsLeftOpen`` after ``CLOSE_GRACE`` seconds."""
    deadline = asyncio.get_running_loop().time() + CLOSE_GRACE
    while left := connections() - before:
        if asyncio.get_running_loop().time() > deadline:
            raise ConnectionsLeftOpen(
                f"aclose() left {len(left)} connection(s) of this event loop open "
                f"({CLOSE_GRACE} s after it returned)"
            )
        await asyncio.sleep(0.005)


# --- comparing results ------------------------------------------------------------------


class _ClientWords:
    def __repr__(self) -> str:
        return "<some text, in the client's own words>"


CLIENT_WORDS: Final = _ClientWords()
"""What an error the provider never described (a connection cut, refused, timed out)
must carry as its message: any non-blank text."""


def unmet(
    expected: Expected, outcome: Outcome, address: str | None = None
) -> list[tuple[str, Any, Any]]:
    """(field, expected, got) for every part of the expectation the outcome misses
    (``address``: the ``host:port`` a live run sent its requests to)."""
    if expected.refused is not None:
        refused = outcome.refused
        if refused is None:
            return [("refused", expected.refused, _what(outcome))]
        if expected.refused not in refused.message:
            return [("refused (message names the setting)", expected.refused, refused.message)]
        return []
    if expected.tool_failure is not None:
        return _failure_problems(expected, outcome)
    if outcome.tool_failure is not None or outcome.refused is not None:
        return [("answer", "an answer", _what(outcome))]
    if expected.error is not None:
        error = outcome.error
        if not isinstance(error, expected.error):
            got = repr(error) if error is not None else f"an answer: {outcome.response!r}"
            return [("error", expected.error.__name__, got)]
        checks: dict[str, tuple[Any, Any]] = {
            "error.provider": (expected.error_provider, error.provider),
            "error.status": (expected.error_status, error.status),
        }
        if expected.error_message is not None:
            checks["error.message"] = (expected.error_message, error.provider_message)
        elif not isinstance(error.provider_message, str) or not error.provider_message.strip():
            # the client's own words, whatever they are: but some words
            checks["error.message"] = (CLIENT_WORDS, error.provider_message)
        if expected.error_body is not None:
            problem = expected.error_body.problem(error.body)
            if problem is not None:
                checks["error.body"] = (problem, _shown(error.body))
        if expected.retry_after is not None:
            checks["error.retry_after"] = (
                expected.retry_after,
                getattr(error, "retry_after", None),
            )
        problems = [(name, a, b) for name, (a, b) in checks.items() if a != b]
        return problems + _unsaid(expected.says, str(error.provider_message), address)
    if outcome.error is not None or outcome.response is None:
        return [("error", None, repr(outcome.error))]
    response = outcome.response
    checks = {
        "response.text": (expected.text, response.text),
        "response.tool_calls": (
            expected.tool_calls,
            tuple((call.name, call.arguments) for call in response.tool_calls),
        ),
        "response.tool_calls (ids)": (
            expected.tool_call_ids,
            tuple(call.id for call in response.tool_calls),
        ),
        "response.finish_reason": (expected.finish_reason, response.finish_reason),
        "response.usage": (expected.usage, response.usage),
        "response.reasoning": (expected.reasoning, response.reasoning),
        "response.model": (expected.model, response.model),
    }
    problems = [(name, a, b) for name, (a, b) in checks.items() if a is not None and a != b]
    if expected.tool_results is not None:
        results = (
            None
            if outcome.tool_results is None
            else tuple((m.content, m.is_error) for m in outcome.tool_results)
        )
        if not _tool_results_match(expected.tool_results, results):
            problems.append(("tool_results", expected.tool_results, results))
    if expected.chain_usage is not None and outcome.chain_usage != expected.chain_usage:
        problems.append(("chain usage", expected.chain_usage, outcome.chain_usage))
    if expected.transcript is not None:
        problems += _transcript_problems(expected.transcript, outcome)
    if expected.stopped is not None:
        problems += _stop_problems(expected, outcome)
    return problems


def _unsaid(says: tuple[str, ...], message: str, address: str | None) -> list[Any]:
    """A problem for each item of ``Expect.says`` the client's message leaves out."""
    problems, said = [], message.lower()
    for item in says:
        if "{address}" in item and address is None:
            raise ValueError(f"{item!r}: only a live scenario knows the address it used")
        words = item.replace("{address}", address or "").split("|")
        if not any(word.lower() in said for word in words):
            problems.append(("error.message says", " or ".join(map(repr, words)), message))
    return problems


def _what(outcome: Outcome) -> str:
    """What an outcome is, in a few words (for a problem report)."""
    if outcome.tool_failure is not None:
        return f"the tool call failure {outcome.tool_failure.key()!r}"
    if outcome.refused is not None:
        return f"the refused setting {outcome.refused.message!r}"
    if outcome.error is not None:
        return repr(outcome.error)
    return f"an answer: {outcome.response!r}"


def _failure_problems(expected: Expected, outcome: Outcome) -> list[tuple[str, Any, Any]]:
    wanted, failure = expected.tool_failure, outcome.tool_failure
    assert wanted is not None
    if failure is None:
        return [("tool failure", wanted, _what(outcome))]
    checks = {
        "tool failure: tool": (wanted.tool, failure.tool_name),
        "tool failure: call id": (wanted.call_id, failure.call_id),
        "tool failure: kind": (wanted.kind, failure.kind),
    }
    problems: list[tuple[str, Any, Any]] = [
        (name, a, b) for name, (a, b) in checks.items() if a != b
    ]
    message = failure.message
    if not isinstance(message, str) or not message.strip():
        problems.append(("tool failure: message", CLIENT_WORDS, message))
    elif wanted.says is not None and wanted.says not in message:
        problems.append(
            ("tool failure: message (the tool's own words in it)", wanted.says, message)
        )
    return problems


def _message_key(message: Message) -> tuple[Any, ...]:
    """What a message says, for comparing a chain's turns with one another."""
    calls = tuple((call.id, call.name, call.arguments) for call in message.tool_calls)
    return (message.role, message.content, calls, message.tool_call_id, message.is_error)


def _transcript_problems(
    expected: ExpectedTranscript, outcome: Outcome
) -> list[tuple[str, Any, Any]]:
    turns = outcome.turns
    if turns is None or len(turns) != len(expected.turns):
        count = None if turns is None else len(turns)
        return [("chain turns", len(expected.turns), count)]
    problems: list[tuple[str, Any, Any]] = []
    sent = tuple(_message_key(m) for m in expected.messages)
    reported: list[Message] = []
    for index, (wanted, turn) in enumerate(zip(expected.turns, turns, strict=True)):
        label = f"turn {index + 1}"
        got_sent = tuple(_message_key(m) for m in turn.sent or ())
        if got_sent != sent:
            problems.append((f"{label}: messages sent", sent, got_sent))
        response = turn.response
        calls = tuple((c.name, c.arguments) for c in response.tool_calls) if response else None
        checks = {
            f"{label}: answer text": (wanted.text, response.text if response else None),
            f"{label}: answer's tool calls": (wanted.calls, calls),
            f"{label}: tool calls run": (
                wanted.ran,
                tuple((c.name, c.arguments) for c in turn.called or ()),
            ),
            f"{label}: calls the results answer": (
                tuple(c.id for c in turn.called or ()),
                tuple(getattr(c, "id", None) for c in turn.answered or ()),
            ),
        }
        problems += [(name, a, b) for name, (a, b) in checks.items() if a != b]
        results = tuple((m.content, m.is_error) for m in turn.results or ())
        if not _tool_results_match(wanted.results, results):
            problems.append((f"{label}: tool results", wanted.results, results))
        reported += turn.results or ()
        if response is not None:
            sent = (
                *got_sent,
                _message_key(Message.assistant(response.text, response.tool_calls)),
                *(_message_key(m) for m in turn.results or ()),
            )
    if outcome.response is not None and turns[-1].response != outcome.response:
        problems.append(("last turn's answer", outcome.response, turns[-1].response))
    if outcome.tool_results is not None and tuple(reported) != outcome.tool_results:
        problems.append(("every turn's tool results", outcome.tool_results, tuple(reported)))
    return problems


def _stop_problems(expected: Expected, outcome: Outcome) -> list[tuple[str, Any, Any]]:
    wanted, stop = expected.stopped, outcome.stopped
    assert wanted is not None
    if stop is None:
        return [("stopped at the turn limit", wanted, None)]
    pending = tuple((getattr(c, "name", None), getattr(c, "arguments", None)) for c in stop.pending)
    checks = {
        "stopped: limit": (wanted.limit, stop.limit),
        "stopped: model calls made": (wanted.turns, stop.turns),
        "stopped: pending tool calls": (wanted.pending, pending),
    }
    problems = [(name, a, b) for name, (a, b) in checks.items() if a != b]
    if stop.message is not None:
        named = [str(wanted.limit), *(name for name, _ in wanted.pending)]
        missing = [word for word in named if word not in stop.message]
        if missing:
            problems.append(
                ("stopped: message (naming the limit and each pending tool)", named, stop.message)
            )
    return problems


def _shown(body: Any) -> str:
    """An error body as a problem shows it (its type and start)."""
    return f"{type(body).__name__}: {body!r:.120}"


def _tool_results_match(
    expected: tuple[tuple[Any, bool], ...], got: tuple[tuple[str, bool], ...] | None
) -> bool:
    """Equal, where an ``ERROR`` content stands for any text of an error result, and a
    ``JSONText`` for any JSON text of its value."""
    if got is None or len(got) != len(expected):
        return False
    return all(
        (content is ERROR and is_error and bool(text) and flag)
        or (isinstance(content, JSONText) and is_error == flag and content.matches(text))
        or (content, is_error) == (text, flag)
        for (content, is_error), (text, flag) in zip(expected, got, strict=True)
    )


def without_call_ids(outcome: Outcome) -> Outcome:
    """``outcome`` with every tool-call id blanked: for providers whose wire carries none
    (``PROVIDERS_WITHOUT_CALL_IDS``), the ids are the client's own invention."""
    response = outcome.response
    if response is not None:
        calls = tuple(replace(call, id="") for call in response.tool_calls)
        response = replace(response, tool_calls=calls)
    events = outcome.events
    if events is not None:
        events = tuple(
            replace(event, id=None) if isinstance(event, ToolCallDelta) else event
            for event in events
        )
    results = outcome.tool_results
    if results is not None:
        results = tuple(replace(message, tool_call_id=None) for message in results)
    turns = outcome.turns
    if turns is not None:
        turns = tuple(
            replace(
                turn,
                sent=tuple(_message_without_ids(m) for m in turn.sent),
                response=replace(turn.response, tool_calls=_calls_without_ids(turn.response)),
                called=tuple(replace(call, id="") for call in turn.called),
                results=tuple(_message_without_ids(m) for m in turn.results),
                answered=tuple(replace(call, id="") for call in turn.answered),
            )
            for turn in turns
        )
    stopped = outcome.stopped
    if stopped is not None:
        stopped = replace(stopped, pending=tuple(replace(c, id="") for c in stopped.pending))
    return replace(
        outcome,
        response=response,
        events=events,
        tool_results=results,
        turns=turns,
        stopped=stopped,
    )


def _calls_without_ids(response: Response) -> tuple[ToolCall, ...]:
    return tuple(replace(call, id="") for call in response.tool_calls)


def _message_without_ids(message: Message) -> Message:
    calls = tuple(replace(call, id="") for call in message.tool_calls)
    return replace(message, tool_calls=calls, tool_call_id=None)


_VARIES = (
    (re.compile(r"\b0x[0-9a-fA-F]{6,}\b"), "0x..."),  # an object's address in a repr
    (re.compile(r"\b\d+(?:\.\d+)?(?= ?(?:seconds|ms|s)\b)"), "N"),  # a time measured
)
"""What an error text may say that differs from run to run of one mode: it is left out
of the comparison across modes."""


def _error_key(error: LLMError | None) -> Any:
    if error is None:
        return None
    text = str(error.provider_message)
    for pattern, stand_in in _VARIES:
        text = pattern.sub(stand_in, text)
    return (type(error), error.provider, error.status, text)


def differences(
    expected: Outcome, got: Outcome, *, call_ids: bool = True
) -> list[tuple[str, Any, Any]]:
    """(field, expected, got) for every normalized field that differs (tool-call ids
    left out unless ``call_ids``). An error's text is compared too, even one the client
    wrote itself (a connection cut, refused or timed out): whatever its wording, the same
    failure must read the same in every mode (less what varies from run to run,
    ``_VARIES``; the live scenarios' loopback port is the same for a whole session)."""
    if not call_ids:
        expected, got = without_call_ids(expected), without_call_ids(got)
    found: list[tuple[str, Any, Any]] = []
    if _error_key(expected.error) != _error_key(got.error):
        found.append(("error", expected.error, got.error))
    elif getattr(expected.error, "retry_after", None) != getattr(got.error, "retry_after", None):
        found.append(
            ("error.retry_after", expected.error.retry_after, got.error.retry_after)  # type: ignore[union-attr]
        )
    if expected.response is not None and got.response is not None:
        for f in fields(Response):
            if f.compare:
                a, b = getattr(expected.response, f.name), getattr(got.response, f.name)
                if a != b:
                    found.append((f"response.{f.name}", a, b))
        extras = [
            [(call.arguments_json, call.provider_data) for call in r.tool_calls]
            for r in (expected.response, got.response)
        ]
        if extras[0] != extras[1]:
            found.append(
                ("response.tool_calls (raw arguments, provider data)", extras[0], extras[1])
            )
    elif (expected.response is None) != (got.response is None):
        found.append(("response", expected.response, got.response))
    if expected.tool_results != got.tool_results:
        found.append(("tool_results", expected.tool_results, got.tool_results))
    for name in ("turns", "stopped"):
        a, b = getattr(expected, name), getattr(got, name)
        if a != b:
            found.append((name, a, b))
    failures = [o.tool_failure.key() if o.tool_failure else None for o in (expected, got)]
    if failures[0] != failures[1]:
        found.append(("tool failure", failures[0], failures[1]))
    refusals = [o.refused.message if o.refused else None for o in (expected, got)]
    if refusals[0] != refusals[1]:
        found.append(("refused", refusals[0], refusals[1]))
    if expected.events is not None and got.events is not None and expected.events != got.events:
        found.append(("stream events", expected.events, got.events))
    return found
