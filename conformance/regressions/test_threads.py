"""Regressions of settings and context across threads and executors.

Each spec names the framework release that shipped the bug and the upstream issue; the
catalogue entry of the same id holds the data the parity report shows.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from conformance.regressions.support import (
    QUESTION,
    Bench,
    answers,
    capture,
    in_raw_thread,
    run_async,
    thread_inherits_context,
)

T = TypeVar("T")
PARALLEL_COPIES = 4
USER_POOL_THREADS = 4
ROUNDS = 5
"""Rounds of ``reused_thread_id``: which id a new thread gets is the C library's choice."""
THREAD_WAIT = 10.0
THREADS_GONE = 0.1
"""Seconds at most for finished threads to exit at the OS level after ``join`` (only then
can the C library hand their ids, and stacks, to new threads)."""
TASKS = Path("/proc/self/task")


def noting_thread(ids: list[int], fn: Callable[[], T]) -> Callable[[], T]:
    """``fn``, noting in ``ids`` the OS id of each thread that runs it."""

    def noted() -> T:
        ids.append(threading.get_native_id())
        return fn()

    return noted


def wait_threads_gone(ids: list[int]) -> None:
    """Wait until the OS threads ``ids`` have exited (Linux: their ``/proc/self/task``
    entries are gone), ``THREADS_GONE`` seconds at most; elsewhere, that long."""
    deadline = time.monotonic() + THREADS_GONE
    while time.monotonic() < deadline:
        if TASKS.is_dir() and not any((TASKS / str(i)).exists() for i in ids):
            return
        time.sleep(0.001)


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


def _user_pool_reads(bench: Bench, threads: int = USER_POOL_THREADS) -> None:
    """A user's own ``ThreadPoolExecutor`` reads the settings on each of its ``threads``
    threads (all started: each read waits for the others), then exits. A precondition: a
    client whose plain threads cannot read the settings is user_thread_settings'."""
    adapter = bench.adapter
    everyone = threading.Barrier(threads)

    ids: list[int] = []

    def read(_: int) -> Any:
        everyone.wait(THREAD_WAIT)
        return noting_thread(ids, adapter.current)()

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="user-pool") as pool:
        got = capture(lambda: list(pool.map(read, range(threads))))
    wait_threads_gone(ids)
    bench.requires("current() in a plain ThreadPoolExecutor", got, owner="user_thread_settings")


def test_stale_worker_config(bench: Bench) -> None:
    """The framework's own executor runs each task on the configuration current at its
    submission, also on the thread ids of a user pool that has come and gone.

    DSPy 2.5.29 (stanfordnlp/dspy#1766): settings were a stack of config dicts per thread
    id, copied from the main thread's at a thread's first read and never dropped. A user's
    ``ThreadPoolExecutor`` ran the program, then ``configure(lm=gpt4o)``, ``Evaluate``,
    ``configure(lm=gpt4o_mini)``, ``Evaluate`` scored the pool's model: ``Evaluate``'s new
    threads reused the dead pool's thread ids and their copies. Here, after such a pool,
    the adapter's ``submit``/``parallel`` (the framework's own executor) runs after each of
    two ``configure`` calls and inside each of two ``context`` blocks; every run must call
    the model configured at that moment. (The plain pool's own reused workers:
    ``stale_worker_config_plain_pool``.)
    """
    adapter = bench.adapter
    roles = ("first", "second", "override-a", "override-b")
    program = _asked(bench)
    with bench.replay(answers(*roles)):
        first, second, override_a, override_b = bench.clients(*roles)
        adapter.configure(first)
        _user_pool_reads(bench)
        for got in _offload(bench, lambda: None):
            bench.requires("the primitive, after a user pool exited", got, owner="reused_thread_id")
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


def test_stale_worker_config_plain_pool(bench: Bench) -> None:
    """A plain ``ThreadPoolExecutor``'s reused worker reads the configuration current at
    each task.

    DSPy 2.5.29 and 2.5.32-2.5.35 (the plain-pool half of stanfordnlp/dspy#1766): any
    thread copied the settings at its first read and kept the copy, so a long-lived pool
    of the user's own, reused after ``configure(lm=second)``, still saw ``first``. The
    ContextVar settings of stanfordnlp/dspy#1852 (2.5.36) read the process config at each
    access. Here one worker of the user's pool reads ``current()`` after each of three
    ``configure`` calls.
    """
    adapter = bench.adapter
    clients = bench.clients("first", "second", "third")
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="user-pool") as pool:
        for index, client in enumerate(clients):
            adapter.configure(client)
            got = capture(lambda: pool.submit(adapter.current).result())
            if index == 0:
                got = bench.requires(
                    "current() in a plain ThreadPoolExecutor", got, owner="user_thread_settings"
                )
            bench.expect_client(
                f"the reused worker, after configure({bench.role_of(client)})", got, client
            )
    bench.verdict("a plain pool's worker kept a configuration that was no longer current")


def test_reused_thread_id(bench: Bench) -> None:
    """The framework's primitives run after a user thread that read the settings has
    exited (the next thread may get its id).

    DSPy 2.5.32-2.5.35 (no upstream issue number known; a bare ``AssertionError``):
    ``asyncify`` and ``ParallelExecutor`` asserted that their worker's thread id had no
    settings stack yet, while every user thread that read the settings left its stack
    behind (2.5.32 restored 2.5.29's copy-on-first-read); the C library hands a finished
    thread's id to the next new one, so the next worker failed the assertion. Here, five
    times, a user thread reads ``current()`` and exits, then the primitive reads it: no
    error, and the process default.
    """
    adapter = bench.adapter
    default = bench.client("default")
    adapter.configure(default)
    for attempt in range(1, ROUNDS + 1):
        ids: list[int] = []
        read = in_raw_thread(noting_thread(ids, adapter.current))
        wait_threads_gone(ids)
        bench.requires("current() in a threading.Thread", read, owner="user_thread_settings")
        for index, got in enumerate(_offload(bench, adapter.current, copies=2)):
            bench.expect_client(f"round {attempt}, {bench.mode} run #{index + 1}", got, default)
    bench.verdict(f"{bench.mode} failed after a user thread had read the settings")


def test_user_thread_settings(bench: Bench) -> None:
    """The settings can be read from a thread the user created, a plain executor's
    worker and asyncify's worker.

    DSPy 2.5.30 (stanfordnlp/dspy#1812): settings were kept per thread id and filled only
    for the main thread and DSPy's own workers, so ``dspy.settings.lm`` in a
    ``threading.Thread`` raised ``KeyError`` (and ``asyncify``'s anyio worker too). Here a
    raw thread and a plain executor task read ``current()`` (the process default), and
    asyncify's worker does, outside and inside a context block (the process default, then
    the caller's override).
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
    else:
        got = run_async(lambda: adapter.asyncify(adapter.current))
        bench.expect_client("current() in asyncify's worker", got, default)
        with adapter.context(scoped):
            got = run_async(lambda: adapter.asyncify(adapter.current))
        bench.expect_client("current() in asyncify's worker, inside a context block", got, scoped)
    bench.verdict("the settings could not be read outside the main thread")


def test_main_context_in_user_threads(bench: Bench) -> None:
    """A ``context()`` block on the main thread does not change what the user's own
    threads see.

    DSPy's rule since 2.6.0 (stanfordnlp/dspy#1947): a thread the user starts sees the
    process configuration; only the framework's primitives carry the caller's overrides.
    Through 2.5.43 ``context()`` on the main thread pushed onto the main settings stack
    (2.5.29-2.5.35) or rewrote the global config for the length of the block
    (2.5.36-2.5.43), so a ``threading.Thread`` started inside the block, or one already
    running that read the settings during it, saw the override. Here both threads must see
    the process default (the override where CPython makes threads inherit their creator's
    context, for the one started inside the block).
    """
    adapter = bench.adapter
    default, scoped = bench.clients("default", "scoped")
    adapter.configure(default)
    bench.requires(
        "current() in a threading.Thread",
        in_raw_thread(adapter.current),
        owner="user_thread_settings",
    )
    inside, done = threading.Event(), threading.Event()
    box: list[Any] = []

    def running_before() -> None:
        inside.wait(THREAD_WAIT)
        box.append(capture(adapter.current))
        done.set()

    early = threading.Thread(target=running_before, name="user-thread", daemon=True)
    early.start()
    with adapter.context(scoped):
        late = in_raw_thread(adapter.current)
        inside.set()
        done.wait(THREAD_WAIT)
    early.join(THREAD_WAIT)
    during = box[0] if box else TimeoutError("the thread did not read the settings")
    bench.expect_client(
        "a user thread started before the block, reading during it", during, default
    )
    bench.expect_client(
        "a user thread started inside the block",
        late,
        scoped if thread_inherits_context() else default,
    )
    bench.expect_client("current() on the main thread after the block", adapter.current(), default)
    bench.verdict("a main-thread context() reached the user's own threads")


def test_context_in_user_thread(bench: Bench) -> None:
    """``context()`` can be entered in a thread the user created and in a plain executor's
    worker.

    DSPy 2.5.31: ``configure``, and so ``dspy.context``, asserted that the calling thread
    was one DSPy had registered ("unsupported way of creating threads", from
    stanfordnlp/dspy#1813), so a web server's request threads could not scope a model;
    2.5.32 reverted it, and stanfordnlp/dspy#1852 allowed it for good. Here ``context()``
    is entered in a raw thread, or in a plain ``ThreadPoolExecutor`` task: it must work,
    apply there, and be undone on exit, without reaching the main thread.
    """
    adapter = bench.adapter
    default, scoped = bench.clients("default", "scoped")

    def scoped_here() -> tuple[Any, Any, Any]:
        before = capture(adapter.current)
        entered = capture(lambda: _inside(adapter, scoped))
        return before, entered, capture(adapter.current)

    adapter.configure(default)
    if bench.mode == "thread":
        got = in_raw_thread(scoped_here)
    else:
        with ThreadPoolExecutor(max_workers=1) as pool:
            got = capture(lambda: pool.submit(scoped_here).result())
    where = "a threading.Thread" if bench.mode == "thread" else "a plain ThreadPoolExecutor task"
    if isinstance(got, BaseException):
        bench.problem(f"running in {where}", "no error", got)
    else:
        before, inside, after = got
        bench.requires(f"current() in {where}", before, owner="user_thread_settings")
        if isinstance(inside, BaseException):
            bench.problem(f"entering context() in {where}", "no error", inside)
        else:
            bench.expect_client(f"current() inside the block, in {where}", inside, scoped)
            bench.expect_client(f"current() after the block, in {where}", after, default)
    bench.expect_client("current() on the main thread afterwards", adapter.current(), default)
    bench.verdict(f"a context could not be entered in {where}")


def _inside(adapter: Any, client: Any) -> Any:
    with adapter.context(client):
        return adapter.current()


def test_context_leak_after_exit(bench: Bench) -> None:
    """After a ``context()`` block on the main thread exits, the user's new threads see the
    process default again.

    DSPy 2.5.36 (fixed in 2.5.37): ``dspy.context`` on the main thread also replaced the
    global configuration and never put it back. The main thread and DSPy's primitives read
    their own ContextVar copy, restored on exit, which hides the leak from them; a thread
    the user starts reads the global configuration. Here a block is entered and left on the
    main thread, then a new ``threading.Thread`` (``thread``) or a new plain
    ``ThreadPoolExecutor`` (``plain_pool``) reads ``current()``: the process default. (What
    user threads see during the block is ``main_context_in_user_threads``.)
    """
    adapter = bench.adapter
    default, scoped = bench.clients("default", "scoped")
    adapter.configure(default)
    with adapter.context(scoped):
        pass
    if bench.mode == "thread":
        where, got = "a new threading.Thread", in_raw_thread(adapter.current)
    else:
        with ThreadPoolExecutor(max_workers=1) as pool:
            got = capture(lambda: pool.submit(adapter.current).result())
        where = "a new plain ThreadPoolExecutor"
    got = bench.requires(f"current() in {where}", got, owner="user_thread_settings")
    bench.expect_client(f"current() in {where}, after the block exited", got, default)
    bench.expect_client("current() on the main thread after the block", adapter.current(), default)
    bench.verdict("the context outlived its block in the user's threads")


def test_primitives_propagate_context(bench: Bench) -> None:
    """The framework's primitives carry the caller's context to their workers.

    DSPy's contract since 2.6 (stanfordnlp/dspy#1947): ``dspy.context`` propagates to the
    threads of DSPy's primitives (``Parallel``, ``asyncify``, ``Evaluate``...). No release
    from 2.5.29 to 3.4.1 broke it on the main thread; what a raw thread sees is
    ``main_context_in_user_threads``. Each primitive runs a call inside ``context(scoped)``
    over the process default: it must answer as ``scoped``.
    """
    adapter = bench.adapter
    program = _asked(bench)
    with bench.replay(answers("scoped")):
        scoped = bench.client("scoped")
        adapter.configure(bench.lost())
        if bench.mode == "asyncify":
            read = run_async(lambda: adapter.asyncify(adapter.current))
            bench.requires("current() in asyncify's worker", read, owner="user_thread_settings")
        with adapter.context(scoped):
            results = _offload(bench, program, copies=3)
        for index, got in enumerate(results):
            bench.expect_answer(f"{bench.mode} run #{index + 1}", got, "scoped")
    bench.verdict(f"{bench.mode} did not carry the caller's context")


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
