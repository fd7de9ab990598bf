"""The regression specs catch the bugs they are named after, and pass the reference client.

Every catalogue entry of ``conformance/regressions`` has a deliberately regressed
implementation in tests/regressed_adapters.py that puts the original mechanism back. Each
is run through the real suite with ``--client`` in a subprocess (a few at once where their
regressions live in different methods), narrowed with ``-k``; the parity report written
with ``--parity-json`` then says exactly which rows failed and why. The reference client
runs the union of those selections and must pass all of it.
"""

from __future__ import annotations

import ast
import gc
import json
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance.regressions.catalogue import BY_ID, REGRESSIONS
from conformance.regressions.support import Case
from harness.adapters.base import FEATURES
from harness.adapters.reference import PARALLEL_THREADS, POOL_WORKERS, ReferenceAdapter
from tests.regressed_adapters import ReferenceWithoutContextOrTransport

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "conformance" / "regressions"
pytest_plugins = ["pytester"]

Key = tuple[str, str, str]
"""(regression id, provider, mode) of a parity row."""


SUITE_PLUGINS = ("-p", "harness.pytest_plugin", "-W", "ignore::pytest.PytestConfigWarning")
"""Only the suite's own plugin: the other installed plugins (hypothesis, xdist, asyncio...)
take most of a run's start-up and the specs use none of them (their ini options are then
unknown, hence the warning filter)."""


@pytest.fixture(autouse=True)
def importable_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite runs in a subprocess from a temporary directory: let it import tests."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


@dataclass
class Run:
    """A finished suite run: pytest's result and the parity rows it reported."""

    result: pytest.RunResult
    rows: dict[Key, dict[str, Any]]

    @property
    def output(self) -> str:
        return self.result.stdout.str()

    def failed(self) -> set[Key]:
        return {key for key, row in self.rows.items() if row["outcome"] == "fail"}

    def outcomes(self) -> set[str]:
        return {row["outcome"] for row in self.rows.values()}

    def got(self, key: Key) -> str:
        """Everything a failed row reports as observed, for matching."""
        row = self.rows[key]
        return "\n".join(f"{d['field']}: {d['got']}" for d in row.get("differences", [])) or str(
            row.get("message", "")
        )


def run_suite(
    pytester: pytest.Pytester,
    client: str | None,
    select: str | None,
    providers: tuple[str, ...] = ("openai",),
) -> Run:
    report = pytester.path / "parity.json"
    options = [f"--client=tests.regressed_adapters:{client}"] if client else []
    result = pytester.runpytest_subprocess(
        str(SPECS),
        *SUITE_PLUGINS,
        *options,
        f"--cassette-dir={ROOT / 'cassettes'}",
        f"--rootdir={ROOT}",
        *(f"--provider={provider}" for provider in providers),
        "-p",
        "no:cacheprovider",
        "-q",
        *(("-k", select) if select else ()),
        f"--parity-json={report}",
    )
    assert report.exists(), result.stdout.str() + result.stderr.str()
    rows = {
        (row["scenario"].removeprefix("regression/"), row["provider"], row["mode"]): row
        for row in json.loads(report.read_text())["results"]
    }
    return Run(result, rows)


def assert_fails_exactly(run: Run, expected: set[Key]) -> None:
    """These rows failed, and every other selected row passed."""
    assert run.failed() == expected, run.output
    others = {key: row["outcome"] for key, row in run.rows.items() if key not in expected}
    assert set(others.values()) <= {"pass"}, others


def every_mode(regression_id: str, provider: str = "openai") -> set[Key]:
    regression = BY_ID[regression_id]
    where = provider if regression.calls_model else "-"
    return {(regression_id, where, mode) for mode in regression.modes}


# --- the catalogue and its specs ----------------------------------------------------------


def spec_functions() -> dict[str, ast.FunctionDef]:
    found: dict[str, ast.FunctionDef] = {}
    for module in sorted(SPECS.glob("test_*.py")):
        for node in ast.parse(module.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                assert node.name not in found, f"two specs named {node.name}"
                found[node.name] = node
    return found


def test_every_catalogue_entry_has_one_spec_citing_its_sources() -> None:
    functions = spec_functions()
    assert sorted(functions) == sorted(f"test_{r.id}" for r in REGRESSIONS)
    assert len(REGRESSIONS) >= 17
    for regression in REGRESSIONS:
        doc = ast.get_docstring(functions[f"test_{regression.id}"]) or ""
        references = re.findall(r"(?:[\w.-]+/[\w.-]+)?#\d+|bpo-\d+", regression.issue)
        framework = regression.framework.split()[0].split("/")[-1]
        assert framework.lower() in doc.lower(), (regression.id, framework)
        for reference in references:
            number = reference.split("#")[-1] if "#" in reference else reference
            assert number in doc, (regression.id, reference)
        assert regression.modes and all(regression.modes.values()), regression.id
        assert regression.title and regression.mechanism, regression.id
        for features in regression.modes.values():
            assert set(features) <= FEATURES, (regression.id, set(features) - FEATURES)


# --- the reference client -------------------------------------------------------------------


def test_the_reference_client_passes_every_regression_spec(pytester: pytest.Pytester) -> None:
    """The union of the selections below (it is every spec), on the providers used there."""
    run = run_suite(pytester, None, None, providers=("openai", "bedrock", "gemini"))
    run.result.assert_outcomes(passed=len(run.rows))
    assert run.outcomes() == {"pass"}
    assert {key[0] for key in run.rows} == set(BY_ID)
    assert {key[1] for key in run.rows} == {"openai", "bedrock", "gemini", "-"}
    gemini_only = {r.id for r in REGRESSIONS if r.providers == ("gemini",)}
    assert {key[0] for key in run.rows if key[1] in ("openai", "bedrock")} & gemini_only == set()
    row = run.rows[("stale_worker_config", "bedrock", "parallel")]
    assert row["kind"] == "regression"
    assert row["scenario"] == "regression/stale_worker_config"
    assert row["citation"].startswith("DSPy 2.5.29, the oldest release tested")
    assert row["citation"].endswith(", stanfordnlp/dspy#1766")
    assert row["title"].startswith("the framework's own executor runs each task")


def _alive(threads: set[threading.Thread], timeout: float = 0.0) -> set[threading.Thread]:
    """Which of these threads are still alive (waiting up to ``timeout`` for them to end)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = {thread for thread in threads if thread.is_alive()}
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.01)


def test_the_reference_adapter_reuses_its_worker_threads() -> None:
    """Its primitives reuse threads, so the specs would see a context kept per thread."""
    adapter = ReferenceAdapter()
    try:
        submitted = [adapter.submit(threading.current_thread) for _ in range(6)]
        assert len(set(submitted)) <= POOL_WORKERS < len(submitted)
        ran = adapter.parallel([threading.current_thread] * 4)
        assert len(set(ran)) <= PARALLEL_THREADS < len(ran)
        # a submit from one of the pool's own workers does not wait for that pool
        nested = adapter.submit(lambda: adapter.submit(lambda: adapter.submit(int)))
        assert nested == 0
    finally:
        adapter.close_pools()
    assert _alive(set(submitted)) == set()
    again = adapter.submit(threading.current_thread)  # a new pool after close_pools
    adapter.close_pools()
    assert again not in submitted and _alive({again}) == set()


def test_the_reference_adapters_pool_ends_with_the_adapter() -> None:
    def use_and_drop() -> threading.Thread:
        return ReferenceAdapter().submit(threading.current_thread)  # type: ignore[no-any-return]

    worker = use_and_drop()
    gc.collect()
    assert _alive({worker}, timeout=5) == set(), "the pool outlived its adapter"


def test_provider_bedrock_runs_only_bedrock(pytester: pytest.Pytester) -> None:
    items, _ = pytester.inline_genitems(
        str(SPECS), *SUITE_PLUGINS, f"--rootdir={ROOT}", "--provider=bedrock"
    )
    cases = [item.callspec.params["case"] for item in items]  # type: ignore[attr-defined]
    # a Gemini-only spec leaves one empty-parameter item, deselected by the specs' conftest
    items = [item for item, case in zip(items, cases, strict=True) if isinstance(case, Case)]
    providers = {case.provider for case in cases if isinstance(case, Case)}
    assert providers == {"bedrock", "-"}
    runs_on_bedrock = [r for r in REGRESSIONS if not r.providers or "bedrock" in r.providers]
    assert len(items) == sum(len(r.modes) for r in runs_on_bedrock), (
        "every spec runs once per mode, for bedrock only (a Gemini-only spec not at all)"
    )


# --- settings and context stores ------------------------------------------------------------


def assert_blocked(run: Run, keys: set[Key], owner: str) -> None:
    """These rows were not judged: a step they need failed through ``owner``'s bug."""
    for key in keys:
        row = run.rows[key]
        assert row["outcome"] == "skipped", (key, row)
        assert row["reason"].startswith(f"blocked by {owner}: "), (key, row)


def test_settings_stacks_by_thread_id_fail_the_stale_and_shared_stack_specs(
    pytester: pytest.Pytester,
) -> None:
    """DSPy 2.5.29's settings: a stack per thread id, copied at a thread's first read."""
    run = run_suite(
        pytester,
        "SettingsStacksByThreadId",
        "stale_worker_config or main_context_in_user_threads or concurrent_tasks_overwrite",
    )
    assert_fails_exactly(
        run,
        every_mode("stale_worker_config")
        | every_mode("stale_worker_config_plain_pool")
        | every_mode("main_context_in_user_threads")
        | every_mode("concurrent_tasks_overwrite"),
    )
    run.result.stdout.fnmatch_lines(
        [
            "*regression/stale_worker_config / openai / mode parallel: a worker used a "
            "configuration that was no longer current*",
            "*after configure(second), on workers that ran before: run #*",
            "*expected answer 'I am second.'*",
            "*got      answer 'I am first.'*",
            "*stanfordnlp/dspy#1766*",
        ]
    )
    assert "the reused worker, after configure(second): the client of 'first'" in run.got(
        ("stale_worker_config_plain_pool", "-", "plain_pool")
    )
    # Either user thread may land on a thread id whose stale copy says 'default' (which id
    # a new thread gets is the C library's choice): one of them sees the override.
    seen = run.got(("main_context_in_user_threads", "-", "thread"))
    assert "a user thread started " in seen and "the client of 'scoped'" in seen


def test_worker_ids_asserted_fail_reused_thread_id_and_block_stale_worker_config(
    pytester: pytest.Pytester,
) -> None:
    """DSPy 2.5.32-2.5.35: the stacks of 2.5.29 with primitives that assert a fresh id."""
    run = run_suite(pytester, "WorkerIdsAsserted", "reused_thread_id or stale_worker_config")
    assert run.failed() == every_mode("reused_thread_id") | every_mode(
        "stale_worker_config_plain_pool"
    ), run.output
    assert_blocked(run, every_mode("stale_worker_config"), "reused_thread_id")
    for mode in ("asyncify", "parallel"):
        assert f"round 1, {mode} run #1: AssertionError" in run.got(("reused_thread_id", "-", mode))


def test_settings_keyed_by_thread_fail_user_thread_settings(pytester: pytest.Pytester) -> None:
    run = run_suite(
        pytester,
        "SettingsKeyedByThread",
        "user_thread_settings or main_context_in_user_threads or context_leak_after_exit "
        "or asyncify_concurrent_contexts",
    )
    assert run.failed() == every_mode("user_thread_settings"), run.output
    assert "current() in a threading.Thread the user created: KeyError" in run.got(
        ("user_thread_settings", "-", "thread")
    )
    assert "current() in asyncify's worker: KeyError" in run.got(
        ("user_thread_settings", "-", "asyncify")
    )
    run.result.stdout.fnmatch_lines(
        ["*mode thread: the settings could not be read outside the main thread*"]
    )
    # the specs that need what it breaks say so, and are not judged
    assert_blocked(
        run,
        every_mode("main_context_in_user_threads")
        | every_mode("context_leak_after_exit")
        | every_mode("asyncify_concurrent_contexts"),
        "user_thread_settings",
    )
    reason = run.rows[("context_leak_after_exit", "-", "thread")]["reason"]
    assert "current() in a new threading.Thread raised KeyError" in reason


def test_a_context_refused_in_unknown_threads_fails_context_in_user_thread(
    pytester: pytest.Pytester,
) -> None:
    run = run_suite(
        pytester, "ContextOnlyInKnownThreads", "context_in_user_thread and not main_context"
    )
    assert_fails_exactly(run, every_mode("context_in_user_thread"))
    for mode, where in (("thread", "a threading.Thread"), ("plain_pool", "a plain ThreadPool")):
        got = run.got(("context_in_user_thread", "-", mode))
        assert f"entering context() in {where}" in got and "RuntimeError" in got
        assert "unsupported way of creating threads" in got


def test_a_main_thread_context_that_is_the_global_config_fails_main_context_in_user_threads(
    pytester: pytest.Pytester,
) -> None:
    run = run_suite(
        pytester, "MainContextIsGlobal", "main_context_in_user_threads or context_leak_after_exit"
    )
    assert_fails_exactly(run, every_mode("main_context_in_user_threads"))
    got = run.got(("main_context_in_user_threads", "-", "thread"))
    assert "a user thread started before the block, reading during it: the client of " in got


def test_a_main_thread_context_that_outlives_its_block_fails_context_leak_after_exit(
    pytester: pytest.Pytester,
) -> None:
    run = run_suite(pytester, "MainContextNotRestored", "context_leak_after_exit")
    assert_fails_exactly(run, every_mode("context_leak_after_exit"))
    assert "a new threading.Thread, after the block exited: the client of 'scoped'" in run.got(
        ("context_leak_after_exit", "-", "thread")
    )
    assert "a new plain ThreadPoolExecutor, after the block exited: the client of " in run.got(
        ("context_leak_after_exit", "-", "plain_pool")
    )


def test_asyncify_reading_the_global_config_fails_asyncify_concurrent_contexts(
    pytester: pytest.Pytester,
) -> None:
    run = run_suite(pytester, "AsyncifyReadsGlobalConfig", "asyncify_concurrent_contexts")
    assert_fails_exactly(run, every_mode("asyncify_concurrent_contexts"))
    got = run.got(("asyncify_concurrent_contexts", "openai", "asyncify"))
    assert "asyncify's worker, after a sibling left its block: UnmatchedRequestError" in got
    assert "the caller's context was lost" in got


def test_thread_local_overrides_fail_the_concurrent_task_specs(
    pytester: pytest.Pytester,
) -> None:
    run = run_suite(
        pytester,
        "ThreadLocalOverrides",
        "asyncify_concurrent_contexts or concurrent_tasks_asyncify or concurrent_tasks_overwrite",
    )
    assert_fails_exactly(
        run, every_mode("concurrent_tasks_asyncify") | every_mode("concurrent_tasks_overwrite")
    )
    on_main = run.got(("concurrent_tasks_asyncify", "openai", "asyncify"))
    assert "coroutine #0 in context(task0): answer 'I am task19.'" in on_main
    tasks = run.got(("concurrent_tasks_overwrite", "openai", "acall"))
    assert "task #0 in context(task0): current() before its call: the client of 'task5'" in tasks
    assert "the parent task's current() after the tasks exited: the client of 'task" in tasks


def test_primitives_that_do_not_copy_the_context_fail_primitives_propagate_context(
    pytester: pytest.Pytester,
) -> None:
    run = run_suite(pytester, "PrimitivesLoseContext", "primitives_propagate_context")
    assert_fails_exactly(run, every_mode("primitives_propagate_context"))
    for mode in ("parallel", "thread_pool", "asyncify"):
        got = run.got(("primitives_propagate_context", "openai", mode))
        assert "run #1: UnmatchedRequestError" in got
        assert "the caller's context was lost" in got
    run.result.stdout.fnmatch_lines(
        ["*mode parallel: parallel did not carry the caller's context*"]
    )


def test_a_pool_copying_the_context_once_per_thread_fails_executor_context_per_submit(
    pytester: pytest.Pytester,
) -> None:
    run = run_suite(pytester, "ExecutorCopiesOncePerThread", "executor_context_per_submit")
    assert_fails_exactly(run, every_mode("executor_context_per_submit"))
    got = run.got(("executor_context_per_submit", "-", "thread_pool"))
    assert "round 'second', run #1: the caller's ContextVar: first" in got
    assert "later work, run #1: the ContextVar: leaked" in got


def test_the_reference_pools_copying_the_context_once_per_thread_fail_both_specs(
    pytester: pytest.Pytester,
) -> None:
    """The reference adapter's own shape (its long-lived 2-worker submit pool, parallel on
    2 threads for 3-4 programs) with an executor that copies the context once per worker
    thread: the specs must fail it, so the reference passing them is not vacuous."""
    selected = "stale_worker_config or executor_context_per_submit"
    run = run_suite(pytester, "ReferencePoolsCopyOncePerThread", selected)
    # parallel starts a fresh pool per call, so its copies cannot go stale across calls, and
    # asyncify stays the reference's (asyncio.to_thread): those rows pass
    assert_fails_exactly(
        run,
        {
            ("stale_worker_config", "openai", "thread_pool"),
            ("executor_context_per_submit", "-", "thread_pool"),
            ("executor_context_per_submit", "-", "parallel"),
        },
    )
    assert "inside context(override-a): run #1: answer 'I am second.'" in run.got(
        ("stale_worker_config", "openai", "thread_pool")
    )
    # within one parallel call, a program on a reused thread saw what an earlier one set
    within = run.got(("executor_context_per_submit", "-", "parallel"))
    assert re.search(r"work that reads then sets it, run #[2-4]: the ContextVar: leaked", within)

    # the same executor kept for parallel too (one long-lived pool): every mode goes stale
    run = run_suite(pytester, "ExecutorCopiesOncePerThread", "stale_worker_config")
    assert_fails_exactly(run, every_mode("stale_worker_config"))


# --- one method each, several per run -------------------------------------------------------


def test_asyncify_streams_achain_and_retry_regressions_fail_their_specs(
    pytester: pytest.Pytester,
) -> None:
    run = run_suite(
        pytester,
        "AsyncifyStreamAndAchainRegressions",
        "asyncify_off_main_thread or stream_after_context_exit or unknown_tool_parity "
        "or stream_chunk_parity or async_retry_parity or async_retry_bound",
    )
    assert_fails_exactly(
        run,
        every_mode("asyncify_off_main_thread")
        | every_mode("stream_after_context_exit")
        | every_mode("unknown_tool_parity")
        | every_mode("stream_chunk_parity")
        | every_mode("async_retry_parity")
        | every_mode("async_retry_bound"),
    )
    # AsyncifyMainThreadOnly
    assert "asyncify nested inside the module: RuntimeError: asyncify can only be called" in (
        run.got(("asyncify_off_main_thread", "openai", "nested"))
    )
    # StreamResolvedAtConsumption: the stream asked the process default's model
    deferred = run.got(("stream_after_context_exit", "openai", "astream"))
    assert 'requested "gpt-4.1-nano"' in deferred and "the caller's context was lost" in deferred
    # AsyncChainDropsUnknownTools: the follow-up request lacks the tool result
    assert "body at $.messages length: recorded 3, requested 2" in run.got(
        ("unknown_tool_parity", "openai", "achain")
    )
    # AsyncStreamOneDelta
    assert "first difference at event #1: TextDelta(text='The quick brown fox" in run.got(
        ("stream_chunk_parity", "openai", "astream")
    )
    # AsyncRetriesTakenNotLeft: the first refused connection is raised at once...
    retry = run.got(("async_retry_parity", "openai", "acall_connection_error"))
    assert "async attempts (two refused connections, then the answer): 1" in retry
    # ... and after a retried HTTP 500, refused connections are retried past max_retries
    bound = run.got(("async_retry_bound", "openai", "acall"))
    assert "async attempts (HTTP 500, then refused connections): 4" in bound
    assert "the async outcome: Response" in bound
    run.result.stdout.fnmatch_lines(
        [
            "*regression/stream_after_context_exit / openai / mode stream: the stream used the "
            "context of its consumer, not of its creator*"
        ]
    )


def test_tool_blocking_and_wrap_snapshot_regressions_fail_their_specs(
    pytester: pytest.Pytester,
) -> None:
    run = run_suite(
        pytester,
        "ToolsBlockingAsyncAndWrapSnapshot",
        "async_tools_error_result or async_tools_concurrent or async_tool_sync_entry "
        "or provider_async_path or concurrent_tasks_asyncify",
    )
    assert_fails_exactly(
        run,
        every_mode("async_tools_error_result")
        | every_mode("async_tools_concurrent")
        | every_mode("async_tool_sync_entry")
        | {("provider_async_path", "openai", "acall_nonblocking")}
        | every_mode("concurrent_tasks_asyncify"),
    )
    # AsyncToolsAbandonedOnFailure
    abandoned = run.got(("async_tools_error_result", "openai", "achain"))
    assert "the async chain, one of three tools failing: RuntimeError: lookup service down" in (
        abandoned
    )
    assert "tools that finished: []" in abandoned
    # AsyncToolHookAbandonsSiblings: the hook's exception left while slow_lookup ran
    hooked = run.got(("async_tools_concurrent", "openai", "achain"))
    assert "sibling tools finished when the chain returned or raised: False" in hooked
    # SyncChainSendsCoroutine: the coroutine's repr went to the model
    late = run.got(("async_tool_sync_entry", "openai", "chain"))
    assert 'requested "<coroutine object get_time' in late
    assert "after 2 request(s) had been sent" in late
    # AsyncOffloadBlocksLoop
    blocking = run.got(("provider_async_path", "openai", "acall_nonblocking"))
    assert "(the call blocked the event loop)" in blocking
    # AsyncifySnapshotAtWrap: every coroutine ran in the first caller's context
    assert "coroutine #1 in context(task1): answer 'I am task0.'" in run.got(
        ("concurrent_tasks_asyncify", "openai", "asyncify")
    )


def test_asyncio_run_chain_missing_bedrock_async_and_no_retries_fail_their_specs(
    pytester: pytest.Pytester,
) -> None:
    run = run_suite(
        pytester,
        "ChainAsyncioRunBedrockAsyncMissingNoRetries",
        "sync_chain_in_running_loop or provider_async_path or async_retry_parity "
        "or async_retry_bound",
        providers=("openai", "bedrock"),
    )
    assert_fails_exactly(
        run,
        every_mode("sync_chain_in_running_loop")
        | every_mode("sync_chain_in_running_loop", "bedrock")
        | every_mode("async_retry_parity")
        | every_mode("async_retry_parity", "bedrock")
        | every_mode("async_retry_bound")
        | every_mode("async_retry_bound", "bedrock")
        | every_mode("provider_async_path", "bedrock"),
    )
    # SyncChainAsyncioRun
    assert "asyncio.run() cannot be called from a running event loop" in run.got(
        ("sync_chain_in_running_loop", "openai", "chain_in_loop")
    )
    # BedrockAsyncMissing: only Bedrock; openai's async path passes
    assert run.rows[("provider_async_path", "openai", "acall")]["outcome"] == "pass"
    assert "acall on bedrock: NotImplementedError: Async not supported on AWS Bedrock" in run.got(
        ("provider_async_path", "bedrock", "acall")
    )
    # AsyncWithoutRetries
    retry = run.got(("async_retry_parity", "openai", "acall_connection_error"))
    assert "acall after two refused connections: APIConnectionError" in retry
    assert "async attempts (two refused connections, then the answer): 1" in retry


@pytest.mark.parametrize(
    ("client", "regression", "observed"),
    [
        (
            "StreamCountsReasoningText",
            "gemini_stream_reasoning_tokens",
            "usage.reasoning_tokens, streamed (the call's count): 8",
        ),
        ("StreamErrorFromBytes", "gemini_stream_error", "'vertex_ai_beta HTTP 400: b"),
        ("StreamNotRetried", "gemini_stream_retry", "stream requests (a 429, then the answer): 1"),
    ],
)
def test_gemini_stream_regressions_fail_their_specs(
    pytester: pytest.Pytester, client: str, regression: str, observed: str
) -> None:
    run = run_suite(pytester, client, "gemini_stream", providers=("gemini", "openai"))
    assert_fails_exactly(run, every_mode(regression, "gemini"))
    assert {key[1] for key in run.rows} == {"gemini"}, "the Gemini specs run for Gemini only"
    assert observed in run.got((regression, "gemini", "stream"))


def test_a_client_without_context_or_transport_runs_the_specs_that_need_neither(
    pytester: pytest.Pytester,
) -> None:
    """A boto3- or litellm-like client: no settings context, no httpx transport."""
    run = run_suite(pytester, "ReferenceWithoutContextOrTransport", None)
    lacks = ReferenceWithoutContextOrTransport.LACKS
    unsupported = {key for key, row in run.rows.items() if set(BY_ID[key[0]].modes[key[2]]) & lacks}
    assert {k for k, row in run.rows.items() if row["outcome"] == "not supported"} == unsupported
    assert {row["outcome"] for k, row in run.rows.items() if k not in unsupported} == {"pass"}
    assert run.rows[("async_retry_bound", "openai", "acall")]["reason"] == (
        "not supported: transport for openai"
    )
    assert run.rows[("async_retry_parity", "openai", "acall_connection_error")]["reason"] == (
        "not supported: transport for openai"
    )
    assert run.rows[("stale_worker_config", "openai", "parallel")]["reason"].startswith(
        "not supported: context"
    )
    runs_without_context = {
        ("provider_async_path", "openai", "acall_nonblocking"),  # the emulator on loopback
        ("stream_chunk_parity", "openai", "astream"),
        ("unknown_tool_parity", "openai", "achain"),
        ("async_tools_concurrent", "openai", "achain"),
        ("async_tools_error_result", "openai", "achain"),
        ("sync_chain_in_running_loop", "openai", "chain_in_loop"),
        ("async_tool_sync_entry", "openai", "chain"),
    }
    assert runs_without_context <= set(run.rows) - unsupported


def test_a_client_without_a_feature_gets_not_supported_rows(pytester: pytest.Pytester) -> None:
    run = run_suite(
        pytester, "ReferenceWithoutAsyncify", "user_thread_settings or asyncify_off_main_thread"
    )
    unsupported = every_mode("asyncify_off_main_thread") | {
        ("user_thread_settings", "-", "asyncify")
    }
    assert {k for k, row in run.rows.items() if row["outcome"] == "not supported"} == unsupported
    assert run.rows[("user_thread_settings", "-", "thread")]["outcome"] == "pass"
    for key in unsupported:
        assert run.rows[key]["reason"].startswith("not supported: asyncify"), run.rows[key]
