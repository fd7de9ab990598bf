"""Tools: plain Python functions the model may call, and the loop that runs them.

A :class:`Tool` wraps a sync function, an ``async def`` function, or both. Its JSON
schema is derived from the type hints and its descriptions from the docstring.

Before a tool runs, the model's arguments are checked against the same type hints (and
converted into dataclasses, TypedDicts, pydantic models and enums), so a bad call turns
into an error result the model can read instead of a ``TypeError`` deep in the tool.

Sync and async share everything except the lines that await:

- :func:`run_tool_calls` / :func:`arun_tool_calls` run one batch of calls. Both check the
  calls with the same code and build the result messages with the same code; only the
  execution differs (one after another vs. concurrently with ``asyncio.gather``).
- :func:`run_chain` / :func:`arun_chain` drive the same ``_Chain`` state machine, which
  owns the conversation, the transcript and the turn limit. The drivers only call the
  model and execute tool calls.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextvars
import dataclasses
import enum
import functools
import inspect
import json
import re
import types
import typing
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, NoReturn, TypeGuard, TypeVar, Union, overload

from harness.types import (
    ConfigurationError,
    HarnessError,
    Message,
    Response,
    ToolCall,
    ToolSpec,
    Usage,
)

__all__ = [
    "ChainLimitError",
    "ChainResult",
    "InvalidToolCallError",
    "OnError",
    "RequestSent",
    "ResponseReceived",
    "Tool",
    "ToolCalled",
    "ToolExecutionError",
    "ToolLike",
    "ToolReturned",
    "TranscriptEntry",
    "arun_chain",
    "arun_tool_calls",
    "as_tools",
    "run_chain",
    "run_tool_calls",
    "tool",
    "tool_specs",
]

T = TypeVar("T")

OnError = Literal["return", "raise"]
"""What a failing tool call does: become an error result (``return``) or raise."""

ToolLike = Union["Tool", Callable[..., Any]]
"""A :class:`Tool`, or a plain function to wrap with :meth:`Tool.from_function`."""


# --- errors --------------------------------------------------------------------------


class InvalidToolCallError(HarnessError):
    """The model's call cannot be made as asked: unknown tool or arguments not fitting.

    ``problems`` lists every problem found (missing, unexpected or mistyped arguments).
    """

    def __init__(self, tool_name: str, problems: Sequence[str]) -> None:
        self.tool_name = tool_name
        self.problems = tuple(problems)
        super().__init__(f"invalid call to tool '{tool_name}': " + "; ".join(self.problems))


class ToolExecutionError(HarnessError):
    """A tool call failed and ``on_error="raise"`` was asked for.

    ``tool_name`` and ``call`` say which call; the original exception is ``__cause__``
    (an :class:`InvalidToolCallError` when the call could not even be made).
    """

    def __init__(self, message: str, *, tool_name: str, call: ToolCall) -> None:
        self.tool_name = tool_name
        self.call = call
        super().__init__(message)


# --- type hints -> JSON schema + argument checking ----------------------------------


class _Unsupported(Exception):
    """A type hint this module cannot express as JSON schema; the text says why."""


class _Mismatch(Exception):
    """A value does not fit a type hint; the text is the problem, ready for the model."""


def _describe(value: Any) -> str:
    """``string "abc"``, ``integer 3``...: how a wrong value is shown in error messages."""
    try:
        shown = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{_json_kind(value)} {shown}"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return f"Python {type(value).__name__}"


def _json_equal(a: Any, b: Any) -> bool:
    """JSON equality of two scalars: ``1 == 1.0`` but ``True != 1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


class _Shape:
    """A compiled type hint: its JSON schema, and how to check and convert a JSON value."""

    expected = "a value"
    """How the accepted values are described in error messages ("an integer")."""

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        """The JSON schema; shared definitions (``$defs``) are added to ``defs``."""
        raise NotImplementedError

    def convert(self, value: Any, path: str) -> Any:
        """The Python value for ``value``, or raise :class:`_Mismatch`."""
        raise NotImplementedError

    def mismatch(self, value: Any, path: str) -> NoReturn:
        raise _Mismatch(f"argument '{path}' must be {self.expected}, got {_describe(value)}")


class _AnyShape(_Shape):
    expected = "any JSON value"

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        return {}

    def convert(self, value: Any, path: str) -> Any:
        return value


class _ScalarShape(_Shape):
    """``str``, ``int``, ``float``, ``bool`` or ``None``."""

    _NAMES: typing.ClassVar[dict[type, tuple[str, str]]] = {
        str: ("string", "a string"),
        int: ("integer", "an integer"),
        float: ("number", "a number"),
        bool: ("boolean", "a boolean"),
        type(None): ("null", "null"),
    }

    def __init__(self, python_type: type) -> None:
        self.python_type = python_type
        self.json_type, self.expected = self._NAMES[python_type]

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        return {"type": self.json_type}

    def convert(self, value: Any, path: str) -> Any:
        kind = _json_kind(value)
        if kind == self.json_type:
            return value
        # JSON has one number type: 3 is a valid number and 3.0 a valid integer.
        if self.python_type is float and kind == "integer":
            return float(value)
        if self.python_type is int and kind == "number" and value.is_integer():
            return int(value)
        self.mismatch(value, path)


class _ChoiceShape(_Shape):
    """A fixed set of JSON scalars: ``Literal[...]`` or an ``Enum``'s values."""

    def __init__(self, values: Sequence[Any], results: Sequence[Any]) -> None:
        self.values = tuple(values)
        self.results = tuple(results)
        listed = ", ".join(json.dumps(v) for v in self.values)
        self.expected = f"one of {listed}"

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        kinds = {_json_kind(v) for v in self.values}
        if kinds == {"integer", "number"}:
            kinds = {"number"}
        schema: dict[str, Any] = {"type": kinds.pop()} if len(kinds) == 1 else {}
        schema["enum"] = list(self.values)
        return schema

    def convert(self, value: Any, path: str) -> Any:
        for allowed, result in zip(self.values, self.results, strict=True):
            if _json_equal(value, allowed):
                return result
        self.mismatch(value, path)


class _ArrayShape(_Shape):
    """``list[X]``, ``Sequence[X]`` or ``tuple[X, ...]``."""

    def __init__(self, item: _Shape, build: Callable[[list[Any]], Any] = list) -> None:
        self.item = item
        self.build = build
        self.expected = "an array"

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        item = self.item.schema(defs)
        return {"type": "array", "items": item} if item else {"type": "array"}

    def convert(self, value: Any, path: str) -> Any:
        if not isinstance(value, list):
            self.mismatch(value, path)
        return self.build([self.item.convert(v, f"{path}[{i}]") for i, v in enumerate(value)])


class _TupleShape(_Shape):
    """``tuple[A, B, ...]`` with a fixed number of items."""

    def __init__(self, items: Sequence[_Shape]) -> None:
        self.items = tuple(items)
        self.expected = f"an array of {len(self.items)} items"

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "array",
            "prefixItems": [item.schema(defs) for item in self.items],
            "minItems": len(self.items),
            "maxItems": len(self.items),
        }

    def convert(self, value: Any, path: str) -> Any:
        if not isinstance(value, list) or len(value) != len(self.items):
            self.mismatch(value, path)
        pairs = enumerate(zip(self.items, value, strict=True))
        return tuple(shape.convert(v, f"{path}[{i}]") for i, (shape, v) in pairs)


class _MapShape(_Shape):
    """``dict[str, X]`` / ``Mapping[str, X]``."""

    expected = "an object"

    def __init__(self, value: _Shape) -> None:
        self.value = value

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        value = self.value.schema(defs)
        return {"type": "object", "additionalProperties": value} if value else {"type": "object"}

    def convert(self, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            self.mismatch(value, path)
        return {k: self.value.convert(v, f"{path}[{json.dumps(k)}]") for k, v in value.items()}


class _UnionShape(_Shape):
    """``Union[A, B]``, ``A | B`` and ``Optional[A]``: the first option that fits wins."""

    def __init__(self, options: Sequence[_Shape]) -> None:
        self.options = tuple(options)
        self.expected = " or ".join(option.expected for option in self.options)

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        schemas = [option.schema(defs) for option in self.options]
        if all(list(s) == ["type"] and isinstance(s["type"], str) for s in schemas):
            return {"type": [s["type"] for s in schemas]}  # e.g. ["string", "null"]
        return {"anyOf": schemas}

    def convert(self, value: Any, path: str) -> Any:
        problems: list[_Mismatch] = []
        for option in self.options:
            try:
                return option.convert(value, path)
            except _Mismatch as problem:
                if value is None or not _is_null(option):  # "must be null" says nothing new
                    problems.append(problem)
        if len(problems) == 1:  # Optional[X] given a non-null value: X's own, precise message
            raise problems[0]
        self.mismatch(value, path)


def _is_null(shape: _Shape) -> bool:
    return isinstance(shape, _ScalarShape) and shape.python_type is type(None)


@dataclass(frozen=True)
class _Field:
    """One parameter of a tool, or one field of a dataclass / TypedDict."""

    name: str
    shape: _Shape
    required: bool
    description: str = ""
    show_default: bool = False
    """Whether the schema shows ``default``: there is one, and it can be written as JSON."""
    default: Any = None
    """The default, as JSON."""
    positional_only: bool = False

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        schema = dict(self.shape.schema(defs))
        if self.description:
            schema["description"] = self.description
        if self.show_default:
            schema["default"] = self.default
        return schema


def _object_schema(fields: Sequence[_Field], defs: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {f.name: f.schema(defs) for f in fields},
    }
    required = [f.name for f in fields if f.required]
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema


def _check_fields(
    fields: Sequence[_Field], data: Mapping[str, Any], path: str | None
) -> tuple[dict[str, Any], list[str]]:
    """Convert ``data`` field by field. Returns the values and every problem found.

    ``path`` is None for a tool's own arguments, else the argument holding the object.
    """
    known = {f.name for f in fields}
    values: dict[str, Any] = {}
    problems: list[str] = []
    for f in fields:
        if f.name in data:
            where = f.name if path is None else f"{path}.{f.name}"
            try:
                values[f.name] = f.shape.convert(data[f.name], where)
            except _Mismatch as problem:
                problems.append(str(problem))
        elif f.required:
            problems.append(
                f"missing required argument '{f.name}'"
                if path is None
                else f"argument '{path}' is missing required field '{f.name}'"
            )
    unexpected = [name for name in data if name not in known]
    if unexpected:
        names = ", ".join(f"'{name}'" for name in unexpected)
        allowed = ", ".join(f"'{f.name}'" for f in fields) or "none"
        s = "s" if len(unexpected) > 1 else ""
        problems.append(
            f"unexpected argument{s} {names} (allowed: {allowed})"
            if path is None
            else f"argument '{path}' has unexpected field{s} {names} (allowed: {allowed})"
        )
    return values, problems


class _ObjectShape(_Shape):
    """A dataclass or a TypedDict: a JSON object with known fields."""

    def __init__(self, title: str, fields: Sequence[_Field], build: Callable[..., Any]) -> None:
        self.title = title
        self.fields = tuple(fields)
        self.build = build
        self.expected = f"an object ({title})"

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        return _object_schema(self.fields, defs)

    def convert(self, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            self.mismatch(value, path)
        values, problems = _check_fields(self.fields, value, path)
        if problems:
            raise _Mismatch("; ".join(problems))
        try:
            return self.build(**values)
        except Exception as exc:  # e.g. a __post_init__ that validates
            raise _Mismatch(f"argument '{path}' is not a valid {self.title}: {exc}") from exc


class _PydanticShape(_Shape):
    """A pydantic model: its own schema and its own validation (``model_validate``)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.expected = f"an object ({model.__name__})"

    def schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        schema = dict(self.model.model_json_schema())
        # References are "#/$defs/Name": the definitions must live at the schema's root.
        for name, definition in schema.pop("$defs", {}).items():
            if defs.setdefault(name, definition) != definition:
                raise _Unsupported(f"two different models are both named {name!r}")
        return schema

    def convert(self, value: Any, path: str) -> Any:
        try:
            return self.model.model_validate(value)
        except Exception as exc:
            errors = getattr(exc, "errors", None)
            if callable(errors):
                detail = "; ".join(
                    ".".join(str(part) for part in e.get("loc", ())) + f": {e.get('msg')}"
                    for e in errors()
                )
            else:
                detail = str(exc)
            raise _Mismatch(
                f"argument '{path}' is not a valid {self.model.__name__}: {detail}"
            ) from exc


def _type_name(tp: Any) -> str:
    if _is_class(tp):
        return str(tp.__qualname__)
    return repr(tp).replace("typing.", "")


def _is_class(tp: Any) -> TypeGuard[type]:
    """A real class, not a generic alias like ``list[int]`` (a ``type`` on Python 3.10)."""
    return isinstance(tp, type) and typing.get_origin(tp) is None


def _is_pydantic_model(tp: Any) -> bool:
    # Duck-typed so pydantic is never imported (it is not a dependency).
    return _is_class(tp) and all(
        callable(getattr(tp, attr, None)) for attr in ("model_json_schema", "model_validate")
    )


def _is_typeddict(tp: Any) -> bool:
    return typing.is_typeddict(tp) or (
        _is_class(tp) and issubclass(tp, dict) and hasattr(tp, "__required_keys__")
    )


_REQUIRED_MARKERS = tuple(
    m for m in (getattr(typing, "Required", None), getattr(typing, "NotRequired", None)) if m
)
_UNION_TYPES: tuple[Any, ...] = (Union, types.UnionType)
_SEQUENCES: tuple[Any, ...] = (list, collections.abc.Sequence)
_MAPPINGS: tuple[Any, ...] = (dict, collections.abc.Mapping)


def _class_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls, include_extras=True)
    except Exception as exc:
        raise _Unsupported(f"cannot resolve the type hints of {cls.__qualname__}: {exc}") from exc


def _json_default(value: Any) -> tuple[bool, Any]:
    """``(True, value as JSON)`` for a default that can be shown in the schema."""
    if isinstance(value, enum.Enum):
        value = value.value
    try:
        return True, json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        return False, None


def _compile(tp: Any, seen: tuple[type, ...] = ()) -> _Shape:
    """The shape of a type hint; raises :class:`_Unsupported`. ``seen`` stops recursion."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated or origin in _REQUIRED_MARKERS:
        return _compile(args[0], seen)
    if tp is Any or tp is object:
        return _AnyShape()
    if tp is None or tp is type(None):
        return _ScalarShape(type(None))
    if tp in (str, int, float, bool):
        return _ScalarShape(tp)
    if origin is Literal:
        if not all(isinstance(v, (str, int, bool, type(None))) for v in args):
            raise _Unsupported("Literal values must be str, int, bool or None")
        return _ChoiceShape(args, args)
    if origin in _UNION_TYPES:
        return _UnionShape([_compile(arg, seen) for arg in args])
    if _is_class(tp) and issubclass(tp, enum.Enum):
        members = list(tp)
        if not members or not all(
            isinstance(m.value, (str, int, float, bool, type(None))) for m in members
        ):
            raise _Unsupported(f"enum {tp.__qualname__} must have str, int, float or bool values")
        return _ChoiceShape([m.value for m in members], members)
    if tp in _SEQUENCES or origin in _SEQUENCES:
        return _ArrayShape(_compile(args[0], seen) if args else _AnyShape())
    if tp is tuple or tp is typing.Tuple:  # noqa: UP006 - the bare alias, no item types
        return _ArrayShape(_AnyShape(), build=tuple)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return _ArrayShape(_compile(args[0], seen), build=tuple)
        return _TupleShape([_compile(arg, seen) for arg in args if arg != ()])
    if tp in _MAPPINGS or origin in _MAPPINGS:
        if args and args[0] not in (str, Any):
            raise _Unsupported("dict keys must be str (JSON object keys are strings)")
        return _MapShape(_compile(args[1], seen) if args else _AnyShape())
    if _is_class(tp) and tp in seen:
        raise _Unsupported(f"recursive type {tp.__qualname__}")
    if _is_pydantic_model(tp):
        return _PydanticShape(tp)
    if _is_typeddict(tp):
        hints = _class_hints(tp)
        required_keys = getattr(tp, "__required_keys__", frozenset(hints))
        fields = [
            _Field(name, _compile(hint, (*seen, tp)), name in required_keys)
            for name, hint in hints.items()
        ]
        return _ObjectShape(tp.__qualname__, fields, dict)
    if _is_class(tp) and dataclasses.is_dataclass(tp):
        hints = _class_hints(tp)
        fields = []
        for f in dataclasses.fields(tp):
            if not f.init:
                continue
            has_default = f.default is not dataclasses.MISSING
            required = not has_default and f.default_factory is dataclasses.MISSING
            shown, default = _json_default(f.default) if has_default else (False, None)
            fields.append(
                _Field(f.name, _compile(hints[f.name], (*seen, tp)), required, "", shown, default)
            )
        return _ObjectShape(tp.__qualname__, fields, tp)
    raise _Unsupported(f"{_type_name(tp)} is not supported")


# --- docstrings ----------------------------------------------------------------------

_ARGS_HEADER = re.compile(
    r"^(\s*)(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments)\s*:\s*$", re.I
)
_ANY_HEADER = re.compile(r"^\s*[A-Z][A-Za-z ]*:\s*$")
_GOOGLE_ITEM = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """``(description, {parameter: description})`` from a Google or Sphinx docstring.

    The description is the first paragraph. Parameters come from an ``Args:`` section
    (Google style) or ``:param name:`` lines (Sphinx style).
    """
    lines = inspect.cleandoc(doc or "").splitlines()
    first: list[str] = []
    for line in lines:
        if not line.strip() or _ANY_HEADER.match(line) or line.lstrip().startswith(":"):
            break
        first.append(line.strip())
    params: dict[str, str] = {}
    current: str | None = None  # the parameter continuation lines belong to
    section_indent: int | None = None  # inside a Google "Args:" section when set
    item_indent = 0
    for line in lines:
        if not line.strip():
            continue
        header = _ARGS_HEADER.match(line)
        sphinx = _SPHINX_PARAM.match(line.strip())
        if header:
            section_indent, item_indent, current = len(header.group(1)), 0, None
        elif sphinx:
            section_indent, current = None, sphinx.group(1)
            params[current] = sphinx.group(2).strip()
        elif section_indent is not None and _indent(line) > section_indent:
            item = _GOOGLE_ITEM.match(line.strip())
            if item and (not item_indent or _indent(line) <= item_indent):
                item_indent, current = _indent(line), item.group(1)
                params[current] = item.group(2).strip()
            elif current is not None:
                params[current] = f"{params[current]} {line.strip()}".strip()
        elif current is not None and section_indent is None and _indent(line) > 0:
            params[current] = f"{params[current]} {line.strip()}".strip()  # Sphinx continuation
        else:
            section_indent, current = None, None
    return " ".join(first), params


# --- Tool ----------------------------------------------------------------------------

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

    def _run(self, values: Mapping[str, Any]) -> Any:
        """Run with checked arguments from sync code (the sync implementation if any)."""
        if self._sync is not None:
            args, kwargs = self._bind(self._sync_signature, values)
            # A copied context, like the async path's task: the tool cannot leak changes.
            result = contextvars.copy_context().run(self._sync, *args, **kwargs)
            if inspect.isawaitable(result):  # a plain function that returned a coroutine
                return _block_on(lambda: result)
            return result
        assert self._async is not None
        fn = self._async
        args, kwargs = self._bind(self._async_signature, values)
        return _block_on(lambda: fn(*args, **kwargs))

    async def _arun(self, values: Mapping[str, Any]) -> Any:
        """Run with checked arguments from async code (the async implementation if any)."""
        if self._async is not None:
            args, kwargs = self._bind(self._async_signature, values)
            return await self._async(*args, **kwargs)
        assert self._sync is not None
        args, kwargs = self._bind(self._sync_signature, values)
        result = await asyncio.to_thread(self._sync, *args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    def __repr__(self) -> str:
        kinds = "+".join(k for k, f in (("sync", self._sync), ("async", self._async)) if f)
        return f"<Tool {self.name!r} ({kinds})>"


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


# --- running tool calls --------------------------------------------------------------


@dataclass(frozen=True)
class _Ready:
    """A call whose arguments passed checking: it can run."""

    call: ToolCall
    tool: Tool
    values: Mapping[str, Any]


@dataclass(frozen=True)
class _Returned:
    call: ToolCall
    value: Any


@dataclass(frozen=True)
class _Failed:
    """A call that could not be made (``error`` is InvalidToolCallError) or that raised."""

    call: ToolCall
    problem: str
    error: Exception


_Outcome = _Returned | _Failed


def _check_on_error(on_error: str) -> None:
    if on_error not in ("return", "raise"):
        raise ConfigurationError(f"on_error must be 'return' or 'raise', not {on_error!r}")


class _Toolbox:
    """Tools by name; turns the model's calls into runnable calls or failures."""

    def __init__(self, tools: Iterable[ToolLike] | None) -> None:
        self.tools = {t.name: t for t in as_tools(tools)}

    def prepare(self, calls: Iterable[ToolCall]) -> list[_Ready | _Failed]:
        return [self._prepare(call) for call in calls]

    def _prepare(self, call: ToolCall) -> _Ready | _Failed:
        try:
            found = self.tools.get(call.name)
            if found is None:
                available = ", ".join(f"'{n}'" for n in self.tools) or "none"
                raise InvalidToolCallError(
                    call.name, [f"no tool has this name (available tools: {available})"]
                )
            return _Ready(call, found, found.check_arguments(self._arguments(call)))
        except InvalidToolCallError as exc:
            return _Failed(call, str(exc), exc)

    @staticmethod
    def _arguments(call: ToolCall) -> Mapping[str, Any]:
        if call.arguments_json is None or not call.arguments_json.strip():
            return call.arguments
        try:
            arguments = json.loads(call.arguments_json)
        except ValueError as exc:
            raise InvalidToolCallError(
                call.name, [f"the arguments are not valid JSON ({exc})"]
            ) from exc
        if not isinstance(arguments, dict):
            raise InvalidToolCallError(
                call.name, [f"the arguments must be a JSON object, got {_describe(arguments)}"]
            )
        return arguments


def _raised(item: _Ready, exc: Exception) -> _Failed:
    detail = f": {exc}" if str(exc) else ""
    return _Failed(item.call, f"tool '{item.tool.name}' raised {type(exc).__name__}{detail}", exc)


def _execute(prepared: Sequence[_Ready | _Failed]) -> list[_Outcome]:
    """Sync: run the calls one after another, in the model's order."""

    def run(item: _Ready | _Failed) -> _Outcome:
        if isinstance(item, _Failed):
            return item
        try:
            return _Returned(item.call, item.tool._run(item.values))
        except Exception as exc:
            return _raised(item, exc)

    return [run(item) for item in prepared]


async def _aexecute(prepared: Sequence[_Ready | _Failed]) -> list[_Outcome]:
    """Async: run the calls concurrently; every call completes whatever the others do."""

    async def run(item: _Ready | _Failed) -> _Outcome:
        if isinstance(item, _Failed):
            return item
        try:
            return _Returned(item.call, await item.tool._arun(item.values))
        except Exception as exc:
            return _raised(item, exc)

    results = await asyncio.gather(*(run(item) for item in prepared), return_exceptions=True)
    for result in results:  # KeyboardInterrupt, CancelledError...: only after all finished
        if isinstance(result, BaseException):
            raise result
    return [r for r in results if not isinstance(r, BaseException)]


def _serialize(value: Any) -> str:
    """A tool's return value as message text: a str as is, anything else as JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=_to_json)
    except (TypeError, ValueError):  # circular data, non-string keys...
        return str(value)


def _to_json(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    dump = getattr(value, "model_dump", None)  # a pydantic model
    if callable(dump) and not isinstance(value, type):
        return dump(mode="json")
    return str(value)


def _tool_messages(outcomes: Sequence[_Outcome], on_error: OnError) -> list[Message]:
    """One tool message per outcome, in order; with ``raise``, the first failure raises.

    Raising happens only after every call has run, in sync and async alike.
    """
    messages = []
    for outcome in outcomes:
        if isinstance(outcome, _Returned):
            messages.append(Message.tool(outcome.call, _serialize(outcome.value)))
        else:
            messages.append(Message.tool(outcome.call, f"Error: {outcome.problem}", is_error=True))
    if on_error == "raise":
        for outcome in outcomes:
            if isinstance(outcome, _Failed):
                raise ToolExecutionError(
                    outcome.problem, tool_name=outcome.call.name, call=outcome.call
                ) from outcome.error
    return messages


def run_tool_calls(
    calls: Iterable[ToolCall],
    tools: Iterable[ToolLike] | None,
    *,
    on_error: OnError = "return",
) -> list[Message]:
    """Run the model's tool calls from sync code; one tool message per call, in order.

    Calls run one after another. Async tools run to completion in a private event loop
    in a helper thread, so this works even when called from inside a running loop. A
    call that cannot be made or that raises becomes an error result (``is_error=True``)
    or, with ``on_error="raise"``, a :class:`ToolExecutionError` after all calls ran.
    """
    _check_on_error(on_error)
    return _tool_messages(_execute(_Toolbox(tools).prepare(calls)), on_error)


async def arun_tool_calls(
    calls: Iterable[ToolCall],
    tools: Iterable[ToolLike] | None,
    *,
    on_error: OnError = "return",
) -> list[Message]:
    """Run the model's tool calls from async code; one tool message per call, in order.

    Calls run concurrently: async tools on this loop, sync tools in worker threads
    (``asyncio.to_thread``, with the caller's context). A failing call never stops the
    others. Results and errors are exactly those of :func:`run_tool_calls`.
    """
    _check_on_error(on_error)
    return _tool_messages(await _aexecute(_Toolbox(tools).prepare(calls)), on_error)


# --- the chain -----------------------------------------------------------------------


@dataclass(frozen=True)
class RequestSent:
    """Turn ``turn`` (from 1) sent these messages to the model."""

    turn: int
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class ResponseReceived:
    """The model's response in turn ``turn``."""

    turn: int
    response: Response


@dataclass(frozen=True)
class ToolCalled:
    """The chain started this tool call (calls are recorded in the model's order)."""

    turn: int
    call: ToolCall


@dataclass(frozen=True)
class ToolReturned:
    """The result of a tool call, as sent back to the model (``is_error`` if it failed)."""

    turn: int
    call: ToolCall
    message: Message


TranscriptEntry = RequestSent | ResponseReceived | ToolCalled | ToolReturned
"""One step of a chain, as recorded in :attr:`ChainResult.transcript`."""


@dataclass(frozen=True)
class ChainResult:
    """What a chain produced: final response, whole conversation, transcript, usage."""

    response: Response
    """The last response: the one without tool calls."""
    messages: tuple[Message, ...]
    """The conversation: the messages given, then every assistant and tool message."""
    transcript: tuple[TranscriptEntry, ...]
    """Every request, response, tool call and tool result, in order."""
    usage: Usage
    """Token usage summed over every model call."""

    @property
    def text(self) -> str:
        """The final answer's text."""
        return self.response.text


class ChainLimitError(HarnessError):
    """The model still asked for tools after ``max_turns`` model calls.

    The tools of that last response were not run. ``transcript``, ``messages`` (ending
    with that response's assistant message), ``response`` and ``usage`` show how far the
    chain got.
    """

    def __init__(
        self,
        max_turns: int,
        response: Response,
        messages: Sequence[Message],
        transcript: Sequence[TranscriptEntry],
        usage: Usage,
    ) -> None:
        self.max_turns = max_turns
        self.response = response
        self.messages = tuple(messages)
        self.transcript = tuple(transcript)
        self.usage = usage
        asked = ", ".join(f"'{call.name}'" for call in response.tool_calls)
        super().__init__(
            f"the model was still asking for tools ({asked}) after max_turns={max_turns} "
            "model calls; those calls were not run. Raise max_turns if the task needs more "
            "steps, or read this error's transcript for a tool call the model keeps retrying."
        )


class _Chain:
    """The chain's logic, shared by :func:`run_chain` and :func:`arun_chain`.

    A driver loops: ``request()`` gives the messages to send, ``receive(response)``
    gives either the final :class:`ChainResult` or the calls to execute, and
    ``deliver(outcomes)`` adds their results to the conversation.
    """

    def __init__(
        self,
        messages: Iterable[Message],
        tools: Iterable[ToolLike] | None,
        max_turns: int,
        on_error: OnError,
    ) -> None:
        if isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1:
            raise ConfigurationError(f"max_turns must be an integer >= 1, not {max_turns!r}")
        _check_on_error(on_error)
        self.toolbox = _Toolbox(tools)
        self.max_turns = max_turns
        self.on_error = on_error
        self.conversation = list(messages)
        self.transcript: list[TranscriptEntry] = []
        self.usage = Usage()
        self.turn = 0

    def request(self) -> list[Message]:
        """Start a turn: the messages to send (a fresh list the caller may keep)."""
        self.turn += 1
        self.transcript.append(RequestSent(self.turn, tuple(self.conversation)))
        return list(self.conversation)

    def receive(self, response: Response) -> ChainResult | list[_Ready | _Failed]:
        """The final result if the model is done, else its calls, checked and ready to run."""
        self.transcript.append(ResponseReceived(self.turn, response))
        self.usage += response.usage
        self.conversation.append(response.message())
        if not response.tool_calls:
            return ChainResult(
                response, tuple(self.conversation), tuple(self.transcript), self.usage
            )
        if self.turn >= self.max_turns:
            raise ChainLimitError(
                self.max_turns, response, self.conversation, self.transcript, self.usage
            )
        self.transcript.extend(ToolCalled(self.turn, call) for call in response.tool_calls)
        return self.toolbox.prepare(response.tool_calls)

    def deliver(self, outcomes: Sequence[_Outcome]) -> None:
        """Add the tool results to the conversation (or raise, with ``on_error="raise"``)."""
        results = _tool_messages(outcomes, self.on_error)
        self.transcript.extend(
            ToolReturned(self.turn, outcome.call, result)
            for outcome, result in zip(outcomes, results, strict=True)
        )
        self.conversation.extend(results)


def run_chain(
    call: Callable[[list[Message]], Response],
    messages: Iterable[Message],
    tools: Iterable[ToolLike] | None,
    *,
    max_turns: int = 10,
    on_error: OnError = "return",
) -> ChainResult:
    """Call the model and run the tools it asks for until it answers without tools.

    ``call`` sends a conversation to the model. Each turn it gets the conversation so
    far; when the response asks for tools, the assistant message and the tool results
    (see :func:`run_tool_calls`) are appended and the model is called again. More than
    ``max_turns`` model calls raises :class:`ChainLimitError`.
    """
    chain = _Chain(messages, tools, max_turns, on_error)
    while True:
        step = chain.receive(call(chain.request()))
        if isinstance(step, ChainResult):
            return step
        chain.deliver(_execute(step))


async def arun_chain(
    acall: Callable[[list[Message]], Awaitable[Response]],
    messages: Iterable[Message],
    tools: Iterable[ToolLike] | None,
    *,
    max_turns: int = 10,
    on_error: OnError = "return",
) -> ChainResult:
    """The async :func:`run_chain`: same turns, same transcript, tools run concurrently."""
    chain = _Chain(messages, tools, max_turns, on_error)
    while True:
        step = chain.receive(await acall(chain.request()))
        if isinstance(step, ChainResult):
            return step
        chain.deliver(await _aexecute(step))
