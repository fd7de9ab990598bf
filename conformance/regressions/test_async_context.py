"""Regressions of the caller's context across asyncio: asyncify, tasks, deferred streams."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from conformance import loops
from conformance.regressions.support import (
    QUESTION,
    Bench,
    Take,
    answers,
    capture,
    in_raw_thread,
    reply,
    run_async,
)

ASYNCIFY_TASKS = 20
CONCURRENT_TASKS = 6
WAIT = 10.0


def _asyncify_reads(bench: Bench) -> None:
    """Precondition: asyncify's worker can read the settings at all (user_thread_settings)."""
    adapter = bench.adapter
    got = run_async(lambda: adapter.asyncify(adapter.current))
    bench.requires("current() in asyncify's worker", got, owner="user_thread_settings")


def test_asyncify_concurrent_contexts(bench: Bench) -> None:
    """asyncify's worker keeps its caller's context while a sibling coroutine leaves its
    own block.

    DSPy 2.5.40-2.5.43 (stanfordnlp/dspy#1867, "No LM is loaded"): ``asyncify`` handed its
    worker nothing, and the worker read the global configuration, which ``context()`` on
    the main thread wrote on entry and restored on exit. With several coroutines each
    doing ``with dspy.context(lm=...): await asyncify(program)(...)``, a sibling leaving its
    block took the model from under a running worker: the first calls worked, then "No LM
    is loaded". Here two coroutines on the main thread's loop enter ``context(scoped)``
    (the same client, so that this is not ``concurrent_tasks_asyncify``): the sibling
    first; the caller then awaits ``asyncify(program)``, and its worker calls the model
    only after the sibling has left its block. It must call ``scoped``.
    """
    adapter = bench.adapter
    started, release = threading.Event(), threading.Event()

    def program() -> Any:
        started.set()
        release.wait(WAIT)
        return adapter.call(adapter.current(), QUESTION, {})

    with bench.replay(answers("scoped")):
        scoped = bench.client("scoped")
        adapter.configure(bench.lost())
        _asyncify_reads(bench)

        async def sibling(entered: asyncio.Event) -> None:
            with adapter.context(scoped):
                entered.set()
                while not (started.is_set() or release.is_set()):
                    await asyncio.sleep(0.005)
            release.set()

        async def caller(sibling_entered: asyncio.Event) -> Any:
            await sibling_entered.wait()
            try:
                with adapter.context(scoped):
                    return await adapter.asyncify(program)
            finally:
                release.set()  # the sibling never waits for a worker that did not start

        async def main() -> Any:
            entered = asyncio.Event()
            try:
                results = await asyncio.gather(
                    caller(entered), sibling(entered), return_exceptions=True
                )
            finally:
                release.set()
            return results[0]

        got = run_async(main)
    bench.expect_answer("asyncify's worker, after a sibling left its block", got, "scoped")
    bench.verdict("asyncify's worker lost its caller's context when a sibling's block exited")


def test_concurrent_tasks_asyncify(bench: Bench) -> None:
    """Twenty coroutines, each in its own context, awaiting asyncify together each get
    their own model.

    DSPy 2.5.31-2.5.35 and 2.5.40-2.6.27 (stanfordnlp/dspy#8197, "race conditions using
    asyncify with this context manager", fixed by #8203 in 3.0.0): the coroutines of one
    event loop shared one per-thread override store (the main settings stack, then a
    ``threading.local``), so ``asyncify`` handed each worker whichever block had been
    entered last. Here 20 coroutines on the main thread's loop, each inside its own
    ``context(task<i>)``, await ``asyncify`` together; each must get its own model's
    answer. (The same store without asyncify: ``concurrent_tasks_overwrite``.)
    """
    adapter = bench.adapter
    roles = [f"task{i}" for i in range(ASYNCIFY_TASKS)]

    def program() -> Any:
        return adapter.call(adapter.current(), QUESTION, {})

    with bench.replay(answers(*roles)):
        clients = bench.clients(*roles)
        adapter.configure(bench.lost())
        _asyncify_reads(bench)

        async def one(client: Any) -> Any:
            with adapter.context(client):
                await asyncio.sleep(0)  # every coroutine enters its block before any runs
                return await adapter.asyncify(program)

        async def main() -> list[Any]:
            return await asyncio.gather(*(one(c) for c in clients), return_exceptions=True)

        got: Any = run_async(main)
    if isinstance(got, BaseException):
        bench.problem(f"{ASYNCIFY_TASKS} coroutines awaiting asyncify", "no error", got)
    else:
        for index, result in enumerate(got):
            bench.expect_answer(f"coroutine #{index} in context(task{index})", result, roles[index])
    bench.verdict("asyncify gave concurrent coroutines each other's model")


def test_asyncify_off_main_thread(bench: Bench) -> None:
    """asyncify called from a non-main thread, or nested inside a module, works.

    DSPy 2.5.31-2.5.43 accepted ``asyncify`` on the main thread only (no upstream issue
    number known; stanfordnlp/dspy#1947 dropped the assertion in 2.6.0): a server running
    its event loop in a worker thread, or a module whose ``forward`` itself used an
    asyncified helper, failed. Here ``asyncify`` runs from an event loop in a user thread
    (``thread``), and from a program that asyncify already runs in a worker, which starts
    its own loop (``nested``); each call must use the context of its caller.
    """
    adapter = bench.adapter

    def program() -> Any:
        return adapter.call(adapter.current(), QUESTION, {})

    def asyncified(fn: Any) -> Any:
        async def main() -> Any:
            return await adapter.asyncify(fn)

        return loops.run(main())

    with bench.replay(answers("outer", "inner")):
        outer, inner = bench.clients("outer", "inner")
        adapter.configure(bench.lost())
        _asyncify_reads(bench)
        if bench.mode == "thread":

            def user_thread() -> Any:
                with adapter.context(outer):
                    return asyncified(program)

            got = in_raw_thread(user_thread)
            bench.expect_answer("asyncify in an event loop of a user thread", got, "outer")
        else:

            def module() -> tuple[Any, Any]:
                first = capture(program)
                with adapter.context(inner):
                    nested = capture(lambda: asyncified(program))
                return first, nested

            with adapter.context(outer):
                got = run_async(lambda: adapter.asyncify(module))
            if isinstance(got, BaseException):
                bench.problem("asyncify running a module", "no error", got)
            else:
                first, nested = got
                bench.expect_answer("the module's own call", first, "outer")
                bench.expect_answer("asyncify nested inside the module", nested, "inner")
    bench.verdict("asyncify failed outside the main thread")


def test_concurrent_tasks_overwrite(bench: Bench) -> None:
    """Concurrent asyncio tasks never see or overwrite each other's context.

    DSPy 2.5.29-2.5.35 and 2.5.40-2.6.27 (stanfordnlp/dspy#8197, fixed by #8203 in
    3.0.0): ``dspy.context`` kept its overrides in a per-thread store (the main settings
    stack through 2.5.35, a ``threading.local`` from 2.5.40), shared by every task on the
    loop's thread, so concurrent requests of a server ran on each other's models (the
    ContextVar of 2.5.36-2.5.39 had it right). Here six tasks each enter
    ``context(task<i>)``, yield, call (``acall``) or stream (``astream``), yield again and
    exit in a different order: each must see and use only its own client, before and
    after its call, and the parent task must see the process default afterwards.
    """
    adapter = bench.adapter
    roles = [f"task{i}" for i in range(CONCURRENT_TASKS)]
    with bench.replay(answers(*roles, stream=True)):
        clients = bench.clients(*roles)
        lost = bench.lost()
        adapter.configure(lost)

        async def one(index: int, client: Any) -> tuple[Any, Any, Any]:
            with adapter.context(client):
                await asyncio.sleep(0)  # let the siblings enter their blocks
                before = adapter.current()
                if bench.mode == "acall":
                    result: Any = await adapter.acall(adapter.current(), QUESTION, {})
                else:
                    result = await adapter.astream(adapter.current(), QUESTION, {})
                await asyncio.sleep(0.001 * ((CONCURRENT_TASKS - index) % 3))  # shuffled exits
                after = adapter.current()
            return before, result, after

        async def main() -> tuple[list[Any], Any]:
            results = await asyncio.gather(
                *(one(i, c) for i, c in enumerate(clients)), return_exceptions=True
            )
            return results, adapter.current()

        got = run_async(main)
    if isinstance(got, BaseException):
        bench.problem(f"{CONCURRENT_TASKS} concurrent tasks", "no error", got)
    else:
        results, parent = got
        for index, result in enumerate(results):
            task = f"task #{index} in context(task{index})"
            if isinstance(result, BaseException):
                bench.problem(task, "no error", result)
                continue
            before, answer, after = result
            bench.expect_client(f"{task}: current() before its call", before, clients[index])
            bench.expect_answer(f"{task}: its {bench.mode}", answer, roles[index])
            bench.expect_client(f"{task}: current() after its call", after, clients[index])
        bench.expect_client("the parent task's current() after the tasks exited", parent, lost)
    bench.verdict("concurrent tasks saw each other's context")


def test_stream_after_context_exit(bench: Bench) -> None:
    """A stream consumed after its context block has exited still uses that context.

    DSPy 2.6.0 to 3.4.1, still present in 3.4.1 (stanfordnlp/dspy#2044):
    ``streamify(program)(...)`` returns an async generator whose body (the task group,
    ``context(send_stream=...)``, the asyncify copy of the settings) starts only when it
    is first iterated, usually after the ``with dspy.context(lm=...)`` block of the code
    that created it has exited, so the program runs on the global model. Here a stream is
    created inside ``context(scoped)`` (``ClientAdapter.stream_later``, feature
    ``deferred``) and consumed after the block: on the same thread, in another thread
    (sync), or in the same loop (async).
    """
    adapter = deferred = bench.adapter
    with bench.replay([Take("scoped", (reply("scoped"),), kind="stream")]):
        scoped = bench.client("scoped")
        adapter.configure(bench.lost())
        if bench.mode == "stream":
            with adapter.context(scoped):
                here = deferred.stream_later(QUESTION, {})
                elsewhere = deferred.stream_later(QUESTION, {})
            bench.expect_answer("consumed after the block", capture(here), "scoped")
            bench.expect_answer(
                "consumed after the block, in another thread", in_raw_thread(elsewhere), "scoped"
            )
        else:

            async def main() -> Any:
                with adapter.context(scoped):
                    consume = deferred.astream_later(QUESTION, {})
                await asyncio.sleep(0)
                return await consume()

            bench.expect_answer("consumed after the block", run_async(main), "scoped")
    bench.verdict("the stream used the context of its consumer, not of its creator")
