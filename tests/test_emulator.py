"""The emulator through the real client (``harness.lm.LM``), in-process and over loopback.

Each ``Reply`` must come back as the ``Response`` a correct client builds from that
provider's wire format (``expected``), the same whether called sync, async, streamed or
async-streamed. What a provider's wire cannot carry is left out of the expectation:

- OpenAI Chat Completions return no reasoning text (only ``reasoning_tokens``);
- Anthropic and Bedrock report no reasoning token count;
- Gemini returns no tool-call ids (the client numbers them ``call_0``...) and says
  ``STOP`` when it calls a function (the client reports ``tool_calls``);
- Bedrock Converse bodies name no model (the client uses the requested one).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from botocore.eventstream import EventStreamBuffer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cassettes import load_cassette
from harness.emulator import (
    CutStream,
    Drop,
    Emulator,
    EmulatorTransport,
    Fault,
    LoopbackServer,
    Malformed,
    Reply,
    Slow,
    StreamFault,
    client_options,
    encode_frame,
    returned_model,
    serve,
    stream_fault_status,
)
from harness.lm import LM
from harness.types import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    FinishReason,
    LLMError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    Response,
    ServerError,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)

CORPUS = Path(__file__).parent / "corpus" / "recorded"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class Target:
    name: str
    model: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def provider(self) -> str:
        return self.model.partition("/")[0]

    @property
    def model_name(self) -> str:
        return self.model.partition("/")[2]

    @property
    def converse(self) -> bool:
        return self.provider == "bedrock" and self.options.get("api") != "invoke"

    def lm(self, transport: Any = None, **options: Any) -> LM:
        defaults = {} if self.provider == "bedrock" else {"api_key": "k"}
        options = {"max_retries": 0, **defaults, **self.options, **options}
        return LM(self.model, transport=transport, **options)


TARGETS = [
    Target("openai", "openai/gpt-4o-mini"),
    Target("anthropic", "anthropic/claude-sonnet-4-5"),
    Target("gemini", "gemini/gemini-2.5-flash"),
    Target("bedrock", "bedrock/us.amazon.nova-micro-v1:0", {"region": "us-east-1"}),
    Target(
        "bedrock-invoke",
        "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        {"region": "us-east-1", "api": "invoke"},
    ),
]
MODES = ("sync", "async", "stream", "astream")
by_target = pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
by_mode = pytest.mark.parametrize("mode", MODES)


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any name resolution or connection beyond loopback fails the test."""
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        assert host in LOOPBACK, f"network access attempted: {host!r}"
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        assert isinstance(address, tuple) and address[0] in LOOPBACK, address
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)


async def call(lm: LM, mode: str, prompt: str = "hi") -> Response:
    if mode == "sync":
        return lm(prompt)
    if mode == "async":
        return await lm.acall(prompt)
    if mode == "stream":
        return lm.stream(prompt).collect()
    return await lm.astream(prompt).collect()


async def answer(target: Target, mode: str, *steps: Any) -> Response:
    """The first step, through a fresh emulator and ``LM``."""
    lm = target.lm(EmulatorTransport(Emulator(steps)))
    try:
        return await call(lm, mode)
    finally:
        lm.close()
        await lm.aclose()


def expected(reply: Reply, target: Target) -> Response:
    """The Response a correct client builds from ``reply`` sent by ``target``'s service."""
    provider = target.provider
    calls, finish = reply.tool_calls, reply.finish
    if provider == "gemini":
        calls = tuple(replace(c, id=f"call_{i}") for i, c in enumerate(calls))
        finish = "tool_calls" if finish == "stop" and calls else finish
    usage = reply.usage
    if provider in ("anthropic", "bedrock"):
        usage = replace(usage, reasoning_tokens=0)
    return Response(
        text=reply.text,
        tool_calls=calls,
        finish_reason=finish,
        usage=usage,
        model=target.model_name
        if target.converse
        else reply.model or returned_model(provider, target.model_name) or target.model_name,
        reasoning=reply.reasoning,
    )


# --- round trips ----------------------------------------------------------------------------

WEATHER = ToolCall("call_w1", "get_weather", {"city": "Paris", "unit": "celsius"})
REPLIES = {
    "text": Reply("The capital of France is Paris."),
    "unicode": Reply('héllo — 你好 👋\n"quoted" \\ back\r\nslash'),
    "empty": Reply(""),
    "reasoning": Reply(
        "42.", reasoning="Six times seven.", usage=Usage(30, 20, reasoning_tokens=12)
    ),
    "one_tool": Reply(tool_calls=(WEATHER,)),
    "parallel_tools": Reply(
        "Checking both.",
        tool_calls=(
            WEATHER,
            ToolCall("call_t2", "get_time", {"zone": "Europe/Paris", "n": [1, 2.5, None]}),
        ),
    ),
    "no_argument_tool": Reply(tool_calls=(ToolCall("call_l3", "list_files", {}),)),
    "usage": Reply("ok", usage=Usage(1234, 567, cached_tokens=1000, reasoning_tokens=89)),
    "model": Reply("hi", model="answering-model-2"),
    "everything": Reply(
        "Let me look.",
        tool_calls=(WEATHER,),
        reasoning="I should call the weather tool.",
        usage=Usage(50, 40, cached_tokens=10, reasoning_tokens=15),
        model="m-2",
    ),
}


@by_target
@by_mode
@pytest.mark.parametrize("name", REPLIES)
async def test_round_trip(target: Target, mode: str, name: str) -> None:
    reply = REPLIES[name]
    assert await answer(target, mode, reply) == expected(reply, target)


FINISHES: dict[str, tuple[FinishReason, ...]] = {
    "openai": ("stop", "length", "tool_calls", "content_filter", "other"),
    "anthropic": ("stop", "length", "tool_calls", "content_filter", "other"),
    "gemini": ("stop", "length", "tool_calls", "content_filter", "other"),
    "bedrock": ("stop", "length", "tool_calls", "content_filter", "other"),
}
FINISH_CASES = [(target, reason) for target in TARGETS for reason in FINISHES[target.provider]]


@pytest.mark.parametrize(("target", "reason"), FINISH_CASES, ids=lambda x: getattr(x, "name", x))
@by_mode
async def test_each_finish_reason(target: Target, reason: FinishReason, mode: str) -> None:
    calls = (WEATHER,) if reason == "tool_calls" else ()  # Gemini: only with a call
    reply = Reply("partial answer", tool_calls=calls, finish_reason=reason)
    response = await answer(target, mode, reply)
    assert response.finish_reason == reason
    assert response == expected(reply, target)


@pytest.mark.parametrize(
    ("target", "reason"),
    [(TARGETS[2], "tool_calls")],
    ids=["gemini-tool_calls-without-calls"],
)
async def test_a_finish_reason_the_wire_cannot_carry_is_a_script_error(
    target: Target, reason: FinishReason
) -> None:
    with pytest.raises(ServerError, match="emulator script error"):
        await answer(target, "sync", Reply("x", finish_reason=reason))


@by_target
@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_streams_arrive_in_pieces(target: Target, mode: str) -> None:
    reply = Reply("Streamed text, long enough to need many events.", tool_calls=(WEATHER,))
    lm = target.lm(EmulatorTransport(Emulator([reply])))
    if mode == "stream":
        events = list(lm.stream("hi"))
    else:
        events = [event async for event in lm.astream("hi")]
    assert sum(isinstance(e, TextDelta) for e in events) >= len(reply.text) // 3
    if target.provider != "gemini":  # Gemini sends a function call whole
        fragments = [e for e in events if isinstance(e, ToolCallDelta) and e.arguments]
        assert len(fragments) > 3


@by_target
async def test_generated_ids_are_deterministic(
    target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    reply = Reply(tool_calls=(ToolCall("", "a", {"x": 1}), ToolCall("", "b")))
    ids = {tuple(c.id for c in (await answer(target, m, reply)).tool_calls) for m in MODES}
    assert len(ids) == 1  # the same in every mode
    (first,) = ids
    assert all(first) and len(set(first)) == 2

    def run() -> tuple[list[Any], list[bytes]]:
        """Raw answers as decoded by the client, and the answer bytes to the same requests
        replayed on a fresh emulator."""
        em = Emulator([reply, reply])
        lm = target.lm(EmulatorTransport(em))
        raws = [lm("hi").raw, lm.stream("hi").collect().raw]
        again = Emulator([reply, reply])
        return raws, [again.handle(r.method, r.url, r.headers, r.body).body for r in em.requests]

    before = run()
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 86_400)
    monkeypatch.setattr(time, "time_ns", lambda: int((real_time() + 86_400) * 1e9))
    assert run() == before


@by_target
async def test_the_emulator_keeps_the_requests(target: Target) -> None:
    em = Emulator([Reply("a"), Reply("b")])
    lm = target.lm(EmulatorTransport(em))
    lm("first")
    lm.stream("second").collect()
    assert [r.method for r in em.requests] == ["POST", "POST"]
    hosts = {
        "openai": "https://api.openai.com/v1/",
        "anthropic": "https://api.anthropic.com/v1/",
        "gemini": "https://generativelanguage.googleapis.com/v1beta/",
        "bedrock": "https://bedrock-runtime.us-east-1.amazonaws.com/model/",
    }
    assert all(r.url.startswith(hosts[target.provider]) for r in em.requests)
    assert "first" in em.requests[0].body.decode()
    assert "second" in em.requests[1].body.decode()
    assert em.served == 2 and em.remaining == 0


# --- faults -----------------------------------------------------------------------------------

STATUSES: dict[int, type[LLMError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
    500: ServerError,
    503: ServerError,
}
FAULT_CASES = [(t, s, c) for t in TARGETS for s, c in STATUSES.items()] + [
    (TARGETS[1], 529, ServerError),
    (TARGETS[2], 504, RequestTimeoutError),
    (TARGETS[3], 408, RequestTimeoutError),
]


@pytest.mark.parametrize(
    ("target", "status", "error"), FAULT_CASES, ids=lambda x: getattr(x, "name", str(x))
)
@by_mode
async def test_faults_map_to_the_error_classes(
    target: Target, status: int, error: type[LLMError], mode: str
) -> None:
    fault = Fault(status, f"scripted failure {status}", retry_after=2.5)
    with pytest.raises(error) as caught:
        await answer(target, mode, fault)
    assert type(caught.value) is error
    assert caught.value.status == status
    assert caught.value.provider == target.provider
    assert f"scripted failure {status}" in str(caught.value)
    if status == 429:
        assert isinstance(caught.value, RateLimitError)
        assert caught.value.retry_after == 2.5


@by_target
async def test_a_fault_then_a_retry_succeeds(target: Target) -> None:
    em = Emulator([Fault(429, "slow down", retry_after=0.01), Reply("second try")])
    lm = target.lm(EmulatorTransport(em), max_retries=1)
    assert (await lm.acall("hi")).text == "second try"
    assert em.served == 2


@by_target
async def test_a_request_beyond_the_script_is_a_500(target: Target) -> None:
    with pytest.raises(ServerError, match="script exhausted") as caught:
        await answer(target, "sync")
    assert caught.value.status == 500


def test_an_unknown_endpoint_is_a_404_and_takes_no_step() -> None:
    em = Emulator([Reply("a")])
    response = em.handle("GET", "https://api.openai.com/v1/models", {}, b"")
    assert response.status == 404
    assert em.served == 0 and len(em.requests) == 1


# --- Slow and CutStream -------------------------------------------------------------------


@by_target
@by_mode
async def test_slow_delays_the_answer(target: Target, mode: str) -> None:
    started = time.perf_counter()
    response = await answer(target, mode, Slow(0.2, Reply("late")))
    assert time.perf_counter() - started >= 0.2
    assert response.text == "late"


@pytest.mark.parametrize("mode", ["async", "astream"])
async def test_slow_does_not_block_the_event_loop(mode: str) -> None:
    lm = TARGETS[0].lm(EmulatorTransport(Emulator([Slow(0.3, Reply("x"))] * 4)))
    started = time.perf_counter()
    responses = await asyncio.gather(*(call(lm, mode) for _ in range(4)))
    assert time.perf_counter() - started < 0.9
    assert [r.text for r in responses] == ["x"] * 4


@by_target
@by_mode
@pytest.mark.parametrize("after", [0, 3, 1000])
async def test_a_cut_body_is_malformed(target: Target, mode: str, after: int) -> None:
    reply = Reply("A long enough answer to cut.", tool_calls=(WEATHER,))
    with pytest.raises(MalformedResponseError):
        await answer(target, mode, CutStream(reply, after_events=after))


def test_a_cut_stream_ends_inside_the_event_after_the_kept_ones() -> None:
    body = b'{"model": "m", "stream": true}'
    url = "https://api.anthropic.com/v1/messages"
    whole = Emulator([Reply("abcdef")]).handle("POST", url, {}, body)
    cut = Emulator([CutStream(Reply("abcdef"), 2)]).handle("POST", url, {}, body)
    assert cut.cut and cut.chunks[:2] == whole.chunks[:2]
    assert len(cut.chunks) == 3 and whole.chunks[2].startswith(cut.chunks[2])
    assert 0 < len(cut.chunks[2]) < len(whole.chunks[2])


# --- Bedrock eventstream frames ---------------------------------------------------------------


def test_encode_frame_reproduces_the_recorded_frames() -> None:
    count = 0
    for path in sorted((CORPUS / "bedrock").glob("*stream*")):
        for interaction in load_cassette(path):
            body = interaction.response.body
            frames = EventStreamBuffer()
            frames.add_data(body)
            rebuilt = b"".join(encode_frame(f.headers, f.payload) for f in frames)
            assert rebuilt == body
            count += 1
    assert count == 5


def test_encoded_frames_parse_with_botocore() -> None:
    frame = encode_frame({":event-type": "chunk", ":message-type": "event"}, b'{"a":1}')
    frames = EventStreamBuffer()
    frames.add_data(frame[:7])
    assert list(frames) == []
    frames.add_data(frame[7:])
    (parsed,) = list(frames)
    assert parsed.headers == {":event-type": "chunk", ":message-type": "event"}
    assert parsed.payload == b'{"a":1}'


# --- recording with vcrpy ------------------------------------------------------------------------


@pytest.mark.parametrize("target", [TARGETS[0], TARGETS[3]], ids=lambda t: t.name)
async def test_vcrpy_records_through_the_transport(target: Target, tmp_path: Path) -> None:
    import vcr

    cassette = tmp_path / "recorded.yaml"
    em = Emulator([Reply("one"), Reply("two"), Reply("three")])
    lm = target.lm(EmulatorTransport(em))
    with vcr.use_cassette(str(cassette), record_mode="all"):
        lm("a")
        await lm.acall("b")
        await lm.astream("c").collect()
    recorded = load_cassette(cassette)
    assert [i.request.uri for i in recorded] == [r.url for r in em.requests]
    replay = Emulator([Reply("one"), Reply("two"), Reply("three")])
    for interaction, request in zip(recorded, em.requests, strict=True):
        again = replay.handle(request.method, request.url, request.headers, request.body)
        assert interaction.response.body == again.body
        assert interaction.response.status == 200


@pytest.mark.parametrize("api", ["converse", "invoke"])
async def test_recordings_of_bedrock_against_the_emulator_are_byte_identical(
    api: str, tmp_path: Path
) -> None:
    """Recorded at two different instants (a SigV4 date and ``x-amz-date`` would differ),
    the same calls give the same cassette bytes: the emulator fixes the signing clock."""
    from harness.cassettes.record import use_cassette

    async def record(path: Path) -> bytes:
        transport = EmulatorTransport(Emulator([Reply("one"), Reply("two"), Reply("three")]))
        model = "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
        lm = LM(model, region="us-east-1", api=api, transport=transport, max_retries=0)
        with use_cassette(path, record_mode="once"):
            lm("a")
            await lm.acall("b")
            await lm.astream("c").collect()
        return path.read_bytes()

    first = await record(tmp_path / "first.yaml")
    time.sleep(1.05 - time.time() % 1)  # the next second: botocore's clock has moved on
    second = await record(tmp_path / "second.yaml")
    assert first == second
    assert b"x-amz-date" in first and b"20250101T000000Z" in first


# --- loopback server ------------------------------------------------------------------------------


@by_target
async def test_serve_works_with_the_client(target: Target) -> None:
    reply = Reply("over the wire", tool_calls=(WEATHER,))
    em = Emulator([reply, reply, reply, reply])
    with serve(em) as url:
        lm = target.lm(**client_options(target.provider, url))
        try:
            responses = [await call(lm, mode) for mode in MODES]
        finally:
            lm.close()
            await lm.aclose()
    assert responses == [expected(reply, target)] * 4
    assert all(r.url.startswith(url) for r in em.requests)


@pytest.mark.parametrize("target", [TARGETS[1], TARGETS[3]], ids=lambda t: t.name)
@by_mode
async def test_a_cut_stream_over_loopback_is_a_connection_error(target: Target, mode: str) -> None:
    with serve(Emulator([CutStream(Reply("cut me off", tool_calls=(WEATHER,)), 2)])) as url:
        lm = target.lm(**client_options(target.provider, url))
        try:
            with pytest.raises(APIConnectionError):
                await call(lm, mode)
        finally:
            lm.close()
            await lm.aclose()


async def test_slow_over_loopback_times_out() -> None:
    with serve(Emulator([Slow(0.5, Reply("too late"))])) as url:
        lm = TARGETS[0].lm(timeout=0.1, **client_options("openai", url))
        with pytest.raises(RequestTimeoutError):
            lm("hi")
        lm.close()


async def test_a_fault_over_loopback_keeps_its_headers() -> None:
    with serve(Emulator([Fault(429, "easy", retry_after=0.75)])) as url:
        lm = TARGETS[2].lm(**client_options("gemini", url))
        with pytest.raises(RateLimitError) as caught:
            lm("hi")
        lm.close()
    assert caught.value.retry_after == 0.75


def test_serve_stops_cleanly() -> None:
    baseline = set(threading.enumerate())
    em = Emulator([Reply("a")] * 6)
    with serve(em) as url:
        lms = [TARGETS[0].lm(**client_options("openai", url)) for _ in range(3)]
        for lm in lms:  # each keeps an idle keep-alive connection open
            lm("hi")
            lm.stream("hi").collect()
        started = set(threading.enumerate()) - baseline
        assert len(started) >= 4  # the server loop and one thread per connection
    assert not any(thread.is_alive() for thread in started)
    assert set(threading.enumerate()) <= baseline
    for lm in lms:
        lm.close()


def test_client_options() -> None:
    url = "http://127.0.0.1:1234"
    assert client_options("openai", url) == {"base_url": f"{url}/v1"}
    assert client_options("anthropic", url) == {"base_url": url}
    assert client_options("gemini", url) == {"base_url": f"{url}/v1beta"}
    assert client_options("bedrock", url) == {"endpoint_url": url}


# --- any text, any arguments ---------------------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)


@by_target
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=TEXT, arguments=st.dictionaries(TEXT, VALUES, max_size=4))
def test_any_text_and_arguments_round_trip(
    target: Target, text: str, arguments: dict[str, Any]
) -> None:
    reply = Reply(text, tool_calls=(ToolCall("call_p", "tool", arguments),))
    for mode in ("sync", "stream"):
        assert asyncio.run(answer(target, mode, reply)) == expected(reply, target)


# --- returned models, stream faults, dropped connections -------------------------------------


def test_answers_name_the_providers_snapshot_of_an_alias() -> None:
    assert returned_model("openai", "gpt-4o-mini") == "gpt-4o-mini-2024-07-18"
    assert returned_model("anthropic", "claude-sonnet-4-5") == "claude-sonnet-4-5-20250929"
    assert returned_model("gemini", "gemini-flash-latest") == "gemini-2.5-flash-preview-09-2025"
    assert returned_model("gemini", "gemini-2.5-flash") == "gemini-2.5-flash"  # stable: itself
    assert returned_model("openai", "gpt-4o-mini-2024-07-18") == "gpt-4o-mini-2024-07-18"
    assert returned_model("bedrock", "us.amazon.nova-micro-v1:0") is None  # Converse: none
    assert returned_model("bedrock", "anthropic.claude", "invoke") == "anthropic.claude"


@by_target
@pytest.mark.parametrize("status", [500, 429])
@pytest.mark.parametrize("after", [0, 2])
@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_an_error_event_inside_a_stream_raises_the_providers_error(
    target: Target, status: int, after: int, mode: str
) -> None:
    """In the provider's own error event (OpenAI an ``error`` chunk, Anthropic an
    ``error`` event, Bedrock an exception frame, Gemini an ``error`` element), with no
    HTTP status but Gemini's ``code``; never retried (the headers had arrived)."""
    em = Emulator([StreamFault(status, "it broke", Reply("some text first"), after)])
    lm = target.lm(EmulatorTransport(em), max_retries=2)
    expected = RateLimitError if status == 429 else ServerError
    try:
        with pytest.raises(expected) as caught:
            await call(lm, mode)
    finally:
        lm.close()
        await lm.aclose()
    assert caught.value.provider_message == "it broke"
    assert caught.value.status == stream_fault_status(target.provider, status)
    assert len(em.requests) == 1


@pytest.mark.parametrize("after", [0, 2, 9])
def test_a_gemini_json_array_stream_fault_is_a_closed_array(after: int) -> None:
    """Without ``alt=sse`` the error is the array's last element, and the array closes."""
    em = Emulator([StreamFault(500, "late", Reply("abcdefghi"), after)])
    url = "https://generativelanguage.googleapis.com/v1beta/models/m:streamGenerateContent"
    answer = em.handle("POST", url, {}, b"{}")
    assert answer.status == 200 and answer.stream
    elements = json.loads(answer.body)
    assert elements[-1] == {"error": {"code": 500, "message": "late", "status": "INTERNAL"}}
    assert len(elements) == min(after, 3) + 1


def test_a_stream_fault_answers_only_a_streamed_request() -> None:
    lm = TARGETS[0].lm(EmulatorTransport(Emulator([StreamFault(500, "x")])))
    with pytest.raises(ServerError, match="StreamFault answers only a streamed request"):
        lm("hi")


@by_target
@by_mode
async def test_a_dropped_connection_is_retried_in_process_and_over_loopback(
    target: Target, mode: str
) -> None:
    for over_loopback in (False, True):
        em = Emulator([Drop(), Reply("after the drop")])
        if over_loopback:
            with serve(em) as url:
                lm = target.lm(max_retries=1, **client_options(target.provider, url))
                try:
                    response = await call(lm, mode)
                finally:
                    lm.close()
                    await lm.aclose()
        else:
            response = await answer_with_retries(target, mode, em)
        assert response.text == "after the drop"
        assert len(em.requests) == 2


async def answer_with_retries(target: Target, mode: str, em: Emulator) -> Response:
    lm = target.lm(EmulatorTransport(em), max_retries=1)
    try:
        return await call(lm, mode)
    finally:
        lm.close()
        await lm.aclose()


@by_mode
async def test_a_connection_dropped_every_time_is_a_connection_error(mode: str) -> None:
    em = Emulator([Drop()] * 3)
    with serve(em) as url:
        lm = TARGETS[0].lm(max_retries=2, **client_options("openai", url))
        try:
            with pytest.raises(APIConnectionError, match="without sending a response"):
                await call(lm, mode)
        finally:
            lm.close()
            await lm.aclose()
    assert len(em.requests) == 3


@by_mode
async def test_a_reset_connection_is_reset_in_process_and_over_loopback(mode: str) -> None:
    """``Drop(reset=True)``: the client reads ECONNRESET (a TCP RST over loopback, not the
    end of the stream a plain ``Drop`` gives)."""
    em = Emulator([Drop(reset=True)] * 2)
    in_process = TARGETS[0].lm(EmulatorTransport(em), max_retries=0)
    with serve(em) as url:
        over_loopback = TARGETS[0].lm(max_retries=0, **client_options("openai", url))
        for lm in (in_process, over_loopback):
            try:
                with pytest.raises(APIConnectionError, match="Connection reset by peer"):
                    await call(lm, mode)
            finally:
                lm.close()
                await lm.aclose()
    assert len(em.requests) == 2


def test_a_malformed_answer_can_lose_its_content_type_and_claim_an_encoding() -> None:
    """``Malformed``: ``content_type=""`` sends no label; ``content_encoding`` labels the
    body with an encoding it is not in; ``whole`` answers a streamed request with it."""
    url = "https://api.openai.com/v1/chat/completions"
    page = Malformed("<html>", content_type="", content_encoding="gzip", whole=True)
    em = Emulator([page, page])
    plain = em.handle("POST", url, {}, b'{"model": "m"}')
    streamed = em.handle("POST", url, {}, b'{"model": "m", "stream": true}')
    for answer in (plain, streamed):
        assert answer.body == b"<html>"
        assert answer.headers == {"content-encoding": "gzip"}
    assert streamed.stream


def test_a_loopback_server_keeps_its_port_when_its_emulator_changes() -> None:
    with LoopbackServer(Emulator([Reply("first")])) as server:
        lm = TARGETS[0].lm(**client_options("openai", server.url))
        assert lm("hi").text == "first"
        url, server.emulator = server.url, Emulator([Reply("second")])
        assert lm("hi").text == "second"
        assert server.url == url
        lm.close()


def test_a_connection_that_never_ends_its_request_line_is_closed() -> None:
    """A TLS ClientHello sent to the plain-HTTP server has no newline: the server closes
    the connection after its idle timeout instead of holding a handler thread (and
    ``close()``) until the client gives up."""
    with LoopbackServer(Emulator([]), idle_timeout=0.2) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as connection:
            connection.sendall(bytes.fromhex("160301"))  # the first bytes of a ClientHello
            connection.settimeout(5)
            started = time.monotonic()
            assert connection.recv(1024) == b""  # closed by the server, nothing answered
            assert time.monotonic() - started < 2


@pytest.mark.parametrize("mode", MODES)
async def test_bedrock_over_loopback_sends_the_path_it_signed(mode: str) -> None:
    """aiohttp would re-quote ``%3A`` in the model id to ``:``: the async path must send
    the URL as signed, or SigV4 fails (the model id here holds a ``:``)."""
    em = Emulator([Reply("signed")])
    with serve(em) as url:
        lm = TARGETS[3].lm(**client_options("bedrock", url))
        try:
            await call(lm, mode)
        finally:
            lm.close()
            await lm.aclose()
    (request,) = em.requests
    assert "/model/us.amazon.nova-micro-v1%3A0/converse" in request.url
