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
    upper bound means the bug is still present in the latest release tested."""
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
    Regression(
        id="stale_worker_config",
        title="reused worker threads keep a stale configuration after configure() changes it",
        framework="DSPy",
        versions="<=2.5.29 and 2.5.32-2.5.35",
        issue="stanfordnlp/dspy#1766",
        modes={
            "thread_pool": _in_context("thread_pool", "call"),
            "parallel": _in_context("parallel", "call"),
        },
        calls_model=True,
        mechanism="each worker thread copied the settings once, when it first ran a task, and "
        "kept that copy for every later task",
    ),
    Regression(
        id="user_thread_settings",
        title="reading the settings from a user-created thread (or asyncify's worker) raises",
        framework="DSPy",
        versions="2.5.30",
        issue="stanfordnlp/dspy#1812",
        modes={"thread": CTX, "asyncify": _in_context("asyncify")},
        calls_model=False,
        mechanism="the settings were a dict keyed by thread id, filled only for the main "
        "thread and DSPy's own workers: any other thread got a KeyError",
    ),
    Regression(
        id="context_in_user_thread",
        title="entering a context inside a user-created thread raises",
        framework="DSPy",
        versions="2.5.31",
        issue="RuntimeError 'unsupported way of creating threads'; fixed by stanfordnlp/dspy#1852",
        modes={"thread": CTX, "asyncify": _in_context("asyncify")},
        calls_model=False,
        mechanism="context() refused to run in a thread DSPy had not created itself",
    ),
    Regression(
        id="context_leak_after_exit",
        title="a context entered on the main thread leaks into other threads after it exits",
        framework="DSPy",
        versions="2.5.36 (fixed in 2.5.37)",
        issue="no upstream issue number known (2.5.37 release)",
        modes={
            "thread": CTX,
            "thread_pool": _in_context("thread_pool"),
            "asyncify": _in_context("asyncify"),
        },
        calls_model=False,
        mechanism="context() on the main thread rewrote the shared main configuration, and "
        "workers that copied it during the block kept the override after it exited",
    ),
    Regression(
        id="asyncify_concurrent_contexts",
        title="asyncify loses the caller's model under concurrency (20 coroutines, own contexts)",
        framework="DSPy",
        versions="2.5.40-2.5.43",
        issue="stanfordnlp/dspy#1867 ('No LM is loaded')",
        modes={
            "asyncify": _in_context("asyncify", "call"),
            "asyncify_off_main": _in_context("asyncify", "call"),
        },
        calls_model=True,
        mechanism="asyncify handed its worker the overrides of the main thread, kept in a "
        "threading.local that every coroutine on the loop thread overwrote",
    ),
    Regression(
        id="asyncify_off_main_thread",
        title="asyncify called from a non-main thread, or nested inside a module, works",
        framework="DSPy",
        versions="2.5.31-2.6.0rc2",
        issue="no upstream issue number known (asyncify allowed the main thread only)",
        modes={
            "thread": _in_context("asyncify", "call"),
            "nested": _in_context("asyncify", "call"),
        },
        calls_model=True,
        mechanism="asyncify refused to run unless called from the main thread",
    ),
    Regression(
        id="concurrent_tasks_overwrite",
        title="concurrent asyncio tasks never see or overwrite each other's context",
        framework="DSPy",
        versions="2.5.40-2.6.27",
        issue="stanfordnlp/dspy#8197 (fixed by #8203)",
        modes={"acall": _in_context("acall"), "astream": _in_context("astream")},
        calls_model=True,
        mechanism="context overrides lived in a threading.local, shared by every task of "
        "the loop's thread",
    ),
    Regression(
        id="primitives_propagate_context",
        title="Parallel, submit and asyncify carry the caller's context; raw threads see the "
        "process default without error",
        framework="DSPy",
        versions="2.6 contract",
        issue="stanfordnlp/dspy#1947",
        modes={
            "parallel": _in_context("parallel", "call"),
            "thread_pool": _in_context("thread_pool", "call"),
            "asyncify": _in_context("asyncify", "call"),
            "raw_thread": _in_context("call"),
        },
        calls_model=True,
        mechanism="primitives that submit work to a plain executor run it without the "
        "caller's context",
    ),
    Regression(
        id="stream_after_context_exit",
        title="a stream consumed after its context block exited still uses the context it was "
        "created in",
        framework="DSPy",
        versions="2.6.0",
        issue="stanfordnlp/dspy#2044",
        modes={
            "stream": _in_context("stream", "deferred"),
            "astream": _in_context("astream", "deferred"),
        },
        calls_model=True,
        mechanism="streamify's generator read the settings when it was first iterated, after "
        "the caller's context block had exited",
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
