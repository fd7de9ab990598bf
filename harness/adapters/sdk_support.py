"""What the adapters over the official SDKs share: connections, retries, errors.

The ``openai`` and ``anthropic`` SDKs are generated from the same template (Stainless):
both have ``APIStatusError`` (``status_code``, ``response``, ``body``), ``APITimeoutError``
(a subclass of ``APIConnectionError``) and a ``_calculate_retry_timeout`` hook on the
client. This module holds the translation that is identical for both; nothing here
imports an SDK.

**Fast retries** (``Target.fast_retries``): the SDK must make its usual attempts without
sleeping between them. The least invasive way is a subclass of the SDK's client class
that overrides only ``_calculate_retry_timeout`` (the method both SDKs' sync and async
retry loops ask how long to sleep) to return 0: which errors are retried, how often, and
``Retry-After`` parsing for the error itself all stay the SDK's own. The subclass keeps
the SDK class's name, which both SDKs send in the ``User-Agent`` header. Without
``fast_retries`` the SDK's own classes are used unchanged.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from types import ModuleType
from typing import Any

from harness.adapters.base import Target, error_from_status, translating
from harness.providers.base import make_error
from harness.types import (
    APIConnectionError,
    BadRequestError,
    LLMError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
)


def require(library: str, extra: str) -> None:
    """Raise ``ImportError`` naming the extra to install when ``library`` is missing
    (found without importing it, so the adapter stays cheap to construct)."""
    if importlib.util.find_spec(library) is None:
        raise ImportError(
            f"the {library!r} package is not installed: pip install 'llm-parity[{extra}]'"
        )


_fast_classes: dict[type[Any], type[Any]] = {}
_fast_lock = threading.Lock()


def fast_retry_class(client_class: type[Any]) -> type[Any]:
    """``client_class`` with ``_calculate_retry_timeout`` returning 0 (see the module
    docstring); one subclass per SDK class, made on first use."""
    with _fast_lock:
        made = _fast_classes.get(client_class)
        if made is None:

            def _calculate_retry_timeout(self: Any, *args: Any, **kwargs: Any) -> float:
                return 0.0

            # the SDK's own name: the SDKs put the class name in the User-Agent header
            made = type(
                client_class.__name__,
                (client_class,),
                {
                    "_calculate_retry_timeout": _calculate_retry_timeout,
                    "__doc__": f"{client_class.__name__} that retries without sleeping.",
                    "__module__": __name__,
                    "__qualname__": client_class.__qualname__,
                },
            )
            _fast_classes[client_class] = made
        return made


def client_class(target: Target, sdk_class: type[Any]) -> type[Any]:
    """The class to instantiate for ``target``: the SDK's own, or its fast-retry twin."""
    return fast_retry_class(sdk_class) if target.fast_retries else sdk_class


class SDKConnection:
    """A connected SDK: a sync client, made on first use, and async clients, one per call.

    The suite runs every async mode under its own ``asyncio.run``, and an SDK's async
    client holds a connection pool tied to the loop that opened it, so each async call
    uses a fresh async client inside ``async with`` (closed in its own loop). Clients are
    made only when used (building one loads the CA bundle, tens of milliseconds), so a
    connection that only serves async calls never builds the sync client.
    """

    def __init__(
        self, target: Target, make_sync: Callable[[], Any], make_async: Callable[[], Any]
    ) -> None:
        self.target = target
        self.make_async = make_async
        self._make_sync = make_sync
        self._sync: Any = None
        self._lock = threading.Lock()

    @property
    def sync(self) -> Any:
        """The sync client (made on first use)."""
        with self._lock:
            if self._sync is None:
                self._sync = self._make_sync()
            return self._sync

    def close(self) -> None:
        """Close the sync client's connections, if it was made."""
        with self._lock:
            client, self._sync = self._sync, None
        if client is not None:
            client.close()


# --- errors ----------------------------------------------------------------------------


def provider_message(body: Any) -> str | None:
    """The provider's own message in an error body: ``{"error": {"message"}}`` (both
    providers' envelopes), the inner ``{"message"}`` (the openai SDK keeps only that part),
    ``{"error": "..."}``, or FastAPI's ``{"detail": "..."}`` (OpenAI-compatible servers)."""
    if not isinstance(body, Mapping):
        return body if isinstance(body, str) and body else None
    error = body.get("error", body)
    if isinstance(error, str) and error:
        return error
    if isinstance(error, Mapping):
        for key in ("message", "detail"):
            message = error.get(key)
            if isinstance(message, str) and message:
                return message
    return None


def error_type(body: Any) -> str | None:
    """The error's ``type`` (``rate_limit_error``, ``invalid_request_error``...)."""
    if not isinstance(body, Mapping):
        return None
    error = body.get("error", body)
    kind = error.get("type") if isinstance(error, Mapping) else None
    return kind if isinstance(kind, str) else None


def _response_text(response: Any) -> str:
    try:
        return str(response.text).strip()[:1000]
    except Exception:  # a closed, unread body
        return ""


ErrorClasses = Mapping[str, type[LLMError]]


def sdk_error(
    exc: BaseException, sdk: ModuleType, provider: str, types: ErrorClasses | None = None
) -> LLMError | None:
    """The ``LLMError`` for an exception the SDK raised, or None if it is not the SDK's
    (a bug, or the replay's own error, which passes through).

    An HTTP error status goes through ``error_from_status`` with the provider's message
    from the body and the response headers (``retry_after``). ``types`` maps the
    provider's error ``type`` to a class where the provider's own codec does so (Anthropic
    does, and an error event inside a 200 stream has no status to go by)."""
    if isinstance(exc, sdk.APIStatusError):
        status = int(exc.status_code)
        body = exc.body
        message = provider_message(body) or _response_text(exc.response) or str(exc.message)
        kind = types.get(error_type(body) or "") if types else None
        if status < 400:  # an error event inside a streamed 200 answer
            return (kind or ServerError)(message, provider=provider, body=body)
        headers = exc.response.headers
        if kind is not None:  # the provider's own error type, as its codec reads it
            return make_error(
                kind, message, provider=provider, status=status, headers=headers, body=body
            )
        return error_from_status(status, message, provider=provider, headers=headers, body=body)
    if isinstance(exc, sdk.APITimeoutError):
        return RequestTimeoutError(str(exc.message) or "request timed out", provider=provider)
    if isinstance(exc, sdk.APIConnectionError):
        return APIConnectionError(str(exc.message) or "connection failed", provider=provider)
    if isinstance(exc, sdk.APIError):  # an error object inside a stream, no status
        body = exc.body
        message = provider_message(body) or str(exc.message)
        kind_name = f"{error_type(body)} {body.get('code') if isinstance(body, Mapping) else ''}"
        cls: type[LLMError] = ServerError
        if types and error_type(body) in types:
            cls = types[error_type(body) or ""]
        elif "rate_limit" in kind_name:
            cls = RateLimitError
        elif "invalid_request" in kind_name:
            cls = BadRequestError
        return cls(message, provider=provider, body=body)
    return None


def translated_errors(
    sdk: ModuleType, provider: str, types: ErrorClasses | None = None
) -> AbstractContextManager[None]:
    """Re-raise the SDK's exceptions as ``LLMError`` (see ``sdk_error``)."""
    return translating(lambda exc: sdk_error(exc, sdk, provider, types))
