"""agno's AWS Bedrock model (Converse) through an ``Agent``, held to the suite: ``agno``.

Install with ``pip install 'llm-parity[agno]'`` (agno, boto3, and aioboto3 for the async
path of agno 1.7.6 on); agno is imported only when a client is connected. Bedrock only.

How a program uses agno, and so the adapter:

- ``connect``: an ``AwsBedrock(id=Target.model, aws_region=..., aws_access_key_id=...,
  aws_secret_access_key=...)`` template, with its boto3 ``client`` made here (so that
  ``Target.base_url`` is the client's ``endpoint_url`` and ``Target.max_retries`` its
  botocore retry budget) and, where the release has one (1.7.6 on), an
  ``async_session``: an ``aioboto3.Session`` whose clients get the same endpoint and
  retries. agno has no endpoint parameter of its own; process-wide it reads
  ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``, which the adapter leaves alone. Telemetry is off
  (``telemetry=False``; ``AGNO_TELEMETRY=false`` unless set).
- ``call`` / ``acall``: ``Agent(model=<a copy of the template>).run(text)`` /
  ``await ...arun(text)`` (``arun`` is the path agno's apps take under
  ``use_async=True``); a system prompt is the Agent's ``system_message``. The answer is
  the run's ``content``; usage is the last assistant message's metrics. agno keeps no
  stop reason: ``finish_reason`` is None. One Agent (over its own copy of the model) per
  client and (system prompt, tools, parameters), kept as programs keep theirs: a new
  Agent deep-copies its model, boto3 client included, on its first run, which blocks an
  event loop for a quarter of a second.
- ``chain`` / ``achain``: the same, with the suite's functions as the Agent's ``tools``
  (agno derives their schemas and runs them); the tool results are the run's ``tool``
  messages, ``is_error`` from agno's ``tool_call_error``.
- Errors: agno wraps botocore's errors (``ModelProviderError``); the ``ClientError``
  underneath becomes ``error_from_status`` with Bedrock's own message, a connection
  failure ``APIConnectionError``. A run agno ends in error without raising (3.x returns
  the error as the run's content, ``status=ERROR``) raises ``AgnoRunError`` with that
  content: it is a refusal, not an answer.

Not supported: ``stream``/``astream`` (agno streams run events, not translated here);
tools in ``call`` (an Agent runs the tools it is given); ``chain_async_tools`` (agno's
sync ``run`` refuses ``async def`` tools from 1.5.2, and sent the coroutine's repr before:
regression ``async_tool_sync_entry``); ``tool_choice``; ``reasoning``; ``transport``
(boto3 has its own HTTP stack); and, having no context store, ``context``,
``thread_pool``, ``asyncify``, ``parallel``, ``deferred``. ``acall`` is declared on every
release: before 1.7.6 agno's Bedrock model has no async path, which is what regression
``provider_async_path`` shows.
"""

from __future__ import annotations

import copy
import importlib.util
import os
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from harness.adapters.base import (
    ChainOutcome,
    ClientAdapter,
    Target,
    Tools,
    error_from_status,
    translating,
)
from harness.types import APIConnectionError, LLMError, Message, Response, Usage

PROVIDER = "bedrock"
SUPPORTED = frozenset(
    {"call", "acall", "chain", "achain", "achain_sync_tools", "base_url", "history"}
)
"""Features agno's Bedrock model has (see the module docstring for the others)."""
SAMPLING = {"max_tokens": "max_tokens", "temperature": "temperature", "top_p": "top_p"}


class AgnoRunError(Exception):
    """A run agno ended in error without raising (its content says why)."""


@dataclass(frozen=True)
class AgnoClient:
    """One ``Target``'s model template (with its boto3 client and aioboto3 session), and
    its Agents, one per (system prompt, tools, sampling parameters)."""

    target: Target
    model: Any
    agents: dict[Any, Any] = field(default_factory=dict)


class _EndpointSession:
    """An ``aioboto3.Session`` whose clients get ``options`` (endpoint, retries)."""

    def __init__(self, session: Any, options: dict[str, Any]) -> None:
        self._session = session
        self._options = options

    def client(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.client(*args, **{**kwargs, **self._options})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class AgnoAdapter(ClientAdapter):
    """Holds agno's ``AwsBedrock`` model, run by an ``Agent``, to the suite."""

    name = "agno"
    library = "agno"

    def __init__(self) -> None:
        if importlib.util.find_spec("agno") is None:
            raise ImportError("the 'agno' package is not installed: pip install 'llm-parity[agno]'")

    def supports(self, feature: str, provider: str) -> bool:
        return provider == PROVIDER and feature in SUPPORTED

    def connect(self, target: Target) -> AgnoClient:
        os.environ.setdefault("AGNO_TELEMETRY", "false")
        import boto3
        from agno.models.aws import AwsBedrock
        from botocore.config import Config

        region = target.region or "us-east-1"
        credentials: dict[str, Any] = {}
        if target.aws_credentials is not None:
            frozen = target.aws_credentials.get_frozen_credentials()
            credentials = {
                "aws_access_key_id": frozen.access_key,
                "aws_secret_access_key": frozen.secret_key,
            }
        options: dict[str, Any] = {
            "config": Config(
                retries={"total_max_attempts": target.max_retries + 1, "mode": "standard"}
            )
        }
        if target.base_url is not None:
            options["endpoint_url"] = target.base_url.rstrip("/")
        client = boto3.client("bedrock-runtime", region_name=region, **credentials, **options)
        fields: dict[str, Any] = {"id": target.model, "aws_region": region, **credentials}
        model = AwsBedrock(**fields, client=client)
        if hasattr(model, "async_session") and importlib.util.find_spec("aioboto3"):
            import aioboto3

            model.async_session = _EndpointSession(
                aioboto3.Session(region_name=region, **credentials), options
            )
        return AgnoClient(target, model)

    # --- calls ---------------------------------------------------------------------------

    def call(
        self, client: AgnoClient, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        agent, text = self._agent(client, messages, params, ())
        with translated_errors():
            run = agent.run(text)
        return to_response(client, run)

    async def acall(
        self, client: AgnoClient, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        agent, text = self._agent(client, messages, params, ())
        with translated_errors():
            run = await agent.arun(text)
        return to_response(client, run)

    def chain(
        self, client: AgnoClient, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        agent, text = self._agent(client, messages, params, tools)
        with translated_errors():
            run = agent.run(text)
        return ChainOutcome(to_response(client, run), tool_results(run))

    async def achain(
        self, client: AgnoClient, messages: Sequence[Message], tools: Tools, params: dict[str, Any]
    ) -> ChainOutcome:
        agent, text = self._agent(client, messages, params, tools)
        with translated_errors():
            run = await agent.arun(text)
        return ChainOutcome(to_response(client, run), tool_results(run))

    def _agent(
        self, client: AgnoClient, messages: Sequence[Message], params: dict[str, Any], tools: Tools
    ) -> tuple[Any, str]:
        """The Agent for this system prompt, tools and parameters (made once, as programs
        keep their Agents: a new Agent deep-copies its model on its first run), and the
        user's text."""
        from agno.agent import Agent

        if params.get("tools") or params.get("tool_choice"):
            raise NotImplementedError("an agno Agent runs the tools it is given")
        turns = [m for m in messages if m.role != "system"]
        if len(turns) != 1 or turns[0].role != "user":
            raise NotImplementedError("the adapter sends one user turn (and a system prompt)")
        system = "\n\n".join(m.content for m in messages if m.role == "system")
        key = (system, tuple(tools), tuple(sorted((k, repr(v)) for k, v in params.items())))
        agent = client.agents.get(key)
        if agent is None:
            model = copy.copy(client.model)
            for name, attribute in SAMPLING.items():
                if name in params:
                    setattr(model, attribute, params[name])
            if "stop" in params:
                model.stop_sequences = list(params["stop"])
            options: dict[str, Any] = {"model": model, "telemetry": False}
            if tools:
                options["tools"] = list(tools)
            if system:
                options["system_message"] = system
            agent = client.agents[key] = Agent(**options)
        return agent, turns[0].content


# --- results ------------------------------------------------------------------------------


def _checked(run: Any) -> Any:
    status = getattr(run, "status", None)
    if str(getattr(status, "value", status)).upper() == "ERROR":
        raise AgnoRunError(str(run.content))
    return run


def to_response(client: AgnoClient, run: Any) -> Response:
    """An agno run -> ``Response``: its content, and the last model message's usage."""
    run = _checked(run)
    last = next((m for m in reversed(run.messages or ()) if m.role == "assistant"), None)
    metrics = getattr(last, "metrics", None)
    usage = Usage(
        input_tokens=int(getattr(metrics, "input_tokens", 0) or 0),
        output_tokens=int(getattr(metrics, "output_tokens", 0) or 0),
    )
    content = run.content
    return Response(
        text=content if isinstance(content, str) else ("" if content is None else str(content)),
        usage=usage,
        model=client.target.model,
        raw=run,
    )


def tool_results(run: Any) -> tuple[Message, ...]:
    """The tool results agno sent back, in order."""
    return tuple(
        Message(
            "tool",
            "" if m.content is None else str(m.content),
            tool_call_id=m.tool_call_id,
            name=m.tool_name,
            is_error=bool(m.tool_call_error),
        )
        for m in (_checked(run).messages or ())
        if m.role == "tool"
    )


# --- errors -------------------------------------------------------------------------------


def translated_errors() -> AbstractContextManager[None]:
    """Re-raise botocore's errors (under agno's wrappers) as ``LLMError``."""
    return translating(lambda exc: to_llm_error(exc))


def to_llm_error(exc: BaseException) -> LLMError | None:
    """The ``LLMError`` for a botocore error anywhere in ``exc``'s causes, or None."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ClientError):
            response = seen.response
            status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 500)
            message = str(response.get("Error", {}).get("Message") or seen)
            headers = response.get("ResponseMetadata", {}).get("HTTPHeaders") or {}
            return error_from_status(status, message, provider=PROVIDER, headers=headers)
        if isinstance(seen, (ConnectionError, HTTPClientError)):
            return APIConnectionError(str(seen), provider=PROVIDER)
        seen = seen.__cause__ or seen.__context__
    return None
