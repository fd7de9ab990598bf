"""``tool_timeout``: a tool that does not return in time becomes the same error result in
the sync and the async chain, and the chain goes on.

Hanging sync tools wait on an event that each test sets when it is done (a timer sets it
too, as a safety net), so no thread outlives its test for long. Durations are asserted
only with wide margins: a chain that waited for its hanging tool would take the safety
net's 10 s.
"""

from __future__ import annotations

import asyncio
import contextvars
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.emulator import Emulator, EmulatorTransport, Reply
from harness.lm import LM
from harness.tools import (
    ToolExecutionError,
    ToolTimeoutError,
    arun_chain,
    arun_tool_calls,
    run_tool_calls,
    tool,
)
from harness.types import ConfigurationError, Message, ToolCall
from tests.test_tools_chain import MODES, Mode, Script, answer, asks, call, chain, weather

TIMEOUT = 0.2
SAFETY_NET = 10.0
TIMED_OUT = "Error: tool 'hang' did not return within tool_timeout=0.2 s"

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("timeout_request_id")


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at the end of the test (or by a timer): every hanging sync tool returns."""
    event = threading.Event()
    timer = threading.Timer(SAFETY_NET, event.set)
    timer.start()
    yield event
    event.set()
    timer.cancel()
    for thread in threading.enumerate():
        if thread.name.startswith("harness-tool-"):
            thread.join(timeout=SAFETY_NET)


def hanging_tools(release: threading.Event, kind: str, seen: dict[str, Any]) -> list[Any]:
    """A tool named ``hang`` (sync: blocks on ``release``; async: sleeps an hour and
    notes its cancellation in ``seen``)."""
    if kind == "sync":

        @tool(name="hang")
        def hang_sync() -> str:
            """Never returns in time."""
            seen["context"] = request_id.get("unset")
            seen["thread"] = threading.current_thread().name
            release.wait()
            seen["finished"] = True
            return "too late"

        return [hang_sync, weather]

    @tool(name="hang")
    async def hang_async() -> str:
        """Never returns in time."""
        seen["context"] = request_id.get("unset")
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen["cancelled"] = True
            raise
        return "too late"

    return [hang_async, weather]


KINDS = pytest.mark.parametrize("kind", ["sync", "async"])


@MODES
@KINDS
def test_a_hanging_tool_becomes_the_same_error_result_and_the_chain_goes_on(
    mode: Mode, kind: str, release: threading.Event
) -> None:
    seen: dict[str, Any] = {}
    hang, paris = ToolCall("h1", "hang", {}), call("w1", "weather", city="Paris")
    script = Script(asks(hang, paris), answer("done"))
    token = request_id.set("caller")
    try:
        started = time.monotonic()
        result = chain(mode, script, hanging_tools(release, kind, seen), tool_timeout=TIMEOUT)
        elapsed = time.monotonic() - started
    finally:
        request_id.reset(token)
    assert result.text == "done"
    assert script.received[1][-2:] == [
        Message.tool(hang, TIMED_OUT, is_error=True),
        Message.tool(paris, "Paris: 21C"),  # the other call is unaffected
    ]
    assert elapsed < SAFETY_NET / 2, "the chain waited for the hanging tool"
    assert seen["context"] == "caller"  # the tool saw the caller's context
    if kind == "sync":
        assert "finished" not in seen  # still running: abandoned, not waited for
        assert seen["thread"].startswith("harness-tool-hang")
    else:
        deadline = time.monotonic() + 5
        while "cancelled" not in seen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seen.get("cancelled") is True  # the async tool was stopped


@MODES
def test_a_tool_that_returns_in_time_is_unaffected(mode: Mode) -> None:
    paris = call("w1", "weather", city="Paris")
    result = chain(mode, Script(asks(paris), answer("ok")), [weather], tool_timeout=5)
    assert result.messages[2] == Message.tool(paris, "Paris: 21C")


@MODES
def test_a_tools_own_timeout_error_is_not_taken_for_the_chains(mode: Mode) -> None:
    @tool
    def flaky() -> str:
        """Times out on its own."""
        raise TimeoutError("upstream took too long")

    flake = ToolCall("f1", "flaky", {})
    result = chain(mode, Script(asks(flake), answer("ok")), [flaky], tool_timeout=5)
    assert result.messages[2].content == (
        "Error: tool 'flaky' raised TimeoutError: upstream took too long"
    )


@MODES
@KINDS
def test_with_on_error_raise_a_timeout_raises(
    mode: Mode, kind: str, release: threading.Event
) -> None:
    tools = hanging_tools(release, kind, {})
    hang = ToolCall("h1", "hang", {})
    with pytest.raises(ToolExecutionError) as info:
        chain(mode, Script(asks(hang), answer("x")), tools, tool_timeout=TIMEOUT, on_error="raise")
    assert str(info.value) == TIMED_OUT.removeprefix("Error: ")
    cause = info.value.__cause__
    assert isinstance(cause, ToolTimeoutError)
    assert (cause.tool_name, cause.timeout) == ("hang", TIMEOUT)


@KINDS
def test_tool_calls_alone_take_the_timeout_too(kind: str, release: threading.Event) -> None:
    hang = ToolCall("h1", "hang", {})
    expected = [Message.tool(hang, TIMED_OUT, is_error=True)]
    tools = hanging_tools(release, kind, {})
    assert run_tool_calls([hang], tools, tool_timeout=TIMEOUT) == expected
    assert asyncio.run(arun_tool_calls([hang], tools, tool_timeout=TIMEOUT)) == expected


def test_asyncio_run_does_not_wait_for_an_abandoned_sync_tool(release: threading.Event) -> None:
    """The sync tool's thread is not the loop's default executor, which ``asyncio.run``
    joins when it shuts the loop down."""
    tools = hanging_tools(release, "sync", {})
    script = Script(asks(ToolCall("h1", "hang", {})), answer("done"))
    started = time.monotonic()
    result = asyncio.run(arun_chain(script.acall, [Message.user("go")], tools, tool_timeout=0.1))
    assert time.monotonic() - started < SAFETY_NET / 2
    assert result.text == "done"
    assert not release.is_set()


@MODES
@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "1", True])
def test_invalid_tool_timeouts_are_configuration_errors(mode: Mode, bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="tool_timeout must be a positive number"):
        chain(mode, Script(answer("x")), [], tool_timeout=bad)


def test_lm_chain_and_achain_take_tool_timeout(release: threading.Event) -> None:
    hang = ToolCall("call_0", "hang", {})
    replies = [Reply(tool_calls=(hang,)), Reply("done")]
    tools = hanging_tools(release, "sync", {})

    def lm() -> LM:
        transport = EmulatorTransport(Emulator(replies))
        return LM("openai/gpt-test", api_key="k", transport=transport, max_retries=0)

    sync = lm().chain("go", tools=tools, tool_timeout=TIMEOUT)
    done = asyncio.run(lm().achain("go", tools=tools, tool_timeout=TIMEOUT))
    assert sync.text == done.text == "done"
    assert sync.messages[2].content == done.messages[2].content == TIMED_OUT
    assert sync.messages[2].is_error and done.messages[2].is_error


EXIT_SCRIPT = """
    import asyncio, sys, time
    from harness.tools import arun_chain, run_chain, tool
    from harness.types import Message, Response, ToolCall, Usage

    @tool
    def slow() -> str:
        \"\"\"Sleeps, then leaves a mark.\"\"\"
        time.sleep(TOOL_SECONDS)
        print(f"tool-finished {time.monotonic() - START:.2f}", flush=True)
        return "late"

    ask = Response("", (ToolCall("s1", "slow", {}),), "tool_calls", Usage(), "m")
    replies = iter([ask, Response("done", (), "stop", Usage(), "m")])

    async def acall(messages):
        return next(replies)

    START = time.monotonic()
    if sys.argv[1] == "sync":
        run_chain(lambda messages: next(replies), [Message.user("go")], [slow], tool_timeout=0.2)
    else:
        asyncio.run(arun_chain(acall, [Message.user("go")], [slow], tool_timeout=0.2))
    print(f"chain-returned {time.monotonic() - START:.2f}", flush=True)
"""


@MODES
def test_at_exit_the_interpreter_waits_for_the_tools_own_run_and_no_longer(
    mode: Mode, tmp_path: Path
) -> None:
    """The abandoned tool is neither killed (it finishes its work) nor waited for by the
    chain; the process ends once it has returned."""
    tool_seconds = 2.0
    script = tmp_path / "exit.py"
    script.write_text(textwrap.dedent(EXIT_SCRIPT).replace("TOOL_SECONDS", str(tool_seconds)))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(script), mode], capture_output=True, text=True, timeout=60
    )
    total = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    lines = dict(line.split() for line in done.stdout.splitlines())
    assert list(lines) == ["chain-returned", "tool-finished"], done.stdout
    assert float(lines["chain-returned"]) < tool_seconds / 2
    assert float(lines["tool-finished"]) >= tool_seconds
    # Interpreter start and imports come before START; the exit adds little after the tool.
    assert total - float(lines["tool-finished"]) < 5.0
