"""The :class:`Tool` class, the :func:`tool` decorator, and turning functions into tools."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import functools
import inspect
import re
import typing
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, Union, overload

from harness.tools.docstrings import _parse_docstring
from harness.tools.errors import InvalidToolCallError
from harness.tools.schema import (
    _check_fields,
    _compile,
    _Field,
    _json_default,
    _object_schema,
    _type_name,
    _Unsupported,
)
from harness.tools.timeouts import await_within, start_in_thread
from harness.types import ConfigurationError, ToolSpec

T = TypeVar("T")

ToolLike = Union["Tool", Callable[..., Any]]
"""A :class:`Tool`, or a plain function to wrap with :meth:`Tool.from_function`."""

_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _is_async_callable(fn: Any) -> bool:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an object with an async __call__
    )


def _signature(tool_name: str, fn: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(fn, eval_str=True)
    except (NameError, SyntaxError, AttributeError) as exc:
        raise ConfigurationError(f"tool '{tool_name}': cannot resolve a type hint: {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"tool '{tool_name}': cannot read the signature: {exc}") from exc


def _annotation_description(annotation: Any) -> str:
    """The first string in ``Annotated[X, "description"]``, else ``""``."""
    if typing.get_origin(annotation) is typing.Annotated:
        return next((m for m in annotation.__metadata__ if isinstance(m, str)), "")
    return ""


def _compile_parameters(
    tool_name: str, signature: inspect.Signature, docs: Mapping[str, str]
) -> tuple[_Field, ...]:
    fields = []
    for p in signature.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            star = "*" if p.kind is p.VAR_POSITIONAL else "**"
            raise ConfigurationError(
                f"tool '{tool_name}': parameter '{star}{p.name}' is not supported; "
                "a tool's parameters must each be named"
            )
        annotation = Any if p.annotation is p.empty else p.annotation
        try:
            shape = _compile(annotation)
        except _Unsupported as exc:
            raise ConfigurationError(
                f"tool '{tool_name}': parameter '{p.name}' has an unsupported type hint "
                f"{_type_name(annotation)}: {exc}. Supported: str, int, float, bool, None, "
                "Any, Optional/Union, Literal, Enum, list, tuple, dict[str, X], TypedDict, "
                "dataclass, pydantic model"
            ) from exc
        has_default = p.default is not p.empty
        shown, default = _json_default(p.default) if has_default else (False, None)
        description = _annotation_description(annotation) or docs.get(p.name, "")
        positional_only = p.kind is p.POSITIONAL_ONLY
        fields.append(
            _Field(p.name, shape, not has_default, description, shown, default, positional_only)
        )
    return tuple(fields)


def _comparable(fields: Sequence[_Field]) -> tuple[Any, ...]:
    """What two implementations of one tool must agree on: everything but descriptions."""
    bare = [dataclasses.replace(f, description="") for f in fields]
    return tuple(f.positional_only for f in bare), _parameters_schema(bare)


def _parameters_schema(fields: Sequence[_Field]) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    schema = _object_schema(fields, defs)
    if defs:
        schema["$defs"] = defs
    return schema


class Tool:
    """A function the model may call, with a sync and/or an async implementation.

    Build one with :func:`tool`, :meth:`from_function` or ``Tool(sync=f, async_=g)``.
    The sync chain uses the sync implementation and the async chain the async one; when
    only one kind exists, both chains use it (an async function from sync code runs in
    a private event loop in a helper thread; a sync function from async code runs in a
    worker thread).

    The name, description and parameters come from the first implementation given (the
    sync one when both are passed to the constructor); a second implementation must
    have the same parameters. Calling the tool object calls that first implementation.
    """

    def __init__(
        self,
        sync: Callable[..., Any] | None = None,
        async_: Callable[..., Awaitable[Any]] | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> None:
        primary = sync if sync is not None else async_
        if primary is None:
            raise ConfigurationError("Tool needs a function: pass sync=, async_= or both")
        fn_name = getattr(primary, "__name__", None)
        self.name: str = name or (fn_name if isinstance(fn_name, str) else "")
        if not _TOOL_NAME.match(self.name):
            raise ConfigurationError(
                f"tool name {self.name!r} is not valid: use 1-64 letters, digits, '_' or '-' "
                "(pass name=... for lambdas and other unnamed callables)"
            )
        doc_description, self._param_docs = _parse_docstring(inspect.getdoc(primary))
        self.description: str = doc_description if description is None else description
        self._fields = _compile_parameters(
            self.name, _signature(self.name, primary), self._param_docs
        )
        try:
            parameters = _parameters_schema(self._fields)
        except _Unsupported as exc:
            raise ConfigurationError(f"tool '{self.name}': {exc}") from exc
        self._spec = ToolSpec(self.name, self.description, parameters)
        self._primary = primary
        self._sync: Callable[..., Any] | None = None
        self._async: Callable[..., Awaitable[Any]] | None = None
        self._sync_signature = self._async_signature = inspect.Signature()
        if sync is not None:
            self.sync_impl(sync)
        if async_ is not None:
            self.async_impl(async_)

    @classmethod
    def from_function(
        cls,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> Tool:
        """A tool from one function, sync or ``async def`` (detected)."""
        if _is_async_callable(fn):
            return cls(async_=fn, name=name, description=description)
        return cls(sync=fn, name=name, description=description)

    # --- implementations --------------------------------------------------------------

    def sync_impl(self, fn: Callable[..., Any]) -> Tool:
        """Register ``fn`` as the sync implementation. Usable as a decorator.

        Returns the tool itself, so ``@my_tool.sync_impl`` keeps ``my_tool`` a Tool.
        """
        if _is_async_callable(fn):
            raise ConfigurationError(
                f"tool '{self.name}': {fn!r} is async: pass it as async_= or use async_impl"
            )
        self._sync_signature = self._check_same_parameters(fn, "sync")
        self._sync = fn
        return self

    def async_impl(self, fn: Callable[..., Awaitable[Any]]) -> Tool:
        """Register ``fn`` (an ``async def``) as the async implementation. Usable as a decorator.

        Returns the tool itself, so ``@my_tool.async_impl`` keeps ``my_tool`` a Tool.
        """
        if not _is_async_callable(fn):
            raise ConfigurationError(
                f"tool '{self.name}': {fn!r} is not an async function; use sync_impl"
            )
        self._async_signature = self._check_same_parameters(fn, "async")
        self._async = fn
        return self

    def _check_same_parameters(self, fn: Callable[..., Any], kind: str) -> inspect.Signature:
        existing = self._sync if kind == "sync" else self._async
        if existing is not None:
            article = "an" if kind == "async" else "a"
            raise ConfigurationError(
                f"tool '{self.name}' already has {article} {kind} implementation"
            )
        signature = _signature(self.name, fn)
        if fn is not self._primary and _comparable(
            _compile_parameters(self.name, signature, {})
        ) != _comparable(self._fields):
            raise ConfigurationError(
                f"tool '{self.name}': the {kind} implementation {fn!r} must take the same "
                "parameters (names, kinds, type hints, defaults) as the other one"
            )
        return signature

    @property
    def sync_function(self) -> Callable[..., Any] | None:
        """The sync implementation, if one was registered."""
        return self._sync

    @property
    def async_function(self) -> Callable[..., Awaitable[Any]] | None:
        """The async implementation, if one was registered."""
        return self._async

    # --- what the model sees ----------------------------------------------------------

    @property
    def spec(self) -> ToolSpec:
        """Name, description and JSON schema of the arguments, as sent to the model."""
        return self._spec

    @property
    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the arguments (``spec.parameters``)."""
        return self._spec.parameters

    def check_arguments(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments converted to the declared types, or :class:`InvalidToolCallError`.

        Every problem is reported at once: missing required arguments, unexpected ones and
        values that do not fit their type hint. Structured values become the declared
        dataclass / TypedDict / pydantic model / Enum; JSON integers become floats where a
        float is declared.
        """
        values, problems = _check_fields(self._fields, arguments, None)
        if problems:
            raise InvalidToolCallError(self.name, problems)
        return values

    # --- calling ----------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the first implementation directly, as if it were not decorated."""
        return self._primary(*args, **kwargs)

    def _bind(
        self, signature: inspect.Signature, values: Mapping[str, Any]
    ) -> tuple[list[Any], dict[str, Any]]:
        """Positional-only parameters go by position (their default when omitted)."""
        kwargs = dict(values)
        args = [
            kwargs.pop(p.name, p.default)
            for p in signature.parameters.values()
            if p.kind is p.POSITIONAL_ONLY
        ]
        return args, kwargs

    def _run(self, values: Mapping[str, Any], timeout: float | None = None) -> Any:
        """Run with checked arguments from sync code (the sync implementation if any).

        ``timeout`` bounds an async implementation, cancelled at the deadline in its
        private loop (a sync one is bounded by the caller: see ``harness.tools.timeouts``).
        """
        if self._sync is not None:
            args, kwargs = self._bind(self._sync_signature, values)
            # A copied context, like the async path's task: the tool cannot leak changes.
            result = contextvars.copy_context().run(self._sync, *args, **kwargs)
            if inspect.isawaitable(result):  # a plain function that returned a coroutine
                return _block_on(lambda: _bounded(result, timeout))
            return result
        assert self._async is not None
        fn = self._async
        args, kwargs = self._bind(self._async_signature, values)
        return _block_on(lambda: _bounded(fn(*args, **kwargs), timeout))

    async def _arun(self, values: Mapping[str, Any], *, own_thread: bool = False) -> Any:
        """Run with checked arguments from async code (the async implementation if any).

        A sync implementation runs in a worker thread: the loop's default executor, or
        with ``own_thread`` a thread of its own that ``asyncio.run`` does not wait for
        (for a call that may be abandoned at its timeout)."""
        if self._async is not None:
            args, kwargs = self._bind(self._async_signature, values)
            return await self._async(*args, **kwargs)
        sync = self._sync
        assert sync is not None
        args, kwargs = self._bind(self._sync_signature, values)
        if own_thread:
            future = start_in_thread(self.name, lambda: sync(*args, **kwargs))
            result = await asyncio.wrap_future(future)
        else:
            result = await asyncio.to_thread(sync, *args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    def __repr__(self) -> str:
        kinds = "+".join(k for k, f in (("sync", self._sync), ("async", self._async)) if f)
        return f"<Tool {self.name!r} ({kinds})>"


async def _bounded(awaitable: Awaitable[T], timeout: float | None) -> T:
    return await (awaitable if timeout is None else await_within(awaitable, timeout))


def _block_on(make: Callable[[], Awaitable[T]]) -> T:
    """Run an awaitable to completion from sync code, even inside a running event loop.

    It runs in a private event loop in a helper thread, with a copy of the caller's
    context (so context variables set by the caller are visible).
    """

    async def main() -> T:
        return await make()

    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="harness-tool") as pool:
        return pool.submit(context.run, asyncio.run, main()).result()


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *, name: str | None = None, description: str | None = None
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a :class:`Tool` from a function: ``@tool`` or ``@tool(name=..., description=...)``.

    ``name`` and ``description`` override the function's name and docstring.
    """
    if fn is not None:
        return Tool.from_function(fn, name=name, description=description)
    return functools.partial(Tool.from_function, name=name, description=description)


def as_tools(items: Iterable[ToolLike] | None) -> tuple[Tool, ...]:
    """Tools from Tool objects and plain functions; names must be unique."""
    tools = tuple(
        item if isinstance(item, Tool) else Tool.from_function(item) for item in items or ()
    )
    names = [t.name for t in tools]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigurationError(f"two tools are named {duplicates[0]!r}; names must be unique")
    return tools


def tool_specs(tools: Iterable[ToolLike] | None) -> tuple[ToolSpec, ...]:
    """The specs to send to the model for these tools (or functions)."""
    return tuple(t.spec for t in as_tools(tools))
