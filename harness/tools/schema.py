"""Type hints -> JSON schema, and checking the model's arguments against them.

:func:`_compile` turns a type hint into a ``_Shape``, which gives its JSON schema and
checks and converts a JSON value (into dataclasses, TypedDicts, pydantic models, enums).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import json
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NoReturn, TypeGuard, Union


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
