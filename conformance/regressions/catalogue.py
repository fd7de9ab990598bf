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
    tuple: no tested release is inside a range: a contract of that library's that no
    tested release broke, or a range none of whose releases installs here (``versions``
    and the notes say which); the matrix then requires a pass on every tested release."""
    providers: tuple[str, ...] = ()
    """The providers whose wire format the bug is in (its spec runs for those only);
    empty: every provider."""
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
# emulator (``Bench.emulated``) through ``Target.transport`` and wraps it (to drop
# connections); ``base_url`` where it only needs the emulator answering live: in-process
# when the client has ``transport``, else served on loopback at ``Target.base_url``.

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
        versions="0.26-0.32a2 (fixed in 0.32a3)",
        issue="simonw/llm#1483",
        modes={"achain": ("chain", "achain", "achain_sync_tools")},
        calls_model=True,
        mechanism="the async executor had no error result for a call to an unknown tool: "
        "0.26 raised CancelToolCall out of the chain, 0.27-0.32a2 dropped the call, so the "
        "next request carried a tool call without its result",
        affected={"llm": (">=0.26,<0.32a3",)},
        lives_in="llm's async tool executor (AsyncResponse.execute_tool_calls)",
    ),
    Regression(
        id="async_tools_concurrent",
        title="an exception from a tool hook in the async chain leaves no sibling tool running",
        framework="simonw/llm",
        versions="0.26-0.32a2 (fixed in 0.32a3)",
        issue="simonw/llm#1482 (PR)",
        modes={"achain": ("achain", "tool_hooks")},
        calls_model=True,
        mechanism="async tool tasks, each running its before_call hook, were gathered without "
        "return_exceptions: an exception raised by the hook in one task left the chain while "
        "the sibling tools were still running, and they were cancelled",
        notes=(
            "A tool's own exception never abandoned its siblings on any release (0.26-0.36): "
            "that contract is async_tools_error_result.",
        ),
        affected={"llm": (">=0.26,<0.32a3",)},
        lives_in="llm's async tool executor (AsyncResponse.execute_tool_calls), through the "
        "chain's before_call hook",
    ),
    Regression(
        id="async_tools_error_result",
        title="async tools run concurrently; a tool's own exception is an error result, in "
        "call order, and abandons no other tool",
        framework="simonw/llm",
        versions="no release known to break it (llm 0.26-0.36 all keep it)",
        issue="no upstream issue: the contract of llm's async chain, once cited as #1482",
        modes={"achain": ("achain",)},
        calls_model=True,
        mechanism="a tool's exception, if not caught in its own task, would leave the chain "
        "and abandon the other calls; a runner awaiting tools one by one loses concurrency",
        notes=(
            "repro/llm/async_tool_exception.py passes on llm 0.26 to 0.36; the anthropic "
            "SDK's async tool runner runs one turn's tools one after another "
            "(docs/compat/anthropic-sdk.md).",
        ),
        lives_in="the async chain's tool executor",
    ),
    Regression(
        id="sync_chain_in_running_loop",
        title="a sync chain with an async tool, called inside a running event loop, runs the tool",
        framework="simonw/llm",
        versions="0.26-0.36, still present in 0.36",
        issue="no upstream issue known (found by recording, issue 10)",
        modes={"chain_in_loop": ("chain", "chain_async_tools")},
        calls_model=True,
        mechanism="the sync chain ran async tools with asyncio.run() and sent the resulting "
        "RuntimeError text ('asyncio.run() cannot be called from a running event loop') to "
        "the model as the tool result: no exception, a wrong answer",
        affected={"llm": (">=0.26",)},
        lives_in="llm's sync tool executor (Response.execute_tool_calls)",
    ),
    Regression(
        id="provider_async_path",
        title="a provider's async path exists, equals the sync result, and does not block the "
        "event loop",
        framework="agno / phidata",
        versions="agno 1.2.0-1.7.5 and phidata 2.5-2.7.10 (fixed in agno 1.7.6)",
        issue="agno-agi/agno#3914 (the fix)",
        modes={
            "acall": ("call", "acall"),
            "acall_nonblocking": ("acall", "base_url"),
        },
        calls_model=True,
        mechanism="the Bedrock model had no async implementation: AwsBedrock.ainvoke raised "
        "NotImplementedError (phidata: the base Model.aresponse), so every async agent run "
        "on Bedrock failed; a fake-async path would block the loop instead",
        notes=(
            "agno before 1.2.0 has no Bedrock Converse model usable here (1.0.0 imports a "
            "missing agno.aws, 1.1.x uses anthropic's Bedrock client); phidata is checked by "
            "repro/phidata/provider_async_path.py, not by the matrix (no phidata adapter).",
            "acall_nonblocking measures a second call: a client's first async call may load "
            "its service model synchronously (aioboto3: 0.16-0.19 s).",
        ),
        affected={"agno": (">=1.2.0,<1.7.6",), "phidata": (">=2.5,<=2.7.10",)},
        lives_in="agno's AwsBedrock model (ainvoke/ainvoke_stream), reached by Agent.arun",
    ),
    Regression(
        id="async_tool_sync_entry",
        title="an async-only tool offered to a sync entry point runs, or fails before any "
        "request naming the tool; never a late provider error",
        framework="agno",
        versions="<=1.5.1 (fixed in 1.5.2)",
        issue="agno-agi/agno#3252 (the fix)",
        modes={"chain": ("chain",)},
        calls_model=True,
        mechanism="the sync run called the async tool without awaiting it and sent the "
        "coroutine's repr back as the tool result",
        notes=(
            "agno-agi/agno#3296, once cited, could not be confirmed as the report of this bug. "
            "From 1.5.2 run() refuses before any request (raised up to 2.0.0, returned as the "
            "run's content in 3.x).",
        ),
        affected={"agno": ("<1.5.2",)},
        lives_in="agno's sync Agent.run tool execution",
    ),
    Regression(
        id="async_retry_parity",
        title="the async client retries connection errors like the sync one",
        framework="openai-python",
        versions="1.47.0-1.52.0 (fixed in 1.52.1)",
        issue="openai/openai-python#1803",
        modes={"acall_connection_error": ("call", "acall", "transport")},
        calls_model=True,
        mechanism="the async client's non-timeout transport-error branch tested retries_taken "
        "> 0 instead of the retries left: the first connection error of a request was never "
        "retried",
        notes=(
            "HTTP status retries (500, 503) and timeouts were never affected: they make the "
            "same attempts sync and async on every release 1.46.1-3.63.0.",
        ),
        affected={"openai": (">=1.47.0,<1.52.1",)},
        lives_in="openai's AsyncAPIClient retry loop (_base_client.py)",
    ),
    Regression(
        id="async_retry_bound",
        title="the async client stops retrying connection errors at max_retries, like the sync one",
        framework="openai-python",
        versions="1.47.0-1.52.0 (fixed in 1.52.1)",
        issue="openai/openai-python#1803",
        modes={"acall": ("call", "acall", "transport")},
        calls_model=True,
        mechanism="the same retries_taken > 0 test, its other face: once one retry had "
        "happened (after an HTTP 500), every later connection error was retried whatever the "
        "retries left, past max_retries",
        affected={"openai": (">=1.47.0,<1.52.1",)},
        lives_in="openai's AsyncAPIClient retry loop (_base_client.py)",
    ),
    Regression(
        id="stream_chunk_parity",
        title="streaming yields the same chunk sequence sync and async",
        framework="litellm",
        versions="<=1.40.x, fixed by BerriAI/litellm#4268 (June 2024); not installable here: "
        "releases 1.15-1.53.0 are not on the package index, so the range is unverified",
        issue="BerriAI/litellm#4168",
        modes={"astream": ("stream", "astream")},
        calls_model=True,
        mechanism="with mock_response and stream=True, acompletion put the whole text in each "
        "delta where completion streamed it piece by piece",
        notes=(
            "1.14.4, the last release before the gap, fails otherwise: its async mocked "
            "stream raises TypeError ('async for' requires __aiter__); 1.53.1 to 1.110.2 "
            "pass (repro/litellm/stream_chunk_parity.py). No release inside the range "
            "installs here, so litellm's affected range is empty and the matrix says the "
            "row is untestable.",
        ),
        affected={"litellm": ()},
        lives_in="litellm's mock streaming (CustomStreamWrapper over mock_response)",
    ),
    Regression(
        id="gemini_stream_reasoning_tokens",
        title="a Gemini reply reports the same reasoning tokens streamed and not streamed",
        framework="litellm",
        versions="1.73.0-1.110.2 (1.72.0 and earlier agree), still present in 1.110.2",
        issue="no upstream issue known (found by the litellm adapter, issue 10)",
        modes={"stream": ("call", "stream")},
        calls_model=True,
        providers=("gemini",),
        mechanism="for a reply with thought parts and no thoughtsTokenCount, the streamed "
        "path counts the thought text with litellm's tokenizer (reasoning_tokens=8) where the "
        "non-streamed path reports none",
        notes=("The first bad release is 1.72.1 to 1.73.0; the 1.72.x patches were not run.",),
        affected={"litellm": (">=1.73.0",)},
        lives_in="litellm's Gemini streaming usage (chunk usage / stream_chunk_builder)",
    ),
    Regression(
        id="gemini_stream_error",
        title="a Gemini HTTP error names the same provider and message streamed and not streamed",
        framework="litellm",
        versions="every release tested, 1.53.1 (the oldest here with Gemini) to 1.110.2, "
        "still present in 1.110.2",
        issue="no upstream issue known (found by the litellm adapter, issue 10)",
        modes={"stream": ("call", "stream")},
        calls_model=True,
        providers=("gemini",),
        mechanism="the streamed path raises the error from the Vertex handler, built from the "
        "raw body bytes: the message carries a bytes repr (b'{\"error\": ...}') and, on "
        "later releases, the provider is vertex_ai_beta instead of gemini",
        affected={"litellm": (">=1.53.1",)},
        lives_in="litellm's Vertex/Gemini streaming handler",
    ),
    Regression(
        id="gemini_stream_retry",
        title="a Gemini 429 before any stream byte is retried like the non-streamed call",
        framework="litellm",
        versions="every release tested, 1.53.1 to 1.110.2, still present in 1.110.2",
        issue="no upstream issue known (found by the litellm adapter, issue 10)",
        modes={"stream": ("call", "stream")},
        calls_model=True,
        providers=("gemini",),
        mechanism="num_retries retries the non-streamed call; the streamed call raises the "
        "429 at once (RateLimitError, later MidStreamFallbackError) though no stream byte had "
        "arrived",
        affected={"litellm": (">=1.53.1",)},
        lives_in="litellm's retry wrapper (completion_with_retries) and its streaming path",
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
