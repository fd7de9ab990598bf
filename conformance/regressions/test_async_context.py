"""Regressions of the caller's context across asyncio: asyncify, tasks, deferred streams."""

from __future__ import annotations

import asyncio
from typing import Any

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


def test_asyncify_concurrent_contexts(bench: Bench) -> None:
    """asyncify loses the caller's model under concurrency.

    DSPy 2.5.40-2.5.43 (stanfordnlp/dspy#1867, "No LM is loaded"): ``asyncify`` gave its
    worker the overrides of the main thread, kept in a ``threading.local`` that every
    coroutine on the loop's thread overwrote; a module doing
    ``with dspy.context(lm=...): await asyncify(program)(...)`` worked 1-3 times, then
    crashed. Here 20 coroutines, each inside its own ``context(task<i>)``, await
    ``asyncify`` together; each must get its own model's answer, also when the event loop
    runs in a thread other than the main one.
    """
    adapter = bench.adapter
    roles = [f"task{i}" for i in range(ASYNCIFY_TASKS)]

    def program() -> Any:
        return adapter.call(adapter.current(), QUESTION, {})

    with bench.replay(answers(*roles)):
        clients = bench.clients(*roles)
        adapter.configure(bench.lost())

        async def one(client: Any) -> Any:
            with adapter.context(client):
                await asyncio.sleep(0)  # every coroutine enters its block before any runs
                return await adapter.asyncify(program)

        async def main() -> list[Any]:
            return await asyncio.gather(*(one(c) for c in clients), return_exceptions=True)

        if bench.mode == "asyncify":
            got: Any = run_async(main)
        else:
            got = in_raw_thread(lambda: asyncio.run(main()))
    where = "on the main thread" if bench.mode == "asyncify" else "in a non-main thread"
    if isinstance(got, BaseException):
        bench.problem(f"{ASYNCIFY_TASKS} coroutines awaiting asyncify {where}", "no error", got)
    else:
        for index, result in enumerate(got):
            bench.expect_answer(f"coroutine #{index} in context(task{index})", result, roles[index])
    bench.verdict(f"asyncify gave concurrent coroutines the wrong model (event loop {where})")


def test_asyncify_off_main_thread(bench: Bench) -> None:
    """asyncify called from a non-main thread, or nested inside a module, works.

    DSPy 2.5.31-2.6.0rc2 accepted ``asyncify`` on the main thread only: a server running
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

        return asyncio.run(main())

    with bench.replay(answers("outer", "inner")):
        outer, inner = bench.clients("outer", "inner")
        adapter.configure(bench.lost())
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
    """Concurrent asyncio tasks overwrite each other's context.

    DSPy 2.5.40-2.6.27 (stanfordnlp/dspy#8197, fixed by #8203): ``dspy.context`` kept its
    overrides in a ``threading.local``, shared by every task on the loop's thread, so
    concurrent requests of a server ran on each other's models. Here six tasks each enter
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

    DSPy 2.6.0 (stanfordnlp/dspy#2044): ``streamify(program)(...)`` returned a generator
    that ran the program only when iterated, usually after the
    ``with dspy.context(lm=...)`` block of the code that created it had exited, so the
    stream went to the global model. Here a stream is created inside ``context(scoped)``
    (``ClientAdapter.stream_later``, feature ``deferred``) and consumed after the block:
    on the same thread, in another thread (sync), or in the same loop (async).
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
