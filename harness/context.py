"""Settings and concurrency primitives that never lose the configured model.

Two layers decide what ``settings()`` returns:

- **process defaults**, set by ``configure(**values)`` from any thread (under a lock) and
  read by every thread at call time;
- **context overrides**, set by ``with context(**values):`` and kept in a ``ContextVar``, so
  they belong to one thread or one asyncio task and are undone exactly on exit.

The effective value of a setting is the innermost override on the caller's context path,
else the process default, else the ``Settings`` field default. Unknown setting names are
rejected with ``ConfigurationError`` (listing the valid ones) instead of being stored in an
open-ended ``extra`` mapping: a typo such as ``temprature=0`` must fail loudly rather than be
silently ignored. Code that needs its own values can keep them in its own ``ContextVar``;
every primitive below carries all context variables, not only ours.

The harness primitives (``asyncify``, ``Parallel``, ``batch``, ``ContextThreadPoolExecutor``,
``submit_with_context``, ``ContextThread``) run work in a *fresh copy of the caller's
context taken at call / submit time*, so a reused worker thread never keeps a stale value
and work items never see each other's changes. A raw ``threading.Thread`` or a plain
executor task sees the process defaults only (see docs/context.md for the exact rules).

Nothing here needs an event loop from sync code: ``Parallel``/``batch`` block the calling
thread (by the caller's choice) and never schedule anything on a loop, so calling them from
inside a running loop cannot deadlock; it only blocks that loop while they run.

Usage accounting: ``with track_usage() as tracker:`` activates a thread-safe
``UsageTracker`` for the current context; ``record_usage(usage)`` (called by the LM after
every call) adds to every tracker active on the caller's context path. Work started through
the primitives above inherits the caller's trackers, so its usage sums into them.
"""

from __future__ import annotations

import contextvars
import functools
import sys
import threading
from collections.abc import Callable, Coroutine, Iterable, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Literal, ParamSpec, TypeAlias, TypeVar, cast, overload

from harness.types import ConfigurationError, Usage

__all__ = [
    "PROGRESS_MIN_ITEMS",
    "ContextThread",
    "ContextThreadPoolExecutor",
    "Parallel",
    "ParallelResults",
    "Settings",
    "UsageTracker",
    "asyncify",
    "batch",
    "configure",
    "context",
    "record_usage",
    "settings",
    "submit_with_context",
    "track_usage",
]

P = ParamSpec("P")
T = TypeVar("T")

# --- settings ------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The effective settings: what ``settings()`` returns. ``None`` means "not set"."""

    lm: Any = None
    """The LM object calls go to (typed loosely: the LM class lives elsewhere)."""
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    max_retries: int | None = None
    timeout: float | None = None
    """Seconds."""


_NUMBER = (int, float)
_KINDS: dict[str, tuple[type, ...]] = {
    "lm": (),  # anything
    "temperature": _NUMBER,
    "max_tokens": (int,),
    "top_p": _NUMBER,
    "max_retries": (int,),
    "timeout": _NUMBER,
}

_lock = threading.Lock()
_defaults = Settings()
_overrides: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "harness_settings_overrides", default=MappingProxyType({})
)


def _checked(values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(values) - _KINDS.keys())
    if unknown:
        raise ConfigurationError(
            f"unknown setting(s): {', '.join(unknown)}; valid settings: {', '.join(_KINDS)}"
        )
    for name, value in values.items():
        kinds = _KINDS[name]
        wrong_type = isinstance(value, bool) or not isinstance(value, kinds)
        if kinds and value is not None and wrong_type:
            wanted = " or ".join(kind.__name__ for kind in kinds)
            raise ConfigurationError(f"setting {name!r} must be {wanted} or None: {value!r}")
    return dict(values)


def configure(**values: Any) -> None:
    """Set process-wide defaults, seen by every thread and task that does not override them.

    Safe from any thread; takes effect for every later ``settings()`` call, including in
    worker threads that already exist.
    """
    global _defaults
    checked = _checked(values)
    with _lock:
        _defaults = replace(_defaults, **checked)


def settings() -> Settings:
    """The caller's effective settings: process defaults overlaid with its context overrides."""
    overrides = _overrides.get()
    base = _defaults
    return replace(base, **overrides) if overrides else base


class _Use:
    """One open use of a reusable ``with`` block, in the context that entered it."""

    __slots__ = ("block", "own", "parent", "token")

    def __init__(self, block: object, token: contextvars.Token[Any], parent: _Use | None) -> None:
        self.block = block
        self.token = token
        """The token of the variable the block set (reset on exit)."""
        self.parent = parent
        self.own: contextvars.Token[_Use | None] | None = None
        """The token of ``_uses`` that made this use the innermost one."""


_uses: contextvars.ContextVar[_Use | None] = contextvars.ContextVar(
    "harness_open_blocks", default=None
)
"""The blocks open in the current context, innermost first (a linked list).

A ``context()`` or ``track_usage()`` object may be shared: entered twice in one thread, or
by two threads or tasks whose blocks overlap. Each use's token therefore lives in the
context that entered it, not on the object, so every exit resets its own token."""


def _enter(block: object, token: contextvars.Token[Any]) -> None:
    use = _Use(block, token, _uses.get())
    use.own = _uses.set(use)


def _exit(block: object) -> None:
    use = _uses.get()
    while use is not None and use.block is not block:
        use = use.parent
    if use is None or use.own is None:
        raise RuntimeError(
            f"{type(block).__name__} exited in a thread or task where it is not open: a "
            "with block must start and end in the same thread or asyncio task"
        )
    use.token.var.reset(use.token)
    _uses.reset(use.own)


class _Override:
    """What ``context()`` returns: a reusable ``with`` block setting overrides.

    One object may be entered again, nested or by several threads and tasks at once: each
    use keeps its own token, in the context that entered it (see ``_enter``/``_exit``).
    """

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __enter__(self) -> Settings:
        merged = MappingProxyType({**_overrides.get(), **self._values})
        _enter(self, _overrides.set(merged))
        return settings()

    def __exit__(self, *exc_info: object) -> None:
        _exit(self)


def context(**overrides: Any) -> AbstractContextManager[Settings]:
    """Override settings for the current thread / asyncio task until the ``with`` block exits.

    Overrides stack (inner wins), are restored exactly on exit (also on exceptions) and are
    never visible to other threads or tasks, except work started through this module's
    primitives, which gets a copy. ``with context(...) as s:`` gives the effective settings.
    Passing ``None`` explicitly unsets a value inside the block. Unknown names and wrong
    types raise ``ConfigurationError`` here, before the block starts.
    """
    return _Override(_checked(overrides))


# --- usage accounting ----------------------------------------------------------------


_NO_USAGE = Usage()


class UsageTracker:
    """A thread-safe running total of the usage recorded while it is active."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = _NO_USAGE
        self._calls = 0

    def add(self, usage: Usage) -> None:
        """Add one call's usage."""
        with self._lock:
            self._total = self._total + usage
            self._calls += 1

    @property
    def total(self) -> Usage:
        """The sum of everything added so far."""
        return self._total

    @property
    def calls(self) -> int:
        """How many usages were added."""
        return self._calls

    def __repr__(self) -> str:
        return f"UsageTracker(calls={self._calls}, total={self._total})"


_trackers: contextvars.ContextVar[tuple[UsageTracker, ...]] = contextvars.ContextVar(
    "harness_usage_trackers", default=()
)


class _Tracking:
    """What ``track_usage()`` returns: a ``with`` block activating one tracker (reusable,
    also by overlapping threads and tasks, like ``context()``)."""

    __slots__ = ("tracker",)

    def __init__(self) -> None:
        self.tracker = UsageTracker()

    def __enter__(self) -> UsageTracker:
        _enter(self, _trackers.set((*_trackers.get(), self.tracker)))
        return self.tracker

    def __exit__(self, *exc_info: object) -> None:
        _exit(self)


def track_usage() -> AbstractContextManager[UsageTracker]:
    """``with track_usage() as tracker:`` sums the usage recorded in the block (outer trackers
    stay active and get it too)."""
    return _Tracking()


def record_usage(usage: Usage) -> None:
    """Add ``usage`` to every tracker active on the caller's context path."""
    for tracker in _trackers.get():
        tracker.add(usage)


# --- threads and executors -----------------------------------------------------------


def submit_with_context(
    executor: Executor, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> Future[T]:
    """``executor.submit(fn, ...)``, run in a copy of the caller's context taken now."""
    return executor.submit(functools.partial(contextvars.copy_context().run, fn, *args, **kwargs))


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` whose every task runs in a fresh copy of the submitter's context.

    ``submit`` copies at submit time. The inherited ``map`` submits every item through
    ``submit`` when it is called, so each item gets its own copy, taken at the ``map`` call.
    """

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        base = cast(Executor, super())  # the plain submit, bound to this pool
        return submit_with_context(base, fn, *args, **kwargs)


class ContextThread(threading.Thread):
    """A ``threading.Thread`` whose target runs in a copy of the context of ``start()``'s caller."""

    _harness_context: contextvars.Context | None = None

    def start(self) -> None:
        self._harness_context = contextvars.copy_context()
        super().start()

    def run(self) -> None:
        if self._harness_context is None:  # run() called directly: stay in the caller's context
            super().run()
        else:
            self._harness_context.run(super().run)


# --- asyncify ------------------------------------------------------------------------


def asyncify(program: Callable[P, T]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Wrap a sync callable into a coroutine function that runs it in a worker thread.

    Each call copies the context of the task that runs the coroutine (for ``await f(x)``:
    the caller at call time; for ``create_task(f(x))``: the task's context, a copy made at
    task creation) and runs ``program`` inside that copy. It uses ``asyncio.to_thread``, i.e.
    the running loop's default executor: bounded, private to the loop (a nested
    ``asyncio.run`` in a worker gets its own pool, so nesting cannot starve a shared pool),
    and joined when ``asyncio.run`` ends. If the awaiting task is cancelled, the await raises
    ``CancelledError`` at once; the worker finishes the current program, its result is
    discarded, and no "exception was never retrieved" warning is logged.
    """

    @functools.wraps(program)
    async def run_in_thread(*args: P.args, **kwargs: P.kwargs) -> T:
        import asyncio  # already loaded by the caller's loop; kept off `import harness`

        return await asyncio.to_thread(program, *args, **kwargs)

    return run_in_thread


# --- Parallel / batch ----------------------------------------------------------------

Inputs: TypeAlias = tuple[Any, ...] | Mapping[str, Any]
"""A tuple of positional arguments or a mapping of keyword arguments."""
OnError: TypeAlias = Literal["raise", "return"]

PROGRESS_MIN_ITEMS = 100
"""With ``progress=None``, a bar is shown for at least this many items (stderr a TTY)."""


class ParallelResults(list[T]):
    """The results of a ``Parallel`` run in input order, with each task's token usage."""

    usages: list[Usage]
    """``usages[i]``: the usage recorded by task ``i`` (also summed into the caller's trackers)."""

    def __init__(self, values: Iterable[T] = (), usages: Iterable[Usage] = ()) -> None:
        super().__init__(values)
        self.usages = list(usages)

    @property
    def usage(self) -> Usage:
        """The total usage of all tasks."""
        return sum(self.usages, Usage())


def _split(inputs: Inputs) -> tuple[tuple[Any, ...], Mapping[str, Any]]:
    if isinstance(inputs, tuple):
        return inputs, {}
    if isinstance(inputs, Mapping):
        return (), inputs
    raise ConfigurationError(
        "inputs must be a tuple of arguments or a dict of keyword arguments, "
        f"not {type(inputs).__name__}"
    )


def _progress_bar(progress: bool | None, total: int) -> Any:
    if progress is None:
        isatty = getattr(sys.stderr, "isatty", None)
        progress = total >= PROGRESS_MIN_ITEMS and callable(isatty) and bool(isatty())
    if not progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total)


class Parallel:
    """Run ``(program, inputs)`` pairs on threads, each in a fresh copy of the caller's context.

    - ``num_threads``: pool size (a new pool per call, so nested calls cannot deadlock).
    - ``on_error="raise"``: on the first failure, pending tasks are cancelled, running ones
      finish, and the error of the lowest input index is raised. ``"return"``: the exception
      object takes the failed task's result slot (``BaseException``s that are not
      ``Exception``, such as ``KeyboardInterrupt``, are always raised).
    - ``progress``: a tqdm bar; ``None`` means on only for ``PROGRESS_MIN_ITEMS`` or more items
      when stderr is a TTY. Without tqdm installed there is no bar.

    Returns a ``ParallelResults`` list; its ``usages`` hold each task's usage.
    """

    def __init__(
        self,
        num_threads: int = 8,
        *,
        on_error: OnError = "raise",
        progress: bool | None = None,
    ) -> None:
        if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
            raise ConfigurationError(f"num_threads must be a positive int: {num_threads!r}")
        if on_error not in ("raise", "return"):
            raise ConfigurationError(f"on_error must be 'raise' or 'return': {on_error!r}")
        self.num_threads = num_threads
        self.on_error = on_error
        self.progress = progress

    def __call__(self, pairs: Iterable[tuple[Callable[..., Any], Inputs]]) -> ParallelResults[Any]:
        tasks = [(program, *_split(inputs)) for program, inputs in pairs]
        count = len(tasks)
        usages = [Usage()] * count
        if not count:
            return ParallelResults()

        # The caller sleeps on one Event, set when the last task ends or the first one fails.
        lock, finished, done, shown = threading.Lock(), threading.Event(), 0, 0
        stop_on_error = self.on_error == "raise"

        def run(index: int, program: Callable[..., Any], args: Any, kwargs: Any) -> Any:
            nonlocal done
            if stop_on_error and finished.is_set():
                # a task failed since this one was queued: it never starts (the failing
                # thread takes the next before the caller wakes to cancel what is pending)
                return None
            tracker = UsageTracker()  # this task's own; the copied context is thrown away after
            _trackers.set((*_trackers.get(), tracker))
            try:
                return program(*args, **kwargs)
            except BaseException:
                if stop_on_error:
                    finished.set()
                raise
            finally:
                usages[index] = tracker.total
                with lock:
                    done += 1
                    if done == count:
                        finished.set()

        bar = _progress_bar(self.progress, count)
        pool = ThreadPoolExecutor(min(self.num_threads, count), "harness-parallel")
        try:
            futures = [
                pool.submit(contextvars.copy_context().run, run, index, program, args, kwargs)
                for index, (program, args, kwargs) in enumerate(tasks)
            ]
            while not finished.wait(None if bar is None else 0.1):
                bar.update(done - shown)
                shown = done
            if bar is not None:
                bar.update(done - shown)
        finally:  # cancel pending work (after a failure); wait for running work and its results
            pool.shutdown(wait=True, cancel_futures=True)
            if bar is not None:
                bar.close()

        errors = [None if future.cancelled() else future.exception() for future in futures]
        for error in errors:  # input order: the first error by index wins
            if error is not None and (self.on_error == "raise" or not isinstance(error, Exception)):
                raise error
        values = [e if e is not None else f.result() for f, e in zip(futures, errors, strict=True)]
        return ParallelResults(values, usages)


@overload
def batch(
    program: Callable[..., T],
    inputs_list: Iterable[Inputs],
    *,
    num_threads: int = ...,
    on_error: Literal["raise"] = ...,
    progress: bool | None = ...,
) -> ParallelResults[T]: ...
@overload
def batch(
    program: Callable[..., T],
    inputs_list: Iterable[Inputs],
    *,
    num_threads: int = ...,
    on_error: Literal["return"],
    progress: bool | None = ...,
) -> ParallelResults[T | Exception]: ...
def batch(
    program: Callable[..., Any],
    inputs_list: Iterable[Inputs],
    *,
    num_threads: int = 8,
    on_error: OnError = "raise",
    progress: bool | None = None,
) -> ParallelResults[Any]:
    """Run ``program`` on every item of ``inputs_list`` with ``Parallel`` (same rules)."""
    parallel = Parallel(num_threads, on_error=on_error, progress=progress)
    return parallel((program, inputs) for inputs in inputs_list)
