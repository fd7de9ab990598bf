"""The conformance scenarios, as data.

A scenario is the call(s) to make, the tools offered, the model's scripted replies (what
the emulator answered when the cassette was recorded), and what the normalized result
must be. The same scenario runs in every mode that applies (see ``conformance.modes``)
and every mode replays the same cassette, ``cassettes/<provider>/<name>.yaml``.

A ``program`` scenario runs the adapter's own framework program (feature ``program``, see
``harness.adapters.base``) in place of the plain call: its requests carry the framework's
prompt, recorded through that adapter against the emulator, and its expected text is the
program's parsed answer.

Every mode is held to the scenario's whole expectation (``Scenario.expected``): what the
final scripted step says (text, tool calls, finish reason, usage, reasoning, and the
model the provider named; or the error's type, status, provider and message), with the
``Expect`` fields set by hand on top. A mode is judged on its own, so a client lacking
one mode is still judged on the others.

Most scenarios replay a cassette. A fault no cassette can hold (a connection cut after
the headers, a connection refused, a slow answer) makes a *live* scenario
(``Scenario.source``): every mode runs against the emulator on a loopback server, over
the client's real sockets (the reference client's async path is then aiohttp).
"""

from __future__ import annotations

import asyncio
import datetime
import enum
import functools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from conformance.models import SCENARIO, model_for
from harness.adapters.base import Target
from harness.emulator import (
    CutStream,
    Drop,
    Fault,
    Malformed,
    Reply,
    Slow,
    Step,
    StreamFault,
    returned_model,
    stream_fault_status,
)
from harness.providers.base import error_class_for_status
from harness.types import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    LLMError,
    MalformedResponseError,
    Message,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    ToolCall,
    ToolSpec,
    Usage,
)

Kind = Literal["call", "chain", "tool_run", "tasks", "program", "settings"]
"""What a scenario runs: a call, a chain, a call whose tool calls the client then runs
(``run_tools``, no second model call), concurrent tasks, a framework's program, or calls
under settings the client must reject (``Scenario.rejects``)."""
Source = Literal[
    "cassette",
    "loopback",
    "closed_port",
    "default_http_port",
    "default_https_port",
    "unresolvable",
    "tls_mismatch",
    "tls_reset",
    "tls_untrusted",
]
"""Where a scenario's answers come from: its cassette (replayed), or live: the emulator
serving the scenario's steps on a loopback server, a port nothing listens on (given,
or the one the scheme implies: ``http://127.0.0.1``, ``https://127.0.0.1``), a host name
that cannot be resolved (``UNRESOLVABLE_HOST``), or an
``https://`` URL to a port that answers in plain HTTP, resets the TLS handshake, or
shows a self-signed certificate."""
PROVIDERS = ("openai", "anthropic", "gemini", "bedrock")
PROVIDERS_WITHOUT_CALL_IDS = frozenset({"gemini"})
"""Providers whose wire format carries no tool-call ids: a client makes its own, and modes
are not compared on them."""
SAMPLING_PARAMS = frozenset({"temperature", "top_p", "max_tokens", "stop"})
"""The ``params`` keys that are sampling parameters (compared by the semantic matcher)."""


class _AnyErrorText:
    """The content of an error tool result: any wording (the client's own), is_error set."""

    def __repr__(self) -> str:
        return "<an error result>"


ERROR: Final = _AnyErrorText()
"""In ``Expect.tool_results``: an error result for that call, whatever its wording."""


@dataclass(frozen=True)
class JSONText:
    """In ``Expect.tool_results``: a result whose content is JSON text for ``value``, in
    any spacing and escaping (the client's own)."""

    value: Any
    unordered: bool = False
    """Arrays may hold their items in any order (a set's members)."""

    def matches(self, text: str) -> bool:
        """Whether ``text`` parses as JSON equal to ``value`` (types too: 1 is not 1.0
        nor True)."""
        try:
            parsed = json.loads(text)
        except ValueError:
            return False
        return bool(_typed(parsed, self.unordered) == _typed(self.value, self.unordered))


class TextWith:
    """In a ``JSONText`` value: any JSON string that contains ``part``."""

    def __init__(self, part: str) -> None:
        self.part = part

    def __eq__(self, other: object) -> bool:
        """Equal to a typed JSON string (``_typed``) containing ``part``."""
        if isinstance(other, TextWith):
            return other.part == self.part
        if isinstance(other, tuple) and len(other) == 2 and other[0] == "str":
            return self.part in other[1]
        return False

    def __hash__(self) -> int:
        return hash(self.part)

    def __repr__(self) -> str:
        return f"<a string containing {self.part!r}>"


def _typed(value: Any, unordered: bool = False) -> Any:
    """``value`` with every scalar tagged with its type, for an exact comparison (with
    ``unordered``, every array's items sorted; a ``TextWith`` left as it is)."""
    if isinstance(value, TextWith):
        return value
    if isinstance(value, dict):
        return {key: _typed(item, unordered) for key, item in value.items()}
    if isinstance(value, list):
        items = [_typed(item, unordered) for item in value]
        return sorted(items, key=repr) if unordered else items
    return (type(value).__name__, value)


ResultContent = str | _AnyErrorText | JSONText
"""What a tool result's content must be: that text, any error text, or that JSON."""


@dataclass(frozen=True)
class Expect:
    """What the normalized result must contain, on top of what the final scripted step
    implies. ``None`` means "as the script implies" (or "not checked" where it implies
    nothing)."""

    text: str | None = None
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    error: type[LLMError] | None = None
    error_message: str | None = None
    error_in_own_words: bool = False
    """The error's message is the client's own (any non-blank text): the provider's body
    holds no single message (FastAPI's list of validation errors)."""
    says: tuple[str, ...] = ()
    """For a failure the client words itself (a connection failure, a timeout, an answer
    it cannot decode): what its message must say, whatever else it says. Each item must
    appear, ignoring case; ``"a|b"`` accepts either; ``{address}`` stands for the
    ``host:port`` the request was sent to (live scenarios only)."""
    tool_results: tuple[tuple[ResultContent, bool], ...] | None = None
    """For chains: each tool result sent back, as (content, ``ERROR`` or ``JSONText``,
    is_error)."""
    attempts: int | None = None
    """HTTP requests one call makes (retries included)."""
    uncounted: bool = False
    """The requests cannot be counted (nothing listens, ``closed_port``, or no request
    gets through, ``tls_mismatch`` and ``tls_reset``)."""
    within: float | None = None
    """Seconds one run of a mode may take at most, its event loop's shutdown included:
    for a late tool, which must not hold up the chain or the loop that ran it."""
    tool_failure: ToolFailure | None = None
    """With ``on_error="raise"``: the failing call the chain (or run) must end on."""
    refused: str | None = None
    """The chain setting the client must refuse before any model call (its message must
    name it)."""


@dataclass(frozen=True)
class ToolFailure:
    """The failing tool call a chain (or ``run_tools``) with ``on_error="raise"`` must end
    on (``harness.adapters.base.ToolCallFailed``): the tool, the call's id, the kind of
    failure, and (for a tool that raised) its exception's own message, which the client's
    message must contain."""

    tool: str
    call_id: str
    kind: Literal["raised", "invalid", "timeout"]
    says: str | None = None


@dataclass(frozen=True)
class ExpectedTurn:
    """One model call of a chain, as the script implies it (feature ``chain_transcript``):
    the answer's text and tool calls, the calls the chain then runs, and their results."""

    text: str
    calls: tuple[tuple[str, dict[str, Any]], ...]
    ran: tuple[tuple[str, dict[str, Any]], ...]
    results: tuple[tuple[ResultContent, bool], ...]


@dataclass(frozen=True)
class ExpectedTranscript:
    """A chain's turns (feature ``chain_transcript``): the first sends ``messages``, each
    next one sends what the previous one sent, its answer and its tool results."""

    messages: tuple[Message, ...]
    turns: tuple[ExpectedTurn, ...]


@dataclass(frozen=True)
class ExpectedStop:
    """A chain stopped by ``max_turns`` (feature ``chain_limit_report``): the limit, the
    model calls made, the pending tool calls (name, arguments)."""

    limit: int
    turns: int
    pending: tuple[tuple[str, dict[str, Any]], ...]


@dataclass(frozen=True)
class ErrorBody:
    """What an error's ``body`` must be (feature ``error_body``): ``json``, a mapping
    holding ``message`` (at any depth, as one of its strings; None: any mapping); ``text``,
    the body's ``text``; ``event``, an error inside a stream: a mapping holding
    ``message``, or text containing it."""

    kind: Literal["json", "text", "event"]
    message: str | None = None
    text: str | None = None

    def problem(self, body: Any) -> str | None:
        """What is wrong with ``body``, or None."""
        if self.kind == "text":
            if isinstance(body, str) and body.strip() == (self.text or "").strip():
                return None
            return f"the body's text {self.text!r}"
        if isinstance(body, Mapping) and (self.message is None or _holds(body, self.message)):
            return None
        if self.kind == "event" and isinstance(body, str) and (self.message or "") in body:
            return None
        holding = f" holding {self.message!r}" if self.message is not None else ""
        return f"the decoded body{holding}"


def _holds(value: Any, text: str) -> bool:
    """Whether ``text`` is one of the strings in the JSON value ``value``, at any depth."""
    if isinstance(value, str):
        return value == text
    if isinstance(value, Mapping):
        return any(_holds(item, text) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds(item, text) for item in value)
    return False


@dataclass(frozen=True)
class Expected:
    """The complete expectation of one run of a scenario on one provider."""

    text: str | None = None
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] | None = None
    tool_call_ids: tuple[str, ...] | None = None
    """The ids the provider gave the tool calls, in order (None: its wire carries none)."""
    finish_reason: str | None = None
    usage: Usage | None = None
    reasoning: str | None = None
    """The reasoning text ("" where the answer gave none)."""
    model: str | None = None
    """The model the result names: the one the provider's answer named, or where its
    wire names none (Bedrock Converse) the one requested."""
    error: type[LLMError] | None = None
    error_provider: str | None = None
    error_status: int | None = None
    error_message: str | None = None
    """The provider's own message, compared exactly; None for a failure the provider
    never described (a connection cut or refused), whose wording is the client's own."""
    says: tuple[str, ...] = ()
    """What the client's own wording must say (``Expect.says``)."""
    error_body: ErrorBody | None = None
    """What the error's ``body`` must be (feature ``error_body``; None: not checked)."""
    retry_after: float | None = None
    tool_results: tuple[tuple[ResultContent, bool], ...] | None = None
    attempts: int | None = 1
    """HTTP requests per call (None: not countable)."""
    usage_total: Usage | None = None
    """For scenarios that track usage: what the client's usage tracker must hold after
    one call (the usage of every answer it received, chains' steps summed)."""
    calls_total: int | None = None
    """For scenarios that track usage, with the feature ``usage_calls``: how many calls
    the tracker must count after one run of the program (one per answer received)."""
    waits: tuple[float, ...] = ()
    """Per retry, the least time (seconds) between the failed attempt and the next one:
    what the provider's ``Retry-After`` asked for."""
    within: float | None = None
    """Seconds one run of the mode may take at most (``Expect.within``)."""
    chain_usage: Usage | None = None
    """For chains: the usage the chain reports for all its model calls (every answer the
    script gives, summed)."""
    transcript: ExpectedTranscript | None = None
    """For scenarios needing ``chain_transcript``: every turn of the chain."""
    stopped: ExpectedStop | None = None
    """For scenarios needing ``chain_limit_report``: how the chain says it stopped."""
    tool_failure: ToolFailure | None = None
    """The failing call the chain (or run) ends on (``Expect.tool_failure``)."""
    refused: str | None = None
    """The setting the client refuses before any model call (``Expect.refused``)."""


@dataclass(frozen=True)
class Spread:
    """How the ``parallel`` mode runs a scenario: ``programs`` copies of its program through
    the adapter's ``parallel_with`` (``harness.adapters.base``), with these options (a
    ``batch`` scenario: its inputs, through ``batch``, with ``num_threads`` and
    ``progress``).

    Live only: the emulator serves ``steps`` (None: the scenario's replies once per
    program) to the requests in the order they arrive, and counts them, and how many
    wait for their answer at once."""

    programs: int = 3
    num_threads: int | None = None
    """At most this many programs at once: the emulator never has more requests waiting
    (feature ``parallel_threads``)."""
    fail_fast: bool = False
    """The first failure stops the run, which raises it: the programs still waiting for a
    thread are dropped, so fewer requests than programs arrive (feature ``fail_fast``; a
    thread may have taken the next program before the run stops: the scenario runs four
    times as many programs as threads; without ``num_threads`` every program may have
    started, so only at least one request must arrive)."""
    progress: bool = False
    """The display must end at ``programs`` of ``programs``, never count back nor past the
    total, and show a count in between while the programs run (feature ``progress``)."""
    joins: bool = False
    """When the run returns (or raises), every program it started has ended: none is left
    running behind the caller's back (a ``fail_fast`` run included)."""
    usages: bool = False
    """Each slot's usage must be the usage of the answer its program received, and the
    slots must sum to every answer's (feature ``parallel_usage``)."""
    steps: tuple[Step, ...] | None = None
    errors_in_slots: bool = False
    """A ``batch`` scenario: the run is asked to keep a failing input's error in its own
    slot (``fail_fast=False``, feature ``batch_errors``); the other inputs still run."""

    @property
    def features(self) -> tuple[str, ...]:
        needed = ["parallel_threads"] if self.num_threads is not None else []
        needed += [name for name in ("fail_fast", "progress") if getattr(self, name)]
        needed += ["batch_errors"] if self.errors_in_slots else []
        return (*needed, *(["parallel_usage"] if self.usages else []))


Inputs = tuple[Any, ...] | dict[str, Any]


@dataclass(frozen=True)
class Scenario:
    """One behaviour to check, in every applicable mode and provider."""

    name: str
    summary: str
    messages: tuple[Message, ...]
    replies: tuple[Step, ...]
    expect: Expect
    params: Mapping[str, Any] = field(default_factory=dict)
    tools: tuple[Callable[..., Any], ...] = ()
    kind: Kind = "call"
    streams: bool = True
    """Whether stream modes apply (they replay their own, streamed, interactions)."""
    ordered: bool = False
    """The replies must be served in order (retries): no mode may replay one twice."""
    providers: tuple[str, ...] = PROVIDERS
    needs: tuple[str, ...] = ()
    """Adapter features the scenario's point needs, beyond what its data implies."""
    plain: bool = True
    """Whether the non-streamed modes apply (False: a stream-only behaviour)."""
    source: Source = "cassette"
    tracks_usage: bool = False
    """Every mode runs inside the client's usage tracker (feature ``track_usage``), which
    must sum exactly the usage of every call the mode made."""
    modes: frozenset[str] | None = None
    """Only these modes apply (None: every mode that suits the kind)."""
    requests_like: str | None = None
    """Live scenarios: the cassette scenario that sends the same conversation, whose
    recorded requests every request sent must match (as at replay)."""
    organization: str | None = None
    """OpenAI: the organization the client is given (``Target.organization``, feature
    ``organization``); every request must carry it as ``OpenAI-Organization``."""
    key_from_env: bool = False
    """The client is given no key (``Target.api_key`` None) and finds the suite's in the
    provider's usual environment variable (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``),
    set for the run; every request must carry it."""
    keyless: bool = False
    """The client is given no key and finds none in the environment (feature
    ``keyless``): a local model server that asks for none."""
    honours_retry_after: bool = False
    """The client runs with its real backoff (``Target.fast_retries`` off) and must wait
    what ``Retry-After`` says before each retry; the waits are measured."""
    min_backoff: float = 0.0
    """With ``honours_retry_after``: seconds a retry must wait at least where the failure
    gave no ``Retry-After`` (a client backs off, it does not retry at once)."""
    max_retries: int = Target.max_retries
    """The client's retry budget (``Target.max_retries``; another than the default needs
    the feature ``max_retries``)."""
    timeout: float | None = None
    """The client's request timeout in seconds (``Target.timeout``, feature ``timeout``);
    None: the client's default."""
    spread: Spread | None = None
    """How the ``parallel`` mode runs (``parallel_with`` and its options), or None: the
    plain ``parallel``."""
    inputs: tuple[Inputs, ...] = ()
    """A ``batch`` scenario's inputs: its program is ``question(*args)`` or
    ``question(**kwargs)`` asked as the one user message; one reply per input, in order.
    ``sync`` asks them in turn; ``thread_pool`` in turn through ``submit_with`` (feature
    ``submit_arguments``); ``parallel`` through the adapter's ``batch`` (feature ``batch``),
    whose results must be in input order, each the answer to its own input."""
    question: Callable[..., str] | None = None
    unordered_exits: bool = False
    """Before its call, the ``sync`` mode enters two ``context`` blocks selecting the
    process default's client and exits them outer first (feature ``unordered_exits``): the
    call must still go to the scenario's client."""
    no_stderr: bool = False
    """Every mode runs with ``sys.stderr`` None, as a process has it under ``pythonw`` or
    as a service: the client must still answer (and write nothing there)."""
    foreign_exit: tuple[type[Exception], ...] = ()
    """Before its call, the ``sync`` mode enters a ``context`` block selecting the caller's
    client, and a plain thread, inside its own block selecting that client too, exits it
    (feature ``foreign_exit``): that exit must raise one of these errors, whose message
    names the block's type, and both blocks must still select the client (empty: no such
    exit)."""
    rejects: tuple[Mapping[str, Any], ...] = ()
    """A ``settings`` scenario's bad settings, one name each: in ``sync`` and ``async``, a
    ``settings_block`` around the call (feature ``checked_settings``); in ``parallel``, the
    options of a ``parallel_with`` run of the call. Each must raise
    ``harness.types.ConfigurationError`` naming that setting before any request. In
    ``parallel``, a bad setting named ``input`` is one input of a ``batch`` run instead
    (feature ``batch``): inputs are tuples or dicts."""
    reject_says: tuple[tuple[str, ...], ...] = ()
    """For each of ``rejects`` in order (missing: none), words its rejection's message
    must contain besides the setting's name: what the setting takes, or what it was given."""

    @property
    def live(self) -> bool:
        """Whether the scenario runs against the emulator rather than a cassette."""
        return self.source != "cassette"

    @property
    def features(self) -> tuple[str, ...]:
        """Adapter features the scenario needs in every mode (beyond the mode's own)."""
        needed = list(self.needs)
        if self.kind == "call" and "tools" in self.params:
            needed.append("tool_calls")
        if any(message.role == "assistant" for message in self.messages):
            needed.append("history")
        if "tool_choice" in self.params:
            needed.append("tool_choice")
        needed += [key for key in ("max_turns", "tool_timeout", "on_error") if key in self.params]
        final = _answer_of(self.replies[-1]) if self.replies else None
        if final is not None and final.reasoning:
            needed.append("reasoning")
        if self.tracks_usage:
            needed.append("track_usage")
        if self.organization is not None:
            needed.append("organization")
        if self.keyless:
            needed.append("keyless")
        if self.max_retries != Target.max_retries:
            needed.append("max_retries")
        if self.timeout is not None:
            needed.append("timeout")
        if self.live:
            needed.append("base_url")
        if self.spread is not None:
            needed += self.spread.features
        if self.unordered_exits:
            needed.append("unordered_exits")
        if self.foreign_exit:
            needed.append("foreign_exit")
        return tuple(needed)

    @property
    def sampling_params(self) -> frozenset[str]:
        """The sampling parameters the scenario sets (what a request must carry)."""
        return frozenset(self.params) & SAMPLING_PARAMS

    @property
    def error_tools(self) -> frozenset[str]:
        """Names of the tools whose results must be error results (their wording is each
        client's own)."""
        return self._tools_whose_results(lambda content: content is ERROR)

    @property
    def json_tools(self) -> frozenset[str]:
        """Names of the tools whose results must be JSON text (its spacing each client's
        own)."""
        return self._tools_whose_results(lambda content: isinstance(content, JSONText))

    def _tools_whose_results(self, test: Callable[[ResultContent], bool]) -> frozenset[str]:
        calls = [
            call
            for step in self.replies
            if (reply := _answer_of(step)) is not None
            for call in reply.tool_calls
        ]
        results = self.expect.tool_results or ()
        return frozenset(
            call.name for call, (content, _) in zip(calls, results, strict=False) if test(content)
        )

    def expected(self, provider: str, index: int | None = None) -> Expected:
        """The whole expectation on ``provider``: the final scripted step, then ``expect``
        (of a ``batch`` scenario: its input ``index``'s reply)."""
        expect = self.expect
        final = self.replies[-1] if self.replies else None
        if index is not None:
            final = self.replies[index]
        attempts = None if expect.uncounted else expect.attempts or len(self.replies)
        if isinstance(final, Fault):
            message = None if expect.error_in_own_words else expect.error_message or final.message
            return Expected(
                error=expect.error or error_class_for_status(final.status),
                error_provider=provider,
                error_status=final.status,
                error_message=message,
                error_body=_fault_body(final, message),
                retry_after=final.retry_after,
                attempts=attempts,
            )
        if isinstance(final, StreamFault):
            message = expect.error_message or final.message
            return Expected(
                error=expect.error or error_class_for_status(final.status),
                error_provider=provider,
                error_status=stream_fault_status(provider, final.status),
                error_message=message,
                error_body=ErrorBody("event", message),
                attempts=attempts,
            )
        if isinstance(final, Malformed):  # a 200 answer the client cannot decode
            return Expected(
                error=expect.error or MalformedResponseError,
                error_provider=provider,
                error_message=expect.error_message,
                says=expect.says,
                attempts=attempts,
            )
        if expect.refused is not None:
            return Expected(refused=expect.refused, attempts=0)
        answer = _answer_of(final) if final is not None else None
        late = isinstance(final, Slow) and self.timeout is not None and final.seconds > self.timeout
        if late:  # slower than the client's timeout: the client names the failure
            return Expected(
                error=expect.error or RequestTimeoutError,
                error_provider=provider,
                error_message=expect.error_message,
                says=expect.says,
                attempts=attempts,
            )
        if answer is None:  # cut, dropped or refused: the client names the failure
            return Expected(
                error=expect.error or APIConnectionError,
                error_provider=provider,
                error_message=expect.error_message,
                says=expect.says,
                attempts=attempts,
            )
        requested = model_for(provider, SCENARIO)
        return Expected(
            text=answer.text if expect.text is None else expect.text,
            tool_calls=expect.tool_calls
            or tuple((call.name, call.arguments) for call in answer.tool_calls),
            tool_call_ids=_call_ids(provider, answer),
            finish_reason=expect.finish_reason or answer.finish,
            usage=expect.usage or answer.usage,
            reasoning=answer.reasoning,
            model=answer.model or returned_model(provider, requested) or requested,
            tool_results=expect.tool_results,
            attempts=attempts,
            usage_total=self.usage_total if self.tracks_usage else None,
            calls_total=self.answers if self.tracks_usage else None,
            waits=self.waits if self.honours_retry_after else (),
            within=expect.within,
            chain_usage=self.usage_total if self.kind == "chain" else None,
            transcript=self._transcript() if "chain_transcript" in self.needs else None,
            stopped=self._stop() if "chain_limit_report" in self.needs else None,
            tool_failure=expect.tool_failure,
        )

    def _transcript(self) -> ExpectedTranscript:
        """Every turn the script implies: each answer's calls run but the last one's, and
        ``expect.tool_results`` shared out among them in order."""
        answers = [a for a in map(_answer_of, self.replies) if a is not None]
        results = tuple(self.expect.tool_results or ())
        turns = []
        for index, reply in enumerate(answers):
            calls = tuple((call.name, call.arguments) for call in reply.tool_calls)
            ran = calls if index < len(answers) - 1 else ()
            turns.append(ExpectedTurn(reply.text, calls, ran, results[: len(ran)]))
            results = results[len(ran) :]
        return ExpectedTranscript(self.messages, tuple(turns))

    def _stop(self) -> ExpectedStop:
        """What a chain stopped by the scenario's ``max_turns`` reports: the last answer's
        calls pending."""
        answers = [a for a in map(_answer_of, self.replies) if a is not None]
        pending = tuple((call.name, call.arguments) for call in answers[-1].tool_calls)
        return ExpectedStop(self.params["max_turns"], len(answers), pending)

    @property
    def usage_total(self) -> Usage:
        """The usage of every answer the script gives (what one run's calls received)."""
        total = Usage()
        for step in self.replies:
            answer = _answer_of(step)
            if answer is not None:
                total = total + answer.usage
        return total

    @property
    def answers(self) -> int:
        """How many answers the script gives (model calls that return one)."""
        return sum(_answer_of(step) is not None for step in self.replies)

    @property
    def waits(self) -> tuple[float, ...]:
        """Per retry, the least wait: what the failed attempt's ``Retry-After`` asked for,
        else ``min_backoff``."""
        return tuple(
            step.retry_after
            if isinstance(step, Fault) and step.retry_after is not None
            else self.min_backoff
            for step in self.replies[:-1]
        )


def _fault_body(fault: Fault, message: str | None) -> ErrorBody:
    """What an error response's body must become: its decoded JSON value holding the
    provider's message, or its text when it is not JSON."""
    media = fault.content_type.split(";")[0].strip().lower()
    if fault.body is not None and media != "application/json":
        return ErrorBody("text", text=fault.body)
    return ErrorBody("json", message)


def _call_ids(provider: str, answer: Reply) -> tuple[str, ...] | None:
    """The tool-call ids the answer gives (None where the wire carries none, or where
    the script leaves them to the emulator)."""
    ids = tuple(call.id for call in answer.tool_calls)
    if provider in PROVIDERS_WITHOUT_CALL_IDS or not all(ids):
        return None
    return ids


def _answer_of(step: Step) -> Reply | None:
    """The answer a step delivers whole (a slow one too), or None."""
    if isinstance(step, Slow):
        return step.then
    return step if isinstance(step, Reply) else None


def user(text: str) -> tuple[Message, ...]:
    return (Message.user(text),)


def answer(text: str, **kwargs: Any) -> Reply:
    return Reply(text=text, usage=kwargs.pop("usage", Usage(11, 5)), **kwargs)


def asks(*calls: tuple[str, dict[str, Any]], text: str = "") -> Reply:
    return Reply(
        text=text,
        tool_calls=tuple(ToolCall(f"call_{i}", name, args) for i, (name, args) in enumerate(calls)),
        usage=Usage(20, 9),
    )


# --- tools used by the chain scenarios ---------------------------------------------------


def get_weather(city: str) -> str:
    """Current weather for a city.

    Args:
        city: The city name.
    """
    return f"Sunny in {city}, 21 C"


async def get_time(city: str) -> str:
    """Local time in a city (async tool).

    Args:
        city: The city name.
    """
    await asyncio.sleep(0)
    return f"14:05 in {city}"


def get_date() -> str:
    """Today's date (takes no arguments)."""
    return "2026-11-21"


def broken_tool(query: str) -> str:
    """A tool that always fails.

    Args:
        query: Anything.
    """
    raise RuntimeError(f"backend unavailable for {query!r}")


def silent_failure(query: str) -> str:
    """A tool that fails without a word (its exception has no message).

    Args:
        query: Anything.
    """
    raise LookupError


UNRESOLVABLE_HOST = ".".join(["no-such-host-" + "x" * 50] * 4) + ".invalid"
"""A host name no resolver can resolve, without asking any DNS server: longer than the
255 bytes a DNS name may have (glibc's resolver refuses it before sending a query), in
the ``.invalid`` domain (RFC 6761), which never resolves either."""

DEFAULT_PORTS: tuple[tuple[str, int, Source], ...] = (
    ("http", 80, "default_http_port"),
    ("https", 443, "default_https_port"),
)
"""Per scheme, the port a URL without one implies, and the live source that refuses it."""

CUT = "cut|incomplete|not complete|ended"
"""How a client may say that a body ended before it was whole (``Expect.says``): as the
reference client, httpx ("incomplete chunked read", "without sending complete message
body") or aiohttp ("not completed")."""

STALL = 1.0
"""Seconds a stalled tool takes: twenty times ``TOOL_TIMEOUT``, short enough that the
sync one, left to finish in its thread, holds up the interpreter's exit for little."""
TOOL_TIMEOUT = 0.05
"""The ``tool_timeout`` of the scenarios with stalled tools."""
UNDER_STALL = 0.8
"""Seconds a run with stalled tools may take (``Expect.within``): less than ``STALL``, so
a run that waits for a stalled tool (its thread, its event loop's executor) fails."""


def stalled_search(query: str) -> str:
    """Search the news (a sync tool that answers too late).

    Args:
        query: What to search for.
    """
    time.sleep(STALL)
    return f"Nothing new about {query}."


async def stalled_clock(city: str) -> str:
    """Local time in a city (an async tool that answers too late).

    Args:
        city: The city name.
    """
    await asyncio.sleep(STALL)
    return f"12:00 in {city}"


FORECAST = {
    "city": "Lyon",
    "highs": [21, 23.5],
    "sunny": True,
    "alerts": None,
    "summary": "ciel dégagé",
}


def get_forecast(city: str) -> dict[str, Any]:
    """The forecast for a city, as data.

    Args:
        city: The city name.
    """
    return {**FORECAST, "city": city}


def count_alerts(city: str) -> int:
    """How many weather alerts a city has.

    Args:
        city: The city name.
    """
    return 0


class Sky(enum.Enum):
    """What the sky looks like (a tool result's Enum)."""

    CLEAR = "clear"
    RAIN = "rain"


@dataclass(frozen=True)
class Reading:
    """A station's reading (a tool result's dataclass)."""

    station: str
    sky: Sky
    celsius: float


def read_station(station: str) -> Reading:
    """The latest reading of a weather station.

    Args:
        station: The station's name.
    """
    return Reading(station, Sky.CLEAR, 18.5)


def sky_over(city: str) -> Sky:
    """What the sky over a city looks like.

    Args:
        city: The city name.
    """
    return Sky.RAIN


def list_stations(city: str) -> dict[str, Any]:
    """The weather stations of a city and their radio channels (sets in a result).

    Args:
        city: The city name.
    """
    return {
        "city": city,
        "stations": frozenset({"Orly", "Roissy", "Le Bourget"}),
        "channels": {7, 3},
    }


@functools.cache
def _gauge_reading_model() -> Any:
    """A pydantic model class, made on first use (pydantic is optional for the suite)."""
    from pydantic import BaseModel

    class GaugeReading(BaseModel):
        gauge: str
        taken: datetime.datetime
        level: float

    return GaugeReading


def read_gauges(river: str) -> dict[str, Any]:
    """The latest readings of a river's gauges (pydantic models in a result).

    Args:
        river: The river's name.
    """
    model = _gauge_reading_model()
    taken = datetime.datetime(2026, 11, 21, 14, 5)
    return {"river": river, "readings": [model(gauge="Lyon", taken=taken, level=2.5)]}


class GaugeId:
    """A gauge's identifier: a value with no JSON form of its own (a tool result's)."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __str__(self) -> str:
        return self.code

    def __repr__(self) -> str:
        return f"GaugeId({self.code!r})"


def locate_gauge(river: str) -> dict[str, Any]:
    """Where a river's main gauge is (a result holding a value with no JSON form).

    Args:
        river: The river's name.
    """
    return {"river": river, "gauge": GaugeId("FR-69-7"), "km": 12}


def weather_question(city: str, unit: str = "C") -> str:
    """The ``batch`` scenario's program: a question from positional or keyword inputs."""
    return f"Weather in {city}, in degrees {unit}?"


PROGRAM_REPLY = "[[ ## answer ## ]]\n{answer}\n\n[[ ## completed ## ]]"
"""A ``program`` scenario's scripted reply: the output field in the field-marker format
DSPy's ChatAdapter asks for (and parses, on every release from 2.5.29)."""

WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city.",
    {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "The city name."}},
        "required": ["city"],
    },
)

FLAT_MESSAGE = (
    "This model's maximum context length is 4096 tokens. However, you requested 5000 "
    "tokens (1000 in the messages, 4000 in the completion)."
)
FLAT_ERROR = {
    "object": "error",
    "message": FLAT_MESSAGE,
    "type": "BadRequestError",
    "param": None,
    "code": 400,
}
"""vLLM's error body before it took OpenAI's ``{"error": {...}}`` envelope: flat."""
VALIDATION_DETAILS = [
    {"type": "missing", "loc": ["body", "messages"], "msg": "Field required", "input": None}
]
"""FastAPI's 422 ``detail``: one entry per invalid field, no single message."""
PORTAL_PAGE = "<html><body><h1>Welcome to the guest network</h1></body></html>"
NO_CHOICES = {
    "id": "chatcmpl-0",
    "object": "chat.completion",
    "created": 1750000000,
    "model": "gpt-4o-mini-2024-07-18",
}
CUT_CHUNK = '{"id":"chatcmpl-0","object":"chat.completion.chunk","choices":[{"index":0,"de'
CHOICES_OBJECT = {
    "id": "chatcmpl-0",
    "object": "chat.completion.chunk",
    "created": 1750000000,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": {"index": 0, "delta": {"content": "lo"}, "finish_reason": None},
}

# --- the catalogue ----------------------------------------------------------------------

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "plain_text",
        "a one-turn question gets its text, finish reason and usage",
        user("Say hello."),
        (answer("Hello! How can I help you today?", usage=Usage(9, 10)),),
        Expect(text="Hello! How can I help you today?", finish_reason="stop", usage=Usage(9, 10)),
    ),
    Scenario(
        "system_prompt",
        "a system prompt is sent in the provider's own place",
        (Message.system("You answer in French."), Message.user("Say hello.")),
        (answer("Bonjour !"),),
        Expect(text="Bonjour !", finish_reason="stop"),
    ),
    Scenario(
        "multi_turn",
        "earlier user and assistant turns are sent back in order",
        (
            Message.user("My name is Ada."),
            Message.assistant("Nice to meet you, Ada."),
            Message.user("What is my name?"),
        ),
        (answer("Your name is Ada."),),
        Expect(text="Your name is Ada.", finish_reason="stop"),
    ),
    Scenario(
        "sampling_parameters",
        "temperature, top_p, max_tokens and stop are encoded",
        user("Count to ten."),
        (answer("1, 2, 3"),),
        Expect(text="1, 2, 3", finish_reason="stop"),
        params={"temperature": 0.2, "top_p": 0.9, "max_tokens": 64, "stop": ["4"]},
    ),
    Scenario(
        "max_tokens_length",
        "an answer cut by max_tokens reports finish reason length",
        user("Write a long story."),
        (answer("Once upon a", finish_reason="length", usage=Usage(12, 3)),),
        Expect(text="Once upon a", finish_reason="length", usage=Usage(12, 3)),
        params={"max_tokens": 3},
        needs=("finish_reason",),
    ),
    Scenario(
        "unicode_text",
        "non-ASCII text survives encoding, chunking and decoding",
        user("Écris « bonjour » en japonais."),
        (answer("こんにちは — «bonjour» 👋"),),
        Expect(text="こんにちは — «bonjour» 👋", finish_reason="stop"),
    ),
    Scenario(
        "long_text",
        "a long answer arrives whole, in every mode",
        user("Recite the alphabet 20 times."),
        (answer(" ".join(["abcdefghijklmnopqrstuvwxyz"] * 20)),),
        Expect(text=" ".join(["abcdefghijklmnopqrstuvwxyz"] * 20), finish_reason="stop"),
    ),
    Scenario(
        "usage_cached_tokens",
        "cached input tokens are reported where the provider does",
        user("Summarize the cached document."),
        (answer("A summary.", usage=Usage(1200, 8, cached_tokens=1024)),),
        Expect(text="A summary.", usage=Usage(1200, 8, cached_tokens=1024)),
        providers=("openai", "anthropic", "gemini", "bedrock"),
    ),
    Scenario(
        "reasoning_text",
        "reasoning is kept apart from the answer",
        user("What is 17 * 3? Think first."),
        (answer("51", reasoning="17 * 3 = 51.", usage=Usage(15, 30)),),
        Expect(text="51", finish_reason="stop"),
    ),
    Scenario(
        "usage_reasoning_tokens",
        "reasoning tokens are reported apart, where the provider counts them",
        user("Is 1013 prime? Think it through."),
        (answer("Yes, 1013 is prime.", usage=Usage(14, 212, reasoning_tokens=192)),),
        Expect(text="Yes, 1013 is prime.", usage=Usage(14, 212, reasoning_tokens=192)),
        providers=("openai", "gemini"),
    ),
    Scenario(
        "finish_reason_other",
        "a finish reason outside stop, length, tool_calls and content_filter is reported as other",
        user("Explain quicksort."),
        (answer("Quicksort picks a pivot", finish_reason="other", usage=Usage(10, 5)),),
        Expect(text="Quicksort picks a pivot", finish_reason="other"),
        needs=("finish_reason",),
    ),
    Scenario(
        "tool_call_single",
        "one tool call with its arguments, finish reason tool_calls",
        user("What is the weather in Paris?"),
        (asks(("get_weather", {"city": "Paris"})),),
        Expect(tool_calls=(("get_weather", {"city": "Paris"}),), finish_reason="tool_calls"),
        params={"tools": [WEATHER]},
    ),
    Scenario(
        "tool_call_parallel",
        "two tool calls in one answer, in order",
        user("Weather in Paris and in Tokyo?"),
        (asks(("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Tokyo"})),),
        Expect(
            tool_calls=(("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Tokyo"})),
            finish_reason="tool_calls",
        ),
        params={"tools": [WEATHER]},
    ),
    Scenario(
        "tool_call_with_text",
        "text before a tool call is kept",
        user("Check the weather in Oslo."),
        (asks(("get_weather", {"city": "Oslo"}), text="Let me check."),),
        Expect(
            text="Let me check.",
            tool_calls=(("get_weather", {"city": "Oslo"}),),
            finish_reason="tool_calls",
        ),
        params={"tools": [WEATHER]},
        providers=("openai", "anthropic", "bedrock"),
    ),
    Scenario(
        "tool_choice_required",
        "tool_choice=required is encoded and the model calls a tool",
        user("Anything."),
        (asks(("get_weather", {"city": "Rome"})),),
        Expect(tool_calls=(("get_weather", {"city": "Rome"}),), finish_reason="tool_calls"),
        params={"tools": [WEATHER], "tool_choice": "required"},
    ),
    Scenario(
        "tool_choice_named",
        "tool_choice naming one tool is encoded",
        user("Weather?"),
        (asks(("get_weather", {"city": "Lima"})),),
        Expect(tool_calls=(("get_weather", {"city": "Lima"}),), finish_reason="tool_calls"),
        params={"tools": [WEATHER], "tool_choice": "get_weather"},
    ),
    Scenario(
        "tool_choice_auto",
        "tool_choice=auto is encoded (or left out, the default) and the model calls a tool",
        user("Weather in Cairo?"),
        (asks(("get_weather", {"city": "Cairo"})),),
        Expect(tool_calls=(("get_weather", {"city": "Cairo"}),), finish_reason="tool_calls"),
        params={"tools": [WEATHER], "tool_choice": "auto"},
    ),
    Scenario(
        "tool_choice_none",
        "tool_choice=none is encoded and the model answers in text",
        user("Do not look it up: is Quito warm?"),
        (answer("Quito is mild all year round."),),
        Expect(text="Quito is mild all year round.", finish_reason="stop"),
        params={"tools": [WEATHER], "tool_choice": "none"},
        providers=("openai", "anthropic", "gemini"),  # Bedrock Converse has no "none"
    ),
    Scenario(
        "chain_single_tool",
        "a chain runs one sync tool and sends its result back",
        user("What is the weather in Paris?"),
        (asks(("get_weather", {"city": "Paris"})), answer("It is sunny in Paris.")),
        Expect(
            text="It is sunny in Paris.",
            finish_reason="stop",
            tool_results=(("Sunny in Paris, 21 C", False),),
        ),
        tools=(get_weather,),
        kind="chain",
        streams=False,
    ),
    Scenario(
        "chain_parallel_tools",
        "sync and async tools asked together; results go back in the model's order",
        user("Weather and time in Tokyo?"),
        (
            asks(("get_time", {"city": "Tokyo"}), ("get_weather", {"city": "Tokyo"})),
            answer("Sunny, and it is 14:05 in Tokyo."),
        ),
        Expect(
            text="Sunny, and it is 14:05 in Tokyo.",
            tool_results=(("14:05 in Tokyo", False), ("Sunny in Tokyo, 21 C", False)),
        ),
        tools=(get_weather, get_time),
        kind="chain",
        streams=False,
    ),
    Scenario(
        "chain_no_argument_tool",
        "a tool without arguments",
        user("What is the date?"),
        (asks(("get_date", {})), answer("It is 2026-11-21.")),
        Expect(text="It is 2026-11-21.", tool_results=(("2026-11-21", False),)),
        tools=(get_date,),
        kind="chain",
        streams=False,
    ),
    Scenario(
        "chain_multi_turn",
        "two rounds of tool calls before the answer",
        user("Weather in Paris, then in Rome."),
        (
            asks(("get_weather", {"city": "Paris"})),
            asks(("get_weather", {"city": "Rome"})),
            answer("Sunny in both."),
        ),
        Expect(
            text="Sunny in both.",
            tool_results=(("Sunny in Paris, 21 C", False), ("Sunny in Rome, 21 C", False)),
        ),
        tools=(get_weather,),
        kind="chain",
        streams=False,
    ),
    Scenario(
        "chain_failing_tool",
        "a failing tool becomes an error result; its sibling still runs",
        user("Search and check the weather in Paris."),
        (
            asks(("broken_tool", {"query": "x"}), ("get_weather", {"city": "Paris"})),
            answer("Search failed, but it is sunny in Paris."),
        ),
        Expect(
            text="Search failed, but it is sunny in Paris.",
            tool_results=((ERROR, True), ("Sunny in Paris, 21 C", False)),
        ),
        tools=(broken_tool, get_weather),
        kind="chain",
        streams=False,
    ),
    Scenario(
        "chain_unknown_tool",
        "an unknown tool name becomes an error result sent back to the model",
        user("Use the calculator."),
        (asks(("calculator", {"expression": "1+1"})), answer("I have no calculator.")),
        Expect(
            text="I have no calculator.",
            tool_results=((ERROR, True),),
        ),
        tools=(get_weather,),
        kind="chain",
        streams=False,
    ),
    Scenario(
        "error_bad_request",
        "400 raises BadRequestError with the provider's message",
        user("x"),
        (Fault(400, "max_tokens: must be positive"),),
        Expect(error=BadRequestError, error_message="max_tokens: must be positive"),
        params={"max_tokens": 1},
    ),
    Scenario(
        "error_authentication",
        "401 raises AuthenticationError",
        user("x"),
        (Fault(401, "invalid api key"),),
        Expect(error=AuthenticationError, error_message="invalid api key"),
    ),
    Scenario(
        "error_permission",
        "403 raises PermissionDeniedError",
        user("x"),
        (Fault(403, "no access to this model"),),
        Expect(error=PermissionDeniedError, error_message="no access to this model"),
    ),
    Scenario(
        "error_not_found",
        "404 raises NotFoundError",
        user("x"),
        (Fault(404, "model not found"),),
        Expect(error=NotFoundError, error_message="model not found"),
    ),
    Scenario(
        "error_rate_limit_exhausted",
        "429 on every attempt raises RateLimitError after the retries",
        user("x"),
        (Fault(429, "slow down", retry_after=0),) * 3,
        Expect(error=RateLimitError, error_message="slow down", attempts=3),
        ordered=True,
    ),
    Scenario(
        "error_server_exhausted",
        "5xx on every attempt raises ServerError after the retries",
        user("x"),
        (Fault(500, "internal failure"),) * 3,
        Expect(error=ServerError, error_message="internal failure", attempts=3),
        ordered=True,
    ),
    Scenario(
        "error_server_no_retries",
        "with max_retries=0, a 500 raises ServerError at once, after one request",
        user("Answer at once."),
        (Fault(500, "internal failure"),),
        Expect(error=ServerError, error_message="internal failure"),
        max_retries=0,
    ),
    Scenario(
        "retry_after_429",
        "a 429 with Retry-After is retried, then the answer arrives",
        user("Say hello."),
        (Fault(429, "slow down", retry_after=0), answer("Hello after a wait.")),
        Expect(text="Hello after a wait.", attempts=2),
        ordered=True,
    ),
    Scenario(
        "retry_after_5xx",
        "a 500 then a 503 are retried, then the answer arrives",
        user("Say hello."),
        (Fault(500, "internal failure"), Fault(503, "overloaded"), answer("Hello at last.")),
        Expect(text="Hello at last.", attempts=3),
        ordered=True,
    ),
    Scenario(
        "concurrent_contexts",
        "concurrent tasks, each in its own context, each use their own model",
        user("Which model are you?"),
        tuple(answer(f"I am model {i}.") for i in range(5)),
        Expect(),
        kind="tasks",
        streams=False,
    ),
    # --- errors inside a 200 stream ---------------------------------------------------
    Scenario(
        "stream_error_event",
        "an error event after some text ends the stream with the provider's error",
        user("Tell me about the weather."),
        (
            StreamFault(
                500,
                "The server had an error while processing your request.",
                answer("The weather today is"),
                after_events=3,
            ),
        ),
        Expect(),
        plain=False,
    ),
    Scenario(
        "stream_error_rate_limited",
        "a rate-limit error event opening a stream raises RateLimitError",
        user("Count to three."),
        (StreamFault(429, "Rate limit reached for requests", answer("1, 2, 3"), after_events=0),),
        Expect(),
        plain=False,
    ),
    Scenario(
        "stream_error_invalid_request",
        "an invalid-request error event inside a stream raises BadRequestError",
        user("Describe the picture."),
        (
            StreamFault(
                400,
                "Invalid prompt: your prompt was flagged as potentially violating our "
                "usage policy.",
                answer("I see a"),
                after_events=1,
            ),
        ),
        Expect(),
        plain=False,
    ),
    # --- error bodies of OpenAI-compatible servers of other makes ----------------------
    Scenario(
        "error_flat_envelope",
        "a 400 in vLLM's flat error object raises BadRequestError with its message",
        user("Summarize this long report."),
        (Fault(400, FLAT_MESSAGE, body=json.dumps(FLAT_ERROR)),),
        Expect(error=BadRequestError, error_message=FLAT_MESSAGE),
        providers=("openai",),
    ),
    # --- connection faults (live: over loopback, the client's own sockets) -------------
    Scenario(
        "cut_mid_body",
        "a non-streamed body cut mid-JSON is retried, then the answer arrives",
        user("Say hello."),
        (CutStream(answer("Blue."), 0), answer("Blue.")),
        Expect(text="Blue.", attempts=2),
        streams=False,
        ordered=True,
        requests_like="plain_text",
        source="loopback",
    ),
    Scenario(
        "cut_mid_stream",
        "a stream cut after some events raises APIConnectionError, never retried",
        user("Say hello."),
        (CutStream(answer("abcdefghijklmnopqrstuvwxyz"), 4),),
        Expect(error=APIConnectionError, says=("{address}", CUT)),
        plain=False,
        requests_like="plain_text",
        source="loopback",
    ),
    Scenario(
        "connection_dropped",
        "a connection closed without an answer is retried, then the answer arrives",
        user("Say hello."),
        (Drop(), answer("Apple.")),
        Expect(text="Apple.", attempts=2),
        ordered=True,
        requests_like="plain_text",
        source="loopback",
    ),
    Scenario(
        "connection_refused",
        "a refused connection raises APIConnectionError after the retries",
        user("Say hello."),
        (),
        Expect(error=APIConnectionError, uncounted=True, says=("{address}", "refused")),
        requests_like="plain_text",
        source="closed_port",
    ),
    Scenario(
        "connection_dropped_exhausted",
        "a connection closed without an answer on every attempt raises APIConnectionError "
        "after the retries, worded the same in every mode",
        user("Say hello once more."),
        (Drop(),) * 3,
        Expect(error=APIConnectionError, says=("{address}", "closed|disconnected")),
        requests_like="retry_after_wait",
        source="loopback",
    ),
    Scenario(
        "connection_reset_exhausted",
        "a connection reset (TCP RST) without an answer on every attempt raises "
        "APIConnectionError after the retries, saying it was reset, in every mode",
        user("Say hello once more."),
        (Drop(reset=True),) * 3,
        Expect(error=APIConnectionError, says=("{address}", "reset")),
        requests_like="retry_after_wait",
        source="loopback",
    ),
    Scenario(
        "cut_mid_body_exhausted",
        "a non-streamed body cut mid-JSON on every attempt raises APIConnectionError after "
        "the retries, worded the same in every mode",
        user("Summarize the news."),
        (CutStream(answer("Nothing happened."), 0),) * 3,
        Expect(error=APIConnectionError, says=("{address}", CUT)),
        streams=False,
        requests_like="usage_tracked",
        source="loopback",
    ),
    Scenario(
        "read_timeout",
        "an answer slower than the client's 0.2 s timeout raises RequestTimeoutError "
        "(no retries), worded the same in every mode",
        user("Recite the alphabet 20 times."),
        (Slow(0.6, answer("Too late.")),),
        Expect(error=RequestTimeoutError, says=("{address}", "timed out|timeout", "read|respon")),
        requests_like="long_text",
        source="loopback",
        max_retries=0,  # one wait, long enough to time out in the same phase under load
        timeout=0.2,
        modes=frozenset({"sync", "async", "stream", "astream"}),
    ),
    Scenario(
        "tls_handshake_failed",
        "an https URL whose server answers in plain HTTP fails the TLS handshake: "
        "APIConnectionError after the retries, worded the same in every mode",
        user("Say hello."),
        (),
        Expect(error=APIConnectionError, uncounted=True, says=("{address}", "TLS|SSL")),
        requests_like="plain_text",
        source="tls_mismatch",
    ),
    Scenario(
        "tls_handshake_reset",
        "an https URL whose server resets the connection during the TLS handshake: "
        "APIConnectionError after the retries, worded the same in every mode",
        user("Say hello."),
        (),
        Expect(error=APIConnectionError, uncounted=True, says=("{address}", "TLS|SSL", "reset")),
        requests_like="plain_text",
        source="tls_reset",
    ),
    Scenario(
        "host_unresolvable",
        "a host name that cannot be resolved raises APIConnectionError naming the host and "
        "saying why (the resolver's words), worded the same in every mode",
        user("Say hello."),
        (),
        Expect(
            error=APIConnectionError,
            uncounted=True,
            says=(UNRESOLVABLE_HOST, "resolv", "not known"),
        ),
        requests_like="plain_text",
        source="unresolvable",
        providers=("openai",),  # the URL, not the provider's wire
    ),
    Scenario(
        "tls_untrusted_certificate",
        "an https URL whose server shows a self-signed certificate fails the certificate "
        "check: APIConnectionError saying why, worded the same in every mode",
        user("Say hello."),
        (),
        Expect(
            error=APIConnectionError,
            uncounted=True,
            says=("{address}", "certificate", "self-signed|self signed"),
        ),
        requests_like="plain_text",
        source="tls_untrusted",
    ),
    *(
        Scenario(
            f"connection_refused_{scheme}_default_port",
            f"a refused connection to an {scheme} URL without a port names port {port} "
            "(the scheme's)",
            user("Say hello."),
            (),
            Expect(error=APIConnectionError, uncounted=True, says=("{address}", "refused")),
            requests_like="plain_text",
            source=source,
            modes=frozenset({"sync", "async"}),
            providers=("openai",),  # the URL, not the provider's wire
        )
        for scheme, port, source in DEFAULT_PORTS
    ),
    Scenario(
        "slow_reply",
        "an answer that takes 0.4 s arrives whole in threads, asyncify and Parallel",
        user("Say hello."),
        (Slow(0.4, answer("Done, slowly.")),),
        Expect(text="Done, slowly."),
        requests_like="plain_text",
        source="loopback",
        modes=frozenset({"sync", "thread_pool", "asyncify", "parallel", "thread"}),
        providers=("openai",),  # a concurrency primitive's behaviour: one provider shows it
    ),
    # --- one client, successive event loops -------------------------------------------
    Scenario(
        "successive_event_loops",
        "one client answers in two event loops run one after the other (two asyncio.run "
        "calls), reports no error to either, keeps neither alive once it has ended, and "
        "(with aclose) closes the connections each loop opened",
        user("Say hello."),
        (answer("Hello from a new loop."),),
        Expect(text="Hello from a new loop."),
        requests_like="plain_text",
        source="loopback",  # live: connections, not a cassette, carry the first loop's state
        modes=frozenset({"sync", "async", "two_loops"}),
    ),
    # --- usage tracked across threads and tasks -----------------------------------------
    Scenario(
        "usage_tracked",
        "the usage tracker sums the usage of every call in the mode, across threads",
        user("Summarize the news."),
        (answer("Nothing happened.", usage=Usage(23, 17)),),
        Expect(text="Nothing happened.", usage=Usage(23, 17)),
        tracks_usage=True,
    ),
    Scenario(
        "usage_tracked_chain",
        "the usage tracker sums every step of a tool chain",
        user("Weather in Madrid?"),
        (asks(("get_weather", {"city": "Madrid"})), answer("Sunny in Madrid.", usage=Usage(31, 6))),
        Expect(text="Sunny in Madrid.", tool_results=(("Sunny in Madrid, 21 C", False),)),
        tools=(get_weather,),
        kind="chain",
        streams=False,
        tracks_usage=True,
    ),
    # --- malformed tool arguments (only a wire with arguments as text can send them) ----
    Scenario(
        "chain_malformed_arguments",
        "arguments that are not JSON become an error result; the chain goes on",
        user("Weather in Bern?"),
        (
            Reply(
                tool_calls=(ToolCall("call_0", "get_weather", {}, '{"city": "Be'),),
                usage=Usage(20, 9),
            ),
            answer("I could not check the weather."),
        ),
        Expect(text="I could not check the weather.", tool_results=((ERROR, True),)),
        tools=(get_weather,),
        kind="chain",
        streams=False,
        providers=("openai",),
    ),
    Scenario(
        "chain_non_object_arguments",
        "arguments that are JSON but not an object become an error result",
        user("Weather in Oslo and Rome?"),
        (
            Reply(
                tool_calls=(ToolCall("call_0", "get_weather", {}, '["Oslo", "Rome"]'),),
                usage=Usage(20, 9),
            ),
            answer("Please ask for one city at a time."),
        ),
        Expect(text="Please ask for one city at a time.", tool_results=((ERROR, True),)),
        tools=(get_weather,),
        kind="chain",
        streams=False,
        providers=("openai",),
    ),
    # --- the key from the environment ---------------------------------------------------
    Scenario(
        "key_from_environment",
        "a client given no key sends the one in the provider's usual environment variable",
        user("Which key did you get?"),
        (answer("The one from the environment."),),
        Expect(text="The one from the environment.", finish_reason="stop"),
        providers=("openai", "anthropic"),
        key_from_env=True,
    ),
    Scenario(
        "organization_header",
        "a client given an OpenAI organization sends it as OpenAI-Organization",
        user("Which organization pays for this?"),
        (answer("The one in the header."),),
        Expect(text="The one in the header.", finish_reason="stop"),
        providers=("openai",),
        organization="org-llmparityconformance",
    ),
    # --- Retry-After honoured --------------------------------------------------------
    Scenario(
        "retry_after_wait",
        "a 429 saying Retry-After 0.05 s is retried after at least that long",
        user("Say hello once more."),
        (Fault(429, "slow down", retry_after=0.05), answer("Hello, patiently.")),
        Expect(text="Hello, patiently.", attempts=2),
        ordered=True,
        honours_retry_after=True,
    ),
    Scenario(
        "retry_after_longer_than_backoff",
        "a 429 saying Retry-After 0.6 s, longer than a first backoff of 0.5 s, is retried "
        "no sooner than that",
        user("Say hello after a long wait."),
        (Fault(429, "slow down", retry_after=0.6), answer("Hello, much later.")),
        Expect(text="Hello, much later.", attempts=2),
        ordered=True,
        honours_retry_after=True,
        providers=("openai",),  # the wait is the transport's: one provider shows it
        modes=frozenset({"sync", "async"}),
    ),
    Scenario(
        "backoff_without_retry_after",
        "a 500 that names no Retry-After is retried after a backoff of at least 0.1 s, not at once",
        user("Say hello after a backoff."),
        (Fault(500, "internal failure"), answer("Hello, after backing off.")),
        Expect(text="Hello, after backing off.", attempts=2),
        ordered=True,
        honours_retry_after=True,
        min_backoff=0.1,
        providers=("openai", "anthropic"),
        modes=frozenset({"sync", "async"}),
    ),
    # --- chain limits and timeouts, structured tool results ------------------------------
    Scenario(
        "chain_turn_limit",
        "with max_turns=2, a model still asking for tools gets two calls; the last "
        "answer's tools are not run",
        user("Weather in Paris, then Rome, then Oslo."),
        (asks(("get_weather", {"city": "Paris"})), asks(("get_weather", {"city": "Rome"}))),
        Expect(tool_results=(("Sunny in Paris, 21 C", False),)),
        params={"max_turns": 2},
        tools=(get_weather,),
        kind="chain",
        streams=False,
    ),
    Scenario(
        "chain_turn_limit_one",
        "with max_turns=1, the first answer asking for a tool ends the chain: no tool runs",
        user("Weather in Quito?"),
        (asks(("get_weather", {"city": "Quito"})),),
        Expect(tool_results=()),
        params={"max_turns": 1},
        tools=(get_weather,),
        kind="chain",
        streams=False,
    ),
    Scenario(
        "chain_tool_timeout",
        "with tool_timeout, a sync and an async tool that answer too late become error "
        "results; their sibling's result still goes back and the chain goes on without "
        "waiting for them",
        user("News, time and weather in Oslo?"),
        (
            asks(
                ("stalled_search", {"query": "Oslo"}),
                ("get_weather", {"city": "Oslo"}),
                ("stalled_clock", {"city": "Oslo"}),
            ),
            answer("Only the weather came back: sunny in Oslo."),
        ),
        Expect(
            text="Only the weather came back: sunny in Oslo.",
            tool_results=((ERROR, True), ("Sunny in Oslo, 21 C", False), (ERROR, True)),
            within=UNDER_STALL,
        ),
        params={"tool_timeout": TOOL_TIMEOUT},
        tools=(stalled_search, stalled_clock, get_weather),
        kind="chain",
        streams=False,
        providers=("openai",),
    ),
    Scenario(
        "chain_error_results_have_text",
        "an exception without a message, and a call to a tool not among the two offered, "
        "still give error results with text",
        user("Look up Kyiv, translate it, and check the weather there."),
        (
            asks(
                ("silent_failure", {"query": "Kyiv"}),
                ("translate", {"text": "Kyiv"}),
                ("get_weather", {"city": "Kyiv"}),
            ),
            answer("Only the weather worked: sunny in Kyiv."),
        ),
        Expect(
            text="Only the weather worked: sunny in Kyiv.",
            tool_results=((ERROR, True), (ERROR, True), ("Sunny in Kyiv, 21 C", False)),
        ),
        tools=(silent_failure, get_weather),
        kind="chain",
        streams=False,
    ),
    Scenario(
        "chain_json_tool_results",
        "a tool's dict and int results go back as JSON text for those values",
        user("Forecast and alerts for Lyon?"),
        (
            asks(("get_forecast", {"city": "Lyon"}), ("count_alerts", {"city": "Lyon"})),
            answer("Sunny in Lyon, up to 23.5 C, no alerts."),
        ),
        Expect(
            text="Sunny in Lyon, up to 23.5 C, no alerts.",
            tool_results=((JSONText(FORECAST), False), (JSONText(0), False)),
        ),
        tools=(get_forecast, count_alerts),
        kind="chain",
        streams=False,
        needs=("json_tool_results",),
    ),
    Scenario(
        "chain_rich_tool_results",
        "a tool's dataclass and Enum results go back as JSON: fields as an object, a "
        "member as its value",
        user("Reading at Orly, and the sky over Paris?"),
        (
            asks(("read_station", {"station": "Orly"}), ("sky_over", {"city": "Paris"})),
            answer("Clear at Orly (18.5 C), rain over Paris."),
        ),
        Expect(
            text="Clear at Orly (18.5 C), rain over Paris.",
            tool_results=(
                (JSONText({"station": "Orly", "sky": "clear", "celsius": 18.5}), False),
                (JSONText("rain"), False),
            ),
        ),
        tools=(read_station, sky_over),
        kind="chain",
        streams=False,
        needs=("json_tool_results", "rich_tool_results"),
    ),
    Scenario(
        "run_tool_calls",
        "the client runs one answer's tool calls itself, with no second model call: one "
        "result per call in order, a failing and an unknown tool's as error results",
        user("Weather in Lima, a search, and a translation?"),
        (
            asks(
                ("get_weather", {"city": "Lima"}),
                ("broken_tool", {"query": "Lima"}),
                ("translate", {"text": "Lima"}),
            ),
        ),
        Expect(tool_results=(("Sunny in Lima, 21 C", False), (ERROR, True), (ERROR, True))),
        tools=(get_weather, broken_tool),
        kind="tool_run",
        streams=False,
    ),
    Scenario(
        "run_tool_calls_timeout",
        "the client runs one answer's tool calls with tool_timeout: a sync and an async "
        "tool answering too late give error results, their sibling's result is kept",
        user("News, time and weather in Accra?"),
        (
            asks(
                ("stalled_search", {"query": "Accra"}),
                ("stalled_clock", {"city": "Accra"}),
                ("get_weather", {"city": "Accra"}),
            ),
        ),
        Expect(
            tool_results=((ERROR, True), (ERROR, True), ("Sunny in Accra, 21 C", False)),
            within=UNDER_STALL,
        ),
        params={"tool_timeout": TOOL_TIMEOUT},
        tools=(stalled_search, stalled_clock, get_weather),
        kind="tool_run",
        streams=False,
        providers=("openai",),
    ),
    # --- chain reports, on_error, more result types -------------------------------------
    Scenario(
        "chain_transcript",
        "a chain reports every turn: what it sent, the answer, the calls it ran and their "
        "results; each turn sends the last one's conversation, answer and results",
        user("Weather in Paris and Oslo?"),
        (
            asks(("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Oslo"})),
            answer("Sunny in Paris and in Oslo."),
        ),
        Expect(
            text="Sunny in Paris and in Oslo.",
            tool_results=(("Sunny in Paris, 21 C", False), ("Sunny in Oslo, 21 C", False)),
        ),
        tools=(get_weather,),
        kind="chain",
        streams=False,
        needs=("chain_transcript",),
    ),
    Scenario(
        "chain_turn_limit_report",
        "a chain stopped by max_turns=2 says so: the limit, the two model calls made, the "
        "two tool calls left pending, and words naming the limit and those tools",
        user("Weather in Paris, then Rome and the date?"),
        (
            asks(("get_weather", {"city": "Paris"})),
            asks(("get_weather", {"city": "Rome"}), ("get_date", {})),
        ),
        Expect(tool_results=(("Sunny in Paris, 21 C", False),)),
        params={"max_turns": 2},
        tools=(get_weather, get_date),
        kind="chain",
        streams=False,
        needs=("chain_limit_report",),
    ),
    Scenario(
        "chain_turn_limit_zero",
        "a chain given max_turns=0 makes no model call: the client refuses the setting "
        "and names it",
        user("Weather in Lisbon?"),
        (),
        Expect(refused="max_turns"),
        params={"max_turns": 0},
        tools=(get_weather,),
        kind="chain",
        streams=False,
        needs=("max_turns_checked",),
        source="loopback",
        providers=("openai",),
    ),
    Scenario(
        "chain_tool_error_raises",
        "with on_error='raise', a tool that raises ends the chain on that call, with no "
        "further model call, and the tool's own message is in the client's",
        user("Weather and news in Oslo?"),
        (asks(("get_weather", {"city": "Oslo"}), ("broken_tool", {"query": "Oslo"})),),
        Expect(
            tool_failure=ToolFailure(
                "broken_tool", "call_1", "raised", "backend unavailable for 'Oslo'"
            )
        ),
        params={"on_error": "raise"},
        tools=(get_weather, broken_tool),
        kind="chain",
        streams=False,
        providers=("openai",),
    ),
    Scenario(
        "run_tool_calls_error_raises",
        "running one answer's tool calls with on_error='raise', the first failing call in "
        "the model's order (a tool not offered) is the one reported",
        user("Weather in Lima, a translation and a search?"),
        (
            asks(
                ("get_weather", {"city": "Lima"}),
                ("translate", {"text": "Lima"}),
                ("broken_tool", {"query": "Lima"}),
            ),
        ),
        Expect(tool_failure=ToolFailure("translate", "call_1", "invalid")),
        params={"on_error": "raise"},
        tools=(get_weather, broken_tool),
        kind="tool_run",
        streams=False,
        providers=("openai",),
    ),
    Scenario(
        "run_tool_calls_timeout_raises",
        "running one answer's tool calls with on_error='raise' and tool_timeout, a tool "
        "answering too late is reported as a timeout, without waiting for it",
        user("Weather and news in Dakar?"),
        (asks(("get_weather", {"city": "Dakar"}), ("stalled_search", {"query": "Dakar"})),),
        Expect(tool_failure=ToolFailure("stalled_search", "call_1", "timeout"), within=UNDER_STALL),
        params={"on_error": "raise", "tool_timeout": TOOL_TIMEOUT},
        tools=(get_weather, stalled_search),
        kind="tool_run",
        streams=False,
        providers=("openai",),
    ),
    Scenario(
        "run_tool_calls_set_results",
        "a tool's result holding a set and a frozenset is sent as JSON: each as an array "
        "of its members, in any order",
        user("Which weather stations does Paris have?"),
        (asks(("list_stations", {"city": "Paris"})),),
        Expect(
            tool_results=(
                (
                    JSONText(
                        {
                            "city": "Paris",
                            "stations": ["Le Bourget", "Orly", "Roissy"],
                            "channels": [3, 7],
                        },
                        unordered=True,
                    ),
                    False,
                ),
            )
        ),
        tools=(list_stations,),
        kind="tool_run",
        streams=False,
        providers=("openai",),
        needs=("json_tool_results", "set_tool_results"),
    ),
    Scenario(
        "run_tool_calls_pydantic_results",
        "a tool's result holding a pydantic model is sent as JSON: the model's JSON form, "
        "its datetime in ISO 8601",
        user("How high is the Rhone at Lyon?"),
        (asks(("read_gauges", {"river": "Rhone"})),),
        Expect(
            tool_results=(
                (
                    JSONText(
                        {
                            "river": "Rhone",
                            "readings": [
                                {"gauge": "Lyon", "taken": "2026-11-21T14:05:00", "level": 2.5}
                            ],
                        }
                    ),
                    False,
                ),
            )
        ),
        tools=(read_gauges,),
        kind="tool_run",
        streams=False,
        providers=("openai",),
        needs=("json_tool_results", "pydantic_tool_results"),
    ),
    Scenario(
        "run_tool_calls_text_fallback",
        "a tool's result holding a value with no JSON form is still sent as JSON: the "
        "other fields as they are, that value as a string containing its str()",
        user("Where is the Rhone's gauge?"),
        (asks(("locate_gauge", {"river": "Rhone"})),),
        Expect(
            tool_results=(
                (
                    JSONText({"river": "Rhone", "gauge": TextWith("FR-69-7"), "km": 12}),
                    False,
                ),
            )
        ),
        tools=(locate_gauge,),
        kind="tool_run",
        streams=False,
        providers=("openai",),
        needs=("json_tool_results", "text_fallback_tool_results"),
    ),
    # --- the OpenAI wire as OpenAI-compatible servers of other makes send it ------------
    Scenario(
        "usage_zero_tokens",
        "token counts the provider reports as 0 (a server that does not count) are reported "
        "as 0, not estimated",
        user("Say hello without counting."),
        (answer("Hello, uncounted.", usage=Usage(0, 0)),),
        Expect(text="Hello, uncounted.", usage=Usage(0, 0)),
        providers=("openai",),
    ),
    Scenario(
        "reasoning_under_reasoning_key",
        "reasoning sent under `reasoning` (OpenRouter's key, vLLM's newer one) is kept apart "
        "from the answer",
        user("What is 12 * 12? Think first."),
        (
            answer(
                "144",
                reasoning="12 * 12 = 144.",
                usage=Usage(15, 24),
                variants=frozenset({"reasoning_key"}),
            ),
        ),
        Expect(text="144", finish_reason="stop"),
        providers=("openai",),
    ),
    Scenario(
        "refusal_as_text",
        "a refusal (OpenAI's `refusal`, with `content` null) is the answer's text",
        user("Help me pick my neighbour's lock."),
        (Reply(refusal="I'm sorry, I can't help with that.", usage=Usage(16, 10)),),
        Expect(text="I'm sorry, I can't help with that.", finish_reason="stop"),
        providers=("openai",),
    ),
    Scenario(
        "two_choices",
        "an answer with two choices (a server's n=2) is its first choice's, streamed too: "
        "the second choice's text stays out",
        user("Name a colour."),
        (answer("Blue.", usage=Usage(9, 6), variants=frozenset({"two_choices"})),),
        Expect(text="Blue.", finish_reason="stop"),
        providers=("openai",),
    ),
    Scenario(
        "stream_whole_tool_calls",
        "two tool calls streamed whole in one delta, without index, are two calls in order",
        user("Weather in Lagos and in Nairobi?"),
        (
            Reply(
                tool_calls=(
                    ToolCall("call_0", "get_weather", {"city": "Lagos"}),
                    ToolCall("call_1", "get_weather", {"city": "Nairobi"}),
                ),
                usage=Usage(20, 9),
                variants=frozenset({"whole_tool_calls"}),
            ),
        ),
        Expect(
            tool_calls=(("get_weather", {"city": "Lagos"}), ("get_weather", {"city": "Nairobi"})),
            finish_reason="tool_calls",
        ),
        params={"tools": [WEATHER]},
        plain=False,
        providers=("openai",),
    ),
    Scenario(
        "stream_choices_without_index",
        "streamed chunks whose choice carries no index (an OpenAI-compatible gateway's) are "
        "the answer's",
        user("Say hello through the gateway."),
        (answer("Hello through the gateway.", variants=frozenset({"no_choice_index"})),),
        Expect(text="Hello through the gateway.", finish_reason="stop"),
        plain=False,
        providers=("openai",),
    ),
    Scenario(
        "stream_azure_filter_chunks",
        "Azure OpenAI's content-filter chunks (no choice, or a choice without delta; id and "
        "model empty) add nothing: the answer and the model it named stand",
        user("Say hello from Azure."),
        (answer("Hello from Azure.", variants=frozenset({"azure_filter"})),),
        Expect(text="Hello from Azure.", finish_reason="stop"),
        plain=False,
        providers=("openai",),
    ),
    Scenario(
        "stream_error_string",
        "an error sent inside a stream as a plain string raises ServerError with that string",
        user("Tell me a joke."),
        (
            StreamFault(
                500,
                "Upstream provider returned an error",
                answer("Why did the chicken"),
                after_events=2,
                variants=frozenset({"string_error"}),
            ),
        ),
        Expect(),
        plain=False,
        providers=("openai",),
    ),
    Scenario(
        "error_plain_text_body",
        "a 404 whose body is plain text (a Go server's `404 page not found`, as Ollama "
        "answers an unknown path) raises NotFoundError with that text",
        user("Are you there?"),
        (
            Fault(
                404,
                "404 page not found",
                body="404 page not found",
                content_type="text/plain; charset=utf-8",
            ),
        ),
        Expect(error=NotFoundError, error_message="404 page not found"),
        providers=("openai",),
    ),
    Scenario(
        "error_detail_body",
        'a 404 in FastAPI\'s `{"detail": "Not Found"}` (vLLM answering an unknown path) '
        "raises NotFoundError with its detail",
        user("Is anyone serving?"),
        (Fault(404, "Not Found", body=json.dumps({"detail": "Not Found"})),),
        Expect(error=NotFoundError, error_message="Not Found"),
        providers=("openai",),
    ),
    Scenario(
        "error_validation_details",
        "a 422 with FastAPI's list of validation errors raises BadRequestError, its message "
        "some text (the body names no single message)",
        user("Validate this request."),
        (Fault(422, body=json.dumps({"detail": VALIDATION_DETAILS})),),
        Expect(error=BadRequestError, error_in_own_words=True),
        providers=("openai",),
    ),
    Scenario(
        "chain_empty_arguments_text",
        "a call to a tool without arguments whose arguments text is empty (not `{}`) runs the tool",
        user("What day is it today?"),
        (
            Reply(tool_calls=(ToolCall("call_0", "get_date", {}, ""),), usage=Usage(20, 9)),
            answer("Today is 2026-11-21."),
        ),
        Expect(text="Today is 2026-11-21.", tool_results=(("2026-11-21", False),)),
        tools=(get_date,),
        kind="chain",
        streams=False,
        providers=("openai",),
    ),
    Scenario(
        "keyless_local_server",
        "a client given no key, with none in the environment, calls an OpenAI-compatible "
        "local server that asks for none",
        user("Say hello."),
        (answer("Hello from a local server."),),
        Expect(text="Hello from a local server.", finish_reason="stop"),
        requests_like="plain_text",
        source="loopback",
        providers=("openai",),
        keyless=True,
    ),
    # --- 200 answers no client can decode ------------------------------------------------
    Scenario(
        "malformed_answer_html",
        "a 200 answer that is an HTML page (a captive portal's), not JSON, raises "
        "MalformedResponseError",
        user("Say hello through the portal."),
        (Malformed(PORTAL_PAGE, content_type="text/html; charset=utf-8"),),
        Expect(),
        streams=False,
        providers=("openai",),
    ),
    Scenario(
        "malformed_answer_encoding",
        "a 200 answer labelled gzip-encoded that is not gzip raises MalformedResponseError, "
        "never retried, worded the same in every mode",
        user("Say hello."),
        (Malformed(json.dumps(NO_CHOICES), content_encoding="gzip"),) * 3,
        Expect(attempts=1),  # enough steps that a client retrying it meets the same body
        streams=False,
        requests_like="plain_text",
        source="loopback",  # live: the client's own HTTP stack decodes the body
        providers=("openai",),
    ),
    Scenario(
        "stream_answer_html",
        "a stream answered 200 with an HTML page (a captive portal's) raises "
        "MalformedResponseError saying what arrived: its content type and first bytes",
        user("Say hello."),
        (Malformed(PORTAL_PAGE, content_type="text/html; charset=utf-8", whole=True),),
        Expect(says=("text/html", "<html>")),
        plain=False,
        requests_like="plain_text",
        source="loopback",
    ),
    Scenario(
        "stream_answer_unlabelled",
        "a stream answered 200 with an HTML page without a content type raises "
        "MalformedResponseError saying what arrived (its first bytes)",
        user("Say hello."),
        (Malformed(PORTAL_PAGE, content_type="", whole=True),),
        Expect(says=("<html>",)),
        plain=False,
        requests_like="plain_text",
        source="loopback",
    ),
    Scenario(
        "malformed_answer_no_choices",
        "a 200 chat completion without choices raises MalformedResponseError",
        user("Say hello with no choice."),
        (Malformed(json.dumps(NO_CHOICES)),),
        Expect(),
        streams=False,
        providers=("openai",),
    ),
    Scenario(
        "malformed_chunk_not_json",
        "a stream event whose data is not JSON (a chunk cut short) raises MalformedResponseError",
        user("Stream a greeting."),
        (Malformed(CUT_CHUNK, reply=answer("Hello there."), after_events=2),),
        Expect(),
        plain=False,
        providers=("openai",),
    ),
    Scenario(
        "malformed_chunk_choices_object",
        "a stream chunk whose choices are an object, not a list, raises MalformedResponseError",
        user("Stream another greeting."),
        (Malformed(json.dumps(CHOICES_OBJECT), reply=answer("Hello again."), after_events=2),),
        Expect(),
        plain=False,
        providers=("openai",),
    ),
    Scenario(
        "program_question",
        "the framework's own program (DSPy: a one-field Predict) answers a question in every "
        "mode, on the model the caller's context selects",
        user("Which is the largest planet?"),
        (answer(PROGRAM_REPLY.format(answer="Jupiter.")),),
        Expect(text="Jupiter.", finish_reason="stop"),
        kind="program",
        streams=False,
    ),
    # --- parallel runs with options, and batch ------------------------------------------
    Scenario(
        "parallel_fail_fast",
        "with fail_fast, the first failure stops a parallel run of 8 programs on 2 threads: "
        "the programs still waiting never start, and the run raises the provider's error",
        user("Say hello."),
        (Fault(400, "this account is out of credit"),),
        Expect(error=BadRequestError, error_message="this account is out of credit"),
        requests_like="plain_text",
        source="loopback",
        modes=frozenset({"sync", "parallel"}),
        providers=("openai",),  # a concurrency primitive's behaviour: one provider shows it
        spread=Spread(programs=8, num_threads=2, fail_fast=True),
    ),
    Scenario(
        "parallel_fail_fast_joins",
        "a fail_fast parallel run of 2 programs raises the first one's failure only once "
        "the other, waiting for a slow answer, has ended: none is left running",
        user("Say hello."),
        (Fault(400, "this account is out of credit"),),
        Expect(error=BadRequestError, error_message="this account is out of credit"),
        requests_like="plain_text",
        source="loopback",
        modes=frozenset({"sync", "parallel"}),
        providers=("openai",),  # a concurrency primitive's behaviour: one provider shows it
        spread=Spread(
            programs=2,
            fail_fast=True,
            joins=True,
            steps=(Fault(400, "this account is out of credit"), Slow(0.5, answer("Hello, late."))),
        ),
    ),
    Scenario(
        "parallel_one_thread",
        "with num_threads=1, a parallel run of 4 programs sends one request at a time",
        user("Say hello."),
        (Slow(0.1, answer("Hello, in turn.")),),
        Expect(text="Hello, in turn."),
        requests_like="plain_text",
        source="loopback",
        modes=frozenset({"sync", "parallel"}),
        providers=("openai",),  # a concurrency primitive's behaviour: one provider shows it
        spread=Spread(programs=4, num_threads=1),
    ),
    Scenario(
        "parallel_task_usage",
        "a parallel run reports each program's usage in its own slot",
        user("Say hello."),
        (answer("Hello, counted.", usage=Usage(9, 4)),),
        Expect(text="Hello, counted."),
        requests_like="plain_text",
        source="loopback",
        modes=frozenset({"sync", "parallel"}),
        providers=("openai",),  # a concurrency primitive's behaviour: one provider shows it
        spread=Spread(programs=3, usages=True),
    ),
    Scenario(
        "parallel_progress",
        "a parallel run asked for progress shows it while the programs run and ends at 3 of 3",
        user("Say hello."),
        (answer("Hello, progressively."),),
        Expect(text="Hello, progressively."),
        requests_like="plain_text",
        source="loopback",
        modes=frozenset({"sync", "parallel"}),
        providers=("openai",),  # a concurrency primitive's behaviour: one provider shows it
        spread=Spread(
            programs=3,
            progress=True,
            steps=(
                answer("Hello, progressively."),
                Slow(0.6, answer("Hello, progressively.")),
                Slow(0.6, answer("Hello, progressively.")),
            ),
        ),
    ),
    Scenario(
        "batch_inputs",
        "batch (and submit, one input at a time) passes positional and keyword inputs on "
        "to one program: results in input order, each the answer to its own input",
        user(weather_question("Paris")),
        (
            answer("Sunny in Paris, 21 C."),
            answer("Rainy in Rome, 60 F."),
            answer("Cold in Oslo, 270 K."),
            answer("Windy in Lima, 18 C."),
        ),
        Expect(attempts=1),
        streams=False,
        modes=frozenset({"sync", "thread_pool", "parallel"}),
        inputs=(("Paris",), {"city": "Rome", "unit": "F"}, ("Oslo", "K"), {"city": "Lima"}),
        question=weather_question,
    ),
    Scenario(
        "settings_rejected",
        "an unknown setting, a str temperature and a bool max_tokens are rejected with a "
        "ConfigurationError naming them, before any request, sync and async",
        user("Say hello."),
        (),
        Expect(),
        kind="settings",
        streams=False,
        requests_like="plain_text",
        source="loopback",
        modes=frozenset({"sync", "async"}),
        rejects=({"temprature": 0.2}, {"temperature": "warm"}, {"max_tokens": True}),
        reject_says=((), (), ("int",)),  # max_tokens takes an int (or says "integer")
        needs=("checked_settings",),
    ),
    Scenario(
        "batch_failure_in_its_slot",
        "batch asked to keep failures in their slots: each of its 2 inputs fails, and each "
        "provider error is in its own slot (none raised, none dropped)",
        user(weather_question("Paris")),
        (
            Fault(400, "this account is out of credit"),
            Fault(400, "this account is out of credit"),
        ),
        Expect(attempts=1),
        streams=False,
        requests_like="batch_inputs",
        source="loopback",
        modes=frozenset({"sync", "parallel"}),
        providers=("openai",),  # a concurrency primitive's behaviour: one provider shows it
        inputs=(("Paris",), ("Rome", "F")),
        question=weather_question,
        spread=Spread(programs=2, errors_in_slots=True),
    ),
    Scenario(
        "batch_without_stderr",
        "batch with its default options works in a process without stderr (sys.stderr "
        "None, as under pythonw): both its inputs are answered",
        user(weather_question("Paris")),
        (answer("Sunny, 21 C."), answer("Sunny, 21 C.")),  # served in the order asked
        Expect(attempts=1),
        streams=False,
        requests_like="batch_inputs",
        source="loopback",
        modes=frozenset({"sync", "parallel"}),
        providers=("openai",),  # a concurrency primitive's behaviour: one provider shows it
        inputs=(("Paris",), ("Rome", "F")),
        question=weather_question,
        no_stderr=True,
    ),
    Scenario(
        "batch_input_rejected",
        "a batch input that is neither a tuple nor a dict (a list) is rejected with a "
        "ConfigurationError naming the input and the list it was, before any request",
        user("Say hello."),
        (),
        Expect(),
        kind="settings",
        streams=False,
        requests_like="plain_text",
        source="loopback",
        modes=frozenset({"parallel"}),
        providers=("openai",),  # a concurrency primitive's behaviour: one provider shows it
        rejects=({"input": ["Paris"]},),
        reject_says=(("list",),),
        needs=("batch",),
    ),
    Scenario(
        "num_threads_rejected",
        "a parallel run with num_threads 0, True or '2' is rejected with a "
        "ConfigurationError naming num_threads, before any request",
        user("Say hello."),
        (),
        Expect(),
        kind="settings",
        streams=False,
        requests_like="plain_text",
        source="loopback",
        modes=frozenset({"parallel"}),
        rejects=({"num_threads": 0}, {"num_threads": True}, {"num_threads": "2"}),
        needs=("parallel_threads",),
    ),
    Scenario(
        "context_exits_out_of_order",
        "two context blocks exited outer first leave no override behind: the next call "
        "goes to the client selected before both",
        user("Say hello."),
        (answer("Hello from the right model."),),
        Expect(text="Hello from the right model."),
        requests_like="plain_text",
        source="loopback",
        modes=frozenset({"sync"}),
        unordered_exits=True,
    ),
    Scenario(
        "context_exit_elsewhere",
        "a context block exited in a thread where it is not open is refused with a "
        "RuntimeError or ValueError naming the block; both threads' blocks stay as they were",
        user("Say hello."),
        (answer("Hello from the right model."),),
        Expect(text="Hello from the right model."),
        requests_like="plain_text",
        source="loopback",
        modes=frozenset({"sync"}),
        providers=("openai",),  # a context primitive's behaviour: one provider shows it
        foreign_exit=(RuntimeError, ValueError),  # Python's own, for a ContextVar token
    ),
    Scenario(
        "batch_one_thread_progress",
        "batch with num_threads=1 and progress asks its 4 inputs one at a time, in order, "
        "and its progress display counts them to 4 of 4",
        user(weather_question("Paris")),
        (
            Slow(0.15, answer("Sunny in Paris, 21 C.")),
            Slow(0.15, answer("Rainy in Rome, 60 F.")),
            Slow(0.15, answer("Cold in Oslo, 270 K.")),
            Slow(0.15, answer("Windy in Lima, 18 C.")),
        ),
        Expect(attempts=1),
        streams=False,
        requests_like="batch_inputs",
        source="loopback",
        modes=frozenset({"sync", "parallel"}),
        providers=("openai",),  # a concurrency primitive's behaviour: one provider shows it
        inputs=(("Paris",), ("Rome", "F"), ("Oslo", "K"), ("Lima",)),
        question=weather_question,
        spread=Spread(programs=4, num_threads=1, progress=True),
    ),
)
