"""Deliberately regressed clients: each reproduces the mechanism of one published bug.

Every class is the reference adapter with one mechanism put back the way a framework
once shipped it (the catalogue entry it brings back is named in its docstring). The
regression specs in ``conformance/regressions`` must fail each of them, with a message
that says why (tests/test_regressions.py runs them through the suite with ``--client``).

The context-store regressions replace ``configure``/``context``/``current`` and the
primitives with a store of their own; the others replace one method each, so several of
them can share one class (and one suite run) without meeting: see the bundles at the end.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from typing import Any

from harness.adapters.base import ChainOutcome, StreamResult, Target, ToolHook, Tools
from harness.adapters.reference import PARALLEL_THREADS, ReferenceAdapter
from harness.lm import LM
from harness.tools import Tool, as_tools, tool_specs
from harness.transport import RetryPolicy, Transport
from harness.types import (
    APIConnectionError,
    LLMError,
    Message,
    RateLimitError,
    Response,
    ServerError,
    TextDelta,
    ToolCall,
)

MAIN = threading.main_thread()
WORKERS = 4
MAX_TURNS = 10


# --- context stores ----------------------------------------------------------------------


class SettingsStacksByThreadId(ReferenceAdapter):
    """stale_worker_config, stale_worker_config_plain_pool, main_context_in_user_threads and
    concurrent_tasks_overwrite (DSPy 2.5.29, stanfordnlp/dspy#1766 and #8197).

    Settings are a stack of config dicts per thread id. A thread's first read copies the
    main stack's top, and its entry is never removed; ``configure`` and ``context`` push
    onto the calling thread's stack (so every asyncio task of a thread shares one, and a
    main-thread block is what new threads copy). ``submit``/``parallel`` run on a fresh
    pool per call, as ``dspy.Evaluate`` did: a worker whose thread id has no stack gets a
    copy of the main stack for the task (dropped after it), one whose id a finished
    thread left behind runs on that thread's copy. No ``asyncify`` (2.5.29 had none).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._main = MAIN.ident or 0
        self._stacks: dict[int, list[dict[str, Any]]] = {self._main: [{"lm": None}]}

    def supports(self, feature: str, provider: str) -> bool:
        return feature != "asyncify" and super().supports(feature, provider)

    def reset(self) -> None:
        with self._lock:
            self._stacks = {self._main: [{"lm": None}]}

    def _stack(self) -> list[dict[str, Any]]:
        ident = threading.get_ident()
        with self._lock:
            if ident not in self._stacks:  # a thread's first read: main's top, kept for good
                self._stacks[ident] = [dict(self._stacks[self._main][-1])]
            return self._stacks[ident]

    def configure(self, client: LM) -> None:
        stack = self._stack()
        stack.append({**stack[-1], "lm": client})

    @contextmanager
    def _scoped(self, client: Any) -> Iterator[Any]:
        stack = self._stack()
        stack.append({**stack[-1], "lm": client})
        try:
            yield client
        finally:
            stack.pop()

    def context(self, client: LM) -> AbstractContextManager[Any]:
        return self._scoped(client)

    def current(self) -> Any:
        return self._stack()[-1]["lm"]

    def _task(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            ident = threading.get_ident()
            with self._lock:
                creating = ident not in self._stacks
                if creating:
                    self._stacks[ident] = list(self._stacks[self._main])
            try:
                return fn()
            finally:
                if creating:
                    with self._lock:
                        del self._stacks[ident]

        return run

    def submit(self, fn: Callable[[], Any]) -> Any:
        return self.parallel([fn])[0]

    def parallel(self, fns: Sequence[Callable[[], Any]]) -> list[Any]:
        with ThreadPoolExecutor(PARALLEL_THREADS) as pool:
            futures = [pool.submit(self._task(fn)) for fn in fns]
            return [_result_or_error(future) for future in futures]


class WorkerIdsAsserted(SettingsStacksByThreadId):
    """reused_thread_id (DSPy 2.5.32-2.5.35): 2.5.29's stacks by thread id, with the
    primitives of 2.5.30-2.5.35 (``asyncify`` too), which register their worker's thread
    id for the task and assert that it had no stack yet: a user thread that read the
    settings left its stack behind, and a worker on its reused id fails the assertion."""

    def supports(self, feature: str, provider: str) -> bool:
        return ReferenceAdapter.supports(self, feature, provider)

    def _task(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        parent = list(self._stack())

        def run() -> Any:
            ident = threading.get_ident()
            with self._lock:
                assert ident not in self._stacks  # a bare AssertionError, as DSPy's
                self._stacks[ident] = list(parent)
            try:
                return fn()
            finally:
                with self._lock:
                    del self._stacks[ident]

        return run

    def parallel(self, fns: Sequence[Callable[[], Any]]) -> list[Any]:
        with ThreadPoolExecutor(PARALLEL_THREADS) as pool:
            futures = [pool.submit(self._task(fn)) for fn in fns]
            return [future.result() for future in futures]  # the assertion escapes

    def asyncify(self, fn: Callable[[], Any]) -> Awaitable[Any]:
        return asyncio.get_running_loop().run_in_executor(None, self._task(fn))


def _result_or_error(future: Future[Any]) -> Any:
    try:
        return future.result()
    except Exception as exc:  # a program's exception in its own slot
        return exc


class SettingsKeyedByThread(ReferenceAdapter):
    """user_thread_settings (DSPy 2.5.30, stanfordnlp/dspy#1812).

    Settings are a dict keyed by thread id, filled for the main thread and for the threads
    of the adapter's own ``submit``/``parallel``; any other thread (a user's
    ``threading.Thread``, a plain executor, the loop's executor used by ``asyncify``) gets
    a ``KeyError``.
    """

    def __init__(self) -> None:
        self._stacks: dict[int, list[dict[str, Any]]] = {MAIN.ident or 0: [{"lm": None}]}

    def _stack(self) -> list[dict[str, Any]]:
        return self._stacks[threading.get_ident()]  # KeyError in an unknown thread

    def configure(self, client: LM) -> None:
        self._stack()[0]["lm"] = client

    @contextmanager
    def _scoped(self, client: Any) -> Iterator[Any]:
        stack = self._stack()
        stack.append({**stack[-1], "lm": client})
        try:
            yield client
        finally:
            stack.pop()

    def context(self, client: LM) -> AbstractContextManager[Any]:
        return self._scoped(client)

    def current(self) -> Any:
        return self._stack()[-1]["lm"]

    def _registered(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        parent = dict(self._stack()[-1])

        def run() -> Any:
            ident = threading.get_ident()
            self._stacks[ident] = [parent]
            try:
                return fn()
            finally:
                del self._stacks[ident]

        return run

    def submit(self, fn: Callable[[], Any]) -> Any:
        with ThreadPoolExecutor(2) as pool:
            return pool.submit(self._registered(fn)).result()

    def parallel(self, fns: Sequence[Callable[[], Any]]) -> list[Any]:
        with ThreadPoolExecutor(WORKERS) as pool:
            futures = [pool.submit(self._registered(fn)) for fn in fns]
            return [future.result() for future in futures]

    def asyncify(self, fn: Callable[[], Any]) -> Awaitable[Any]:
        return asyncio.get_running_loop().run_in_executor(None, fn)  # an unregistered worker


class ContextOnlyInKnownThreads(ReferenceAdapter):
    """context_in_user_thread (DSPy 2.5.31: "unsupported way of creating threads").

    Reading the settings works everywhere (unknown threads read the main thread's), but
    ``context()`` raises in any thread the adapter did not start itself (a user's
    ``threading.Thread``, a plain executor's worker).
    """

    def __init__(self) -> None:
        self._stacks: dict[int, list[dict[str, Any]]] = {MAIN.ident or 0: [{"lm": None}]}

    def _stack(self) -> list[dict[str, Any]]:
        return self._stacks.get(threading.get_ident()) or self._stacks[MAIN.ident or 0]

    def configure(self, client: LM) -> None:
        self._stacks[MAIN.ident or 0][0]["lm"] = client

    @contextmanager
    def _scoped(self, client: Any) -> Iterator[Any]:
        if threading.get_ident() not in self._stacks:
            raise RuntimeError(
                "context(...) was called from an unsupported way of creating threads: "
                "start threads with the adapter's own primitives"
            )
        stack = self._stack()
        stack.append({**stack[-1], "lm": client})
        try:
            yield client
        finally:
            stack.pop()

    def context(self, client: LM) -> AbstractContextManager[Any]:
        return self._scoped(client)

    def current(self) -> Any:
        return self._stack()[-1]["lm"]

    def _registered(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        parent = dict(self._stack()[-1])

        def run() -> Any:
            ident = threading.get_ident()
            self._stacks[ident] = [parent]
            try:
                return fn()
            finally:
                del self._stacks[ident]

        return run

    def submit(self, fn: Callable[[], Any]) -> Any:
        with ThreadPoolExecutor(2) as pool:
            return pool.submit(self._registered(fn)).result()

    def parallel(self, fns: Sequence[Callable[[], Any]]) -> list[Any]:
        with ThreadPoolExecutor(WORKERS) as pool:
            futures = [pool.submit(self._registered(fn)) for fn in fns]
            return [future.result() for future in futures]

    def asyncify(self, fn: Callable[[], Any]) -> Awaitable[Any]:
        return asyncio.get_running_loop().run_in_executor(None, self._registered(fn))


_OVERRIDES: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "regressed_overrides", default=None
)


def _overrides() -> dict[str, Any]:
    return _OVERRIDES.get() or {}


class MainContextIsGlobal(ReferenceAdapter):
    """main_context_in_user_threads (DSPy 2.5.29-2.5.43 but 2.5.30; here as 2.5.37-2.5.39).

    Overrides live in a ``ContextVar`` (the reference's primitives copy it to their
    workers) over a global configuration; on the main thread ``configure`` and
    ``context()`` write both, and ``context()`` puts the global back on exit. The main
    thread, its tasks and the primitives read their own copy; a thread the user starts
    reads the global configuration, which holds a main-thread block's client while the
    block lasts.
    """

    RESTORES_GLOBAL = True

    def __init__(self) -> None:
        self._global: dict[str, Any] = {"lm": None}

    def reset(self) -> None:
        self._global = {"lm": None}
        _OVERRIDES.set(None)

    def configure(self, client: LM) -> None:
        merged = {**self._global, **_overrides(), "lm": client}
        _OVERRIDES.set(merged)
        if threading.current_thread() is MAIN:
            self._global = merged

    @contextmanager
    def _scoped(self, client: Any) -> Iterator[Any]:
        merged = {**self._global, **_overrides(), "lm": client}
        token, saved = _OVERRIDES.set(merged), self._global
        if threading.current_thread() is MAIN:
            self._global = merged
        try:
            yield client
        finally:
            _OVERRIDES.reset(token)
            if threading.current_thread() is MAIN and self.RESTORES_GLOBAL:
                self._global = saved

    def context(self, client: LM) -> AbstractContextManager[Any]:
        return self._scoped(client)

    def current(self) -> Any:
        return _overrides().get("lm", self._global["lm"])


class MainContextNotRestored(MainContextIsGlobal):
    """context_leak_after_exit (DSPy 2.5.36, fixed in 2.5.37): ``MainContextIsGlobal``
    whose main-thread ``context()`` never puts the global configuration back. The main
    thread and the primitives read their restored ``ContextVar`` copy, which hides the
    leak; a thread the user starts after the block still reads the block's client."""

    RESTORES_GLOBAL = False


class AsyncifyReadsGlobalConfig(ReferenceAdapter):
    """asyncify_concurrent_contexts (DSPy 2.5.40-2.5.43, stanfordnlp/dspy#1867).

    Overrides live in a ``threading.local``; on the main thread ``context()`` also writes
    the global configuration on entry and puts back its snapshot on exit. ``asyncify``
    hands its worker nothing: the worker reads the global configuration when it runs, so a
    sibling coroutine leaving its block takes the model from under it.
    """

    def __init__(self) -> None:
        self._global: dict[str, Any] = {"lm": None}
        self._local = threading.local()

    def reset(self) -> None:
        self._global = {"lm": None}
        self._local = threading.local()

    def configure(self, client: LM) -> None:
        self._global = {**self._global, "lm": client}

    @contextmanager
    def _scoped(self, client: Any) -> Iterator[Any]:
        previous: dict[str, Any] = getattr(self._local, "overrides", {})
        self._local.overrides = {**previous, "lm": client}
        snapshot = self._global
        if threading.current_thread() is MAIN:
            self._global = {**self._global, "lm": client}
        try:
            yield client
        finally:
            self._local.overrides = previous
            if threading.current_thread() is MAIN:
                self._global = snapshot

    def context(self, client: LM) -> AbstractContextManager[Any]:
        return self._scoped(client)

    def current(self) -> Any:
        overrides: dict[str, Any] = getattr(self._local, "overrides", {})
        return overrides.get("lm", self._global["lm"])

    def asyncify(self, fn: Callable[[], Any]) -> Awaitable[Any]:
        return asyncio.get_running_loop().run_in_executor(None, fn)


class ThreadLocalOverrides(ReferenceAdapter):
    """concurrent_tasks_overwrite and concurrent_tasks_asyncify (DSPy 2.6.0-2.6.27,
    stanfordnlp/dspy#8197).

    Overrides live in a ``threading.local`` (where a ``ContextVar`` belongs): every asyncio
    task of a loop shares its thread's. ``asyncify``, ``submit`` and ``parallel`` copy the
    calling thread's overrides at the call, as 2.6.0's do.
    """

    def __init__(self) -> None:
        self._default: dict[str, Any] = {"lm": None}
        self._local = threading.local()

    def _overrides(self) -> dict[str, Any]:
        overrides: dict[str, Any] = getattr(self._local, "overrides", {})
        return overrides

    def reset(self) -> None:
        """What an adapter for such a library must do between specs: the overrides a task
        left on the main thread's ``threading.local`` outlive it."""
        self._local = threading.local()

    def configure(self, client: LM) -> None:
        self._default["lm"] = client

    @contextmanager
    def _scoped(self, client: Any) -> Iterator[Any]:
        previous = self._overrides()
        self._local.overrides = {**previous, "lm": client}
        try:
            yield client
        finally:
            self._local.overrides = previous

    def context(self, client: LM) -> AbstractContextManager[Any]:
        return self._scoped(client)

    def current(self) -> Any:
        return self._overrides().get("lm", self._default["lm"])

    def _carrying(self, overrides: dict[str, Any], fn: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            self._local.overrides = overrides
            try:
                return fn()
            finally:
                self._local.overrides = {}

        return run

    def submit(self, fn: Callable[[], Any]) -> Any:
        with ThreadPoolExecutor(2) as pool:
            return pool.submit(self._carrying(self._overrides(), fn)).result()

    def parallel(self, fns: Sequence[Callable[[], Any]]) -> list[Any]:
        overrides = self._overrides()
        with ThreadPoolExecutor(WORKERS) as pool:
            futures = [pool.submit(self._carrying(overrides, fn)) for fn in fns]
            return [future.result() for future in futures]

    def asyncify(self, fn: Callable[[], Any]) -> Awaitable[Any]:
        overrides = self._overrides()  # the calling thread's, shared by its tasks
        return asyncio.get_running_loop().run_in_executor(None, self._carrying(overrides, fn))


class PrimitivesLoseContext(ReferenceAdapter):
    """primitives_propagate_context (against DSPy 2.6's contract, stanfordnlp/dspy#1947).

    ``submit`` and ``parallel`` hand the work to a plain ``ThreadPoolExecutor`` and
    ``asyncify`` to ``loop.run_in_executor``: none of them copies the caller's context.
    """

    def submit(self, fn: Callable[[], Any]) -> Any:
        with ThreadPoolExecutor(2) as pool:
            return pool.submit(fn).result()

    def parallel(self, fns: Sequence[Callable[[], Any]]) -> list[Any]:
        with ThreadPoolExecutor(WORKERS) as pool:
            return list(pool.map(lambda fn: fn(), fns))

    def asyncify(self, fn: Callable[[], Any]) -> Awaitable[Any]:
        return asyncio.get_running_loop().run_in_executor(None, fn)


class OncePerThreadContextExecutor(ThreadPoolExecutor):
    """A pool whose worker threads each copy the context once, at the submit that first
    reaches them, and run every later task in that copy (trulens 1.x's ``TP``)."""

    def __init__(self, max_workers: int, **options: Any) -> None:
        options.setdefault("thread_name_prefix", "once-per-thread")
        super().__init__(max_workers, **options)
        self._thread = threading.local()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        captured = contextvars.copy_context()

        def run() -> Any:
            context: contextvars.Context | None = getattr(self._thread, "context", None)
            if context is None:
                context = self._thread.context = captured
            return context.run(fn, *args, **kwargs)

        return super().submit(run)


class ExecutorCopiesOncePerThread(ReferenceAdapter):
    """executor_context_per_submit (bpo-32309; truera/trulens#1477).

    ``submit``, ``parallel`` and ``asyncify`` share one long-lived
    ``OncePerThreadContextExecutor``: the first request's context sticks to the workers.
    """

    def __init__(self) -> None:
        self._pool = OncePerThreadContextExecutor(2)

    def submit(self, fn: Callable[[], Any]) -> Any:
        return self._pool.submit(fn).result()

    def parallel(self, fns: Sequence[Callable[[], Any]]) -> list[Any]:
        return [future.result() for future in [self._pool.submit(fn) for fn in fns]]

    def asyncify(self, fn: Callable[[], Any]) -> Awaitable[Any]:
        return asyncio.get_running_loop().run_in_executor(self._pool, fn)


class ReferencePoolsCopyOncePerThread(ReferenceAdapter):
    """executor_context_per_submit and stale_worker_config, in the reference adapter's own
    shape: the same long-lived ``submit`` pool (``pool_class``), and ``parallel`` on a fresh
    pool of ``PARALLEL_THREADS`` threads per call, as ``Parallel`` does; only the executor
    copies the context once per worker thread instead of once per task. The reference
    passing those specs therefore means its workers are reused and still get a fresh copy.
    """

    pool_class = OncePerThreadContextExecutor

    def parallel(self, fns: Sequence[Callable[[], Any]]) -> list[Any]:
        with OncePerThreadContextExecutor(PARALLEL_THREADS) as pool:
            return [future.result() for future in [pool.submit(fn) for fn in fns]]


# --- one method each -----------------------------------------------------------------------


class AsyncifyMainThreadOnly(ReferenceAdapter):
    """asyncify_off_main_thread (DSPy 2.5.31-2.6.0rc2): asyncify refuses any thread but
    the main one."""

    def asyncify(self, fn: Callable[[], Any]) -> Awaitable[Any]:
        if threading.current_thread() is not MAIN:
            raise RuntimeError("asyncify can only be called from the main thread")
        return super().asyncify(fn)


class StreamResolvedAtConsumption(ReferenceAdapter):
    """stream_after_context_exit (DSPy 2.6.0, stanfordnlp/dspy#2044): the deferred stream
    is a generator that looks up the client when it is first consumed, like ``streamify``."""

    def stream_later(
        self, messages: Sequence[Message], params: dict[str, Any]
    ) -> Callable[[], StreamResult]:
        return lambda: self.stream(self.current(), messages, params)

    def astream_later(
        self, messages: Sequence[Message], params: dict[str, Any]
    ) -> Callable[[], Awaitable[StreamResult]]:
        async def consume() -> StreamResult:
            return await self.astream(self.current(), messages, params)

        return consume


def _function(tool: Tool) -> Callable[..., Any]:
    fn = tool.sync_function or tool.async_function
    assert fn is not None
    return fn


def _result(call: ToolCall, value: Any) -> Message:
    return Message.tool(call, value if isinstance(value, str) else str(value))


async def _achain(
    client: LM,
    messages: Sequence[Message],
    tools: Tools,
    params: dict[str, Any],
    run_calls: Callable[[dict[str, Tool], tuple[ToolCall, ...]], Awaitable[list[Message]]],
) -> ChainOutcome:
    """A minimal async chain whose tool execution is ``run_calls``."""
    by_name = {tool.name: tool for tool in as_tools(tools)}
    specs = tool_specs(by_name.values())
    conversation: list[Message] = list(messages)
    results: list[Message] = []
    for _ in range(MAX_TURNS):
        response = await client.acall(conversation, tools=specs, **params)
        conversation.append(response.message())
        if not response.tool_calls:
            return ChainOutcome(response, tuple(results))
        messages_back = await run_calls(by_name, response.tool_calls)
        results += messages_back
        conversation += messages_back
    raise RuntimeError(f"still calling tools after {MAX_TURNS} turns")


def _chain(
    client: LM,
    messages: Sequence[Message],
    tools: Tools,
    params: dict[str, Any],
    run_call: Callable[[Tool, ToolCall], Message],
) -> ChainOutcome:
    """A minimal sync chain whose tool execution is ``run_call``."""
    by_name = {tool.name: tool for tool in as_tools(tools)}
    specs = tool_specs(by_name.values())
    conversation: list[Message] = list(messages)
    results: list[Message] = []
    for _ in range(MAX_TURNS):
        response = client(conversation, tools=specs, **params)
        conversation.append(response.message())
        if not response.tool_calls:
            return ChainOutcome(response, tuple(results))
        for call in response.tool_calls:
            message = run_call(by_name[call.name], call)
            results.append(message)
            conversation.append(message)
    raise RuntimeError(f"still calling tools after {MAX_TURNS} turns")


class AsyncChainDropsUnknownTools(ReferenceAdapter):
    """unknown_tool_parity (simonw/llm 0.26-0.32a2, simonw/llm#1483): the async chain
    skips calls to tools it does not have, so the next request carries a tool call
    without its result."""

    async def achain(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        async def run_calls(by_name: dict[str, Tool], calls: tuple[ToolCall, ...]) -> list[Any]:
            results = []
            for call in calls:
                tool = by_name.get(call.name)
                if tool is None:
                    continue  # the regression: no result at all for this call
                value = _function(tool)(**call.arguments)
                results.append(_result(call, await value if inspect.isawaitable(value) else value))
            return results

        return await _achain(client, messages, tools, params, run_calls)


class AsyncToolsAbandonedOnFailure(ReferenceAdapter):
    """async_tools_error_result (the contract llm's async chain kept): the async chain
    gathers the tool calls without catching a tool's exception in its task, so the first
    failure propagates and abandons the rest."""

    async def achain(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        async def run_calls(by_name: dict[str, Tool], calls: tuple[ToolCall, ...]) -> list[Any]:
            async def one(call: ToolCall) -> Message:
                value = _function(by_name[call.name])(**call.arguments)
                return _result(call, await value if inspect.isawaitable(value) else value)

            return list(await asyncio.gather(*(one(call) for call in calls)))

        return await _achain(client, messages, tools, params, run_calls)


class AsyncToolHookAbandonsSiblings(ReferenceAdapter):
    """async_tools_concurrent (simonw/llm 0.26-0.32a2, before simonw/llm#1482): each tool
    call runs, with its ``before_call`` hook, in a task; a tool's own exception becomes an
    error result in its task, but the tasks are gathered without ``return_exceptions``, so
    a hook's exception leaves the chain while the sibling tools still run."""

    async def achain_with_hook(
        self,
        client: LM,
        messages: Sequence[Message],
        tools: Tools,
        params: dict[str, Any],
        before_call: ToolHook,
    ) -> ChainOutcome:
        async def run_calls(by_name: dict[str, Tool], calls: tuple[ToolCall, ...]) -> list[Any]:
            async def one(call: ToolCall) -> Message:
                before_call(call.name, dict(call.arguments))  # not caught: the regression
                try:
                    value = _function(by_name[call.name])(**call.arguments)
                    value = await value if inspect.isawaitable(value) else value
                except Exception as exc:
                    return Message.tool(call, f"Error: {exc}", is_error=True)
                return _result(call, value)

            tasks = [asyncio.ensure_future(one(call)) for call in calls]
            return list(await asyncio.gather(*tasks))

        return await _achain(client, messages, tools, params, run_calls)


class SyncChainAsyncioRun(ReferenceAdapter):
    """sync_chain_in_running_loop (simonw/llm): the sync chain runs an async tool with
    ``asyncio.run`` on the calling thread, which fails inside a running loop."""

    def chain(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        def run_call(tool: Tool, call: ToolCall) -> Message:
            value = _function(tool)(**call.arguments)
            if inspect.iscoroutine(value):
                try:
                    value = asyncio.run(value)
                except RuntimeError:
                    value.close()  # only to keep "never awaited" warnings out of the output
                    raise
            return _result(call, value)

        return _chain(client, messages, tools, params, run_call)


class SyncChainSendsCoroutine(ReferenceAdapter):
    """async_tool_sync_entry (agno 1.5.3, agno-agi/agno#3296): the sync chain calls an
    async tool without awaiting it and sends the coroutine's repr as the result."""

    def chain(
        self, client: LM, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        def run_call(tool: Tool, call: ToolCall) -> Message:
            value = _function(tool)(**call.arguments)
            if inspect.iscoroutine(value):
                value.close()  # never awaited: only its repr goes to the model
            return _result(call, value)

        return _chain(client, messages, tools, params, run_call)


class AsyncOffloadBlocksLoop(ReferenceAdapter):
    """provider_async_path, fake async: ``acall`` runs the sync call on a worker thread and
    waits for it on the event loop's thread, blocking the loop."""

    async def acall(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(self.call, client, messages, params).result()


class BedrockAsyncMissing(ReferenceAdapter):
    """provider_async_path (phidata, agno before 1.7.6): Bedrock's async path raises
    ``NotImplementedError`` although the adapter claims async support."""

    async def acall(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        if client.provider == "bedrock":
            raise NotImplementedError("Async not supported on AWS Bedrock")
        return await super().acall(client, messages, params)


class AsyncRetriesStatusOnly(ReferenceAdapter):
    """async_retry_parity (openai-python before 1.52.1, openai/openai-python#1803): the
    async path retries HTTP 429/5xx, but re-raises a connection error at once."""

    RETRIED: tuple[type[Exception], ...] = (RateLimitError, ServerError)

    def __init__(self) -> None:
        self._targets: dict[int, Target] = {}

    def connect(self, target: Target) -> LM:
        client = super().connect(target)
        self._targets[id(client)] = target
        return client

    async def acall(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        target = self._targets[id(client)]
        once = Transport(policy=RetryPolicy(0, 0.0, 0.0), transport=target.transport)
        request = client.request(messages, **params)
        try:
            for attempt in range(target.max_retries + 1):
                try:
                    body = await once.asend(client.codec, request)
                    break
                except APIConnectionError:
                    raise  # the regression: only status errors are retried
                except self.RETRIED:
                    if attempt == target.max_retries:
                        raise
            response = client.codec.decode_response(body)
        finally:
            await once.aclose()
        return replace(response, model=response.model or client.model_name)


class AsyncRetriesTakenNotLeft(AsyncRetriesStatusOnly):
    """async_retry_parity and async_retry_bound (openai-python 1.47.0-1.52.0,
    openai/openai-python#1803): the async path's branch for connection errors tests the
    retries *taken* instead of the retries left, so the first connection error of a
    request is raised at once, and once one retry happened they are retried past
    ``max_retries``. Status errors are retried within the budget."""

    async def acall(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        target = self._targets[id(client)]
        once = Transport(policy=RetryPolicy(0, 0.0, 0.0), transport=target.transport)
        request = client.request(messages, **params)
        retries_taken = 0
        try:
            while True:
                try:
                    body = await once.asend(client.codec, request)
                    break
                except APIConnectionError:
                    if retries_taken == 0:  # the regression: retries_taken > 0 ...
                        raise
                    retries_taken += 1  # ... and no bound once it is
                except self.RETRIED:
                    if retries_taken == target.max_retries:
                        raise
                    retries_taken += 1
            response = client.codec.decode_response(body)
        finally:
            await once.aclose()
        return replace(response, model=response.model or client.model_name)


class AsyncWithoutRetries(AsyncRetriesStatusOnly):
    """async_retry_parity, worse: the async path makes one attempt, whatever the error."""

    RETRIED = ()


class AsyncifySnapshotAtWrap(ReferenceAdapter):
    """concurrent_tasks_asyncify, another way: asyncify wraps each program once (as
    ``self.predictor = asyncify(program)`` in a module's ``__init__`` does) and snapshots
    the context when it wraps, so every later call runs in the first caller's context."""

    def __init__(self) -> None:
        self._wrapped: weakref.WeakKeyDictionary[Callable[[], Any], contextvars.Context] = (
            weakref.WeakKeyDictionary()
        )

    def asyncify(self, fn: Callable[[], Any]) -> Awaitable[Any]:
        snapshot = self._wrapped.setdefault(fn, contextvars.copy_context())
        return asyncio.to_thread(snapshot.copy().run, fn)


class AsyncStreamOneDelta(ReferenceAdapter):
    """stream_chunk_parity (BerriAI/litellm#4168): the async stream delivers the whole
    answer text in one delta where the sync stream delivers it piece by piece."""

    async def astream(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        result = await super().astream(client, messages, params)
        text = "".join(e.text for e in result.events if isinstance(e, TextDelta))
        events: list[Any] = []
        for event in result.events:
            if not isinstance(event, TextDelta):
                events.append(event)
            elif not any(isinstance(e, TextDelta) for e in events):
                events.append(TextDelta(text))
        return StreamResult(tuple(events), result.response)


class StreamCountsReasoningText(ReferenceAdapter):
    """gemini_stream_reasoning_tokens (litellm 1.73.0 on): the streamed path counts the
    reasoning text itself when the provider reported no reasoning tokens."""

    def stream(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        result = super().stream(client, messages, params)
        response = result.response
        if response.reasoning and not response.usage.reasoning_tokens:
            usage = replace(response.usage, reasoning_tokens=len(response.reasoning.split()) + 3)
            response = replace(response, usage=usage)
        return StreamResult(result.events, response)


class StreamErrorFromBytes(ReferenceAdapter):
    """gemini_stream_error (litellm): the streamed path builds its error from the raw body
    bytes, under another provider's name."""

    def stream(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        try:
            return super().stream(client, messages, params)
        except LLMError as error:
            body = json.dumps({"error": {"message": error.provider_message}}).encode()
            raise type(error)(
                repr(body), provider="vertex_ai_beta", status=error.status
            ) from error


class StreamNotRetried(ReferenceAdapter):
    """gemini_stream_retry (litellm): the stream makes one attempt, while the call
    retries a 429."""

    def __init__(self) -> None:
        self._targets: dict[int, Target] = {}

    def connect(self, target: Target) -> LM:
        client = super().connect(target)
        self._targets[id(client)] = target
        return client

    def stream(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        once = super().connect(replace(self._targets[id(client)], max_retries=0))
        try:
            return super().stream(once, messages, params)
        finally:
            once.close()


# --- bundles: independent regressions sharing one suite run -------------------------------
#
# A bundle only joins regressions of different methods whose specs do not use each other's
# method as a baseline (the unknown-tool spec compares achain with chain, so a regressed
# chain cannot share its run).


class AsyncifyStreamAndAchainRegressions(
    AsyncifyMainThreadOnly,
    StreamResolvedAtConsumption,
    AsyncChainDropsUnknownTools,
    AsyncStreamOneDelta,
    AsyncRetriesTakenNotLeft,
):
    """Five regressions, each in a method of its own: asyncify, stream_later/astream_later,
    achain, astream, acall (+ connect)."""


class ToolsBlockingAsyncAndWrapSnapshot(
    AsyncToolsAbandonedOnFailure,
    AsyncToolHookAbandonsSiblings,
    SyncChainSendsCoroutine,
    AsyncOffloadBlocksLoop,
    AsyncifySnapshotAtWrap,
):
    """achain abandons the other tools on a failure, achain_with_hook abandons them on a
    hook's exception, chain sends a coroutine as a tool result, acall blocks the event
    loop, and asyncify runs in its wrap-time context."""


class ChainAsyncioRunBedrockAsyncMissingNoRetries(
    SyncChainAsyncioRun, BedrockAsyncMissing, AsyncWithoutRetries
):
    """chain runs async tools with asyncio.run; acall raises NotImplementedError on
    Bedrock and, elsewhere, makes a single attempt."""


# --- clients that lack a feature ------------------------------------------------------------


class ReferenceWithoutAsyncify(ReferenceAdapter):
    """Not a regression: a client without ``asyncify``, which the specs that need it must
    report as "not supported" instead of failing."""

    def supports(self, feature: str, provider: str) -> bool:
        return feature != "asyncify" and super().supports(feature, provider)


class ReferenceWithoutContextOrTransport(ReferenceAdapter):
    """Not a regression: a client with no settings context and no httpx transport (as a
    boto3 or litellm client), whose ``configure``/``context``/``current`` raise and whose
    ``connect`` refuses a transport. The specs that need either must report "not
    supported"; the others must pass on the connected client alone."""

    LACKS = frozenset({"context", "transport"})

    def supports(self, feature: str, provider: str) -> bool:
        return feature not in self.LACKS and super().supports(feature, provider)

    def connect(self, target: Target) -> LM:
        if target.transport is not None:
            raise TypeError("this client cannot send through an httpx transport")
        return super().connect(target)

    def configure(self, client: LM) -> None:
        raise NotImplementedError("no process-wide default client")

    def context(self, client: LM) -> AbstractContextManager[Any]:
        raise NotImplementedError("no scoped client")

    def current(self) -> Any:
        raise NotImplementedError("no current client")
