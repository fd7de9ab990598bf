"""What the conformance suite needs from a client under test: the adapter protocol.

An adapter wraps one client library (the reference client, an official SDK, litellm,
DSPy...) behind this small interface. It only translates: requests from the suite's
terms to the library's, results and errors from the library's to ``harness.types``. It
never decides what is right; every expectation lives in the scenarios.

**Features.** ``supports(feature, provider)`` declares what the client has (``FEATURES``).
A case needing a feature the client lacks is reported "not supported", never failed, for
any subset of features.

**Calls.** ``messages`` is a sequence of ``harness.types.Message``. ``params`` holds only
these keys, each present only when the scenario sets it (``PARAM_KEYS``):

- ``temperature`` (float), ``top_p`` (float), ``max_tokens`` (int), ``stop`` (list of str);
- ``tools``: a list of ``harness.types.ToolSpec`` (name, description, JSON-Schema
  parameters) the model may call; ``call``/``stream`` return the calls, never run them;
- ``tool_choice`` (feature ``tool_choice``): ``"auto"``, ``"none"``, ``"required"``, or a
  tool's name (that tool must be called);
- chains only: ``max_turns`` (int, feature ``max_turns``): the most model calls the chain
  may make. When the answer of the last one still asks for tools, the chain stops there,
  without running them, and the outcome is a ``ChainOutcome`` of that answer and the tool
  results sent before it, whether the client returns that answer or raises (the adapter
  translates its way of saying so);
- chains and ``run_tools`` only: ``tool_timeout`` (float seconds, feature
  ``tool_timeout``): a tool call still running that long becomes an error result for that
  call, its siblings' results still go back, and the chain goes on (what becomes of the
  late tool, cancelled or left to finish unheard, is the client's business, but it must
  not hold up the chain);
- chains and ``run_tools`` only: ``on_error`` (``"return"`` or ``"raise"``, feature
  ``on_error``): with ``"raise"``, a failing tool call (it raised, could not be made, or
  timed out) ends the chain, or the run, without another model call: the adapter raises
  ``ToolCallFailed`` for the first failing call in the model's order (its tool, its call
  id, the kind of failure, and the client's message, which for a tool that raised must
  contain that exception's own message).

Chains get the tools as plain Python callables (sync or async), the client derives their
schemas and runs them. A tool's ``str`` result is sent back as it is; with the feature
``json_tool_results``, a tool may return a JSON value (dict, list, number, bool, None),
sent back as its JSON text; with ``rich_tool_results``, also a dataclass instance (its
fields as an object) or an ``enum.Enum`` member (its value), anywhere inside that value;
with ``set_tool_results``, also a ``set`` or ``frozenset`` (a JSON array of its members, in
any order), anywhere inside; with ``pydantic_tool_results``, also a pydantic model (its
JSON form: ``model_dump(mode="json")``, e.g. a ``datetime`` as ISO 8601), anywhere inside;
with ``text_fallback_tool_results``, a value of any other type anywhere inside leaves the
result JSON, with a string in that value's place that contains its ``str()`` (what
``json.dumps(default=str)`` or ``default=repr`` of a value whose repr shows its str give).
The same holds for the results ``run_tools`` returns.

**Chain reports.** With ``chain_transcript``, ``ChainOutcome.turns`` holds one
``ChainTurn`` per model call, in order: the messages sent in that call (what went on the
wire), the answer received, the tool calls the chain then ran, and their results. With
``chain_limit_report``, a chain stopped by ``max_turns`` reports ``ChainOutcome.stopped``:
the limit, the model calls made, the tool calls left pending, and the client's message
(None if it says nothing; if it says something, it names the limit and each pending
tool). With ``max_turns_checked``, a chain given ``max_turns`` below 1 makes no model
call and the adapter raises ``SettingRefused`` with the client's message, which names the
setting.

With the feature ``tool_hooks``, ``chain_with_hook`` and ``achain_with_hook`` also take
``before_call(name, arguments)``, called before each tool runs through the client's own
hook mechanism (simonw/llm's ``before_call``); an exception it raises is handled the way
the client handles hook exceptions.

**Errors.** A provider error (an HTTP error status, an error event in a stream, a
connection failure or a timeout) must leave the adapter as an ``harness.types.LLMError``
subclass: ``error_from_status`` maps a status and the provider's own message to the
right class, with ``retry_after`` for rate limits. With the feature ``error_body``, the
``LLMError`` carries the provider's error body as ``body``: an HTTP error's decoded JSON
value (a mapping; where the provider's message sits in it is the client's business), or
its text when it is not JSON; an error inside a stream, the decoded event (or the error
object in it), or its text. Only ``LLMError`` is an outcome the suite compares; any
other exception is a bug in the client (or the adapter) and fails the case with its
traceback. Exceptions from the replay itself (``harness.cassettes.errors``) need no
care: the cassette records them even when the client wraps them.

**Recording.** ``Target.transport`` (feature ``transport``) is an httpx transport to send
through; ``Target.base_url`` (feature ``base_url``) is a loopback server serving the
provider's own paths, for clients with their own HTTP stack. Either lets the suite record
against the built-in emulator (``--record-mode=rewrite --emulator``).

**Keys and organization.** ``Target.api_key`` None means the client's usual environment
variable (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``), which the suite then sets for the
run. ``Target.organization`` (feature ``organization``, OpenAI) is sent as the
``OpenAI-Organization`` header. With the feature ``keyless`` (OpenAI), a client given no
key, with none in the environment either, still calls a ``Target.base_url`` server that
asks for none (a local model server).

**Retries.** ``Target.max_retries`` is the client's retry budget. Every client is run
with the default, 2; one that can be given another (feature ``max_retries``) is also
run with 0.

**Timeouts.** ``Target.timeout`` (feature ``timeout``) is the client's request timeout
in seconds (None: the client's default): a request that receives nothing for that long
fails with a ``RequestTimeoutError``.

**Usage.** ``track_usage()`` (feature ``track_usage``) is a block that sums the usage of
every call made inside it, on the caller's thread or task and on the threads and tasks
the library's primitives start from it; it yields a function returning the sum so far.
With the feature ``usage_calls``, ``track_usage_calls()`` is the same block, whose function
returns the sum and how many calls it summed (one per model answer received).

**Parallel runs with options** (``parallel_with``, optional features): ``num_threads``
(feature ``parallel_threads``): never more than that many programs running at once;
``fail_fast`` (feature ``fail_fast``): the first failure stops the run, the programs
still waiting for a thread are dropped (a thread may have taken the next one already),
and the run raises the failure of the lowest index (a provider error as an ``LLMError``),
only once every program it started has ended (none is left running behind the caller);
``progress`` (feature ``progress``): the library shows its progress display, and
``ParallelRun.progress`` is every ``(done, total)`` it showed, in order; the usage of
each program's calls in its own slot (feature ``parallel_usage``).
An invalid ``num_threads`` (0, a bool, a str) is rejected with
``harness.types.ConfigurationError`` before any program runs. ``batch`` (feature
``batch``) maps one program over a list of inputs, each a tuple of positional arguments
or a dict of keyword arguments, with the library's own batch primitive and its default
options (but ``num_threads`` and ``progress``, as above); results in input order.

**Unordered exits** (feature ``unordered_exits``): two ``context`` blocks entered one
after the other and exited in the order they were entered (the outer one first, as
blocks held by generators or callbacks can be) leave no override behind: after both
exits the caller's context selects what it selected before both (what it selects between
the two exits is the client's own business). Either exit may raise the client's own
error.

**Foreign exits** (feature ``foreign_exit``): a ``context`` block entered in one thread
and exited in another thread, where it is not open, is refused there: the exit raises the
client's own error (which kinds a scenario accepts, it says), whose message names the
block (the name of the type of the object ``context`` returned), and the blocks open in
either thread keep selecting what they selected.

**Settings checked** (feature ``checked_settings``): ``settings_block(settings)`` is the
client's own scoped block of call settings, in ``harness.Settings``' names
(``temperature``, ``top_p``, ``max_tokens``, ``max_retries``, ``timeout``); an unknown
name or a value of the wrong type (a str, or a bool where a number is wanted) raises
``harness.types.ConfigurationError``, naming the setting, before the block starts.

**Threads.** ``submit`` and ``parallel`` run programs the way the library's users do: the
library's own primitive where it has one (DSPy's ``ParallelExecutor``, ``harness.Parallel``),
a plain ``concurrent.futures.ThreadPoolExecutor`` otherwise. Say which in the adapter's
docstring: a bug may live in one and not the other. (A regression entry's ``lives_in``
says which one its bug lived in.)

**Programs** (features ``program``, ``aprogram``; optional). A framework whose users write
programs of their own kind (DSPy's ``Predict`` and modules) can hand one to the suite, so
that the framework's own call path (its prompt, its parsing, its reading of the
settings) runs through the modes too: ``program(client, messages, params)`` answers the
one user message of ``messages`` as a question and returns the ``Response`` of the LM
call it made, with the program's parsed answer as its ``text``. ``client`` is the client
the caller's context selects (a program that reads its LM from the settings may rely on
that). The suite runs it for the ``program`` scenarios only: their requests carry the
framework's own prompt, whose system part the replay compares by presence only.
"""

from __future__ import annotations

import abc
import functools
import inspect
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from harness.providers.base import error_class_for_status, make_error
from harness.types import LLMError, Message, Response, StreamEvent, ToolCall, Usage

FEATURES = frozenset(
    {
        "call",  # sync call
        "acall",  # async call
        "stream",  # sync stream
        "astream",  # async stream
        "chain",  # sync tool chain
        "achain",  # async tool chain
        "context",  # configure + scoped context overrides
        "thread_pool",  # a context-carrying executor submit
        "asyncify",  # run a sync program from async code
        "parallel",  # run many programs in threads
        "deferred",  # create a stream now, consume it later (stream_later/astream_later)
        "program",  # program(): the framework's own program answers a one-turn question
        "aprogram",  # aprogram(): the same program, awaited
        "transport",  # accepts Target.transport, an httpx transport
        "base_url",  # accepts Target.base_url, a loopback server with the provider's paths
        "tool_choice",  # honours params["tool_choice"]
        "reasoning",  # reports the model's reasoning text apart from the answer
        "history",  # takes earlier assistant turns in ``messages`` (a conversation)
        "tool_calls",  # a call offering ``params["tools"]`` returns the model's tool calls
        "finish_reason",  # reports why the answer ended (otherwise it is not compared)
        "chain_async_tools",  # the sync chain runs async tools (coroutine functions)
        "achain_sync_tools",  # the async chain runs plain (sync) tools
        "tool_hooks",  # chain_with_hook/achain_with_hook: a hook called before each tool
        "track_usage",  # sums the usage of the calls made inside a block (track_usage)
        "organization",  # OpenAI: sends Target.organization as the OpenAI-Organization header
        "max_turns",  # chains honour params["max_turns"] (stop before running more tools)
        "tool_timeout",  # chains honour params["tool_timeout"] (a late tool: an error result)
        "json_tool_results",  # a tool's dict/list/number/bool/None result is sent as JSON
        "rich_tool_results",  # ...and dataclass instances and Enum members inside it too
        "chain_usage",  # a chain's outcome reports the usage of all its model calls
        "run_tools",  # run_tools(): one call, then the client runs its answer's tool calls
        "arun_tools",  # arun_tools(): the same, awaited
        "timeout",  # honours Target.timeout: a request waits at most that long for bytes
        "max_retries",  # honours a Target.max_retries other than the default 2
        "aclose",  # aclose(): closes the client's connections of the running event loop
        "on_error",  # chains and run_tools honour params["on_error"] ("raise": ToolCallFailed)
        "set_tool_results",  # ...a set/frozenset anywhere inside a result: a JSON array
        "pydantic_tool_results",  # ...a pydantic model anywhere inside: its JSON form
        "text_fallback_tool_results",  # ...any other value inside: a string with its str()
        "chain_transcript",  # a chain's outcome reports every turn (ChainOutcome.turns)
        "chain_limit_report",  # a chain stopped by max_turns says so (ChainOutcome.stopped)
        "max_turns_checked",  # max_turns below 1 is refused before any model call
        "error_body",  # a provider error carries the provider's body (LLMError.body)
        "describes_failures",  # a failure no provider described says what and where
        "keyless",  # needs no key for a Target.base_url server that asks for none
        "parallel_threads",  # parallel_with(num_threads=k): at most k programs at once
        "fail_fast",  # parallel_with(fail_fast=True): the first failure stops the run
        "progress",  # parallel_with(progress=True): the display, as (done, total) shown
        "parallel_usage",  # parallel_with: each program's usage in its own slot
        "batch",  # batch(program, inputs): one program over positional/keyword inputs
        "batch_errors",  # batch(fail_fast=False): a failing input's error in its own slot
        "checked_settings",  # settings_block(settings): bad settings rejected before the block
        "submit_arguments",  # submit_with(fn, *args, **kwargs): the executor passes them on
        "usage_calls",  # track_usage_calls(): the tracker also counts the calls it summed
        "unordered_exits",  # context blocks exited outer first leave no override behind
        "foreign_exit",  # a context block exited in a thread where it is not open: refused
        "thread",  # in_thread(fn): a thread of the library's own that carries the context
    }
)

PROGRAM_FEATURES = frozenset({"program", "aprogram"})
"""Features only a framework with programs of its own has (DSPy's modules)."""

CHAIN_PARAM_KEYS = frozenset({"max_turns", "tool_timeout", "on_error"})
"""The keys of ``params`` that only chains get: how the chain runs, not what it sends."""
PARAM_KEYS = (
    frozenset({"temperature", "top_p", "max_tokens", "stop", "tools", "tool_choice"})
    | CHAIN_PARAM_KEYS
)
"""The keys ``params`` may hold (see the module docstring)."""


@dataclass(frozen=True)
class Target:
    """Where a client must point, in terms any client understands."""

    provider: str
    model: str
    """The provider's own model name (no ``provider/`` prefix)."""
    api_key: str | None = None
    """None: the client's usual environment variable."""
    region: str | None = None
    """Bedrock region."""
    aws_credentials: Any = None
    """Bedrock: a botocore ``Credentials``; None: the credential chain."""
    max_retries: int = 2
    """Retries after the first attempt (0: none), for the errors the client retries."""
    timeout: float | None = None
    """Seconds a request may wait for the provider's bytes (feature ``timeout``); None:
    the client's own default."""
    fast_retries: bool = True
    """Retry without waiting (the suite counts attempts, it does not time backoff)."""
    transport: Any = None
    """An httpx transport to send through (the emulator when recording), or None."""
    base_url: str | None = None
    """The origin (``http://127.0.0.1:PORT``) of a server answering the provider's own
    paths (``/v1/chat/completions``, ``/v1/messages``, ``/v1beta/models/...``,
    ``/model/.../converse``) in place of the public API, or None. Append what the library
    expects (the OpenAI SDK wants ``.../v1``)."""
    organization: str | None = None
    """OpenAI: the organization the requests are made for, sent as the
    ``OpenAI-Organization`` header (feature ``organization``), or None."""


@dataclass(frozen=True)
class StreamResult:
    """A consumed stream: the events in order and the whole answer."""

    events: tuple[StreamEvent, ...]
    response: Response


@dataclass(frozen=True)
class ChainTurn:
    """One model call of a chain (feature ``chain_transcript``)."""

    sent: tuple[Message, ...]
    """The conversation sent in this call."""
    response: Response
    """The answer received."""
    called: tuple[ToolCall, ...]
    """The tool calls the chain ran after this answer, in the model's order (none for the
    final answer, nor for an answer left pending at the turn limit)."""
    results: tuple[Message, ...]
    """Their results, as sent back, in the same order."""
    answered: tuple[ToolCall, ...]
    """For each result, the call it answers."""


@dataclass(frozen=True)
class ChainStop:
    """How a chain stopped by ``max_turns`` reports it (feature ``chain_limit_report``)."""

    limit: int
    """The ``max_turns`` it stopped at."""
    turns: int
    """The model calls it made."""
    pending: tuple[ToolCall, ...]
    """The tool calls of the last answer, which it did not run."""
    message: str | None
    """The client's words for it (None: it says nothing)."""


@dataclass(frozen=True)
class ChainOutcome:
    """A finished tool chain: the final answer and the tool results sent back, in order."""

    response: Response
    tool_results: tuple[Message, ...]
    usage: Usage | None = None
    """The usage of every model call the chain made, summed (feature ``chain_usage``)."""
    turns: tuple[ChainTurn, ...] | None = None
    """Every model call of the chain, in order (feature ``chain_transcript``)."""
    stopped: ChainStop | None = None
    """Set when ``max_turns`` stopped the chain (feature ``chain_limit_report``)."""


ToolFailureKind = Literal["raised", "invalid", "timeout"]
"""Why a tool call failed: the tool raised, the call could not be made (unknown tool,
arguments not fitting), or the tool did not return within ``tool_timeout``."""


class ToolCallFailed(Exception):
    """Raised by an adapter when the client ended a chain or ``run_tools`` on a failing
    tool call (``params["on_error"] == "raise"``, feature ``on_error``)."""

    def __init__(self, tool_name: str, call_id: str | None, kind: str, message: str) -> None:
        super().__init__(message)
        self.tool_name = tool_name
        self.call_id = call_id
        self.kind = kind
        self.message = message

    def key(self) -> tuple[str, str | None, str, str]:
        """What the suite compares."""
        return (self.tool_name, self.call_id, self.kind, self.message)


class SettingRefused(Exception):
    """Raised by an adapter when the client refused a chain setting before any model call
    (``max_turns`` below 1, feature ``max_turns_checked``); ``message`` is the client's."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ParallelRun:
    """What ``parallel_with`` returns: the results in order (a program's exception in its
    own slot, unless ``fail_fast``), and what the features asked for report."""

    results: list[Any]
    usages: list[Usage] | None = None
    """``usages[i]``: the usage of program ``i``'s calls (feature ``parallel_usage``)."""
    progress: tuple[tuple[int, int], ...] | None = None
    """Every ``(done, total)`` the progress display showed, in order, total 0 where it
    showed none (feature ``progress``, with ``progress=True``)."""


Inputs = tuple[Any, ...] | dict[str, Any]
"""One input of ``batch``: positional arguments, or keyword arguments."""


Tools = Sequence[Callable[..., Any]]
ToolHook = Callable[[str, dict[str, Any]], None]
"""``before_call(tool name, arguments)``: called before a tool runs (feature ``tool_hooks``)."""


def run_hook_first(tools: Tools, before_call: ToolHook) -> list[Callable[..., Any]]:
    """``tools``, each calling ``before_call(name, arguments)`` before it runs: for clients
    without a hook mechanism, whose ``chain_with_hook`` then treats a hook's exception as
    that tool's own (an error result). Names, signatures and docstrings are kept."""

    def hooked(tool: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(tool):

            @functools.wraps(tool)
            async def run_async(**arguments: Any) -> Any:
                before_call(tool.__name__, dict(arguments))
                return await tool(**arguments)

            return run_async

        @functools.wraps(tool)
        def run(**arguments: Any) -> Any:
            before_call(tool.__name__, dict(arguments))
            return tool(**arguments)

        return run

    return [hooked(tool) for tool in tools]


def error_from_status(
    status: int,
    message: str,
    *,
    provider: str,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
) -> LLMError:
    """The ``LLMError`` for an HTTP error ``status`` with the provider's own ``message``
    (not a wrapper's text): ``RateLimitError`` with ``retry_after`` read from ``headers``
    for 429, ``ServerError`` for 5xx, and so on (see ``harness.types``)."""
    cls = error_class_for_status(status)
    return make_error(
        cls, message, provider=provider, status=status, headers=headers or {}, body=body
    )


@contextmanager
def translating(convert: Callable[[Exception], LLMError | None]) -> Iterator[None]:
    """Re-raise the client's own exceptions as ``LLMError``: ``convert`` maps one to its
    ``LLMError``, or to None for anything that is not a provider error (a bug, or the
    replay's own error), which then passes through untouched."""
    try:
        yield
    except LLMError:
        raise
    except Exception as exc:
        error = convert(exc)
        if error is None:
            raise
        raise error from exc


class ClientAdapter(abc.ABC):
    """The client-under-test protocol. Subclass it to hold another client to the suite,
    and register it under the ``llm_parity.adapters`` entry-point group."""

    name: str = "client"
    """The adapter's name in reports (and its entry-point name)."""
    library: str | None = None
    """The distribution the adapter holds to the suite (``openai``, ``litellm``...): the
    parity report records its installed version."""
    request_matching: str = "semantic"
    """How replay matches the client's requests: ``semantic`` (what a request means, so
    any client can replay the shipped cassettes) or ``strict`` (canonical JSON)."""

    @abc.abstractmethod
    def supports(self, feature: str, provider: str) -> bool:
        """Whether the client has ``feature`` (one of ``FEATURES``) for ``provider``."""

    @abc.abstractmethod
    def connect(self, target: Target) -> Any:
        """Build a client for ``target``."""

    def close(self, client: Any) -> None:  # noqa: B027 (optional hook)
        """Release a client's connections (optional)."""

    async def aclose(self, client: Any) -> None:
        """Close the client's connections that belong to the running event loop, from
        inside it (feature ``aclose``; ``AsyncOpenAI.close()``, ``httpx.AsyncClient.aclose()``).
        The client must still work afterwards, reconnecting when needed."""
        raise NotImplementedError

    def reset(self) -> None:  # noqa: B027 (optional hook)
        """Bring the library's global state back to what a fresh process has (optional):
        called before every regression spec, so that no spec inherits another's leftovers
        (a process default, an override a task left on the main thread). The suite then
        checks the state and reports anything still left as leaked from the earlier spec."""

    # --- calls ------------------------------------------------------------------

    @abc.abstractmethod
    def call(self, client: Any, messages: Sequence[Message], params: dict[str, Any]) -> Response:
        """One sync call."""

    async def acall(
        self, client: Any, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        """One async call."""
        raise NotImplementedError

    def stream(
        self, client: Any, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        """One sync stream, consumed."""
        raise NotImplementedError

    async def astream(
        self, client: Any, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        """One async stream, consumed."""
        raise NotImplementedError

    def chain(
        self, client: Any, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        """A sync tool chain: call, run tools, send results, until a plain answer."""
        raise NotImplementedError

    async def achain(
        self, client: Any, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        """An async tool chain."""
        raise NotImplementedError

    def run_tools(
        self, client: Any, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        """One call offering ``tools`` (the client derives their schemas), then the
        client's own helper runs the tool calls of that answer, without calling the model
        again (a loop of the caller's own): the answer, and one result per call in the
        model's order, errors included (feature ``run_tools``). ``params`` may hold
        ``tool_timeout`` (feature ``tool_timeout``)."""
        raise NotImplementedError

    async def arun_tools(
        self, client: Any, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        """``run_tools``, awaited (feature ``arun_tools``)."""
        raise NotImplementedError

    def chain_with_hook(
        self,
        client: Any,
        messages: Sequence[Message],
        tools: Tools,
        params: dict[str, Any],
        before_call: ToolHook,
    ) -> ChainOutcome:
        """``chain``, with ``before_call`` called before each tool runs (``tool_hooks``)."""
        raise NotImplementedError

    async def achain_with_hook(
        self,
        client: Any,
        messages: Sequence[Message],
        tools: Tools,
        params: dict[str, Any],
        before_call: ToolHook,
    ) -> ChainOutcome:
        """``achain``, with ``before_call`` called before each tool runs (``tool_hooks``)."""
        raise NotImplementedError

    def program(self, client: Any, messages: Sequence[Message], params: dict[str, Any]) -> Response:
        """The framework's own program answering ``messages`` (feature ``program``)."""
        raise NotImplementedError

    async def aprogram(
        self, client: Any, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        """The same program, awaited (feature ``aprogram``)."""
        raise NotImplementedError

    def stream_later(
        self, messages: Sequence[Message], params: dict[str, Any]
    ) -> Callable[[], StreamResult]:
        """Create a stream now, on the client the caller's context selects, with that
        context's settings; calling the result consumes it (maybe after the context)."""
        raise NotImplementedError

    def astream_later(
        self, messages: Sequence[Message], params: dict[str, Any]
    ) -> Callable[[], Awaitable[StreamResult]]:
        """The async twin of ``stream_later``: create now, ``await consume()`` later."""
        raise NotImplementedError

    # --- context primitives ------------------------------------------------------

    def configure(self, client: Any) -> None:
        """Make ``client`` the process-wide default."""
        raise NotImplementedError

    def context(self, client: Any) -> AbstractContextManager[Any]:
        """A block in which ``client`` overrides the default (this thread/task only)."""
        raise NotImplementedError

    def current(self) -> Any:
        """The client the caller's context selects."""
        raise NotImplementedError

    def submit(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on a worker thread with the caller's context; return its result."""
        raise NotImplementedError

    def submit_with(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """``submit``, the library's executor passing ``args`` and ``kwargs`` on to ``fn``
        (feature ``submit_arguments``); return its result."""
        raise NotImplementedError

    def in_thread(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on a new thread of the library's own kind (``harness.ContextThread``),
        started from the caller's context, and wait for it; return its result or raise
        its exception (feature ``thread``)."""
        raise NotImplementedError

    def asyncify(self, fn: Callable[[], Any]) -> Awaitable[Any]:
        """Run the sync ``fn`` from async code with the caller's context."""
        raise NotImplementedError

    def parallel(self, fns: Sequence[Callable[[], Any]]) -> list[Any]:
        """Run every one of ``fns`` on worker threads with the caller's context; results
        in order, a program's exception in its own slot (one failure stops no other)."""
        raise NotImplementedError

    def parallel_with(
        self,
        fns: Sequence[Callable[[], Any]],
        *,
        num_threads: int | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> ParallelRun:
        """``parallel`` with options (features ``parallel_threads``, ``fail_fast``,
        ``progress``, ``parallel_usage``); ``num_threads`` None: the library's default."""
        raise NotImplementedError

    def batch(
        self,
        program: Callable[..., Any],
        inputs: Sequence[Inputs],
        *,
        num_threads: int | None = None,
        progress: bool = False,
        fail_fast: bool | None = None,
    ) -> ParallelRun:
        """``program(*args)`` or ``program(**kwargs)`` for every input, on worker threads
        with the caller's context, through the library's batch primitive (feature
        ``batch``) with its default options but ``num_threads`` (feature
        ``parallel_threads``) and ``progress`` (feature ``progress``), as for
        ``parallel_with``; results in input order. ``fail_fast`` None: the library's
        default way with a failing input; False (feature ``batch_errors``): its exception
        in its own slot, the other inputs still run; True: as for ``parallel_with``."""
        raise NotImplementedError

    def settings_block(self, settings: Mapping[str, Any]) -> AbstractContextManager[Any]:
        """The client's scoped block of call ``settings`` (feature ``checked_settings``)."""
        raise NotImplementedError

    def track_usage(self) -> AbstractContextManager[Callable[[], Usage]]:
        """A block summing the usage of every call made inside it (and in the threads
        and tasks the library starts from it); yields a function returning the sum."""
        raise NotImplementedError

    def track_usage_calls(self) -> AbstractContextManager[Callable[[], tuple[Usage, int]]]:
        """``track_usage``, whose function returns the sum and how many calls it summed
        (feature ``usage_calls``)."""
        raise NotImplementedError
