"""The llm adapter: its translation (prompt arguments, messages, events, chain outcomes,
errors) against the installed llm, calls and chains against the emulator on a loopback
port, and the conformance suite run on a small selection. Skipped when llm is not
installed (``pip install 'llm-parity[llm]'``)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from harness.emulator import returned_model

llm = pytest.importorskip("llm")

from conformance.scenarios import broken_tool, get_time, get_weather  # noqa: E402
from harness.adapters.base import Target  # noqa: E402
from harness.adapters.llm_adapter import (  # noqa: E402
    LLMAdapter,
    limit_reached,
    prompt_kwargs,
    to_llm_error,
)
from harness.emulator import Emulator, Fault, Reply, Step, serve  # noqa: E402
from harness.types import (  # noqa: E402
    BadRequestError,
    Finish,
    Message,
    ModelName,
    RateLimitError,
    TextDelta,
    ToolCall,
    ToolSpec,
    Usage,
    UsageUpdate,
)

ROOT = Path(__file__).resolve().parent.parent
HELLO = (Message.user("Say hello."),)


@pytest.fixture(autouse=True)
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """llm reads keys.json from its user directory: never the developer's."""
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm"))


@pytest.fixture
def adapter() -> LLMAdapter:
    return LLMAdapter()


@pytest.fixture
def emulated() -> Iterator[Any]:
    """``emulated(steps)``: an llm client of gpt-4o-mini answered by the emulator."""
    adapter = LLMAdapter()
    servers: list[Any] = []

    def make(steps: Sequence[Step]) -> Any:
        server = serve(Emulator(steps))
        servers.append(server)
        return adapter.connect(
            Target("openai", "gpt-4o-mini", api_key="test-key", base_url=server.__enter__())
        )

    yield make
    for server in reversed(servers):
        server.__exit__(None, None, None)


# --- translation --------------------------------------------------------------------------


def test_features(adapter: LLMAdapter) -> None:
    assert adapter.supports("achain", "openai")
    assert not adapter.supports("tool_choice", "openai")
    assert not adapter.supports("context", "openai")
    assert not any(adapter.supports("call", p) for p in ("anthropic", "gemini", "bedrock"))


def test_connect_copies_llm_models(adapter: LLMAdapter) -> None:
    client = adapter.connect(Target("openai", "gpt-4o-mini", base_url="http://127.0.0.1:9"))
    assert client.model.api_base == client.async_model.api_base == "http://127.0.0.1:9/v1"
    assert llm.get_model("gpt-4o-mini").api_base is None  # the registry's model untouched


def test_prompt_arguments(adapter: LLMAdapter) -> None:
    client = adapter.connect(Target("openai", "gpt-4o-mini", api_key="k"))
    spec = ToolSpec("get_weather", "Weather.", {"type": "object", "properties": {}})
    single = prompt_kwargs(
        client, (Message.system("Be brief."), *HELLO), {"temperature": 0.2, "tools": [spec]}
    )
    assert (single["prompt"], single["system"], single["key"]) == ("Say hello.", "Be brief.", "k")
    assert single["temperature"] == 0.2 and "options" not in single  # keywords on every release
    assert single["tools"][0].name == "get_weather" and single["tools"][0].implementation is None
    call = ToolCall("c1", "get_weather", {"city": "Oslo"})
    history = (
        Message.user("Hi"),
        Message.assistant("", (call,)),
        Message.tool(call, "Sunny"),
        Message.user("And now?"),
    )
    if importlib.util.find_spec("llm.parts") is None:  # before 0.32: one prompt only
        with pytest.raises(NotImplementedError, match=r"messages= came with 0\.32"):
            prompt_kwargs(client, history, {})
        return
    several = prompt_kwargs(client, history, {})
    assert "prompt" not in several
    assert [m.role for m in several["messages"]] == ["user", "assistant", "tool", "user"]
    assert several["messages"][1].parts[0].arguments == {"city": "Oslo"}
    assert several["messages"][2].parts[0].tool_call_id == "c1"


def test_only_openai_errors_are_translated() -> None:
    assert to_llm_error(ValueError("x")) is None


# --- against the emulator ---------------------------------------------------------------


def test_call_stream_and_async_agree(emulated: Any, adapter: LLMAdapter) -> None:
    reply = Reply(text="Hello there!", usage=Usage(9, 10))
    called = adapter.call(emulated([reply]), HELLO, {})
    assert (called.text, called.finish_reason, called.usage) == (
        "Hello there!",
        "stop",
        Usage(9, 10),
    )
    assert called.model == returned_model("openai", "gpt-4o-mini")  # the dated snapshot
    assert asyncio.run(adapter.acall(emulated([reply]), HELLO, {})) == called
    streamed = adapter.stream(emulated([reply]), HELLO, {})
    assert streamed.response == called
    assert streamed.events[-3:] == (
        ModelName(called.model),
        Finish("stop"),
        UsageUpdate(Usage(9, 10)),
    )
    assert "".join(e.text for e in streamed.events if isinstance(e, TextDelta)) == "Hello there!"
    assert asyncio.run(adapter.astream(emulated([reply]), HELLO, {})) == streamed


def test_chains_run_tools_and_report_failures(emulated: Any, adapter: LLMAdapter) -> None:
    asks = Reply(
        tool_calls=(
            ToolCall("call_0", "broken_tool", {"query": "x"}),
            ToolCall("call_1", "get_weather", {"city": "Paris"}),
        ),
        usage=Usage(20, 9),
    )
    steps = [asks, Reply(text="Done.")]
    tools = (broken_tool, get_weather)
    for outcome in (
        adapter.chain(emulated(steps), HELLO, tools, {}),
        asyncio.run(adapter.achain(emulated(steps), HELLO, tools, {})),
    ):
        assert outcome.response.text == "Done."
        failed, weather = outcome.tool_results
        assert failed.is_error and "backend unavailable" in failed.content
        assert (weather.content, weather.is_error) == ("Sunny in Paris, 21 C", False)


def test_async_tool_in_async_chain(emulated: Any, adapter: LLMAdapter) -> None:
    steps = [Reply(tool_calls=(ToolCall("call_0", "get_time", {"city": "Oslo"}),)), Reply("Ok.")]
    outcome = asyncio.run(adapter.achain(emulated(steps), HELLO, (get_time,), {}))
    assert [m.content for m in outcome.tool_results] == ["14:05 in Oslo"]


def test_max_turns_is_llms_chain_limit(emulated: Any, adapter: LLMAdapter) -> None:
    """llm stops at its chain_limit with a ValueError: the chain's outcome is the answer
    still asking for a tool, with the results sent before it; other ValueErrors pass."""
    asks = [
        Reply(tool_calls=(ToolCall(f"call_{i}", "get_weather", {"city": c}),))
        for i, c in enumerate(("Paris", "Rome"))
    ]
    assert adapter.supports("max_turns", "openai")
    for outcome in (
        adapter.chain(emulated(asks), HELLO, (get_weather,), {"max_turns": 2}),
        asyncio.run(adapter.achain(emulated(asks), HELLO, (get_weather,), {"max_turns": 2})),
    ):
        assert [call.arguments for call in outcome.response.tool_calls] == [{"city": "Rome"}]
        assert [m.content for m in outcome.tool_results] == ["Sunny in Paris, 21 C"]

    def refuses(city: str) -> str:
        """Refuses.

        Args:
            city: A city.
        """
        raise ValueError("Chain limit of my own")

    with pytest.raises(ValueError, match=r"^too many$"), limit_reached():
        raise ValueError("too many")
    outcome = adapter.chain(emulated([asks[0], Reply("Ok.")]), HELLO, (refuses,), {})
    assert outcome.tool_results[0].is_error  # a tool's own ValueError is its error result


def test_run_tools_is_llms_execute_tool_calls(emulated: Any, adapter: LLMAdapter) -> None:
    asks = Reply(
        tool_calls=(
            ToolCall("call_0", "get_weather", {"city": "Lima"}),
            ToolCall("call_1", "broken_tool", {"query": "x"}),
        )
    )
    tools = (get_weather, broken_tool)
    for outcome in (
        adapter.run_tools(emulated([asks]), HELLO, tools, {}),
        asyncio.run(adapter.arun_tools(emulated([asks]), HELLO, tools, {})),
    ):
        assert [call.name for call in outcome.response.tool_calls] == ["get_weather", "broken_tool"]
        weather, failed = outcome.tool_results
        assert (weather.content, weather.is_error, failed.is_error) == (
            "Sunny in Lima, 21 C",
            False,
            True,
        )


def test_errors(emulated: Any, adapter: LLMAdapter) -> None:
    with pytest.raises(BadRequestError) as bad:
        adapter.call(emulated([Fault(400, "max_tokens: must be positive")]), HELLO, {})
    assert (bad.value.provider, bad.value.status) == ("openai", 400)
    assert bad.value.provider_message == "max_tokens: must be positive"
    with pytest.raises(RateLimitError) as limited:
        adapter.call(emulated([Fault(429, "slow down", retry_after=0)] * 3), HELLO, {})
    assert (limited.value.provider_message, limited.value.retry_after) == ("slow down", 0)


# --- the suite ----------------------------------------------------------------------------


def test_suite_finds_the_sync_chain_in_a_running_loop(tmp_path: Path) -> None:
    """On the shipped cassettes: calls and chains pass; a sync chain with an async tool,
    inside a running loop, sends the model the asyncio.run() error (llm 0.36)."""
    out = tmp_path / "parity.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(ROOT / "conformance"),
            "--client=llm",
            "--provider=openai",
            "-k",
            "plain_text or chain_parallel_tools or sync_chain_in_running_loop",
            f"--parity-json={out}",
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    document = json.loads(out.read_text())
    assert (document["client"], document["client_version"]) == ("llm", metadata.version("llm"))
    outcomes = {(row["scenario"], row["mode"]): row for row in document["results"]}
    loop = outcomes[("regression/sync_chain_in_running_loop", "chain_in_loop")]
    assert loop["outcome"] == "fail", result.stdout[-3000:]
    assert "asyncio.run() cannot be called from a running event loop" in json.dumps(loop)
    for case in [("plain_text", m) for m in ("sync", "async", "stream", "astream")] + [
        ("chain_parallel_tools", "sync"),
        ("chain_parallel_tools", "async"),
    ]:
        assert outcomes[case]["outcome"] == "pass", (case, result.stdout[-3000:])
