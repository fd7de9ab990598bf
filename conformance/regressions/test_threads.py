"""Regressions of settings and context across threads and executors.

Each spec names the framework release that shipped the bug and the upstream issue; the
catalogue entry of the same id holds the data the parity report shows.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from conformance.regressions.support import (
    QUESTION,
    Bench,
    answers,
    capture,
    in_raw_thread,
    run_async,
    thread_inherits_context,
)

PARALLEL_COPIES = 4

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "regression_request_id", default=None
)
"""A variable of the user's own, as tracing and logging libraries keep them."""


def _results(value: Any) -> list[Any]:
    """A primitive's results as a list (an exception stands for every result)."""
    if isinstance(value, list):
        return value
    return [value]


def _asked(bench: Bench) -> Callable[[], Any]:
    """The program every model-calling spec runs: one call on the client the caller's
    context selects."""
    adapter = bench.adapter
    return lambda: adapter.call(adapter.current(), QUESTION, {})


def _offload(bench: Bench, fn: Callable[[], Any], copies: int = PARALLEL_COPIES) -> list[Any]:
    """Run ``fn`` through the primitive of the case's mode; one result per run of ``fn``."""
    adapter = bench.adapter
    if bench.mode == "thread_pool":
        return [capture(lambda: adapter.submit(fn))]
    if bench.mode == "parallel":
        return _results(capture(lambda: adapter.parallel([fn] * copies)))
    if bench.mode == "asyncify":
        return [run_async(lambda: adapter.asyncify(fn))]
    raise ValueError(f"no primitive for mode {bench.mode!r}")


def test_stale_worker_config(bench: Bench) -> None:
    """Reused worker threads keep a stale configuration after ``configure`` changes it.

    DSPy <=2.5.29 and 2.5.32-2.5.35 (stanfordnlp/dspy#1766): ``dspy.Evaluate`` reused the
    threads of its pool, and each thread had copied the settings once, when it first ran a
    task. ``configure(lm=gpt4o)`` then ``configure(lm=gpt4o_mini)`` evaluated gpt4o twice.
    Here the same primitive runs after each of two ``configure`` calls and inside each of
    two ``context`` blocks; every run must call the model configured at that moment.
    """
    adapter = bench.adapter
    roles = ("first", "second", "override-a", "override-b")
    program = _asked(bench)
    with bench.replay(answers(*roles)):
        first, second, override_a, override_b = bench.clients(*roles)
        steps = (
            ("after configure(first)", first, None),
            ("after configure(second), on workers that ran before", second, None),
            ("inside context(override-a)", second, override_a),
            ("inside context(override-b), on workers that ran before", second, override_b),
        )
        for label, configured, override in steps:
            adapter.configure(configured)
            if override is None:
                results = _offload(bench, program)
            else:
                with adapter.context(override):
                    results = _offload(bench, program)
            expected = bench.role_of(override if override is not None else configured)
            for index, got in enumerate(results):
                bench.expect_answer(f"{label}: run #{index + 1}", got, expected)
    bench.verdict("a worker used a configuration that was no longer current")


def test_user_thread_settings(bench: Bench) -> None:
    """Reading the settings from a thread the user created raises, and so does asyncify's
    own worker.

    DSPy 2.5.30 (stanfordnlp/dspy#1812): settings were kept per thread id and filled only
    for the main thread and DSPy's own workers, so ``dspy.settings.lm`` in a
    ``threading.Thread`` raised ``KeyError`` (and ``asyncify``'s anyio worker too). Here a
    raw thread, a plain executor task and asyncify's worker each read ``current()``: no
    error, and the process default (raw threads) or the caller's override (asyncify).
    """
    adapter = bench.adapter
    default, scoped = bench.clients("default", "scoped")  # never called: no cassette
    adapter.configure(default)
    if bench.mode == "thread":
        got = in_raw_thread(adapter.current)
        bench.expect_client("current() in a threading.Thread the user created", got, default)
        with ThreadPoolExecutor(max_workers=1) as pool:
            got = capture(lambda: pool.submit(adapter.current).result())
        bench.expect_client("current() in a plain ThreadPoolExecutor task", got, default)
        with adapter.context(scoped):
            got = in_raw_thread(adapter.current)
        expected = scoped if thread_inherits_context() else default
        bench.expect_client(
            "current() in a user thread started inside a context block (a raw thread sees "
            "the process default)",
            got,
            expected,
        )
    else:
        got = run_async(lambda: adapter.asyncify(adapter.current))
        bench.expect_client("current() in asyncify's worker", got, default)
        with adapter.context(scoped):
            got = run_async(lambda: adapter.asyncify(adapter.current))
        bench.expect_client("current() in asyncify's worker, inside a context block", got, scoped)
    bench.verdict("the settings could not be read outside the main thread")


def test_context_in_user_thread(bench: Bench) -> None:
    """Entering a context inside a user-created thread raises.

    DSPy 2.5.31: ``dspy.context`` raised "unsupported way of creating threads" in any
    thread DSPy had not started itself, so a web server's request threads could not scope
    a model (stanfordnlp/dspy#1852 allowed it again). Here ``context()`` is entered in a
    raw thread, and inside asyncify's worker: it must work, apply there, and be undone on
    exit, without reaching the main thread.
    """
    adapter = bench.adapter
    default, scoped, inner = bench.clients("default", "scoped", "inner")

    def scoped_here(client: Any) -> tuple[Any, Any]:
        with adapter.context(client):
            inside = adapter.current()
        return inside, adapter.current()

    adapter.configure(default)
    if bench.mode == "thread":
        outer = default
        got = in_raw_thread(lambda: scoped_here(scoped))
        target = scoped
    else:
        outer = scoped
        with adapter.context(scoped):
            got = run_async(lambda: adapter.asyncify(lambda: scoped_here(inner)))
        target = inner
    where = "a threading.Thread" if bench.mode == "thread" else "asyncify's worker"
    if isinstance(got, BaseException):
        bench.problem(f"entering context() in {where}", "no error", got)
    else:
        inside, after = got
        bench.expect_client(f"current() inside the block, in {where}", inside, target)
        bench.expect_client(f"current() after the block, in {where}", after, outer)
    bench.expect_client("current() on the main thread afterwards", adapter.current(), default)
    bench.verdict(f"a context could not be entered in {where}")


def test_context_leak_after_exit(bench: Bench) -> None:
    """A context entered on the main thread leaks into other threads after it exits.

    DSPy 2.5.36 (fixed in 2.5.37): ``dspy.context`` on the main thread rewrote the shared
    main configuration for the length of the block, and worker threads that copied it
    meanwhile kept the override after the block had exited. Here work runs inside a block
    and again after it: after the exit every thread must see the process default again.
    """
    adapter = bench.adapter
    default, scoped = bench.clients("default", "scoped")
    adapter.configure(default)
    if bench.mode == "thread":
        inside, exited = threading.Event(), threading.Event()

        def user_thread() -> tuple[Any, Any]:
            during = capture(adapter.current)
            inside.set()
            exited.wait(10)
            return during, capture(adapter.current)

        box: list[Any] = []
        thread = threading.Thread(target=lambda: box.append(capture(user_thread)), daemon=True)
        with adapter.context(scoped):
            thread.start()
            inside.wait(10)
        exited.set()
        thread.join(30)
        seen = scoped if thread_inherits_context() else default
        got = box[0] if box else TimeoutError("the thread did not finish")
        if isinstance(got, BaseException):
            bench.problem("a user thread reading the settings", "no error", got)
        else:
            during, after = got
            bench.expect_client("a user thread, during the main thread's block", during, seen)
            bench.expect_client("the same thread, after the block exited", after, seen)
        after_new = in_raw_thread(adapter.current)
        bench.expect_client("a user thread started after the block exited", after_new, default)
    else:
        with adapter.context(scoped):
            for index, got in enumerate(_offload(bench, adapter.current)):
                bench.expect_client(f"inside the block: run #{index + 1}", got, scoped)
        for attempt in (1, 2):
            for index, got in enumerate(_offload(bench, adapter.current)):
                bench.expect_client(
                    f"after the block exited (round {attempt}): run #{index + 1}", got, default
                )
    bench.expect_client("current() on the main thread after the block", adapter.current(), default)
    bench.verdict("the context outlived its block in another thread")


def test_primitives_propagate_context(bench: Bench) -> None:
    """Primitives propagate the context; raw threads see the process default, without error.

    DSPy 2.6's contract (stanfordnlp/dspy#1947): any thread can use ``dspy.context``, it
    propagates to threads started by DSPy's primitives (``Parallel``, ``asyncify``...), and
    a thread the user starts sees the global configuration. Each primitive runs a call
    inside ``context(scoped)`` with ``configure(default)``: it must answer as ``scoped``;
    a raw thread must answer as ``default`` (as ``scoped`` where CPython makes threads
    inherit their creator's context).
    """
    adapter = bench.adapter
    program = _asked(bench)
    with bench.replay(answers("scoped", "default")):
        scoped, default = bench.clients("scoped", "default")
        adapter.configure(default)
        with adapter.context(scoped):
            if bench.mode == "raw_thread":
                results = [in_raw_thread(program)]
                expected = "scoped" if thread_inherits_context() else "default"
            else:
                results = _offload(bench, program, copies=3)
                expected = "scoped"
        for index, got in enumerate(results):
            bench.expect_answer(f"{bench.mode} run #{index + 1}", got, expected)
    bench.verdict(
        "a raw thread did not see the process default"
        if bench.mode == "raw_thread"
        else f"{bench.mode} did not carry the caller's context"
    )


def test_executor_context_per_submit(bench: Bench) -> None:
    """Work offloaded to an executor sees the caller's contextvars, copied per submit.

    CPython bpo-32309 (``asyncio.to_thread`` copies the context; ``run_in_executor`` never
    did) and truera/trulens#1477 (trulens 1.x: its pool copied the context when a worker
    thread started, so the second request ran with the first one's variables). Three
    rounds, each with its own value of a user ``ContextVar`` and its own ``context()``
    client, must each see their own; a variable set by the work must not leak to the
    caller or to later work, not even within one call that runs more programs than the
    primitive has threads (a reused worker must start each program from the caller's copy).
    """
    adapter = bench.adapter
    first, second, third = bench.clients("first", "second", "third")
    adapter.configure(bench.lost())

    def probe() -> tuple[str | None, Any]:
        return REQUEST_ID.get(), adapter.current()

    def read_then_set() -> str | None:
        seen = REQUEST_ID.get()
        REQUEST_ID.set("leaked")
        return seen

    for label, client in (("first", first), ("second", second), ("third", third)):
        token = REQUEST_ID.set(label)
        try:
            with adapter.context(client):
                results = _offload(bench, probe, copies=3)
        finally:
            REQUEST_ID.reset(token)
        for index, got in enumerate(results):
            where = f"round {label!r}, run #{index + 1}"
            if isinstance(got, BaseException):
                bench.problem(where, "no error", got)
                continue
            seen, current = got
            bench.expect(f"{where}: the caller's ContextVar", label, seen)
            bench.expect_client(f"{where}: the caller's context()", current, client)

    token = REQUEST_ID.set("caller")
    try:
        _offload(bench, lambda: REQUEST_ID.set("leaked"))
        bench.expect("the caller's ContextVar after the work set it", "caller", REQUEST_ID.get())
        for index, got in enumerate(_offload(bench, probe, copies=3)):
            seen = got[0] if isinstance(got, tuple) else got
            bench.expect(f"later work, run #{index + 1}: the ContextVar", "caller", seen)
        for index, got in enumerate(_offload(bench, read_then_set)):
            where = f"work that reads then sets it, run #{index + 1}: the ContextVar"
            bench.expect(where, "caller", got)
    finally:
        REQUEST_ID.reset(token)
    bench.verdict("offloaded work did not run in a fresh copy of the caller's context")
