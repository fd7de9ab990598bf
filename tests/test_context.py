"""Example tests for harness.context: one or more per documented rule, sync and async."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import inspect
import random
import sys
import threading
import time
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from typing import Any

import pytest

from harness.context import (
    PROGRESS_MIN_ITEMS,
    ContextThread,
    ContextThreadPoolExecutor,
    Parallel,
    ParallelResults,
    Settings,
    asyncify,
    batch,
    configure,
    context,
    record_usage,
    settings,
    submit_with_context,
    track_usage,
)
from harness.types import ConfigurationError, Usage

# On builds where new threads inherit the creator's context (free-threaded 3.14 default).
RAW_THREAD_INHERITS = bool(getattr(sys.flags, "thread_inherit_context", False))


def process_defaults() -> Settings:
    """The process defaults alone: settings() seen from an empty context."""
    return contextvars.Context().run(settings)


@pytest.fixture(autouse=True)
def clean_defaults() -> Iterator[None]:
    saved = process_defaults()
    configure(**{f.name: getattr(Settings(), f.name) for f in fields(Settings)})
    yield
    configure(**{f.name: getattr(saved, f.name) for f in fields(Settings)})


def wait_for_threads(baseline: int, timeout: float = 5.0) -> int:
    deadline = time.monotonic() + timeout
    while threading.active_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.01)
    return threading.active_count()


def in_raw_thread(fn: Any, *args: Any) -> Any:
    """Run fn in a plain threading.Thread and return its result (or raise its error)."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = fn(*args)
        except BaseException as error:
            out["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def capture_error(fn: Any, *args: Any) -> BaseException | None:
    try:
        fn(*args)
    except BaseException as error:
        return error
    return None


def current_lm() -> Any:
    return settings().lm


def leave_context_open(name: str) -> Any:
    """A badly behaved program: reads the model, then enters a context it never exits."""
    seen = settings().lm
    context(lm=name).__enter__()
    return seen


# --- Settings / configure ------------------------------------------------------------


def test_defaults_are_unset() -> None:
    assert settings() == Settings()
    assert settings().lm is None


def test_configure_merges_into_defaults() -> None:
    configure(lm="a")
    configure(temperature=0.5)
    assert settings() == Settings(lm="a", temperature=0.5)
    configure(lm=None)
    assert settings().lm is None and settings().temperature == 0.5


@pytest.mark.parametrize("setter", [configure, context])
def test_unknown_setting_is_rejected_with_valid_names(setter: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        setter(temprature=0.1)
    message = str(info.value)
    assert "temprature" in message
    for name in ("lm", "temperature", "max_tokens", "top_p", "max_retries", "timeout"):
        assert name in message
    assert settings() == Settings()


@pytest.mark.parametrize(
    "bad",
    [{"temperature": "hot"}, {"max_tokens": 1.5}, {"max_tokens": True}, {"timeout": "1"}],
)
def test_wrong_types_are_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        configure(**bad)
    with pytest.raises(ConfigurationError):
        context(**bad)


def test_accepted_types() -> None:
    configure(temperature=1, top_p=0.5, timeout=3, max_tokens=10, max_retries=0, lm=object())
    configure(temperature=None, max_tokens=None)
    assert settings().temperature is None and settings().timeout == 3


def test_configure_from_any_thread_is_seen_everywhere() -> None:
    in_raw_thread(lambda: configure(lm="from-thread"))
    assert settings().lm == "from-thread"
    assert in_raw_thread(current_lm) == "from-thread"


def test_concurrent_configure_of_different_keys_loses_nothing() -> None:
    names = ["temperature", "top_p", "timeout", "max_tokens", "max_retries"]
    for round_ in range(20):
        barrier = threading.Barrier(len(names))

        def set_one(name: str, barrier: threading.Barrier = barrier, value: int = round_) -> None:
            barrier.wait(5)
            configure(**{name: value})

        threads = [threading.Thread(target=set_one, args=(name,)) for name in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(getattr(settings(), name) == round_ for name in names)


# --- raw threads ---------------------------------------------------------------------


def test_raw_thread_reads_settings_without_error() -> None:
    assert in_raw_thread(settings) == Settings()


def test_raw_thread_sees_process_default_not_creator_override() -> None:
    configure(lm="default")
    with context(lm="override"):
        expected = "override" if RAW_THREAD_INHERITS else "default"
        assert in_raw_thread(current_lm) == expected
    assert in_raw_thread(current_lm) == "default"


def test_context_can_be_entered_in_a_user_thread() -> None:
    configure(lm="default")

    def in_thread() -> tuple[Any, Any]:
        with context(lm="thread-model") as effective:
            return effective.lm, settings().lm

    assert in_raw_thread(in_thread) == ("thread-model", "thread-model")
    assert settings().lm == "default"


def test_main_thread_context_does_not_leak_after_exit() -> None:
    configure(lm="default")
    with context(lm="main-override"):
        pass
    assert settings().lm == "default"
    assert in_raw_thread(current_lm) == "default"


def test_plain_executor_worker_sees_configure_made_after_it_started() -> None:
    configure(lm="first")
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(current_lm).result() == "first"
        configure(lm="second")
        assert pool.submit(current_lm).result() == "second"


# --- context -------------------------------------------------------------------------


def test_nested_overrides_stack_and_restore() -> None:
    configure(lm="default", temperature=0.0)
    with context(lm="a") as outer:
        assert outer == Settings(lm="a", temperature=0.0)
        with context(temperature=0.7):
            assert settings() == Settings(lm="a", temperature=0.7)
            with context(lm="b"):
                assert settings() == Settings(lm="b", temperature=0.7)
            assert settings() == Settings(lm="a", temperature=0.7)
        assert settings() == Settings(lm="a", temperature=0.0)
    assert settings() == Settings(lm="default", temperature=0.0)


def test_context_restored_on_exception() -> None:
    configure(lm="default")
    with pytest.raises(RuntimeError), context(lm="a"), context(lm="b"):
        raise RuntimeError("boom")
    assert settings().lm == "default"


def test_explicit_none_unsets_inside_the_block() -> None:
    configure(lm="default", max_tokens=5)
    with context(max_tokens=None):
        assert settings().max_tokens is None and settings().lm == "default"
    assert settings().max_tokens == 5


def test_configure_inside_a_context_shows_through_unoverridden_keys() -> None:
    with context(temperature=0.1):
        configure(lm="late", temperature=0.9)
        assert settings() == Settings(lm="late", temperature=0.1)
    assert settings().temperature == 0.9


def test_same_context_object_can_be_reentered() -> None:
    block = context(lm="x")
    with block, block:
        assert settings().lm == "x"
    assert settings().lm is None


def test_one_block_object_shared_by_overlapping_threads() -> None:
    """One context() and one track_usage() object, entered by two threads whose blocks
    overlap; the first to enter exits first, while the other is still inside."""
    configure(lm="default")
    shared, tracking = context(lm="shared"), track_usage()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

    def first() -> tuple[Any, Any]:
        with shared, tracking:
            first_in.set()
            assert second_in.wait(5)
            record_usage(Usage(1, 1))
            inside = current_lm()
        first_out.set()
        record_usage(Usage(100, 0))  # after its block: not tracked
        return inside, current_lm()

    def second() -> tuple[Any, Any, Any]:
        assert first_in.wait(5)
        with shared, tracking as tracker:
            second_in.set()
            assert first_out.wait(5)  # the other thread's exit must not undo this block
            record_usage(Usage(1, 1))
            inside = current_lm()
        return inside, current_lm(), tracker

    with ThreadPoolExecutor(2) as pool:
        one, two = pool.submit(first), pool.submit(second)
        assert one.result() == ("shared", "default")
        inside, after, tracker = two.result()
    assert (inside, after) == ("shared", "default")
    assert tracker.total == Usage(2, 2) and tracker.calls == 2
    assert settings().lm == "default"


async def test_one_block_object_shared_by_overlapping_tasks() -> None:
    configure(lm="default")
    shared, tracking = context(lm="shared"), track_usage()
    first_in, second_in, first_out = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def first() -> tuple[Any, Any]:
        with shared, tracking:
            first_in.set()
            await second_in.wait()
            record_usage(Usage(1, 1))
            inside = current_lm()
        first_out.set()
        record_usage(Usage(100, 0))
        return inside, current_lm()

    async def second() -> tuple[Any, Any]:
        await first_in.wait()
        with shared, tracking as tracker:
            second_in.set()
            await first_out.wait()
            record_usage(Usage(1, 1))
            inside = current_lm()
        assert tracker.total == Usage(2, 2)
        return inside, current_lm()

    results = await asyncio.wait_for(asyncio.gather(first(), second()), 5)
    assert results == [("shared", "default"), ("shared", "default")]
    assert settings().lm == "default"


def test_one_block_object_nested_in_overlapping_uses_restores_each() -> None:
    shared = context(lm="shared")
    with context(lm="outer"), shared:
        with context(lm="inner"), shared:
            assert settings().lm == "shared"
        assert settings().lm == "shared"
    assert settings().lm is None


def test_exiting_a_block_that_is_not_open_here_raises() -> None:
    block = context(lm="x")
    with pytest.raises(RuntimeError, match="not open"):
        block.__exit__(None, None, None)
    tracking = track_usage()
    tracking.__enter__()
    error = in_raw_thread(lambda: capture_error(tracking.__exit__, None, None, None))
    assert isinstance(error, RuntimeError)
    tracking.__exit__(None, None, None)  # still open here: exits cleanly


# --- asyncio tasks -------------------------------------------------------------------


async def test_concurrent_tasks_do_not_overwrite_each_other() -> None:
    configure(lm="default")

    async def worker(name: str) -> list[Any]:
        seen = []
        with context(lm=name):
            for _ in range(5):
                await asyncio.sleep(random.random() / 1000)
                seen.append(settings().lm)
        seen.append(settings().lm)
        return seen

    results = await asyncio.gather(*(worker(f"m{i}") for i in range(20)))
    for i, seen in enumerate(results):
        assert seen == [f"m{i}"] * 5 + ["default"]
    assert settings().lm == "default"


async def test_task_gets_a_copy_of_its_creators_context_at_creation() -> None:
    configure(lm="default")
    with context(lm="creator"):
        task = asyncio.create_task(asyncio.sleep(0.01, result=None))
        reader = asyncio.create_task(_read_after_sleep())
    assert settings().lm == "default"
    await task
    assert await reader == "creator"


async def _read_after_sleep() -> Any:
    await asyncio.sleep(0.01)
    return settings().lm


async def test_context_entered_in_a_task_is_not_seen_by_the_parent() -> None:
    async def child() -> None:
        context(lm="child-leak").__enter__()  # never exited: must stay in the task

    await asyncio.create_task(child())
    assert settings().lm is None


# --- asyncify ------------------------------------------------------------------------


def test_asyncify_returns_a_coroutine_function_with_metadata() -> None:
    def program(x: int) -> int:
        """Doc."""
        return x * 2

    wrapped = asyncify(program)
    assert inspect.iscoroutinefunction(wrapped)
    assert wrapped.__name__ == "program" and wrapped.__doc__ == "Doc."
    assert asyncio.run(wrapped(21)) == 42


async def test_asyncify_captures_context_at_call_time_not_wrap_time() -> None:
    configure(lm="default")
    with context(lm="at-wrap-time"):
        wrapped = asyncify(current_lm)
    with context(lm="at-call-time"):
        assert await wrapped() == "at-call-time"
    assert await wrapped() == "default"
    configure(lm="reconfigured")
    assert await wrapped() == "reconfigured"


async def test_asyncify_program_runs_in_a_worker_thread_and_raises_through() -> None:
    def program() -> int:
        assert threading.current_thread() is not threading.main_thread()
        raise KeyError("from worker")

    with pytest.raises(KeyError, match="from worker"):
        await asyncify(program)()


async def test_asyncify_reused_worker_gets_a_fresh_copy_per_call() -> None:
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(1))
    wrapped = asyncify(leave_context_open)
    with context(lm="caller"):
        assert [await wrapped(f"leak-{i}") for i in range(3)] == ["caller"] * 3
    assert settings().lm is None


async def test_asyncify_program_changes_do_not_leak_back() -> None:
    await asyncify(leave_context_open)("leak")
    assert settings().lm is None


async def test_twenty_concurrent_asyncify_callers_each_see_their_model() -> None:
    def slow_read() -> Any:
        time.sleep(0.005)
        return settings().lm

    wrapped = asyncify(slow_read)

    async def caller(i: int) -> list[Any]:
        with context(lm=f"model-{i}"):
            await asyncio.sleep(random.random() / 1000)
            first = await wrapped()
            await asyncio.sleep(0)
            return [first, await wrapped(), settings().lm]

    results = await asyncio.gather(*(caller(i) for i in range(20)))
    assert results == [[f"model-{i}"] * 3 for i in range(20)]


async def test_nested_asyncify_in_a_new_loop_keeps_the_model() -> None:
    configure(lm="default")

    def inner() -> tuple[Any, Any]:
        return settings().lm, settings().temperature

    def outer() -> tuple[Any, Any]:
        async def in_new_loop() -> tuple[Any, Any]:
            with context(temperature=0.3):
                return await asyncify(inner)()

        return asyncio.run(in_new_loop())

    def outermost() -> tuple[Any, Any]:
        return asyncio.run(asyncify(outer)())

    with context(lm="outer-model"):
        assert await asyncify(outer)() == ("outer-model", 0.3)
        assert await asyncify(outermost)() == ("outer-model", 0.3)
    assert await asyncify(outer)() == ("default", 0.3)


def test_asyncify_from_a_non_main_thread_with_the_loop_off_the_main_thread() -> None:
    configure(lm="default")
    wrapped = asyncify(current_lm)  # wrapped on the main thread, called elsewhere

    def thread_main() -> tuple[Any, Any]:
        with context(lm="thread-model"):
            inside = asyncio.run(wrapped())
        return inside, asyncio.run(wrapped())

    assert in_raw_thread(thread_main) == ("thread-model", "default")
    with ThreadPoolExecutor(2) as pool:
        assert submit_with_context(pool, thread_main).result() == ("thread-model", "default")


@pytest.mark.parametrize("outcome", ["returns", "raises"])
def test_asyncify_cancellation_is_prompt_and_leaks_nothing(outcome: str) -> None:
    baseline = threading.active_count()
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    reported: list[dict[str, Any]] = []

    def program() -> str:
        started.set()
        release.wait(5)
        finished.set()
        if outcome == "raises":
            raise RuntimeError("after cancellation")
        return "late"

    async def main() -> float:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: reported.append(ctx))
        task = asyncio.create_task(asyncify(program)())
        while not started.is_set():
            await asyncio.sleep(0.001)
        begin = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        elapsed = time.monotonic() - begin
        assert not finished.is_set()  # the program is still running in its worker
        release.set()
        return elapsed

    assert asyncio.run(main()) < 0.5
    assert finished.is_set()  # the worker finished its program
    assert wait_for_threads(baseline) <= baseline
    gc.collect()
    assert reported == []


async def test_asyncify_cancellation_inside_a_running_test_loop() -> None:
    release = threading.Event()
    task = asyncio.create_task(asyncify(release.wait)(5))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 1)
    release.set()


# --- Parallel / batch ----------------------------------------------------------------


def test_results_come_back_in_input_order() -> None:
    def job(i: int) -> int:
        time.sleep(random.random() / 200)
        return i * i

    results = batch(job, [(i,) for i in range(50)], num_threads=8)
    assert isinstance(results, ParallelResults)
    assert results == [i * i for i in range(50)]


def test_parallel_takes_tuples_and_dicts() -> None:
    def add(a: int, b: int = 0) -> int:
        return a + b

    pairs: list[tuple[Any, Any]] = [
        (add, (1, 2)),
        (add, {"a": 3, "b": 4}),
        (add, (5,)),
        (abs, (-6,)),
    ]
    assert Parallel(num_threads=2)(pairs) == [3, 7, 5, 6]


def test_bad_inputs_are_rejected_before_anything_runs() -> None:
    ran: list[int] = []
    with pytest.raises(ConfigurationError, match="tuple"):
        batch(ran.append, [(1,), [2]])  # type: ignore[list-item]
    assert ran == []


@pytest.mark.parametrize("kwargs", [{"num_threads": 0}, {"num_threads": 1.5}, {"on_error": "x"}])
def test_parallel_rejects_bad_options(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        Parallel(**kwargs)


def test_empty_input() -> None:
    results = batch(current_lm, [])
    assert results == [] and results.usages == [] and results.usage == Usage()


def test_raise_policy_raises_first_error_by_input_order() -> None:
    def job(i: int) -> int:
        if i == 2:
            time.sleep(0.2)
            raise ValueError("two")
        if i == 5:
            raise KeyError("five")
        return i

    with pytest.raises(ValueError, match="two"):
        batch(job, [(i,) for i in range(8)], num_threads=8)


def test_raise_policy_cancels_pending_work() -> None:
    ran: list[int] = []

    def job(i: int) -> int:
        ran.append(i)
        if i == 0:
            raise ValueError("first")
        time.sleep(0.01)
        return i

    baseline = threading.active_count()
    with pytest.raises(ValueError, match="first"):
        batch(job, [(i,) for i in range(200)], num_threads=2)
    assert len(ran) < 50
    assert threading.active_count() <= baseline  # running work finished, pool joined


def test_raise_policy_starts_no_queued_task_after_the_first_failure() -> None:
    """Only a task already running when the first one fails may still start: the failing
    worker must not take the next queued task before the caller cancels the rest."""
    started: list[int] = []

    def job(i: int) -> int:
        started.append(i)
        if i == 0:
            raise ValueError("first")
        time.sleep(0.05)
        return i

    for _ in range(10):
        started.clear()
        with pytest.raises(ValueError, match="first"):
            batch(job, [(i,) for i in range(8)], num_threads=2)
        assert 0 in started and set(started) <= {0, 1}


def test_return_policy_puts_errors_in_their_slots() -> None:
    def job(i: int) -> int:
        if i % 3 == 0:
            raise ValueError(f"bad {i}")
        return i

    results = batch(job, [(i,) for i in range(9)], on_error="return")
    for i, result in enumerate(results):
        if i % 3 == 0:
            assert isinstance(result, ValueError) and str(result) == f"bad {i}"
        else:
            assert result == i


def test_return_policy_still_raises_base_exceptions() -> None:
    def job(i: int) -> int:
        if i == 1:
            raise SystemExit(3)
        return i

    with pytest.raises(SystemExit):
        batch(job, [(0,), (1,), (2,)], on_error="return")


def test_parallel_tasks_see_the_callers_context_and_later_configure() -> None:
    configure(lm="default")
    with context(lm="caller", temperature=0.2):
        assert batch(settings, [()] * 4) == [Settings(lm="caller", temperature=0.2)] * 4
    assert batch(current_lm, [()] * 3, num_threads=1) == ["default"] * 3
    configure(lm="new")
    assert batch(current_lm, [()] * 3, num_threads=1) == ["new"] * 3


def test_parallel_gives_every_task_a_fresh_copy_on_a_single_thread() -> None:
    with context(lm="caller"):
        results = batch(leave_context_open, [(f"leak-{i}",) for i in range(5)], num_threads=1)
        assert results == ["caller"] * 5
        assert settings().lm == "caller"


def test_nested_parallel_keeps_the_model() -> None:
    def inner_batch(i: int) -> list[Any]:
        with context(temperature=float(i)):
            return batch(settings, [()] * 3, num_threads=2)

    with context(lm="outer"):
        results = batch(inner_batch, [(i,) for i in range(4)], num_threads=2)
    assert results == [[Settings(lm="outer", temperature=float(i))] * 3 for i in range(4)]


async def test_parallel_called_inside_a_running_loop_does_not_deadlock() -> None:
    def uses_its_own_loop(i: int) -> Any:
        return asyncio.run(asyncify(current_lm)())

    with context(lm="async-caller"):
        assert batch(uses_its_own_loop, [(i,) for i in range(4)]) == ["async-caller"] * 4


class FakeBar:
    instances: list[FakeBar] = []  # noqa: RUF012

    def __init__(self, total: int) -> None:
        self.total, self.count, self.closed = total, 0, False
        FakeBar.instances.append(self)

    def update(self, n: int) -> None:
        self.count += n

    def close(self) -> None:
        self.closed = True


class TTY:
    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@pytest.fixture
def fake_tqdm(monkeypatch: pytest.MonkeyPatch) -> type[FakeBar]:
    module = types.ModuleType("tqdm")
    module.tqdm = FakeBar  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tqdm", module)
    FakeBar.instances = []
    return FakeBar


def test_progress_bar_on_counts_every_item(fake_tqdm: type[FakeBar]) -> None:
    assert batch(abs, [(-i,) for i in range(10)], progress=True) == list(range(10))
    [bar] = fake_tqdm.instances
    assert (bar.total, bar.count, bar.closed) == (10, 10, True)


def test_progress_bar_can_be_switched_off(
    fake_tqdm: type[FakeBar], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stderr", TTY())
    batch(abs, [(i,) for i in range(PROGRESS_MIN_ITEMS * 2)], progress=False)
    assert fake_tqdm.instances == []


def test_progress_default_needs_many_items_and_a_tty(
    fake_tqdm: type[FakeBar], monkeypatch: pytest.MonkeyPatch
) -> None:
    many = [(i,) for i in range(PROGRESS_MIN_ITEMS)]
    batch(abs, many)  # stderr captured by pytest: not a TTY
    assert fake_tqdm.instances == []
    monkeypatch.setattr(sys, "stderr", TTY())
    batch(abs, many[:-1])  # a TTY but too few items
    assert fake_tqdm.instances == []
    batch(abs, many)
    assert len(fake_tqdm.instances) == 1


def test_no_bar_and_no_error_without_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `import tqdm` fail
    assert batch(abs, [(-1,), (-2,)], progress=True) == [1, 2]


# --- usage accounting ----------------------------------------------------------------


def test_record_usage_without_tracker_is_a_no_op() -> None:
    record_usage(Usage(1, 1))


def test_nested_trackers_both_get_usage() -> None:
    with track_usage() as outer:
        record_usage(Usage(1, 2))
        with track_usage() as inner:
            record_usage(Usage(10, 20, 3, 4))
        record_usage(Usage(100, 0))
    record_usage(Usage(1000, 0))
    assert inner.total == Usage(10, 20, 3, 4) and inner.calls == 1
    assert outer.total == Usage(111, 22, 3, 4) and outer.calls == 3


async def test_trackers_in_concurrent_tasks_are_isolated() -> None:
    async def worker(n: int) -> Usage:
        with track_usage() as tracker:
            for _ in range(n):
                record_usage(Usage(1, 0))
                await asyncio.sleep(0)
        return tracker.total

    with track_usage() as total:
        results = await asyncio.gather(*(worker(n) for n in range(1, 11)))
    assert results == [Usage(n, 0) for n in range(1, 11)]
    assert total.total == Usage(55, 0)


def test_parallel_reports_per_task_usage_and_sums_into_the_caller_exactly() -> None:
    def job(i: int) -> int:
        for _ in range(50):
            record_usage(Usage(input_tokens=1, output_tokens=i))
        return i

    with track_usage() as outer, track_usage() as inner:
        results = batch(job, [(i,) for i in range(200)], num_threads=16)
    assert results.usages == [Usage(50, 50 * i) for i in range(200)]
    expected = Usage(200 * 50, 50 * sum(range(200)))
    assert results.usage == inner.total == outer.total == expected
    assert outer.calls == 200 * 50


def test_usage_of_failed_tasks_is_kept() -> None:
    def job(i: int) -> int:
        record_usage(Usage(i, 0))
        if i == 1:
            raise ValueError("after spending tokens")
        return i

    with track_usage() as tracker:
        results = batch(job, [(1,), (2,)], on_error="return")
        assert results.usages == [Usage(1, 0), Usage(2, 0)]
        with pytest.raises(ValueError):
            batch(job, [(2,), (1,)], num_threads=1)  # 2 runs first, then 1 fails
    assert tracker.total == Usage(6, 0)


async def test_asyncify_usage_sums_into_the_caller() -> None:
    with track_usage() as tracker:
        await asyncio.gather(*(asyncify(record_usage)(Usage(1, 1)) for _ in range(30)))
    assert tracker.total == Usage(30, 30)


def test_raw_thread_usage_does_not_reach_the_callers_tracker() -> None:
    with track_usage() as tracker:
        in_raw_thread(record_usage, Usage(5, 5))
        thread = ContextThread(target=record_usage, args=(Usage(1, 1),))
        thread.start()
        thread.join()
        with ContextThreadPoolExecutor(2) as pool:
            pool.submit(record_usage, Usage(1, 1)).result()
    assert tracker.total == (Usage(7, 7) if RAW_THREAD_INHERITS else Usage(2, 2))


# --- executors and threads -----------------------------------------------------------


def test_context_pool_copies_at_submit_time() -> None:
    gate = threading.Event()
    with ContextThreadPoolExecutor(1) as pool:
        blocker = pool.submit(gate.wait, 5)
        with context(lm="at-submit"):
            future = pool.submit(current_lm)
        gate.set()
        blocker.result()
        assert future.result() == "at-submit"


def test_context_pool_map_and_submit_give_each_task_a_fresh_copy() -> None:
    with ContextThreadPoolExecutor(1) as pool, context(lm="caller"):
        names = [f"leak-{i}" for i in range(4)]
        assert list(pool.map(leave_context_open, names)) == ["caller"] * 4
        assert [pool.submit(leave_context_open, n).result() for n in names] == ["caller"] * 4


def test_context_pool_map_copies_each_item_once_at_the_map_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    copies = 0
    copy_context = contextvars.copy_context

    def counting() -> contextvars.Context:
        nonlocal copies
        copies += 1
        return copy_context()

    gate = threading.Event()
    with ContextThreadPoolExecutor(1) as pool:
        blocker = pool.submit(gate.wait, 5)
        monkeypatch.setattr(contextvars, "copy_context", counting)
        with context(lm="at-map"):
            results = pool.map(leave_context_open, ["a", "b", "c"])
        monkeypatch.undo()
        gate.set()
        assert list(results) == ["at-map"] * 3
        blocker.result()
    assert copies == 3


def test_context_pool_sees_configure_after_its_threads_started() -> None:
    configure(lm="first")
    with ContextThreadPoolExecutor(1) as pool:
        assert pool.submit(current_lm).result() == "first"
        configure(lm="second")
        assert list(pool.map(leave_context_open, ["x"])) == ["second"]


def test_submit_with_context_on_a_plain_pool() -> None:
    with ThreadPoolExecutor(1) as pool:
        with context(lm="caller"):
            futures = [submit_with_context(pool, leave_context_open, f"l{i}") for i in range(3)]
            assert [f.result() for f in futures] == ["caller"] * 3
        assert submit_with_context(pool, current_lm).result() is None
        assert submit_with_context(pool, dict, x=4).result() == {"x": 4}


def test_plain_pool_without_the_helper_sees_only_the_process_default() -> None:
    configure(lm="default")
    with ThreadPoolExecutor(1) as pool, context(lm="caller"):
        expected = "caller" if RAW_THREAD_INHERITS else "default"
        assert pool.submit(current_lm).result() == expected


def test_context_thread_copies_at_start() -> None:
    seen: list[Any] = []
    with context(lm="at-construction"):
        thread = ContextThread(target=lambda: seen.append(current_lm()))
    with context(lm="at-start"):
        thread.start()
    thread.join()
    assert seen == ["at-start"]


def test_context_thread_run_called_directly_uses_the_callers_context() -> None:
    seen: list[Any] = []
    with context(lm="direct"):
        ContextThread(target=lambda: seen.append(current_lm())).run()
    assert seen == ["direct"]
