"""The catalogue of version regressions: what shipped broken, where, and how it is checked.

One ``Regression`` per published bug. ``modes`` are the ways the spec exercises the
client (one parity row each, per provider when the spec calls a model); ``features`` the
adapter features each mode needs (``harness.adapters.base.FEATURES``). A client lacking
one gets "not supported" instead of a failure.

The spec for entry ``<id>`` is the test function ``test_<id>`` in one of the
``test_*.py`` modules of this package; its docstring repeats the citation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Regression:
    """One bug a real framework shipped, as a spec any client can be held to."""

    id: str
    title: str
    framework: str
    versions: str
    issue: str
    """``owner/repo#number`` (or a bpo number), or a short note when none is known."""
    modes: Mapping[str, tuple[str, ...]]
    """mode -> adapter features it needs."""
    calls_model: bool
    """True: runs per selected provider and replays cassettes/<provider>/regressions/<id>.yaml."""
    mechanism: str = ""
    """How the bug worked, in one sentence."""
    notes: tuple[str, ...] = field(default=())
    affected: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per library (its PyPI name), the releases that shipped the bug, as PEP 440
    specifiers whose union is the range (``(">=2.5.40,<=2.5.43",)``), as the real releases
    show it. The compatibility matrix (``compat/``) checks that the spec fails on every
    tested release inside and passes on every tested release outside. A range with no
    upper bound means the bug is still present in the latest release tested. An empty
    tuple: a contract of that library's that no tested release broke."""
    lives_in: str = ""
    """Where the bug lived: the library primitive (its own executor, ``asyncify``, a plain
    ``ThreadPoolExecutor``...), so an adapter knows which one its ``submit``/``parallel``
    must use to reach it."""

    @property
    def scenario(self) -> str:
        """The parity report's scenario name."""
        return f"regression/{self.id}"

    @property
    def citation(self) -> str:
        """``framework versions, issue``: what the report and the failure messages show."""
        return f"{self.framework} {self.versions}, {self.issue}"


# --- features per mode -------------------------------------------------------------------
#
# ``context`` is required where the spec configures or scopes a client (the mechanism under
# test is the context: threads, asyncify, parallel, tasks, deferred streams). Specs that use
# the context only to pick their client (``Bench.using``) run on the connected client when
# the adapter lacks it. ``transport`` is required where the spec talks to the in-process
# emulator (``Bench.emulated``) through ``Target.transport``.

CTX = ("context",)


def _in_context(*features: str) -> tuple[str, ...]:
    return ("context", *features)


REGRESSIONS: tuple[Regression, ...] = (
    # --- DSPy: every range from the real releases 2.5.29-3.4.1 (repro/dspy/FINDINGS.md) ---
    Regression(
        id="stale_worker_config",
        title="the framework's own executor runs each task on the configuration current at its "
        "submission, also on thread ids a finished user pool left behind",
        framework="DSPy",
        versions="2.5.29, the oldest release tested (fixed in 2.5.31; 2.5.30 and 2.5.32-2.5.35 "
        "are blocked by user_thread_settings and reused_thread_id)",
        issue="stanfordnlp/dspy#1766",
        modes={
            "thread_pool": _in_context("thread_pool", "call"),
            "parallel": _in_context("parallel", "call"),
        },
        calls_model=True,
        mechanism="settings were a stack of config dicts per thread id, copied from the main "
        "thread's at a thread's first read and never dropped: Evaluate's new threads, on the "
        "ids of a finished user pool, ran on that pool's copy whatever configure() had set since",
        affected={"dspy": ("<=2.5.29",)},
        lives_in="DSPy's own executor: dspy.Evaluate's ThreadPoolExecutor (2.5.29); from 2.5.30 "
        "ParallelExecutor (dspy.Parallel) sets each task up afresh",
    ),
    Regression(
        id="stale_worker_config_plain_pool",
        title="a plain ThreadPoolExecutor's reused worker reads the configuration current at "
        "each task",
        framework="DSPy",
        versions="2.5.29 and 2.5.32-2.5.35 (fixed in 2.5.36; right on 2.5.31; 2.5.30 is "
        "blocked by user_thread_settings)",
        issue="stanfordnlp/dspy#1766 (its plain-pool half; gone with the settings of "
        "stanfordnlp/dspy#1852)",
        modes={"plain_pool": CTX},
        calls_model=False,
        mechanism="any thread copied the settings at its first read and kept the copy (2.5.29; "
        "restored by 2.5.32's revert of settings.py), so a user's long-lived pool kept the "
        "configuration of its first task",
        affected={"dspy": ("<=2.5.29", ">=2.5.32,<=2.5.35")},
        lives_in="a plain ThreadPoolExecutor of the user's (DSPy's settings read in its workers)",
    ),
    Regression(
        id="reused_thread_id",
        title="the framework's primitives run after a user thread that read the settings has "
        "exited",
        framework="DSPy",
        versions="2.5.32-2.5.35 (fixed in 2.5.36; right on 2.5.31; 2.5.30 is blocked by "
        "user_thread_settings)",
        issue="no upstream issue number known (a bare AssertionError from asyncify and "
        "ParallelExecutor)",
        modes={"asyncify": _in_context("asyncify"), "parallel": _in_context("parallel")},
        calls_model=False,
        mechanism="asyncify and ParallelExecutor asserted that their worker's thread id had no "
        "settings stack yet, while every user thread that read the settings left its stack "
        "behind: the next worker on a reused id failed the assertion",
        affected={"dspy": (">=2.5.32,<=2.5.35",)},
        lives_in="dspy.asyncify and ParallelExecutor (dspy.Parallel), against the settings' "
        "per-thread-id stacks",
    ),
    Regression(
        id="user_thread_settings",
        title="the settings can be read from a user's thread, a plain executor's worker and "
        "asyncify's worker",
        framework="DSPy",
        versions="2.5.30 (fixed in 2.5.31)",
        issue="stanfordnlp/dspy#1812",
        modes={"thread": CTX, "asyncify": _in_context("asyncify")},
        calls_model=False,
        mechanism="the settings were a dict keyed by thread id, filled only for the main "
        "thread and DSPy's own ParallelExecutor workers: any other thread got a KeyError",
        affected={"dspy": ("==2.5.30",)},
        lives_in="the settings (dsp.utils.settings), read in threads DSPy did not register "
        "(a user's, a plain pool's, asyncify's anyio worker)",
    ),
    Regression(
        id="main_context_in_user_threads",
        title="a context() block on the main thread does not change what the user's own "
        "threads see",
        framework="DSPy",
        versions="2.5.29 and 2.5.31-2.5.43 (fixed in 2.6.0; 2.5.30 is blocked by "
        "user_thread_settings)",
        issue="the rule of stanfordnlp/dspy#1947 (2.6.0): a thread the user starts sees the "
        "process configuration",
        modes={"thread": CTX},
        calls_model=False,
        mechanism="context() on the main thread pushed onto the main settings stack "
        "(2.5.29-2.5.35) or rewrote the global config for the length of the block "
        "(2.5.36-2.5.43), which is what the user's threads read",
        affected={"dspy": ("<=2.5.29", ">=2.5.31,<=2.5.43")},
        lives_in="the settings: a main-thread context() was the process configuration",
        notes=(
            "split out of user_thread_settings (its thread mode) and context_leak_after_exit "
            "(its 'during the block' check)",
        ),
    ),
    Regression(
        id="context_in_user_thread",
        title="context() can be entered in a user's thread and in a plain executor's worker",
        framework="DSPy",
        versions="2.5.31 (fixed in 2.5.32; 2.5.30 is blocked by user_thread_settings)",
        issue="'unsupported way of creating threads', asserted since stanfordnlp/dspy#1813; "
        "2.5.32 reverted it, stanfordnlp/dspy#1852 allowed it for good",
        modes={"thread": CTX, "plain_pool": CTX},
        calls_model=False,
        mechanism="configure(), and so context(), asserted that the calling thread was one "
        "DSPy had registered (the main thread, ParallelExecutor's and asyncify's workers)",
        affected={"dspy": ("==2.5.31",)},
        lives_in="the settings: configure()/context() in threads DSPy did not start",
    ),
    Regression(
        id="context_leak_after_exit",
        title="after a main-thread context() block exits, the user's new threads see the "
        "process default again",
        framework="DSPy",
        versions="2.5.36 (fixed in 2.5.37)",
        issue="no upstream issue number known (2.5.37 restores the global config on exit)",
        modes={"thread": CTX, "plain_pool": CTX},
        calls_model=False,
        mechanism="context() on the main thread also replaced the global config and never put "
        "it back; the main thread and DSPy's primitives read their own restored ContextVar "
        "copy, so only threads the user starts saw the leak",
        affected={"dspy": ("==2.5.36",)},
        lives_in="the settings' global main_thread_config, read by threads the user starts",
    ),
    Regression(
        id="asyncify_concurrent_contexts",
        title="asyncify's worker keeps its caller's context while a sibling coroutine leaves "
        "its own block",
        framework="DSPy",
        versions="2.5.40-2.5.43 (fixed in 2.6.0)",
        issue="stanfordnlp/dspy#1867 ('No LM is loaded')",
        modes={"asyncify": _in_context("asyncify", "call")},
        calls_model=True,
        mechanism="asyncify handed its worker nothing; the worker read the global config, "
        "which a main-thread context() wrote on entry and restored on exit, so a sibling "
        "leaving its block took the model from under a running worker",
        affected={"dspy": (">=2.5.40,<=2.5.43",)},
        lives_in="dspy.asyncify, reading the main-thread global config",
    ),
    Regression(
        id="concurrent_tasks_asyncify",
        title="coroutines each in their own context(), awaiting asyncify together, each get "
        "their own model",
        framework="DSPy",
        versions="2.5.31-2.5.35 and 2.5.40-2.6.27 (fixed in 3.0.0; right on 2.5.36-2.5.39; "
        "2.5.30 is blocked by user_thread_settings)",
        issue="stanfordnlp/dspy#8197 (fixed by #8203)",
        modes={"asyncify": _in_context("asyncify", "call")},
        calls_model=True,
        mechanism="the coroutines of one event loop shared one per-thread override store (the "
        "main settings stack, then a threading.local), so asyncify handed each worker the "
        "block entered last",
        affected={"dspy": (">=2.5.31,<=2.5.35", ">=2.5.40,<3.0.0")},
        lives_in="the settings' per-thread override store, seen through dspy.asyncify",
        notes=("the 20-coroutine spec that asyncify_concurrent_contexts used to be",),
    ),
    Regression(
        id="asyncify_off_main_thread",
        title="asyncify called from a non-main thread, or nested inside a module, works",
        framework="DSPy",
        versions="2.5.31-2.5.43 (fixed in 2.6.0; 2.5.30 is blocked by user_thread_settings)",
        issue="no upstream issue number known (the assertion went with stanfordnlp/dspy#1947)",
        modes={
            "thread": _in_context("asyncify", "call"),
            "nested": _in_context("asyncify", "call"),
        },
        calls_model=True,
        mechanism="asyncify refused to run unless called from the main thread",
        affected={"dspy": (">=2.5.31,<=2.5.43",)},
        lives_in="dspy.asyncify",
    ),
    Regression(
        id="concurrent_tasks_overwrite",
        title="concurrent asyncio tasks never see or overwrite each other's context",
        framework="DSPy",
        versions="2.5.29-2.5.35 and 2.5.40-2.6.27 (fixed in 3.0.0; right on 2.5.36-2.5.39)",
        issue="stanfordnlp/dspy#8197 (fixed by #8203)",
        modes={"acall": _in_context("acall"), "astream": _in_context("astream")},
        calls_model=True,
        mechanism="context() overrides lived in a per-thread store (the main settings stack "
        "through 2.5.35, a threading.local from 2.5.40), shared by every task of the loop's "
        "thread",
        affected={"dspy": ("<=2.5.35", ">=2.5.40,<3.0.0")},
        lives_in="the settings' per-thread override store (context() itself)",
    ),
    Regression(
        id="primitives_propagate_context",
        title="the framework's primitives (Parallel, submit, asyncify) carry the caller's "
        "context to their workers",
        framework="DSPy",
        versions="the contract of 2.6 (no release from 2.5.29 to 3.4.1 broke it on the main "
        "thread; 2.5.30 is blocked by user_thread_settings)",
        issue="stanfordnlp/dspy#1947",
        modes={
            "parallel": _in_context("parallel", "call"),
            "thread_pool": _in_context("thread_pool", "call"),
            "asyncify": _in_context("asyncify", "call"),
        },
        calls_model=True,
        mechanism="primitives that submit work to a plain executor run it without the "
        "caller's context",
        affected={"dspy": ()},
        lives_in="dspy.Parallel (ParallelExecutor), dspy.Evaluate, dspy.asyncify",
        notes=(
            "a contract, no DSPy range: its raw_thread mode, the only one that ever failed, "
            "is main_context_in_user_threads",
        ),
    ),
    Regression(
        id="stream_after_context_exit",
        title="a stream consumed after its context block exited still uses the context it was "
        "created in",
        framework="DSPy",
        versions="2.6.0 to 3.4.1: still present in 3.4.1 (streamify is absent before 2.6.0)",
        issue="stanfordnlp/dspy#2044",
        modes={
            "stream": _in_context("stream", "deferred"),
            "astream": _in_context("astream", "deferred"),
        },
        calls_model=True,
        mechanism="streamify returns an async generator whose body (and its asyncify copy of "
        "the settings) starts at the first iteration, after the caller's context block has "
        "exited",
        affected={"dspy": (">=2.6.0",)},
        lives_in="dspy.streamify",
    ),
    Regression(
        id="unknown_tool_parity",
        title="an unknown tool gives the same error result in the sync and the async chain",
        framework="simonw/llm",
        versions="0.26-0.32a2",
        issue="simonw/llm#1483",
        modes={"achain": ("chain", "achain", "achain_sync_tools")},
        calls_model=True,
        mechanism="the async executor silently dropped calls to unknown tools, so the next "
        "request carried a tool call without its result",
    ),
    Regression(
        id="async_tools_concurrent",
        title="async tools run concurrently, results in call order, one failure abandons no other",
        framework="simonw/llm",
        versions="async chains (versions not pinned)",
        issue="simonw/llm#1482",
        modes={"achain": ("achain",)},
        calls_model=True,
        mechanism="asyncio.gather without return_exceptions: the first failing tool raised "
        "out of the chain and the other calls were abandoned",
    ),
    Regression(
        id="sync_chain_in_running_loop",
        title="a sync chain with an async tool, called inside a running event loop, runs the tool",
        framework="simonw/llm",
        versions="sync chains with async tools (versions not pinned)",
        issue="no upstream issue number known ('asyncio.run() cannot be called from a "
        "running event loop')",
        modes={"chain_in_loop": ("chain", "chain_async_tools")},
        calls_model=True,
        mechanism="the sync chain ran async tools with asyncio.run() on the caller's thread",
    ),
    Regression(
        id="provider_async_path",
        title="a provider's async path exists, does not block the loop, and equals the sync result",
        framework="phidata / agno",
        versions="before agno 1.7.6",
        issue="agno-agi/agno (Bedrock raised NotImplementedError under use_async=True)",
        modes={"acall": ("call", "acall", "transport")},
        calls_model=True,
        mechanism="the Bedrock model had no async implementation (NotImplementedError), and "
        "fake-async paths blocked the loop on a worker thread",
    ),
    Regression(
        id="async_tool_sync_entry",
        title="an async-only tool offered to a sync entry point runs, or fails before any "
        "request naming the tool; never a late provider error",
        framework="agno",
        versions="1.5.3",
        issue="agno-agi/agno#3296",
        modes={"chain": ("chain",)},
        calls_model=True,
        mechanism="the sync run called the async tool without awaiting it and sent the "
        "coroutine's repr back as the tool result",
    ),
    Regression(
        id="async_retry_parity",
        title="the async client makes as many retry attempts as the sync one",
        framework="openai-python",
        versions="before 1.52.1",
        issue="openai/openai-python#1803",
        modes={
            "acall": ("call", "acall"),
            "acall_connection_error": ("call", "acall", "transport"),
        },
        calls_model=True,
        mechanism="the async client retried HTTP status errors but re-raised connection "
        "errors at once",
    ),
    Regression(
        id="stream_chunk_parity",
        title="streaming yields the same chunk sequence sync and async",
        framework="litellm",
        versions="mid-2024 (mock streaming)",
        issue="BerriAI/litellm#4168",
        modes={"astream": ("stream", "astream")},
        calls_model=True,
        mechanism="the async stream delivered the whole answer in one delta where the sync "
        "stream delivered it token by token",
    ),
    Regression(
        id="executor_context_per_submit",
        title="work offloaded to an executor sees the caller's contextvars, copied per submit",
        framework="CPython asyncio / trulens",
        versions="run_in_executor (every version); trulens 1.x",
        issue="bpo-32309; truera/trulens#1477",
        modes={
            "thread_pool": _in_context("thread_pool"),
            "parallel": _in_context("parallel"),
            "asyncify": _in_context("asyncify"),
        },
        calls_model=False,
        mechanism="a pool that copied the context once per worker thread ran every later "
        "task in that first copy",
    ),
)

BY_ID: dict[str, Regression] = {regression.id: regression for regression in REGRESSIONS}
