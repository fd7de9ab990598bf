"""Regressions of tool chains: sync/async parity, concurrency, async tools from sync code."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from conformance.regressions.support import Bench, Take, capture, describe, run_async
from conformance.scenarios import answer, asks, get_time, get_weather
from harness.adapters.base import ChainOutcome, run_hook_first
from harness.cassettes import CassetteError
from harness.emulator import Reply
from harness.types import Message

USE_CALCULATOR = (Message.user("Use the calculator: 1+1."),)
THREE_LOOKUPS = (Message.user("Look up a, b and c."),)


def three_lookups_script() -> tuple[Reply, ...]:
    """The model asks for the three lookups at once, then answers."""
    return (
        asks(
            ("slow_lookup", {"key": "a"}),
            ("failing_lookup", {"key": "b"}),
            ("fast_lookup", {"key": "c"}),
        ),
        answer("Two of three lookups worked."),
    )


TIME_IN_TOKYO = (Message.user("What time is it in Tokyo?"),)
TIME_IN_OSLO = (Message.user("What time is it in Oslo?"),)
OVERLAP_WAIT = 0.5
"""Seconds ``slow_lookup`` waits for ``fast_lookup`` to finish alongside it."""


def _tool_results(outcome: ChainOutcome) -> tuple[tuple[str, bool], ...]:
    return tuple((message.content, message.is_error) for message in outcome.tool_results)


def test_unknown_tool_parity(bench: Bench) -> None:
    """An unknown tool gives the same error result in the sync and the async chain.

    simonw/llm 0.26-0.32a2 (simonw/llm#1483): the sync executor answered a call to a tool
    that does not exist with an "Error: tool ... does not exist" result; the async one
    silently dropped the call, so the next request carried a tool call without a result,
    which OpenAI and Anthropic reject. Here the model asks for ``calculator`` when only
    ``get_weather`` is offered: the sync chain (the baseline) must send back an error result
    naming it, and the async chain exactly the same result and final answer.
    """
    adapter = bench.adapter
    tools = (get_weather,)
    script = (asks(("calculator", {"expression": "1+1"})), answer("I have no calculator."))
    take = Take(
        "scoped",
        script,
        kind="chain",
        tools=tools,
        messages=USE_CALCULATOR,
        error_tools=frozenset({"calculator"}),
    )
    with bench.replay([take]), bench.using("scoped") as scoped:
        sync = capture(lambda: adapter.chain(scoped(), USE_CALCULATOR, tools, {}))
        if not isinstance(sync, ChainOutcome):
            bench.fail("the sync chain (the baseline) failed", [("chain", "answer", sync)])
        asynced = run_async(lambda: adapter.achain(scoped(), USE_CALCULATOR, tools, {}))
    results = _tool_results(sync)
    if len(results) != 1 or not results[0][1] or "calculator" not in results[0][0]:
        bench.fail(
            "the sync chain (the baseline) did not answer the unknown tool with an error result",
            [("sync tool results", "one error result naming 'calculator'", results)],
        )
    if not isinstance(asynced, ChainOutcome):
        bench.problem(
            "the async chain",
            f"the sync chain's result: tool results {results}, answer {sync.response.text!r}",
            asynced,
        )
    else:
        bench.expect("async tool results (content, is_error)", results, _tool_results(asynced))
        bench.expect("async final answer", sync.response.text, asynced.response.text)
    bench.verdict("the async chain treated an unknown tool differently from the sync chain")


class _Probe:
    """What the lookup tools saw: which finished, and whether two ran at the same time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.finished: list[str] = []
        self.fast_done = False
        self.overlapped = False

    def finish(self, name: str) -> None:
        with self.lock:
            self.finished.append(name)


PROBE = _Probe()


async def slow_lookup(key: str) -> str:
    """Look a key up in the slow index.

    Args:
        key: The key.
    """
    for _ in range(round(OVERLAP_WAIT / 0.01)):
        if PROBE.fast_done:
            PROBE.overlapped = True
            break
        await asyncio.sleep(0.01)
    PROBE.finish("slow_lookup")
    return f"slow:{key}"


async def failing_lookup(key: str) -> str:
    """Look a key up in the index that is down.

    Args:
        key: The key.
    """
    await asyncio.sleep(0)
    raise RuntimeError("lookup service down")


async def fast_lookup(key: str) -> str:
    """Look a key up in the fast index.

    Args:
        key: The key.
    """
    await asyncio.sleep(0.01)
    PROBE.fast_done = True
    PROBE.finish("fast_lookup")
    return f"fast:{key}"


LOOKUPS = (slow_lookup, failing_lookup, fast_lookup)


def _refuse_fast_lookup(name: str, arguments: dict[str, Any]) -> None:
    """A ``before_call`` hook that refuses one tool call (an application's permission check)."""
    if name == "fast_lookup":
        raise PermissionError("fast_lookup is not allowed")


HOOKED_LOOKUPS = tuple(run_hook_first(LOOKUPS, _refuse_fast_lookup))
"""The lookups with the hook run inside each tool: how the cassette was recorded (by a
client without hooks, for which the refusal is ``fast_lookup``'s error result)."""


def test_async_tools_concurrent(bench: Bench) -> None:
    """An exception from a tool hook in the async chain leaves no sibling tool running.

    simonw/llm 0.26-0.32a2 (simonw/llm#1482, the PR that settled the failure semantics of
    concurrent async tools, released in 0.32a3): the async executor ran each tool call,
    with its ``before_call`` hook, in a task and gathered the tasks without
    ``return_exceptions``. A tool's own exception was always caught in its task; an
    exception from the hook was not, so it left the chain while the sibling tools were
    still running, and they were cancelled with the loop. Here the model asks for three
    async tools at once and the hook (feature ``tool_hooks``) refuses ``fast_lookup``:
    when the chain raises the hook's exception, or returns (a client may make the refusal
    an error result), ``slow_lookup`` must have finished.
    """
    adapter = bench.adapter
    take = Take(
        "scoped",
        three_lookups_script(),
        kind="achain",
        tools=HOOKED_LOOKUPS,
        messages=THREE_LOOKUPS,
        error_tools=frozenset({"failing_lookup", "fast_lookup"}),
    )
    with bench.replay([take]), bench.using("scoped") as scoped:
        PROBE.reset()

        async def chain() -> tuple[Any, list[str]]:
            try:
                got: Any = await adapter.achain_with_hook(
                    scoped(), THREE_LOOKUPS, LOOKUPS, {}, _refuse_fast_lookup
                )
            except Exception as exc:  # the hook's exception, as the client let it out
                got = exc
            return got, sorted(PROBE.finished)  # what had finished when the chain gave up

        ran = run_async(chain)
    if isinstance(ran, BaseException):
        bench.fail("the async chain did not return", [("achain", "a result", ran)])
    got, finished = ran
    if not isinstance(got, (ChainOutcome, PermissionError)):
        bench.problem(
            "the async chain, the hook refusing fast_lookup",
            "the hook's PermissionError, or the chain's answer",
            got,
        )
    bench.expect(
        "sibling tools finished when the chain returned or raised",
        True,
        "slow_lookup" in finished,
    )
    bench.verdict("an exception from a tool hook abandoned the sibling async tools")


def test_async_tools_error_result(bench: Bench) -> None:
    """Async tools run concurrently; a tool's own exception is an error result, in call order.

    The contract of simonw/llm's async chain, which no release broke: from 0.26 to 0.36
    its async executor caught each tool's exception in the tool's task and sent
    ``Error: <message>`` back (repro/llm/async_tool_exception.py passes on all of them;
    what did abandon siblings was a hook's exception: ``test_async_tools_concurrent``, the
    mechanism simonw/llm#1482 settled, once cited for this one).
    The anthropic SDK's async tool runner runs one turn's tools one after another
    (docs/compat/anthropic-sdk.md). Here the model asks for three async tools at
    once: ``slow_lookup`` (which waits for ``fast_lookup`` to finish alongside it),
    ``failing_lookup`` (raises) and ``fast_lookup``. The chain must finish, with the
    failure as an error result between the two others (call order, not completion order),
    both others finished, and ``slow_lookup`` and ``fast_lookup`` running at the same time.
    """
    adapter = bench.adapter
    take = Take(
        "scoped",
        three_lookups_script(),
        kind="achain",
        tools=LOOKUPS,
        messages=THREE_LOOKUPS,
        error_tools=frozenset({"failing_lookup"}),
    )
    with bench.replay([take]), bench.using("scoped") as scoped:
        PROBE.reset()
        got = run_async(lambda: adapter.achain(scoped(), THREE_LOOKUPS, LOOKUPS, {}))
    if not isinstance(got, ChainOutcome):
        bench.problem(
            "the async chain, one of three tools failing",
            "an error result for failing_lookup and results for the others",
            got,
        )
    else:
        results = _tool_results(got)
        shape = tuple((content if not error else "<error>", error) for content, error in results)
        bench.expect(
            "tool results in call order (content, is_error)",
            (("slow:a", False), ("<error>", True), ("fast:c", False)),
            shape,
        )
        if len(results) == 3 and "lookup service down" not in results[1][0]:
            bench.problem(
                "the error result of failing_lookup", "its exception's message", results[1]
            )
        bench.expect("the final answer", "Two of three lookups worked.", got.response.text)
        bench.expect(
            "slow_lookup still running when fast_lookup finished (concurrent tools)",
            True,
            PROBE.overlapped,
        )
    bench.expect("tools that finished", ["fast_lookup", "slow_lookup"], sorted(PROBE.finished))
    bench.verdict("async tool calls were not run concurrently to completion")


def test_sync_chain_in_running_loop(bench: Bench) -> None:
    """A sync chain with an async tool, called from inside a running event loop, runs it.

    simonw/llm (sync chains with async tools): the sync chain ran an async tool with
    ``asyncio.run()`` on the caller's thread, which raises "asyncio.run() cannot be called
    from a running event loop" as soon as the caller is itself a coroutine (a notebook, a
    web handler). Here ``chain`` is called from a coroutine with the async tool
    ``get_time``: the tool must run and its result go back to the model.
    """
    adapter = bench.adapter
    tools = (get_time,)
    script = (asks(("get_time", {"city": "Tokyo"})), answer("It is 14:05 in Tokyo."))
    take = Take("scoped", script, kind="chain", tools=tools, messages=TIME_IN_TOKYO)
    with bench.replay([take]), bench.using("scoped") as scoped:

        async def handler() -> Any:  # a coroutine calling sync code, as notebooks do
            return adapter.chain(scoped(), TIME_IN_TOKYO, tools, {})

        got = run_async(handler)
    if not isinstance(got, ChainOutcome):
        bench.problem("the sync chain, called inside a running loop", "the tool's result", got)
    else:
        bench.expect("tool results", (("14:05 in Tokyo", False),), _tool_results(got))
        bench.expect("the final answer", "It is 14:05 in Tokyo.", got.response.text)
    bench.verdict("the sync chain could not run an async tool inside a running event loop")


def test_async_tool_sync_entry(bench: Bench) -> None:
    """An async-only tool offered to a sync entry point runs, or fails early and clearly.

    agno <=1.5.1 (fixed by agno-agi/agno#3252 in 1.5.2; #3296, once cited, could not be
    confirmed as its report): ``Agent.run`` (sync) accepted ``async def`` tools, called
    them without awaiting, and sent the coroutine's repr to the model as the result; the
    run answered as if nothing had happened. From 1.5.2 ``run`` refuses before any request,
    naming the tool. Here the sync chain gets the async-only tool ``get_time``: it must
    either run it (its result goes back to the model) or raise before any request is sent,
    naming the tool. An error after a request went out, or a wrong answer, is the
    regression.
    """
    adapter = bench.adapter
    tools = (get_time,)
    script = (asks(("get_time", {"city": "Oslo"})), answer("It is 14:05 in Oslo."))
    take = Take("scoped", script, kind="chain", tools=tools, messages=TIME_IN_OSLO)
    with bench.replay([take]) as cassette:
        with bench.using("scoped") as scoped:
            got = capture(lambda: adapter.chain(scoped(), TIME_IN_OSLO, tools, {}))
        sent = sum(cassette.play_counts.values())
    if isinstance(got, ChainOutcome):
        bench.expect("tool results", (("14:05 in Oslo", False),), _tool_results(got))
        bench.expect("the final answer", "It is 14:05 in Oslo.", got.response.text)
    else:
        attempted = sent + (1 if isinstance(got, CassetteError) else 0)
        if attempted or "get_time" not in str(got):
            bench.problem(
                "the sync chain with an async-only tool",
                "the tool's result, or an error naming 'get_time' before any request",
                f"{describe(got)} -- after {attempted} request(s) had been sent",
            )
    bench.verdict("an async-only tool given to the sync chain failed late")
