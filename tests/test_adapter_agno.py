"""The agno adapter: error translation and endpoint plumbing (botocore only), and, with agno
installed, the features it declares and a replayed Bedrock call."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from harness.adapters import agno_adapter
from harness.adapters.agno_adapter import AgnoAdapter, AgnoRunError, _EndpointSession, to_llm_error
from harness.adapters.base import FEATURES
from harness.types import APIConnectionError, RateLimitError


def client_error(status: int, message: str) -> Exception:
    from botocore.exceptions import ClientError

    response: Any = {
        "Error": {"Code": "ThrottlingException", "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {"retry-after": "3"}},
    }
    return ClientError(response, "Converse")


def test_a_botocore_error_under_agnos_wrapper_is_the_status_error() -> None:
    try:
        try:
            raise client_error(429, "Too many requests, please wait.")
        except Exception as inner:
            raise RuntimeError("ModelProviderError: {...}") from inner
    except RuntimeError as wrapped:
        error = to_llm_error(wrapped)
    assert isinstance(error, RateLimitError)
    assert error.provider == "bedrock" and error.status == 429
    assert "Too many requests, please wait." in str(error)
    assert error.retry_after == 3


def test_a_connection_failure_is_an_api_connection_error() -> None:
    from botocore.exceptions import EndpointConnectionError

    error = to_llm_error(EndpointConnectionError(endpoint_url="http://127.0.0.1:9"))
    assert isinstance(error, APIConnectionError)
    assert to_llm_error(ValueError("not botocore's")) is None


def test_the_async_session_gives_every_client_the_endpoint() -> None:
    made: list[dict[str, Any]] = []

    class Session:
        region_name = "us-east-1"

        def client(self, *args: Any, **kwargs: Any) -> str:
            made.append(kwargs)
            return "client"

    session = _EndpointSession(Session(), {"endpoint_url": "http://127.0.0.1:1"})
    assert session.client(service_name="bedrock-runtime", region_name="us-east-1") == "client"
    assert made == [
        {
            "service_name": "bedrock-runtime",
            "region_name": "us-east-1",
            "endpoint_url": "http://127.0.0.1:1",
        }
    ]
    assert session.region_name == "us-east-1"


def test_a_run_agno_ended_in_error_is_raised_not_answered() -> None:
    class Run:
        status = "ERROR"
        content = "Async function get_time can't be used with synchronous agent.run()"
        messages = ()

    with pytest.raises(AgnoRunError, match="get_time"):
        agno_adapter.tool_results(Run())


def test_without_agno_the_adapter_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "agno" else real(name, *a)
    )
    with pytest.raises(ImportError, match=r"llm-parity\[agno\]"):
        AgnoAdapter()


def test_features_are_declared_for_bedrock_only() -> None:
    pytest.importorskip("agno")
    adapter = AgnoAdapter()
    supported = {f for f in FEATURES if adapter.supports(f, "bedrock")}
    assert supported == {"call", "acall", "chain", "achain", "achain_sync_tools", "base_url"}
    assert not any(adapter.supports(f, "openai") for f in FEATURES)
    assert adapter.name == "agno" and adapter.library == "agno"
