"""litellm (``completion`` / ``acompletion``) held to the suite, on all four providers.

Requests: ``openai/<model>``, ``anthropic/<model>``, ``gemini/<model>`` (Google AI
Studio) and ``bedrock/converse/<model-id>`` (the Converse API, with the ``Target``'s
region and AWS credentials), the messages and tools in Chat Completions form, streams
with ``stream_options={"include_usage": True}``. ``Target.base_url`` becomes ``api_base``
(``/v1`` appended for OpenAI, ``/v1beta`` for Gemini, as litellm expects).

Results: the first choice's message becomes a ``Response``; a stream's chunks become
harness stream events, folded into the final ``Response`` by the harness's own
accumulator (``chat_format.ChunkTranslator``).

Errors: a litellm exception carrying an HTTP status becomes
``error_from_status(status, message, provider=exc.llm_provider, headers=...)``, with the
provider litellm names and the headers it kept (``litellm_response_headers``).
``message`` is litellm's own message less litellm's prefix (``litellm.RateLimitError:
AnthropicException - ``); where the rest is a provider error body in JSON, its message
field (``{"error": {"message"}}``, Bedrock's ``{"message"}``). Anything else is kept as
litellm gave it: a bytes repr or a provider name litellm got wrong shows in the results.
``litellm.Timeout`` and ``litellm.APIConnectionError`` become ``RequestTimeoutError`` and
``APIConnectionError``.

Retries: ``Target.max_retries`` is litellm's ``num_retries`` (its own retry loop), except
on OpenAI, where litellm hands retries to the OpenAI SDK: there it is ``max_retries``
(``num_retries`` would add litellm's loop on top of the SDK's: 2N+1 attempts). With
``Target.fast_retries`` each call runs inside ``retry_wait.no_wait()``, which zeroes only
the delay between attempts (see that module).

Older releases: Bedrock is supported where litellm routes ``bedrock/converse/`` (not on
1.53.x); a Gemini ``api_base`` names the model itself where litellm does not append it.

Not supported: tool chains (litellm has no tool runner), a context store (so no
``context``, ``thread_pool``, ``asyncify``, ``parallel``, ``deferred``), and
``Target.transport``. litellm is imported on the first ``connect`` (it takes seconds),
with ``LITELLM_LOCAL_MODEL_COST_MAP=True`` unless set: otherwise the import fetches its
model price list over the network.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from harness.adapters import chat_format, retry_wait
from harness.adapters.base import (
    ClientAdapter,
    StreamResult,
    Target,
    error_from_status,
    translating,
)
from harness.types import APIConnectionError, LLMError, Message, RequestTimeoutError, Response

SUPPORTED = frozenset(
    {"call", "acall", "stream", "astream", "base_url", "tool_choice", "reasoning", "history"}
    | {"tool_calls", "finish_reason", "timeout", "max_retries"}
)
"""Features litellm has on every provider (see the module docstring for the others)."""
PROVIDERS = ("openai", "anthropic", "gemini", "bedrock")
MODEL_PREFIX = {
    "openai": "openai/",
    "anthropic": "anthropic/",
    "gemini": "gemini/",
    "bedrock": "bedrock/converse/",
}
API_BASE_PATH = {"openai": "/v1", "anthropic": "", "gemini": "/v1beta", "bedrock": ""}
SAMPLING = ("temperature", "top_p", "max_tokens", "stop")

_PREFIX = re.compile(
    r"^(?:(?:litellm\.)?\w+Error: )*\w+Exception(?::? [A-Za-z ]{1,40}?)? - ", re.DOTALL
)
"""litellm's own prefix to a provider's message: its class names, then the provider's
label (``AnthropicException - ``, ``Vertex_ai_betaException InternalServerError - ``,
``BedrockException: Rate Limit Error - ``, ``BedrockException Invalid Authentication - ``)."""
_SUFFIX = re.compile(r"\. Handle with `litellm\.\w+`\.$")
"""litellm's own advice after some provider messages (Anthropic 500 and 503)."""


@dataclass(frozen=True)
class LiteLLMClient:
    """What every litellm call of one ``Target`` passes: model string and options."""

    provider: str
    model: str
    options: Mapping[str, Any] = field(default_factory=dict)
    fast_retries: bool = True


def load_litellm() -> Any:
    """Import litellm (once; quiet, offline price list) and make its retry delays
    switchable (``retry_wait.install``)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    retry_wait.install()
    return litellm


class LiteLLMAdapter(ClientAdapter):
    """Holds ``litellm.completion`` / ``acompletion`` to the suite (module docstring)."""

    name = "litellm"
    library = "litellm"

    def __init__(self) -> None:
        if importlib.util.find_spec("litellm") is None:
            raise ImportError("No module named 'litellm'")

    def supports(self, feature: str, provider: str) -> bool:
        if provider == "bedrock" and not has_bedrock_converse():
            return False
        return provider in PROVIDERS and feature in SUPPORTED

    def connect(self, target: Target) -> LiteLLMClient:
        load_litellm()
        return LiteLLMClient(
            target.provider,
            MODEL_PREFIX[target.provider] + target.model,
            connection_options(target),
            target.fast_retries,
        )

    def call(
        self, client: LiteLLMClient, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        litellm = load_litellm()
        with retry_wait.no_wait(client.fast_retries), translated_errors(client):
            result = litellm.completion(**request(client, messages, params))
        return to_response(result)

    async def acall(
        self, client: LiteLLMClient, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        litellm = load_litellm()
        with retry_wait.no_wait(client.fast_retries), translated_errors(client):
            result = await litellm.acompletion(**request(client, messages, params))
        return to_response(result)

    def stream(
        self, client: LiteLLMClient, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        litellm = load_litellm()
        translator = chat_format.ChunkTranslator()
        events = []
        with retry_wait.no_wait(client.fast_retries), translated_errors(client):
            for chunk in litellm.completion(**request(client, messages, params, stream=True)):
                events += translator.events(chunk)
        return StreamResult(tuple(events), translator.response())

    async def astream(
        self, client: LiteLLMClient, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        litellm = load_litellm()
        translator = chat_format.ChunkTranslator()
        events = []
        with retry_wait.no_wait(client.fast_retries), translated_errors(client):
            chunks = await litellm.acompletion(**request(client, messages, params, stream=True))
            async for chunk in chunks:
                events += translator.events(chunk)
        return StreamResult(tuple(events), translator.response())


# --- requests ---------------------------------------------------------------------------


def connection_options(target: Target) -> dict[str, Any]:
    """Key or AWS credentials and region, ``api_base`` and the retry budget of a target."""
    options: dict[str, Any] = {}
    if target.provider == "bedrock":
        options["aws_region_name"] = target.region
        credentials = target.aws_credentials
        if credentials is not None:
            frozen = credentials.get_frozen_credentials()
            options.update(
                aws_access_key_id=frozen.access_key, aws_secret_access_key=frozen.secret_key
            )
            if frozen.token:
                options["aws_session_token"] = frozen.token
    elif target.api_key is not None:
        options["api_key"] = target.api_key
    if target.base_url is not None:
        options["api_base"] = target.base_url.rstrip("/") + API_BASE_PATH[target.provider]
        if target.provider == "gemini" and not gemini_base_takes_model():
            options["api_base"] += f"/models/{target.model}"
    if target.timeout is not None:
        options["timeout"] = target.timeout
    if target.provider == "openai":
        options["max_retries"] = target.max_retries
    else:
        options["num_retries"] = target.max_retries
    return options


def has_bedrock_converse() -> bool:
    """Whether litellm routes ``bedrock/converse/<model>`` to the Converse API (releases
    with ``litellm.bedrock_converse_models``; 1.53.x has neither, nor the Nova models)."""
    return hasattr(load_litellm(), "bedrock_converse_models")


def gemini_base_takes_model() -> bool:
    """Whether litellm appends ``/models/<model>`` to a Gemini ``api_base`` (recent
    releases: their ``_check_custom_proxy`` takes the model); older ones send to
    ``<api_base>:<method>``, so the base must name the model itself."""
    import inspect

    for module in ("vertex_ai.vertex_llm_base", "vertex_ai_and_google_ai_studio.vertex_llm_base"):
        try:
            base = importlib.import_module(f"litellm.llms.{module}").VertexBase
        except (ImportError, AttributeError):
            continue
        return "model" in inspect.signature(base._check_custom_proxy).parameters
    return True


def request(
    client: LiteLLMClient,
    messages: Sequence[Message],
    params: Mapping[str, Any],
    *,
    stream: bool = False,
) -> dict[str, Any]:
    """The keyword arguments of one ``completion``/``acompletion`` call."""
    kwargs: dict[str, Any] = {
        **client.options,
        "model": client.model,
        "messages": chat_format.chat_messages(messages),
    }
    kwargs.update({key: params[key] for key in SAMPLING if key in params})
    if params.get("tools"):
        kwargs["tools"] = [chat_format.chat_tool(spec) for spec in params["tools"]]
    if "tool_choice" in params:
        kwargs["tool_choice"] = chat_format.chat_tool_choice(params["tool_choice"])
    if stream:
        kwargs.update(stream=True, stream_options={"include_usage": True})
    return kwargs


# --- results and errors -----------------------------------------------------------------


def to_response(result: Any) -> Response:
    """litellm's ``ModelResponse`` -> ``Response`` (its first choice)."""
    choices = chat_format.field(result, "choices", ())
    choice = choices[0] if choices else None
    return chat_format.response(
        chat_format.field(choice, "message"),
        chat_format.field(choice, "finish_reason"),
        chat_format.field(result, "usage"),
        chat_format.field(result, "model"),
        result,
    )


def translated_errors(client: LiteLLMClient) -> AbstractContextManager[None]:
    """Re-raise litellm's provider errors as ``LLMError`` (module docstring); anything
    else passes through untouched."""
    return translating(lambda exc: to_llm_error(exc, client.provider))


def to_llm_error(exc: Exception, provider: str) -> LLMError | None:
    """The ``LLMError`` for a litellm exception, or None for anything else."""
    import openai  # litellm's exceptions subclass the OpenAI SDK's

    litellm = load_litellm()
    if not isinstance(exc, openai.APIError):
        return None
    named = str(getattr(exc, "llm_provider", None) or provider)
    message = provider_message(str(getattr(exc, "message", None) or exc))
    if isinstance(exc, litellm.Timeout):
        return RequestTimeoutError(message, provider=named)
    if isinstance(exc, litellm.APIConnectionError):
        return APIConnectionError(message, provider=named)
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int) or status < 400:
        return None
    return error_from_status(status, message, provider=named, headers=error_headers(exc))


def error_headers(exc: Exception) -> dict[str, str]:
    """The response headers litellm kept with an exception (its own copy first: the
    ``response`` it attaches is sometimes a stand-in without headers)."""
    for headers in (
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
    ):
        if headers:
            return {str(k): str(v) for k, v in dict(headers).items()}
    return {}


def provider_message(text: str) -> str:
    """litellm's message without litellm's own prefix and advice; a JSON error body's
    message field."""
    rest = _SUFFIX.sub("", _PREFIX.sub("", text, count=1), count=1)
    try:
        body = json.loads(rest)
    except ValueError:
        return rest
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        for key in ("message", "Message"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return rest
