"""Running tool calls and the chain loop, sync and async, over scripted model replies.

Every rule is checked in both modes. Most tests are plain functions parametrized by
``mode``: the sync chain runs with no event loop, the async one under ``asyncio.run``.
The ``async def`` tests check what only makes sense inside a running loop.
"""

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pytest

from harness.tools import (
    ChainLimitError,
    ChainResult,
    InvalidToolCallError,
    RequestSent,
    ResponseReceived,
    Tool,
    ToolCalled,
    ToolExecutionError,
    ToolLike,
    ToolReturned,
    arun_chain,
    arun_tool_calls,
    run_chain,
    run_tool_calls,
    tool,
)
from harness.types import ConfigurationError, Message, Response, ToolCall, Usage

Mode = Literal["sync", "async"]
MODES = pytest.mark.parametrize("mode", ["sync", "async"])

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


# --- a scripted model ----------------------------------------------------------------


class Script:
    """A fake model: answers with prepared responses, records every conversation sent."""

    def __init__(self, *responses: Response) -> None:
        self.responses = responses
        self.received: list[list[Message]] = []
        self.threads: list[int] = []

    def _next(self, messages: list[Message]) -> Response:
        self.received.append(list(messages))
        self.threads.append(threading.get_ident())
        return self.responses[min(len(self.received), len(self.responses)) - 1]

    def call(self, messages: list[Message]) -> Response:
        return self._next(messages)

    async def acall(self, messages: list[Message]) -> Response:
        return self._next(messages)


def call(id: str, name: str, **arguments: Any) -> ToolCall:
    return ToolCall(id, name, arguments)


def asks(*calls: ToolCall, text: str = "") -> Response:
    return Response(text, calls, "tool_calls", Usage(10, 2), "scripted")


def answer(text: str) -> Response:
    return Response(text, (), "stop", Usage(20, 5), "scripted")


def chain(
    mode: Mode,
    script: Script,
    tools: Sequence[ToolLike],
    messages: Sequence[Message] = (Message.user("go"),),
    **options: Any,
) -> ChainResult:
    """Run the chain in ``mode``; the sync chain with no event loop anywhere."""
    if mode == "sync":
        return run_chain(script.call, list(messages), tools, **options)
    return asyncio.run(arun_chain(script.acall, list(messages), tools, **options))


def tool_calls(
    mode: Mode, calls: Sequence[ToolCall], tools: Sequence[ToolLike], **options: Any
) -> list[Message]:
    if mode == "sync":
        return run_tool_calls(calls, tools, **options)
    return asyncio.run(arun_tool_calls(calls, tools, **options))


def weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    """Current weather in a city."""
    return f"{city}: 21{unit.upper()}"


async def population(city: str) -> int:
    """How many people live in a city."""
    await asyncio.sleep(0)
    return {"Paris": 2_100_000, "Lyon": 520_000}.get(city, 0)


def now() -> str:
    """The time (takes no arguments)."""
    return "12:00"


def boom(x: int) -> int:
    raise ValueError(f"bad input {x}")


async def aboom(x: int) -> int:
    raise ValueError(f"bad input {x}")


# --- the basic rules -----------------------------------------------------------------


@MODES
def test_single_tool(mode: Mode) -> None:
    c1 = call("c1", "weather", city="Paris")
    script = Script(asks(c1), answer("It is 21C in Paris."))
    result = chain(mode, script, [weather])

    user = Message.user("go")
    assistant = Message.assistant("", (c1,))
    result_message = Message.tool(c1, "Paris: 21C")
    final = Message.assistant("It is 21C in Paris.")
    assert script.received == [[user], [user, assistant, result_message]]
    assert result.text == "It is 21C in Paris."
    assert result.response == answer("It is 21C in Paris.")
    assert result.messages == (user, assistant, result_message, final)
    assert result.transcript == (
        RequestSent(1, (user,)),
        ResponseReceived(1, asks(c1)),
        ToolCalled(1, c1),
        ToolReturned(1, c1, result_message),
        RequestSent(2, (user, assistant, result_message)),
        ResponseReceived(2, answer("It is 21C in Paris.")),
    )
    assert result.usage == Usage(30, 7)


@MODES
def test_parallel_tools_sync_and_async_kinds(mode: Mode) -> None:
    calls = (
        call("c1", "weather", city="Paris", unit="f"),
        call("c2", "population", city="Paris"),
        call("c3", "weather", city="Lyon"),
    )
    script = Script(asks(*calls), answer("done"))
    result = chain(mode, script, [weather, population])
    assert [m.content for m in script.received[1][2:]] == ["Paris: 21F", "2100000", "Lyon: 21C"]
    assert [m.tool_call_id for m in script.received[1][2:]] == ["c1", "c2", "c3"]
    assert [type(e).__name__ for e in result.transcript] == [
        "RequestSent",
        "ResponseReceived",
        "ToolCalled",
        "ToolCalled",
        "ToolCalled",
        "ToolReturned",
        "ToolReturned",
        "ToolReturned",
        "RequestSent",
        "ResponseReceived",
    ]


@MODES
def test_tool_without_arguments(mode: Mode) -> None:
    calls = (call("c1", "now"), ToolCall("c2", "now", {}, arguments_json=""))
    script = Script(asks(*calls), answer("noon"))
    chain(mode, script, [now])
    assert [m.content for m in script.received[1][2:]] == ["12:00", "12:00"]
    assert not any(m.is_error for m in script.received[1])


@MODES
def test_multi_turn(mode: Mode) -> None:
    c1, c2, c3 = (
        call("c1", "population", city="Paris"),
        call("c2", "population", city="Lyon"),
        call("c3", "weather", city="Lyon"),
    )
    script = Script(asks(c1), asks(c2, text="Now Lyon."), asks(c3), answer("Lyon it is."))
    result = chain(mode, script, [weather, population], messages=[Message.system("Be brief.")])
    assert len(script.received) == 4
    assert [len(r) for r in script.received] == [1, 3, 5, 7]
    assert script.received[2][3] == Message.assistant("Now Lyon.", (c2,))
    assert script.received[3][-1] == Message.tool(c3, "Lyon: 21C")
    assert result.messages == (*script.received[3], Message.assistant("Lyon it is."))
    assert result.usage == Usage(50, 11)
    assert [e.turn for e in result.transcript if isinstance(e, RequestSent)] == [1, 2, 3, 4]


@MODES
def test_the_callers_message_list_is_neither_mutated_nor_shared(mode: Mode) -> None:
    messages = [Message.user("go")]

    class Meddler(Script):
        def _next(self, sent: list[Message]) -> Response:
            response = super()._next(sent)
            sent.append(Message.user("injected"))  # the chain must not see this
            return response

    script = Meddler(asks(call("c1", "now")), answer("ok"))
    if mode == "sync":
        result = run_chain(script.call, messages, [now])
    else:
        result = asyncio.run(arun_chain(script.acall, messages, [now]))
    assert messages == [Message.user("go")]
    assert Message.user("injected") not in result.messages


# --- where tools run -----------------------------------------------------------------


@MODES
def test_sync_tool_thread_and_context(mode: Mode) -> None:
    seen: list[tuple[int, str]] = []

    @tool
    def probe() -> str:
        seen.append((threading.get_ident(), request_id.get()))
        request_id.set("changed by the tool")  # must not leak back to the caller
        return "ok"

    token = request_id.set("req-42")
    try:
        script = Script(asks(call("c1", "probe")), answer("ok"))
        chain(mode, script, [probe])
        assert request_id.get() == "req-42"
    finally:
        request_id.reset(token)
    [(tool_thread, value)] = seen
    assert value == "req-42"
    if mode == "sync":
        assert tool_thread == threading.get_ident()  # sync tools run directly
    else:
        assert tool_thread != script.threads[0]  # a worker thread, not the loop's


@MODES
def test_async_tool_thread_and_context(mode: Mode) -> None:
    seen: list[tuple[int, str]] = []

    @tool
    async def aprobe() -> str:
        seen.append((threading.get_ident(), request_id.get()))
        request_id.set("changed by the tool")
        return "ok"

    token = request_id.set("req-7")
    try:
        script = Script(asks(call("c1", "aprobe")), answer("ok"))
        chain(mode, script, [aprobe])
        assert request_id.get() == "req-7"
    finally:
        request_id.reset(token)
    [(tool_thread, value)] = seen
    assert value == "req-7"
    if mode == "sync":
        assert tool_thread != threading.get_ident()  # a private loop in a helper thread
    else:
        assert tool_thread == script.threads[0]  # on the caller's loop


def test_async_tools_run_concurrently() -> None:
    """Each tool waits for the other to start: they can only finish if both run at once."""
    ping_started, pong_started = asyncio.Event(), asyncio.Event()

    async def ping() -> str:
        ping_started.set()
        await pong_started.wait()
        return "ping"

    async def pong() -> str:
        pong_started.set()
        await ping_started.wait()
        return "pong"

    script = Script(asks(call("c1", "ping"), call("c2", "pong")), answer("ok"))

    async def main() -> ChainResult:
        # the timeout only turns a regression (deadlock) into a failure; nothing is timed
        return await asyncio.wait_for(arun_chain(script.acall, [], [ping, pong]), timeout=10)

    asyncio.run(main())
    assert [m.content for m in script.received[1][1:]] == ["ping", "pong"]


def test_sync_tools_run_in_threads_concurrently_with_async_tools() -> None:
    """A blocking sync tool waits on an async tool: only possible off the loop thread."""
    released = threading.Event()

    def blocking() -> str:
        if not released.wait(timeout=10):
            raise TimeoutError("the async tool never ran: the loop was blocked")
        return "unblocked"

    async def releaser() -> str:
        await asyncio.sleep(0)
        released.set()
        return "released"

    script = Script(asks(call("c1", "blocking"), call("c2", "releaser")), answer("ok"))
    asyncio.run(arun_chain(script.acall, [], [blocking, releaser]))
    assert [m.content for m in script.received[1][1:]] == ["unblocked", "released"]


def test_async_results_keep_the_models_order_whatever_the_finishing_order() -> None:
    finished: list[str] = []
    second_done = asyncio.Event()

    async def first() -> str:
        await second_done.wait()
        finished.append("first")
        return "1"

    async def second() -> str:
        finished.append("second")
        second_done.set()
        return "2"

    script = Script(asks(call("a", "first"), call("b", "second")), answer("ok"))
    asyncio.run(arun_chain(script.acall, [], [first, second]))
    assert finished == ["second", "first"]
    assert [(m.tool_call_id, m.content) for m in script.received[1][1:]] == [("a", "1"), ("b", "2")]


def test_sync_chain_runs_calls_one_after_another_in_order() -> None:
    events: list[str] = []

    def step(n: int) -> int:
        events.append(f"start {n}")
        events.append(f"end {n}")
        return n

    async def astep(n: int) -> int:
        events.append(f"start a{n}")
        await asyncio.sleep(0)
        events.append(f"end a{n}")
        return n

    calls = [call("1", "step", n=1), call("2", "astep", n=2), call("3", "step", n=3)]
    run_tool_calls(calls, [step, astep])
    assert events == ["start 1", "end 1", "start a2", "end a2", "start 3", "end 3"]


async def test_sync_chain_with_async_tool_inside_a_running_loop() -> None:
    """The sync API called from async code (this test's loop is running)."""
    loop_thread = threading.get_ident()
    seen: list[tuple[int, str]] = []

    @tool
    async def lookup(key: str) -> str:
        seen.append((threading.get_ident(), request_id.get()))
        await asyncio.sleep(0)
        return key.upper()

    request_id.set("inside-loop")
    script = Script(asks(call("c1", "lookup", key="abc")), answer("ABC"))
    result = run_chain(script.call, [Message.user("go")], [lookup])
    assert result.text == "ABC"
    assert script.received[1][-1] == Message.tool(call("c1", "lookup", key="abc"), "ABC")
    [(tool_thread, value)] = seen
    assert tool_thread != loop_thread
    assert value == "inside-loop"
    results = run_tool_calls([call("c2", "lookup", key="x")], [lookup])
    assert results == [Message.tool(call("c2", "lookup", key="x"), "X")]


@MODES
def test_tool_with_both_implementations_uses_the_one_for_the_mode(mode: Mode) -> None:
    used: list[str] = []

    @tool
    def fetch(url: str) -> str:
        """Fetch a page."""
        used.append("sync")
        return f"sync {url}"

    @fetch.async_impl
    async def _fetch_async(url: str) -> str:
        used.append("async")
        return f"async {url}"

    assert isinstance(_fetch_async, Tool)  # the decorator hands back the tool
    script = Script(asks(call("c1", "fetch", url="u")), answer("ok"))
    chain(mode, script, [fetch])
    assert used == [mode]
    assert script.received[1][-1].content == f"{mode} u"

    both = Tool(sync=weather, async_=_async_weather)
    assert tool_calls(mode, [call("c2", "weather", city="X")], [both])[0].content == (
        "X: 21C" if mode == "sync" else "async X"
    )


async def _async_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    return f"async {city}"


# --- failures ------------------------------------------------------------------------


@MODES
@pytest.mark.parametrize("failing", [boom, aboom], ids=["sync tool", "async tool"])
def test_failing_tool_becomes_an_error_result(mode: Mode, failing: Callable[..., Any]) -> None:
    c1 = call("c1", failing.__name__, x=3)
    script = Script(asks(c1), answer("Sorry."))
    result = chain(mode, script, [failing])
    error = Message.tool(
        c1, f"Error: tool '{failing.__name__}' raised ValueError: bad input 3", is_error=True
    )
    assert script.received[1][-1] == error
    assert result.text == "Sorry."


@MODES
def test_one_failing_tool_does_not_abandon_the_others(mode: Mode) -> None:
    failed = asyncio.Event()
    completed: list[str] = []

    async def fails() -> str:
        failed.set()
        raise RuntimeError("first one fails")

    async def finishes_after_the_failure() -> str:
        if mode == "async":
            await failed.wait()
        for _ in range(3):
            await asyncio.sleep(0)
        completed.append("async")
        return "still done"

    def sync_sibling() -> str:
        completed.append("sync")
        return "also done"

    calls = [call("1", "fails"), call("2", "finishes_after_the_failure"), call("3", "sync_sibling")]
    results = tool_calls(mode, calls, [fails, finishes_after_the_failure, sync_sibling])
    assert sorted(completed) == ["async", "sync"]
    assert [(m.content, m.is_error) for m in results] == [
        ("Error: tool 'fails' raised RuntimeError: first one fails", True),
        ("still done", False),
        ("also done", False),
    ]


@MODES
def test_on_error_raise(mode: Mode) -> None:
    completed: list[str] = []

    def sibling() -> str:
        completed.append("sibling")
        return "ok"

    c1 = call("c1", "boom", x=1)
    script = Script(asks(c1, call("c2", "sibling")), answer("never"))
    with pytest.raises(ToolExecutionError) as info:
        chain(mode, script, [boom, sibling], on_error="raise")
    assert str(info.value) == "tool 'boom' raised ValueError: bad input 1"
    assert info.value.tool_name == "boom"
    assert info.value.call == c1
    assert isinstance(info.value.__cause__, ValueError)
    assert completed == ["sibling"]  # every call ran before the error was raised
    assert len(script.received) == 1

    bad = call("c3", "boom", x="one")
    with pytest.raises(ToolExecutionError) as info:
        tool_calls(mode, [bad], [boom], on_error="raise")
    assert info.value.call == bad
    assert isinstance(info.value.__cause__, InvalidToolCallError)
    assert info.value.__cause__.problems == ("argument 'x' must be an integer, got string \"one\"",)


@MODES
def test_base_exceptions_are_not_swallowed(mode: Mode) -> None:
    class Stop(BaseException):
        pass

    def stop() -> None:
        raise Stop

    with pytest.raises(Stop):
        tool_calls(mode, [call("c1", "now"), call("c2", "stop")], [now, stop])


BAD_CALLS = [
    (
        call("u1", "forecast", city="Paris"),
        "Error: invalid call to tool 'forecast': no tool has this name "
        "(available tools: 'weather', 'population', 'now')",
    ),
    (
        ToolCall("j1", "weather", {}, arguments_json='{"city": "Par'),
        "Error: invalid call to tool 'weather': the arguments are not valid JSON "
        "(Unterminated string starting at: line 1 column 10 (char 9))",
    ),
    (
        ToolCall("j2", "weather", {}, arguments_json='["Paris"]'),
        "Error: invalid call to tool 'weather': the arguments must be a JSON object, "
        'got array ["Paris"]',
    ),
    (
        call("s1", "weather"),
        "Error: invalid call to tool 'weather': missing required argument 'city'",
    ),
    (
        call("s2", "weather", city="Paris", days=3),
        "Error: invalid call to tool 'weather': unexpected argument 'days' "
        "(allowed: 'city', 'unit')",
    ),
    (
        call("s3", "weather", city=["Paris"], unit="k"),
        "Error: invalid call to tool 'weather': argument 'city' must be a string, "
        'got array ["Paris"]; argument \'unit\' must be one of "c", "f", got string "k"',
    ),
    (
        call("s4", "population", city=None),
        "Error: invalid call to tool 'population': argument 'city' must be a string, got null null",
    ),
]


@pytest.mark.parametrize(("bad", "content"), BAD_CALLS, ids=[c.id for c, _ in BAD_CALLS])
def test_bad_calls_give_the_same_error_result_sync_and_async(bad: ToolCall, content: str) -> None:
    tools: list[ToolLike] = [weather, population, now]
    expected = Message.tool(bad, content, is_error=True)
    assert tool_calls("sync", [bad], tools) == [expected]
    assert tool_calls("async", [bad], tools) == [expected]
    sync_script = Script(asks(bad), answer("ok"))
    async_script = Script(asks(bad), answer("ok"))
    sync_result = chain("sync", sync_script, tools)
    async_result = chain("async", async_script, tools)
    assert sync_script.received[1][-1] == async_script.received[1][-1] == expected
    assert sync_result == async_result


@MODES
def test_max_turns(mode: Mode) -> None:
    c1, c2 = call("c1", "now"), call("c2", "now")
    script = Script(asks(c1), asks(c2))
    with pytest.raises(ChainLimitError) as info:
        chain(mode, script, [now], max_turns=2)
    error = info.value
    assert "max_turns=2" in str(error)
    assert "Raise max_turns" in str(error)
    assert "('now')" in str(error)
    assert len(script.received) == 2
    assert error.max_turns == 2
    assert error.response == asks(c2)
    assert error.usage == Usage(20, 4)
    assert error.messages[-1] == Message.assistant("", (c2,))
    assert error.transcript[-1] == ResponseReceived(2, asks(c2))
    assert [type(e).__name__ for e in error.transcript] == [
        "RequestSent",
        "ResponseReceived",
        "ToolCalled",
        "ToolReturned",
        "RequestSent",
        "ResponseReceived",
    ]  # the last response's calls were not run


@MODES
def test_invalid_options(mode: Mode) -> None:
    with pytest.raises(ConfigurationError, match="max_turns"):
        chain(mode, Script(answer("x")), [], max_turns=0)
    with pytest.raises(ConfigurationError, match="on_error"):
        chain(mode, Script(answer("x")), [], on_error="ignore")
    with pytest.raises(ConfigurationError, match="on_error"):
        tool_calls(mode, [], [], on_error="ignore")


# --- parity --------------------------------------------------------------------------


@dataclass
class Booking:
    city: str
    nights: int


def book(booking: Booking) -> dict[str, Any]:
    """Book a hotel."""
    return {"city": booking.city, "nights": booking.nights, "ok": True}


async def cancel(reference: str) -> str:
    if reference != "R1":
        raise KeyError(reference)
    return "cancelled"


PARITY_SCRIPT = (
    asks(
        call("t1", "weather", city="Paris"),
        call("t2", "population", city="Lyon"),
        call("t3", "book", booking={"city": "Paris", "nights": 2.0}),
        text="Checking.",
    ),
    asks(
        call("t4", "cancel", reference="R2"),
        call("t5", "teleport", to="Mars"),
        ToolCall("t6", "weather", {}, arguments_json="{city: Paris}"),
        call("t7", "book", booking={"city": "Paris"}),
    ),
    asks(call("t8", "cancel", reference="R1"), call("t9", "now")),
    answer("All done."),
)


def test_sync_and_async_chains_are_indistinguishable() -> None:
    tools: list[ToolLike] = [weather, population, now, book, cancel]
    sync_script, async_script = Script(*PARITY_SCRIPT), Script(*PARITY_SCRIPT)
    start = [Message.system("You book trips."), Message.user("Paris, 2 nights.")]
    sync_result = chain("sync", sync_script, tools, messages=start)
    async_result = chain("async", async_script, tools, messages=start)

    assert sync_script.received == async_script.received
    assert sync_result.transcript == async_result.transcript
    assert sync_result == async_result
    results = [e.message for e in sync_result.transcript if isinstance(e, ToolReturned)]
    assert [(m.tool_call_id, m.is_error) for m in results] == [
        ("t1", False),
        ("t2", False),
        ("t3", False),
        ("t4", True),
        ("t5", True),
        ("t6", True),
        ("t7", True),
        ("t8", False),
        ("t9", False),
    ]
    assert results[2].content == '{"city": "Paris", "nights": 2, "ok": true}'
    assert results[3].content == "Error: tool 'cancel' raised KeyError: 'R2'"
    assert sync_result.usage == Usage(50, 11)


async def test_tool_calls_parity_from_inside_a_loop() -> None:
    calls = [call("1", "weather", city="A"), call("2", "population", city="Paris")]
    calls += [call("3", "boom", x=2), call("4", "aboom", x="no")]
    tools: list[ToolLike] = [weather, population, boom, aboom]
    assert run_tool_calls(calls, tools) == await arun_tool_calls(calls, tools)


def test_awaitable_returned_by_a_plain_function_is_awaited() -> None:
    def deferred(x: int) -> Awaitable[int]:
        async def later() -> int:
            return x * 2

        return later()

    for mode in ("sync", "async"):
        assert tool_calls(mode, [call("1", "deferred", x=4)], [deferred])[0].content == "8"
