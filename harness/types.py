"""Plain data shared by every layer: messages, tool specs, results, stream events, errors.

Nothing here does I/O. Every value is an immutable dataclass so results from different
modes (sync, async, streamed) can be compared with ``==``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "other"]
ToolChoice = Literal["auto", "required", "none"] | str
"""``auto``, ``required``, ``none``, or the name of one tool the model must call."""


@dataclass(frozen=True)
class ToolCall:
    """One call the model asked for: provider id, tool name and parsed JSON arguments.

    ``arguments_json`` keeps the arguments exactly as the provider sent them when that
    text was not valid JSON (``arguments`` is then ``{}``), so the tool runner can report
    the problem instead of silently calling the tool with nothing.
    """

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    arguments_json: str | None = field(default=None, compare=False)
    provider_data: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    """Opaque data the provider needs back with this call in the next turn (Gemini's
    ``thoughtSignature``); codecs that do not use it ignore it."""


@dataclass(frozen=True)
class Message:
    """One chat turn.

    - ``system`` / ``user``: ``content`` is the text.
    - ``assistant``: ``content`` is the text (may be empty) and ``tool_calls`` what it asked.
    - ``tool``: the result of one tool call; ``tool_call_id`` and ``name`` say which call,
      ``is_error`` marks a failed tool.
    """

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False

    @staticmethod
    def system(text: str) -> Message:
        return Message("system", text)

    @staticmethod
    def user(text: str) -> Message:
        return Message("user", text)

    @staticmethod
    def assistant(text: str = "", tool_calls: tuple[ToolCall, ...] = ()) -> Message:
        return Message("assistant", text, tool_calls=tuple(tool_calls))

    @staticmethod
    def tool(call: ToolCall, content: str, *, is_error: bool = False) -> Message:
        return Message("tool", content, tool_call_id=call.id, name=call.name, is_error=is_error)


@dataclass(frozen=True)
class ToolSpec:
    """What the model is told about a tool: name, description, JSON schema of arguments."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True)
class CallParams:
    """Everything a codec needs to build one request. Built by ``LM`` from its settings."""

    model: str
    """The provider's own model name, without the ``provider/`` prefix."""
    messages: tuple[Message, ...]
    temperature: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    top_p: float | None = None
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice | None = None


@dataclass(frozen=True)
class Usage:
    """Token counts. ``cached_tokens`` and ``reasoning_tokens`` are 0 where not reported."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Usage)))


@dataclass(frozen=True)
class Response:
    """The normalized result of one model call, identical however it was obtained."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: FinishReason | None = None
    usage: Usage = Usage()
    model: str = ""
    reasoning: str = ""
    """Thinking / reasoning text where the provider returns it (empty otherwise)."""
    raw: Any = field(default=None, compare=False, repr=False)
    """The decoded provider body (a dict), or for a stream the list of decoded events."""

    def message(self) -> Message:
        """The assistant message to append to a conversation to continue it."""
        return Message.assistant(self.text, self.tool_calls)


# --- stream events -------------------------------------------------------------------


@dataclass(frozen=True)
class TextDelta:
    """A piece of answer text."""

    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    """A piece of thinking / reasoning text."""

    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of a tool call. ``index`` identifies the call within the response.

    The first delta of a call carries ``id`` and ``name``; later ones only append
    ``arguments`` (a fragment of the JSON text).
    """

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""
    provider_data: dict[str, Any] | None = None


@dataclass(frozen=True)
class UsageUpdate:
    """Token counts reported by the stream. Non-zero fields replace earlier values."""

    usage: Usage


@dataclass(frozen=True)
class Finish:
    """The stream said why generation stopped."""

    reason: FinishReason


@dataclass(frozen=True)
class ModelName:
    """The stream said which model answered."""

    model: str


StreamEvent = TextDelta | ReasoningDelta | ToolCallDelta | UsageUpdate | Finish | ModelName


# --- errors --------------------------------------------------------------------------


class HarnessError(Exception):
    """Base of every exception this package raises."""


class ConfigurationError(HarnessError):
    """The caller asked for something that cannot work (unknown provider, no model...)."""


class LLMError(HarnessError):
    """A provider call failed. Carries provider, HTTP status and the provider's message."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        body: Any = None,
    ) -> None:
        self.provider = provider
        self.status = status
        self.provider_message = message
        self.body = body
        where = f"{provider}" + (f" HTTP {status}" if status is not None else "")
        super().__init__(f"{where}: {message}")

    def __eq__(self, other: object) -> bool:
        return (
            type(self) is type(other)
            and isinstance(other, LLMError)
            and (self.provider, self.status, self.provider_message)
            == (other.provider, other.status, other.provider_message)
        )

    def __hash__(self) -> int:
        return hash((type(self), self.provider, self.status, self.provider_message))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_error, (type(self), self.provider_message, self.__dict__))


def _rebuild_error(cls: type[LLMError], message: str, state: dict[str, Any]) -> LLMError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class AuthenticationError(LLMError):
    """401: the key is missing, wrong or expired."""


class PermissionDeniedError(LLMError):
    """403: the key may not use this model or resource."""


class NotFoundError(LLMError):
    """404: unknown model or endpoint."""


class BadRequestError(LLMError):
    """400 / 422: the provider rejected the request."""


class RateLimitError(LLMError):
    """429 or a throttling error. ``retry_after`` is in seconds when the provider said."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status, body=body)
        self.retry_after = retry_after


class ServerError(LLMError):
    """5xx: the provider failed."""


class RequestTimeoutError(LLMError):
    """The request did not complete in time."""


class APIConnectionError(LLMError):
    """The connection could not be made or was cut."""


class MalformedResponseError(LLMError):
    """The provider answered something this client cannot decode."""
