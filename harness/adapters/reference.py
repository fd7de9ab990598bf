"""The reference client (``harness.lm.LM``) as the suite's first adapter."""

from __future__ import annotations

import io
import re
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, redirect_stderr
from typing import Any, ClassVar

from harness.adapters.base import (
    CHAIN_PARAM_KEYS,
    FEATURES,
    PROGRAM_FEATURES,
    ChainOutcome,
    ChainStop,
    ChainTurn,
    ClientAdapter,
    Inputs,
    ParallelRun,
    SettingRefused,
    StreamResult,
    Target,
    ToolCallFailed,
    ToolHook,
    Tools,
    run_hook_first,
)
from harness.context import (
    ContextThread,
    ContextThreadPoolExecutor,
    Parallel,
    asyncify,
    batch,
    configure,
    context,
    settings,
    track_usage,
)
from harness.emulator.shells import client_options
from harness.lm import LM
from harness.tools import (
    ChainLimitError,
    InvalidToolCallError,
    RequestSent,
    ResponseReceived,
    ToolCalled,
    ToolExecutionError,
    ToolReturned,
    ToolTimeoutError,
    TranscriptEntry,
    arun_tool_calls,
    as_tools,
    run_tool_calls,
    tool_specs,
)
from harness.transport import RetryPolicy
from harness.types import ConfigurationError, Message, Response, ToolCall, Usage

POOL_WORKERS = 2
"""Worker threads of the adapter's long-lived ``submit`` pool."""
PARALLEL_THREADS = 2
"""Threads of each ``parallel`` call: fewer than the programs the specs run (3 or 4)."""

_pool_lock = threading.Lock()
_worker = threading.local()
"""``_worker.pool``: the pool whose worker the current thread is (set by its initializer)."""


def _mark_worker(pool_id: object) -> None:
    _worker.pool = pool_id


class ReferenceAdapter(ClientAdapter):
    """Holds ``harness.LM`` to the suite; supports every feature on every provider, but the
    ``program`` ones (``harness`` has no programs of its own kind).

    The primitives are used the way programs use them, so that worker threads are reused
    and a context carried per thread instead of per task would show: ``submit`` runs on one
    long-lived pool of ``POOL_WORKERS`` threads per adapter (created on first use, shut
    down by ``close_pools()``, when the adapter is collected, or at interpreter exit), and
    ``parallel`` runs its programs on ``PARALLEL_THREADS`` threads.
    """

    name = "reference"
    library = "llm-parity"
    request_matching = "strict"
    pool_class: ClassVar[type[ThreadPoolExecutor]] = ContextThreadPoolExecutor
    """The executor behind ``submit``."""
    _submit_pool: ThreadPoolExecutor | None = None
    _submit_pool_id: object = None
    _submit_pool_finalizer: weakref.finalize[..., ReferenceAdapter] | None = None

    def supports(self, feature: str, provider: str) -> bool:
        if feature == "pydantic_tool_results" and not _has_pydantic():
            return False
        return feature in FEATURES and feature not in PROGRAM_FEATURES  # no programs of its own

    def connect(self, target: Target) -> LM:
        return connect_lm(target)

    def close(self, client: LM) -> None:
        client.close()

    async def aclose(self, client: LM) -> None:
        await client.aclose()

    def call(self, client: LM, messages: Sequence[Message], params: dict[str, Any]) -> Response:
        return client(messages, **params)

    async def acall(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        return await client.acall(messages, **params)

    def stream(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        with client.stream(messages, **params) as stream:
            events = tuple(stream)
        return StreamResult(events, stream.response)

    async def astream(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        async with client.astream(messages, **params) as stream:
            events = tuple([event async for event in stream])
        return StreamResult(events, stream.response)

    def stream_later(
        self, messages: Sequence[Message], params: dict[str, Any]
    ) -> Callable[[], StreamResult]:
        stream = self.current().stream(messages, **params)  # settings resolved now

        def consume() -> StreamResult:
            with stream:
                events = tuple(stream)
            return StreamResult(events, stream.response)

        return consume

    def astream_later(
        self, messages: Sequence[Message], params: dict[str, Any]
    ) -> Callable[[], Awaitable[StreamResult]]:
        stream = self.current().astream(messages, **params)

        async def consume() -> StreamResult:
            async with stream:
                events = tuple([event async for event in stream])
            return StreamResult(events, stream.response)

        return consume

    def chain(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        try:
            result = client.chain(messages, tools=tools, **params)
        except ChainLimitError as stopped:
            return stopped_outcome(stopped)
        except (ToolExecutionError, ConfigurationError) as error:
            raise translated_chain_error(error) from error
        return _outcome(result)

    async def achain(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        try:
            result = await client.achain(messages, tools=tools, **params)
        except ChainLimitError as stopped:
            return stopped_outcome(stopped)
        except (ToolExecutionError, ConfigurationError) as error:
            raise translated_chain_error(error) from error
        return _outcome(result)

    def run_tools(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        runnable = as_tools(tools)
        call, options = split_chain_params(params)
        response = client(messages, tools=tool_specs(runnable), **call)
        timeout = options.get("tool_timeout")
        policy = {"on_error": options["on_error"]} if "on_error" in options else {}
        try:
            results = run_tool_calls(response.tool_calls, runnable, tool_timeout=timeout, **policy)
        except ToolExecutionError as error:
            raise translated_chain_error(error) from error
        return ChainOutcome(response, tuple(results))

    async def arun_tools(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        runnable = as_tools(tools)
        call, options = split_chain_params(params)
        response = await client.acall(messages, tools=tool_specs(runnable), **call)
        timeout = options.get("tool_timeout")
        policy = {"on_error": options["on_error"]} if "on_error" in options else {}
        try:
            results = await arun_tool_calls(
                response.tool_calls, runnable, tool_timeout=timeout, **policy
            )
        except ToolExecutionError as error:
            raise translated_chain_error(error) from error
        return ChainOutcome(response, tuple(results))

    # ``harness.LM`` has no hook mechanism: the hook runs inside each tool, so its
    # exception is that tool's error result (``run_hook_first``).

    def chain_with_hook(
        self,
        client: LM,
        messages: Sequence[Message],
        tools: Tools,
        params: dict[str, Any],
        before_call: ToolHook,
    ) -> ChainOutcome:
        return self.chain(client, messages, run_hook_first(tools, before_call), params)

    async def achain_with_hook(
        self,
        client: LM,
        messages: Sequence[Message],
        tools: Tools,
        params: dict[str, Any],
        before_call: ToolHook,
    ) -> ChainOutcome:
        return await self.achain(client, messages, run_hook_first(tools, before_call), params)

    def configure(self, client: LM) -> None:
        configure(lm=client)

    def context(self, client: LM) -> AbstractContextManager[Any]:
        return context(lm=client)

    def current(self) -> LM:
        return settings().lm  # type: ignore[no-any-return]

    def submit(self, fn: Callable[[], Any]) -> Any:
        return self._submit(fn)

    def submit_with(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return self._submit(fn, *args, **kwargs)

    def _submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        pool, pool_id = self._shared_pool()
        if getattr(_worker, "pool", None) is pool_id:
            # called from one of the pool's own workers: waiting there for the shared pool
            # could deadlock it, so the nested work gets a pool of its own
            with self.pool_class(max_workers=1, thread_name_prefix="reference-nested") as nested:
                return nested.submit(fn, *args, **kwargs).result()
        return pool.submit(fn, *args, **kwargs).result()

    def _shared_pool(self) -> tuple[ThreadPoolExecutor, object]:
        with _pool_lock:
            pool, pool_id = self._submit_pool, self._submit_pool_id
            if pool is None:
                pool_id = object()
                pool = self.pool_class(
                    max_workers=POOL_WORKERS,
                    thread_name_prefix="reference-submit",
                    initializer=_mark_worker,
                    initargs=(pool_id,),
                )
                # shut down with the adapter (weakref.finalize also runs at exit)
                self._submit_pool_finalizer = weakref.finalize(self, pool.shutdown, wait=False)
                self._submit_pool, self._submit_pool_id = pool, pool_id
        return pool, pool_id

    def close_pools(self) -> None:
        """Shut the ``submit`` pool down and wait for its threads (a later ``submit``
        starts a new one)."""
        with _pool_lock:
            pool, finalizer = self._submit_pool, self._submit_pool_finalizer
            self._submit_pool = self._submit_pool_id = self._submit_pool_finalizer = None
        if finalizer is not None:
            finalizer.detach()
        if pool is not None:
            pool.shutdown(wait=True)

    def in_thread(self, fn: Callable[[], Any]) -> Any:
        return run_in_thread(ContextThread, fn)

    def asyncify(self, fn: Callable[[], Any]) -> Awaitable[Any]:
        return asyncify(fn)()

    def parallel(self, fns: Sequence[Callable[[], Any]]) -> list[Any]:
        run = Parallel(num_threads=PARALLEL_THREADS, on_error="return", progress=False)
        return list(run([(fn, ()) for fn in fns]))

    def parallel_with(
        self,
        fns: Sequence[Callable[[], Any]],
        *,
        num_threads: int | None = None,
        fail_fast: bool = False,
        progress: bool = False,
    ) -> ParallelRun:
        options: dict[str, Any] = {"progress": progress}  # else the library's defaults
        if num_threads is not None:
            options["num_threads"] = num_threads
        if not fail_fast:
            options["on_error"] = "return"
        run = Parallel(**options)
        pairs = [(fn, ()) for fn in fns]
        if not progress:
            results = run(pairs)
            return ParallelRun(list(results), results.usages)
        shown = io.StringIO()  # tqdm writes to sys.stderr as it is when the bar is made
        with redirect_stderr(shown):
            results = run(pairs)
        return ParallelRun(list(results), results.usages, displayed(shown.getvalue()))

    def batch(
        self,
        program: Callable[..., Any],
        inputs: Sequence[Inputs],
        *,
        num_threads: int | None = None,
        progress: bool = False,
        fail_fast: bool | None = None,
    ) -> ParallelRun:
        options: dict[str, Any] = {}  # else the library's defaults
        if num_threads is not None:
            options["num_threads"] = num_threads
        if fail_fast is not None:
            options["on_error"] = "raise" if fail_fast else "return"
        if not progress:
            results = batch(program, inputs, **options)
            return ParallelRun(list(results), results.usages)
        shown = io.StringIO()
        with redirect_stderr(shown):
            results = batch(program, inputs, progress=True, **options)
        return ParallelRun(list(results), results.usages, displayed(shown.getvalue()))

    def settings_block(self, settings: Mapping[str, Any]) -> AbstractContextManager[Any]:
        return context(**settings)

    def track_usage(self) -> AbstractContextManager[Callable[[], Usage]]:
        return _tracking()

    def track_usage_calls(self) -> AbstractContextManager[Callable[[], tuple[Usage, int]]]:
        return _tracking_calls()


def run_in_thread(thread_class: type[threading.Thread], fn: Callable[[], Any]) -> Any:
    """``fn()`` on a new ``thread_class`` thread, waited for: its result, or its exception."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append((True, fn()))
        except BaseException as exc:  # handed to the caller
            outcome.append((False, exc))

    thread = thread_class(target=target, name="reference-thread")
    thread.start()
    thread.join()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


_OF_TOTAL = re.compile(r"(\d+)/(\d+)")
_NO_TOTAL = re.compile(r"\s*(\d+)it\b")


def displayed(output: str) -> tuple[tuple[int, int], ...]:
    """Every ``(done, total)`` a tqdm bar wrote to ``output``, in order: one per refresh
    (tqdm redraws after a carriage return); total 0 where the bar showed none (``3it``,
    which tqdm writes for a bar without a total, or one counted past it)."""
    shown = []
    for line in re.split(r"[\r\n]", output):
        if found := _OF_TOTAL.search(line):
            shown.append((int(found[1]), int(found[2])))
        elif found := _NO_TOTAL.match(line):
            shown.append((int(found[1]), 0))
    return tuple(shown)


@contextmanager
def _tracking() -> Iterator[Callable[[], Usage]]:
    with track_usage() as tracker:
        yield lambda: tracker.total


@contextmanager
def _tracking_calls() -> Iterator[Callable[[], tuple[Usage, int]]]:
    with track_usage() as tracker:
        yield lambda: (tracker.total, tracker.calls)


def _outcome(result: Any) -> ChainOutcome:
    tool_results = tuple(m for m in result.messages if m.role == "tool")
    return ChainOutcome(
        result.response, tool_results, result.usage, turns=chain_turns(result.transcript)
    )


def _has_pydantic() -> bool:
    try:
        import pydantic  # noqa: F401
    except ImportError:
        return False
    return True


class _Turn:
    def __init__(self) -> None:
        self.sent: tuple[Message, ...] = ()
        self.response: Response | None = None
        self.called: list[ToolCall] = []
        self.results: list[Message] = []
        self.answered: list[ToolCall] = []


def chain_turns(transcript: Sequence[TranscriptEntry]) -> tuple[ChainTurn, ...]:
    """A chain's transcript as one ``ChainTurn`` per model call, in turn order."""
    turns: dict[int, _Turn] = {}
    for entry in transcript:
        turn = turns.setdefault(entry.turn, _Turn())
        if isinstance(entry, RequestSent):
            turn.sent = entry.messages
        elif isinstance(entry, ResponseReceived):
            turn.response = entry.response
        elif isinstance(entry, ToolCalled):
            turn.called.append(entry.call)
        elif isinstance(entry, ToolReturned):
            turn.results.append(entry.message)
            turn.answered.append(entry.call)
    return tuple(
        ChainTurn(
            turn.sent,
            turn.response,  # type: ignore[arg-type]  # None only in a broken transcript
            tuple(turn.called),
            tuple(turn.results),
            tuple(turn.answered),
        )
        for _, turn in sorted(turns.items())
    )


def translated_chain_error(error: ToolExecutionError | ConfigurationError) -> Exception:
    """The adapter protocol's exception for a chain (or ``run_tools``) that ended on a
    failing tool call (``ToolCallFailed``) or refused a setting (``SettingRefused``)."""
    if isinstance(error, ConfigurationError):
        return SettingRefused(str(error))
    cause = error.__cause__
    kind = (
        "timeout"
        if isinstance(cause, ToolTimeoutError)
        else "invalid"
        if isinstance(cause, InvalidToolCallError)
        else "raised"
        if isinstance(cause, Exception)
        else "unknown"
    )
    return ToolCallFailed(error.tool_name, error.call.id, kind, str(error))


def split_chain_params(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``params`` as the model call's and the chain's own (``CHAIN_PARAM_KEYS``)."""
    call = {k: v for k, v in params.items() if k not in CHAIN_PARAM_KEYS}
    return call, {k: v for k, v in params.items() if k in CHAIN_PARAM_KEYS}


def stopped_outcome(stopped: ChainLimitError) -> ChainOutcome:
    """A chain stopped by ``max_turns``: the answer still asking for tools, and the tool
    results sent before it (the ``max_turns`` outcome of ``harness.adapters.base``)."""
    tool_results = tuple(m for m in stopped.messages if m.role == "tool")
    turns = chain_turns(stopped.transcript)
    report = ChainStop(
        stopped.max_turns, len(turns), tuple(stopped.response.tool_calls), str(stopped)
    )
    return ChainOutcome(stopped.response, tool_results, stopped.usage, turns, report)


def connect_lm(target: Target) -> LM:
    """A ``harness.LM`` for ``target`` (for adapters whose framework delegates HTTP to it)."""
    options: dict[str, Any] = {"transport": target.transport}
    if target.base_url is not None:
        options.update(client_options(target.provider, target.base_url))
    if target.fast_retries:
        options["retry_policy"] = RetryPolicy(target.max_retries, 0.0, 0.0)
    else:
        options["max_retries"] = target.max_retries
    if target.timeout is not None:
        options["timeout"] = target.timeout
    if target.provider == "bedrock":
        options.update(region=target.region, credentials=target.aws_credentials)
    else:
        options["api_key"] = target.api_key
    if target.organization is not None:
        options["organization"] = target.organization
    return LM(f"{target.provider}/{target.model}", **options)
