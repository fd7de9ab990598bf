"""What a scenario script is made of, and the helpers every wire format shares.

A script is a list of steps, one per request: ``Reply`` (a successful answer), ``Fault``
(an error response), ``Slow`` (a reply after a delay), ``CutStream`` (a truncated
body), ``StreamFault`` (an error event inside a 200 stream), ``Malformed`` (a 200 answer
no client can decode) and ``Drop`` (the connection closed without an answer). ``Call``
is one request as the emulator understood it; it also derives the deterministic ids and
paddings of the answer from the provider and the request's position in the script, so
serving the same script twice gives byte-identical bodies.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from harness.emulator.snapshots import returned_model
from harness.types import FinishReason, ToolCall, Usage

TEXT_PIECE = 3
"""Characters of answer or reasoning text per stream event."""
ARGUMENTS_PIECE = 6
"""Characters of tool-call arguments JSON per stream event."""
CREATED = 1_750_000_000
"""The fixed ``created`` timestamp of OpenAI answers (plus the request's index)."""

DEFAULT_USAGE = Usage(input_tokens=12, output_tokens=7)
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class Reply:
    """A successful answer, rendered in the wire format of whichever provider is asked.

    ``finish_reason`` None means ``tool_calls`` when there are tool calls, else ``stop``.
    ``model`` None answers with the model the provider names for the one the request
    asked for (``harness.emulator.snapshots``: a dated snapshot for an alias). A
    ``ToolCall`` with an empty id gets a deterministic one; its ``arguments_json``, when
    set, is sent verbatim where the wire carries arguments as text.

    ``refusal`` (OpenAI only) is the model's refusal, sent in the message's ``refusal``
    field with ``content`` null. ``variants`` (OpenAI only) names forms of the wire that
    OpenAI-compatible servers of other makes send (``harness.emulator.openai.VARIANTS``).
    Another provider's wire cannot express either (``ScriptError``).
    """

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: FinishReason | None = None
    usage: Usage = DEFAULT_USAGE
    reasoning: str = ""
    model: str | None = None
    refusal: str = ""
    variants: frozenset[str] = frozenset()

    @property
    def finish(self) -> FinishReason:
        """The finish reason to send."""
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"


@dataclass(frozen=True)
class Fault:
    """An error response in the provider's own error envelope.

    ``retry_after`` (seconds) adds ``retry-after`` and ``retry-after-ms`` headers.
    ``body``, when set, is sent verbatim in place of the provider's envelope, labelled
    ``content_type``: the error body of an OpenAI-compatible server of another make (vLLM's
    flat ``{"object": "error", "message", ...}``, FastAPI's ``{"detail": ...}``, a Go
    server's plain-text ``404 page not found``).
    """

    status: int
    message: str = "emulated fault"
    retry_after: float | None = None
    body: str | None = None
    content_type: str = "application/json"


@dataclass(frozen=True)
class Slow:
    """``then`` served after ``seconds`` (before the first byte of the body)."""

    seconds: float
    then: Reply


@dataclass(frozen=True)
class CutStream:
    """``reply`` truncated in the middle of event number ``after_events + 1`` (the body
    ends there; over the loopback server the connection is closed instead). A
    non-streamed answer is cut in the middle of its JSON body."""

    reply: Reply
    after_events: int


@dataclass(frozen=True)
class StreamFault:
    """A 200 stream that sends the first ``after_events`` events of ``reply``, then the
    provider's own error event for ``status`` (OpenAI an ``error`` chunk, Anthropic an
    ``error`` event, Bedrock an exception frame, Gemini an ``error`` element) and ends.
    Only a streamed request can be answered so."""

    status: int
    message: str = "emulated fault"
    reply: Reply = Reply()
    after_events: int = 1
    variants: frozenset[str] = frozenset()
    """OpenAI only: ``{"string_error"}`` sends the error as a plain string,
    ``{"error": "message"}``, as some OpenAI-compatible servers do."""


@dataclass(frozen=True)
class Malformed:
    """A 200 answer that cannot be decoded: ``body`` sent verbatim, labelled
    ``content_type`` (no label where it is ""), as the whole non-streamed body; in a
    stream (OpenAI only), the first ``after_events`` events of ``reply``, then ``body`` as
    the data of one server-sent event, then ``data: [DONE]``, unless ``whole``."""

    body: str
    content_type: str = "application/json"
    reply: Reply = Reply()
    after_events: int = 1
    whole: bool = False
    """A streamed request gets ``body`` as its whole body too, not as an event (what a
    proxy's page looks like to a client waiting for a stream), from any provider."""
    content_encoding: str | None = None
    """A ``content-encoding`` the body is labelled with but not encoded in: the client's
    HTTP library cannot decode it."""


@dataclass(frozen=True)
class Drop:
    """No answer: the connection is closed once the request has been read (over the
    loopback server; in-process, the transport raises httpx's ``RemoteProtocolError``).
    With ``reset``, it is reset (TCP RST) instead (in-process: httpx's ``ReadError``,
    caused by ``ConnectionResetError``)."""

    reset: bool = False


Step = Reply | Fault | Slow | CutStream | StreamFault | Malformed | Drop


class ScriptError(Exception):
    """The step cannot be expressed in this provider's wire format."""


@dataclass(frozen=True)
class Wire:
    """A rendered body: its headers and the pieces a client receives (one per event)."""

    headers: dict[str, str]
    events: tuple[bytes, ...]


@dataclass(frozen=True)
class Call:
    """One request as the emulator understood it."""

    provider: str
    api: str
    """``chat`` (OpenAI), ``messages`` (Anthropic), ``generate`` (Gemini), ``converse`` or
    ``invoke`` (Bedrock)."""
    model: str
    stream: bool
    index: int
    """Position of the request in the script (0 for the first step)."""
    sse: bool = False
    """Gemini ``alt=sse``."""
    include_usage: bool = False
    """OpenAI ``stream_options.include_usage``."""

    def digest(self, label: str) -> bytes:
        return hashlib.sha256(f"{self.provider}/{self.index}/{label}".encode()).digest()

    def token(self, label: str, size: int = 24) -> str:
        """A deterministic alphanumeric string for ``label`` (an id, a signature...)."""
        out = ""
        round_ = 0
        while len(out) < size:
            out += "".join(_ALNUM[b % len(_ALNUM)] for b in self.digest(f"{label}#{round_}"))
            round_ += 1
        return out[:size]

    def number(self, label: str, low: int, high: int) -> int:
        """A deterministic integer in ``[low, high]`` (padding lengths, latencies)."""
        return low + int.from_bytes(self.digest(label)[:4], "big") % (high - low + 1)

    def model_name(self, reply: Reply) -> str:
        """The model the answer names: the reply's own, or the provider's for the request's
        (see ``harness.emulator.snapshots``)."""
        return reply.model or returned_model(self.provider, self.model, self.api) or self.model

    def tool_id(self, position: int, call: ToolCall, prefix: str) -> str:
        """The call's own id, or a deterministic one."""
        return call.id or prefix + self.token(f"tool{position}")


def finish_value(reply: Reply, table: dict[str, str], provider: str) -> str:
    """The wire value of the reply's finish reason, or ``ScriptError``."""
    value = table.get(reply.finish)
    if value is None:
        raise ScriptError(f"{provider} cannot express finish_reason {reply.finish!r}")
    return value


def pieces(text: str, size: int) -> list[str]:
    """``text`` in consecutive pieces of ``size`` characters (none for empty text)."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def dumps(value: Any, **options: Any) -> str:
    """Compact JSON with raw UTF-8, as the services send it."""
    options.setdefault("separators", (",", ":"))
    return json.dumps(value, ensure_ascii=False, **options)


def arguments_text(call: ToolCall) -> str:
    """The arguments as JSON text: ``arguments_json`` verbatim when set."""
    if call.arguments_json is not None:
        return call.arguments_json
    return json.dumps(call.arguments, ensure_ascii=False)


def json_wire(body: Any, headers: dict[str, str]) -> Wire:
    """A non-streamed JSON body as a one-event ``Wire``."""
    return Wire(headers, (dumps(body).encode(),))
