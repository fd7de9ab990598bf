"""Tools from plain functions: JSON schema from type hints, docstrings, argument checking.

The property tests build random function signatures (no ``exec``: a function whose
``__signature__`` is set) and check that three independent judges agree on every value:
the derived JSON schema (validated with jsonschema, Draft 2020-12), the tool's argument
checker, and a small oracle written here from the type's meaning.
"""

import dataclasses
import enum
import inspect
import itertools
import json
import keyword
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Optional, TypedDict, Union

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.tools import InvalidToolCallError, Tool, as_tools, run_tool_calls, tool, tool_specs
from harness.types import ConfigurationError, ToolCall, ToolSpec


def schema_of(fn: Callable[..., Any]) -> dict[str, Any]:
    return tool(fn).spec.parameters


def param_schema(annotation: Any) -> dict[str, Any]:
    """The schema of a lone required parameter ``x`` annotated with ``annotation``."""
    return schema_of(make_function([("x", annotation, inspect.Parameter.empty)]))["properties"]["x"]


def make_function(
    params: Sequence[tuple[str, Any, Any]], name: str = "generated"
) -> Callable[..., Any]:
    """A function with these ``(name, annotation, default)`` keyword parameters, no exec."""

    def fn(**kwargs: Any) -> dict[str, Any]:
        return kwargs

    fn.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=a, default=d)
            for n, a, d in params
        ]
    )
    fn.__annotations__ = {n: a for n, a, _ in params}
    fn.__name__ = name
    return fn


def is_valid(schema: dict[str, Any], instance: Any) -> bool:
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema).is_valid(instance)


def accepts(t: Tool, arguments: dict[str, Any]) -> bool:
    try:
        t.check_arguments(arguments)
    except InvalidToolCallError:
        return False
    return True


# --- module-level types used by the examples -----------------------------------------


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass
class Point:
    x: int
    y: float = 0.0


@dataclass
class Route:
    name: str
    stops: list[Point] = field(default_factory=list)


class Address(TypedDict):
    street: str
    number: int


class Filters(TypedDict, total=False):
    tag: str
    limit: int


@dataclass
class Node:
    value: int
    children: "list[Node]"


# --- schema per type -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (None, {"type": "null"}),
        (type(None), {"type": "null"}),
        (Any, {}),
        (Optional[str], {"type": ["string", "null"]}),  # noqa: UP045 - typing spelling
        (int | None, {"type": ["integer", "null"]}),
        (Union[int, str], {"type": ["integer", "string"]}),  # noqa: UP007
        (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}),
        (Literal[1, 2], {"type": "integer", "enum": [1, 2]}),
        (Literal["a", 1, None], {"enum": ["a", 1, None]}),
        (Color, {"type": "string", "enum": ["red", "blue"]}),
        (Level, {"type": "integer", "enum": [1, 2]}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (list, {"type": "array"}),
        (Sequence[str], {"type": "array", "items": {"type": "string"}}),
        (tuple[int, ...], {"type": "array", "items": {"type": "integer"}}),
        (
            tuple[int, str],
            {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "minItems": 2,
                "maxItems": 2,
            },
        ),
        (dict[str, int], {"type": "object", "additionalProperties": {"type": "integer"}}),
        (dict, {"type": "object"}),
        (
            list[dict[str, float | None]],
            {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": {"type": ["number", "null"]},
                },
            },
        ),
        (
            Optional[list[Color]],  # noqa: UP045
            {
                "anyOf": [
                    {"type": "array", "items": {"type": "string", "enum": ["red", "blue"]}},
                    {"type": "null"},
                ]
            },
        ),
    ],
    ids=repr,
)
def test_schema_for_each_supported_type(annotation: Any, expected: dict[str, Any]) -> None:
    assert param_schema(annotation) == expected


def test_dataclass_parameter_becomes_an_object_with_required_fields() -> None:
    assert param_schema(Route) == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "stops": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "x": {"type": "integer"},
                        "y": {"type": "number", "default": 0.0},
                    },
                    "required": ["x"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["name"],
        "additionalProperties": False,
    }


def test_typeddict_parameters_follow_totality() -> None:
    assert param_schema(Address) == {
        "type": "object",
        "properties": {"street": {"type": "string"}, "number": {"type": "integer"}},
        "required": ["street", "number"],
        "additionalProperties": False,
    }
    assert param_schema(Filters) == {
        "type": "object",
        "properties": {"tag": {"type": "string"}, "limit": {"type": "integer"}},
        "additionalProperties": False,
    }


def test_whole_schema_defaults_and_descriptions() -> None:
    def search(
        query: str,
        limit: int = 10,
        color: Color = Color.RED,
        exact: Annotated[bool, "Match the whole phrase"] = False,
        when: object = object(),
    ) -> list[str]:
        """Search the catalogue.

        Args:
            query: What to look for.
        """
        return []

    assert tool(search).spec == ToolSpec(
        "search",
        "Search the catalogue.",
        {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What to look for."},
                "limit": {"type": "integer", "default": 10},
                "color": {"type": "string", "enum": ["red", "blue"], "default": "red"},
                "exact": {
                    "type": "boolean",
                    "description": "Match the whole phrase",
                    "default": False,
                },
                "when": {},  # a default that is not JSON is left out
            },
            "required": ["query"],
            "additionalProperties": False,
        },
    )


def test_tool_without_parameters() -> None:
    def now() -> str:
        return "noon"

    assert tool(now).spec == ToolSpec(
        "now", "", {"type": "object", "properties": {}, "additionalProperties": False}
    )


def test_unannotated_parameter_accepts_any_json() -> None:
    def echo(value):  # type: ignore[no-untyped-def]
        return value

    assert schema_of(echo)["properties"] == {"value": {}}
    assert tool(echo).check_arguments({"value": [1, {"a": None}]}) == {"value": [1, {"a": None}]}


def test_string_annotations_are_resolved() -> None:
    def f(p: "Point", c: "Color | None" = None) -> None: ...

    assert schema_of(f)["properties"]["c"]["anyOf"][1] == {"type": "null"}
    assert schema_of(f)["properties"]["p"]["required"] == ["x"]


def test_pydantic_model_uses_its_own_schema_and_validation() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Item(pydantic.BaseModel):  # type: ignore[misc, name-defined]
        sku: str
        quantity: int = 1

    class Order(pydantic.BaseModel):  # type: ignore[misc, name-defined]
        items: list[Item]
        note: str | None = None

    def place(order: Order, rush: bool = False) -> str:
        """Place an order."""
        return "placed"

    t = tool(place)
    schema = t.spec.parameters
    assert "Item" in schema["$defs"]  # hoisted to the root, where "#/$defs/Item" points
    order_schema = dict(Order.model_json_schema())
    order_schema.pop("$defs")
    assert schema["properties"]["order"] == order_schema

    good = {"order": {"items": [{"sku": "A", "quantity": 2}]}}
    assert is_valid(schema, good)
    converted = t.check_arguments(good)
    assert isinstance(converted["order"], Order)
    assert converted["order"].items[0].quantity == 2

    bad = {"order": {"items": [{"quantity": 2}]}}
    assert not is_valid(schema, bad)
    with pytest.raises(InvalidToolCallError, match=r"argument 'order' is not a valid Order: .*sku"):
        t.check_arguments(bad)


# --- docstrings and overrides --------------------------------------------------------


def test_google_docstring() -> None:
    def weather(city: str, unit: str = "c", days: int = 1) -> str:
        """Get the weather
        for a city.

        Uses the national service.

        Args:
            city: The city name,
                as written locally.
            unit (str, optional): "c" or "f". Note: Celsius by default.
            days: How many days.

        Returns:
            The forecast.
        """
        return ""

    spec = tool(weather).spec
    assert spec.description == "Get the weather for a city."
    props = spec.parameters["properties"]
    assert props["city"]["description"] == "The city name, as written locally."
    assert props["unit"]["description"] == '"c" or "f". Note: Celsius by default.'
    assert props["days"]["description"] == "How many days."


def test_sphinx_docstring() -> None:
    def add(a: int, b: int) -> int:
        """Add two numbers.

        :param a: The first
            number.
        :param int b: The second number.
        :returns: The sum.
        :rtype: int
        """
        return a + b

    spec = tool(add).spec
    assert spec.description == "Add two numbers."
    assert spec.parameters["properties"]["a"]["description"] == "The first number."
    assert spec.parameters["properties"]["b"]["description"] == "The second number."


def test_no_docstring_means_no_descriptions() -> None:
    def f(x: int) -> int:
        return x

    assert tool(f).spec == ToolSpec(
        "f",
        "",
        {
            "type": "object",
            "properties": {"x": {"type": "integer"}},
            "required": ["x"],
            "additionalProperties": False,
        },
    )


def test_decorator_forms_and_overrides() -> None:
    @tool
    def plain(x: int) -> int:
        """Plain tool."""
        return x

    @tool(name="renamed", description="Overridden.")
    def original(x: int) -> int:
        """Docstring description.

        Args:
            x: Still described.
        """
        return x * 2

    assert isinstance(plain, Tool)
    assert plain.spec.name == "plain"
    assert plain.spec.description == "Plain tool."
    assert original.spec.name == "renamed"
    assert original.spec.description == "Overridden."
    assert original.spec.parameters["properties"]["x"]["description"] == "Still described."
    assert original(21) == 42  # the decorated function stays callable
    assert Tool.from_function(lambda x: x, name="ident").name == "ident"


def test_as_tools_and_tool_specs_accept_functions_and_tools() -> None:
    def a(x: int) -> int:
        return x

    b = tool(name="b")(a)
    tools = as_tools([a, b])
    assert [t.name for t in tools] == ["a", "b"]
    assert tools[1] is b
    assert tool_specs([a, b]) == (tools[0].spec, b.spec)
    assert as_tools(None) == ()
    with pytest.raises(ConfigurationError, match="'a'"):
        as_tools([a, a])


# --- unsupported and invalid ----------------------------------------------------------


@pytest.mark.parametrize(
    ("annotation", "reason"),
    [
        (set[int], "set"),
        (bytes, "bytes"),
        (dict[int, str], "keys must be str"),
        (list[complex], "complex"),
        (Node, "recursive type Node"),
        (Callable[[int], int], "Callable"),
    ],
    ids=repr,
)
def test_unsupported_annotation_names_tool_and_parameter(annotation: Any, reason: str) -> None:
    fn = make_function([("ok", int, 1), ("bad", annotation, inspect.Parameter.empty)], "lookup")
    with pytest.raises(ConfigurationError) as info:
        tool(fn)
    message = str(info.value)
    assert "tool 'lookup'" in message
    assert "parameter 'bad'" in message
    assert reason in message


def test_variadic_parameters_are_rejected() -> None:
    def f(*items: int) -> None: ...

    def g(**options: int) -> None: ...

    with pytest.raises(ConfigurationError, match=r"tool 'f': parameter '\*items'"):
        tool(f)
    with pytest.raises(ConfigurationError, match=r"tool 'g': parameter '\*\*options'"):
        tool(g)


def test_unresolvable_annotation_names_the_tool() -> None:
    def f(x: "Missing") -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(ConfigurationError, match=r"tool 'f'.*Missing"):
        tool(f)


def test_invalid_names_are_rejected() -> None:
    with pytest.raises(ConfigurationError, match="pass name="):
        tool(lambda: None)
    with pytest.raises(ConfigurationError, match="not valid"):
        tool(name="has space")(lambda: None)


def test_both_implementations_must_take_the_same_parameters() -> None:
    def lookup(key: str) -> str:
        return key

    async def alookup(key: int) -> str:
        return str(key)

    async def alookup_ok(key: str) -> str:
        return key

    with pytest.raises(ConfigurationError, match="same parameters"):
        Tool(sync=lookup, async_=alookup)
    with pytest.raises(ConfigurationError, match="not an async function"):
        tool(lookup).async_impl(lookup)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="async_impl"):
        Tool(sync=alookup_ok)
    both = Tool(sync=lookup, async_=alookup_ok)
    assert both.sync_function is lookup
    assert both.async_function is alookup_ok
    with pytest.raises(ConfigurationError, match=r"already has an async"):
        both.async_impl(alookup_ok)


# --- argument checking ---------------------------------------------------------------


def plan(
    route: Route,
    address: Address,
    color: Color = Color.RED,
    level: Level | None = None,
    scale: float = 1.0,
    count: int = 1,
    pair: tuple[int, str] = (0, ""),
    filters: Filters | None = None,
) -> str:
    return "ok"


def test_arguments_are_converted_to_declared_types() -> None:
    values = tool(plan).check_arguments(
        {
            "route": {"name": "r", "stops": [{"x": 1}, {"x": 2.0, "y": 3}]},
            "address": {"street": "Main", "number": 5},
            "color": "blue",
            "level": 2,
            "scale": 2,
            "count": 4.0,
            "pair": [1, "a"],
            "filters": {"tag": "t"},
        }
    )
    assert values == {
        "route": Route("r", [Point(1, 0.0), Point(2, 3.0)]),
        "address": {"street": "Main", "number": 5},
        "color": Color.BLUE,
        "level": Level.HIGH,
        "scale": 2.0,
        "count": 4,
        "pair": (1, "a"),
        "filters": {"tag": "t"},
    }
    assert type(values["scale"]) is float
    assert type(values["count"]) is int
    assert type(values["route"].stops[1].y) is float


@pytest.mark.parametrize(
    ("arguments", "problems"),
    [
        ({}, ["missing required argument 'route'", "missing required argument 'address'"]),
        (
            {"route": {"name": "r"}, "address": {"street": "s", "number": 1}, "colour": "red"},
            [
                "unexpected argument 'colour' (allowed: 'route', 'address', 'color', 'level', "
                "'scale', 'count', 'pair', 'filters')"
            ],
        ),
        (
            {"route": "r", "address": {"street": "s", "number": True}},
            [
                "argument 'route' must be an object (Route), got string \"r\"",
                "argument 'address.number' must be an integer, got boolean true",
            ],
        ),
        (
            {"route": {"name": "r", "stops": [{"x": 1}, {"y": 1}]}, "address": {"street": "s"}},
            [
                "argument 'route.stops[1]' is missing required field 'x'",
                "argument 'address' is missing required field 'number'",
            ],
        ),
        (
            {
                "route": {"name": "r", "extra": 1},
                "address": {"street": "s", "number": 1},
                "color": "green",
                "level": 3,
                "pair": [1],
                "count": 1.5,
            },
            [
                "argument 'route' has unexpected field 'extra' (allowed: 'name', 'stops')",
                'argument \'color\' must be one of "red", "blue", got string "green"',
                "argument 'level' must be one of 1, 2, got integer 3",
                "argument 'count' must be an integer, got number 1.5",
                "argument 'pair' must be an array of 2 items, got array [1]",
            ],
        ),
        (
            {
                "route": {"name": "r"},
                "address": {"street": "s", "number": 1},
                "filters": {"limit": "ten"},
            },
            ["argument 'filters.limit' must be an integer, got string \"ten\""],
        ),
    ],
)
def test_every_problem_is_reported_with_the_tool_name(
    arguments: dict[str, Any], problems: list[str]
) -> None:
    with pytest.raises(InvalidToolCallError) as info:
        tool(plan).check_arguments(arguments)
    assert info.value.tool_name == "plan"
    assert list(info.value.problems) == problems
    assert str(info.value) == "invalid call to tool 'plan': " + "; ".join(problems)


def test_validation_in_a_dataclass_post_init_is_an_argument_error() -> None:
    @dataclass
    class Percent:
        value: int

        def __post_init__(self) -> None:
            if not 0 <= self.value <= 100:
                raise ValueError("out of range")

    def f(p: Percent) -> None: ...

    with pytest.raises(InvalidToolCallError, match=r"argument 'p' is not a valid .*out of range"):
        tool(f).check_arguments({"p": {"value": 101}})


def test_positional_only_parameters_are_passed_by_position() -> None:
    def f(a: int, b: int = 2, /, c: int = 3) -> list[int]:
        return [a, b, c]

    results = run_tool_calls([ToolCall("1", "f", {"a": 1, "c": 5})], [f])
    assert results[0].content == "[1, 2, 5]"


def returning(value: Any) -> Callable[[], Any]:
    def fn() -> Any:
        return value

    return fn


def test_results_are_serialized_as_text() -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque!"

    outputs: dict[str, Any] = {
        "text": "as is",
        "mapping": {"a": [1, 2.5, None], "é": True},
        "nothing": None,
        "point": Point(1, 2.0),
        "color": Color.RED,
        "opaque": Opaque(),
        "tuple_keys": {(1, 2): "x"},
    }
    tools = [Tool.from_function(returning(value), name=name) for name, value in outputs.items()]
    results = run_tool_calls([ToolCall(name, name) for name in outputs], tools)
    assert [m.content for m in results] == [
        "as is",
        '{"a": [1, 2.5, null], "é": true}',
        "null",
        '{"x": 1, "y": 2.0}',
        '"red"',
        '"opaque!"',
        "{(1, 2): 'x'}",
    ]


# --- property: schema, checker and oracle agree ---------------------------------------


@dataclass(frozen=True)
class Gen:
    """A generated type: its hint, fitting JSON values, and an oracle for "fits"."""

    hint: Any
    values: st.SearchStrategy[Any]
    fits: Callable[[Any], bool]
    structural: type | None = None  # dataclass / Enum the checker must convert to


def same_json(a: Any, b: Any) -> bool:
    """JSON equality of scalars: booleans equal only booleans, 1 equals 1.0."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


SCALARS = [
    Gen(str, st.text(max_size=4), lambda v: isinstance(v, str)),
    Gen(
        int,
        st.integers(-(10**6), 10**6),
        lambda v: (
            not isinstance(v, bool)
            and (isinstance(v, int) or (isinstance(v, float) and v.is_integer()))
        ),
    ),
    Gen(
        float,
        st.floats(allow_nan=False, allow_infinity=False) | st.integers(-100, 100),
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    ),
    Gen(bool, st.booleans(), lambda v: isinstance(v, bool)),
    Gen(type(None), st.none(), lambda v: v is None),
]


def choice(hint: Any, values: Sequence[Any], structural: type | None = None) -> Gen:
    return Gen(
        hint,
        st.sampled_from(list(values)),
        lambda v: any(same_json(v, x) for x in values),
        structural,
    )


CHOICES = [
    choice(Literal["a", "b", "c"], ["a", "b", "c"]),
    choice(Literal[1, 2, 3], [1, 2, 3]),
    choice(Literal["x", 0, None], ["x", 0, None]),
    choice(Color, ["red", "blue"], Color),
    choice(Level, [1, 2], Level),
]

FIELD_NAMES = ["a", "b", "c", "d"]
counter = itertools.count()


def list_of(g: Gen) -> Gen:
    return Gen(
        list[g.hint],
        st.lists(g.values, max_size=3),
        lambda v: isinstance(v, list) and all(g.fits(i) for i in v),
    )


def dict_of(g: Gen) -> Gen:
    return Gen(
        dict[str, g.hint],
        st.dictionaries(st.text(max_size=3), g.values, max_size=3),
        lambda v: isinstance(v, dict) and all(g.fits(i) for i in v.values()),
    )


def optional(g: Gen) -> Gen:
    hint = Optional[g.hint]  # noqa: UP045 - exercise typing.Optional itself
    return Gen(hint, st.none() | g.values, lambda v: v is None or g.fits(v))


def union(a: Gen, b: Gen) -> Gen:
    hint = Union[a.hint, b.hint]  # noqa: UP007 - exercise typing.Union itself
    return Gen(hint, a.values | b.values, lambda v: a.fits(v) or b.fits(v))


def pair(a: Gen, b: Gen) -> Gen:
    return Gen(
        tuple[a.hint, b.hint],
        st.tuples(a.values, b.values).map(list),
        lambda v: isinstance(v, list) and len(v) == 2 and a.fits(v[0]) and b.fits(v[1]),
    )


def record(members: list[tuple[str, Gen, bool]], kind: str, total: bool) -> Gen:
    """A dataclass or TypedDict; ``members`` are (name, type, required).

    A dataclass field is required unless it has a default; a TypedDict key if ``total``.
    """
    required = {n: g for n, g, r in members if (total if kind == "typeddict" else r)}
    optional_ = {n: g for n, g, _ in members if n not in required}
    name = f"Rec{next(counter)}"
    structural: type | None = None
    if kind == "dataclass":
        hint: Any = dataclasses.make_dataclass(
            name,
            [(n, g.hint) for n, g in required.items()]
            + [(n, g.hint, field(default=None)) for n, g in optional_.items()],
        )
        structural = hint
    else:
        hint = TypedDict(name, {n: g.hint for n, g, _ in members}, total=total)  # type: ignore[misc, no-redef]

    def fits(v: Any) -> bool:
        return (
            isinstance(v, dict)
            and set(required) <= set(v)
            and set(v) <= set(required) | set(optional_)
            and all({**required, **optional_}[k].fits(x) for k, x in v.items())
        )

    values = st.fixed_dictionaries(
        {n: g.values for n, g in required.items()},
        optional={n: g.values for n, g in optional_.items()},
    )
    return Gen(hint, values, fits, structural)


def records(children: st.SearchStrategy[Gen]) -> st.SearchStrategy[Gen]:
    members = st.lists(st.sampled_from(FIELD_NAMES), min_size=1, max_size=3, unique=True).flatmap(
        lambda names: st.tuples(*(st.tuples(st.just(n), children, st.booleans()) for n in names))
    )
    return st.builds(
        record, members.map(list), st.sampled_from(["dataclass", "typeddict"]), st.booleans()
    )


def extend(children: st.SearchStrategy[Gen]) -> st.SearchStrategy[Gen]:
    return st.one_of(
        children.map(list_of),
        children.map(dict_of),
        children.map(optional),
        st.builds(union, children, children),
        st.builds(pair, children, children),
        records(children),
    )


types_ = st.recursive(st.sampled_from(SCALARS + CHOICES), extend, max_leaves=6)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(-5, 5, allow_nan=False)
    | st.sampled_from(["", "a", "red", "x"]),
    lambda c: (
        st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(FIELD_NAMES), c, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def signatures(draw: st.DrawFn) -> tuple[Callable[..., Any], list[tuple[str, Gen, bool]]]:
    identifiers = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(
        lambda n: not keyword.iskeyword(n)
    )
    names = draw(st.lists(identifiers, max_size=4, unique=True))
    params = [(n, draw(types_), draw(st.booleans())) for n in names]
    # keyword-only parameters, so required and optional ones may come in any order
    empty = inspect.Parameter.empty
    fn = make_function([(n, g.hint, empty if required else None) for n, g, required in params])
    return fn, params


def converted_ok(g: Gen, converted: Any) -> bool:
    return g.structural is None or isinstance(converted, g.structural)


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(data=st.data(), sig=signatures())
def test_fitting_arguments_are_valid_for_schema_and_checker(
    data: st.DataObject, sig: tuple[Callable[..., Any], list[tuple[str, Gen, bool]]]
) -> None:
    fn, params = sig
    t = tool(fn)
    arguments = {
        n: data.draw(g.values, label=n)
        for n, g, required in params
        if required or data.draw(st.booleans(), label=f"pass {n}")
    }
    assert is_valid(t.spec.parameters, arguments)
    converted = t.check_arguments(arguments)
    assert converted.keys() == arguments.keys()
    for n, g, _ in params:
        if n in converted:
            assert converted_ok(g, converted[n])
    assert run_tool_calls([ToolCall("1", t.name, arguments)], [t])[0].is_error is False


@SETTINGS
@given(g=types_, value=json_values)
def test_schema_checker_and_oracle_agree_on_any_json_value(g: Gen, value: Any) -> None:
    t = tool(make_function([("x", g.hint, inspect.Parameter.empty)]))
    expected = g.fits(value)
    assert is_valid(t.spec.parameters, {"x": value}) is expected
    assert accepts(t, {"x": value}) is expected


def leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every part of a JSON value (the value itself included)."""
    paths = [path]
    if isinstance(value, list):
        for i, item in enumerate(value):
            paths += leaves(item, (*path, i))
    elif isinstance(value, dict):
        for k, item in value.items():
            paths += leaves(item, (*path, k))
    return paths


def replace_at(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = list(value) if isinstance(value, list) else dict(value)
    copy[path[0]] = replace_at(value[path[0]], path[1:], new)
    return copy


WRONG_CANDIDATES = [1, 1.5, "x", True, None, [], {}, [1], {"zz": 1}]


@SETTINGS
@given(data=st.data(), g=types_)
def test_near_miss_values_are_rejected_by_schema_and_checker(g: Gen, data: st.DataObject) -> None:
    value = data.draw(g.values, label="fitting value")
    path = data.draw(st.sampled_from(leaves(value)), label="path")
    wrong = data.draw(st.sampled_from(WRONG_CANDIDATES), label="replacement")
    mutated = replace_at(value, path, wrong)
    t = tool(make_function([("x", g.hint, inspect.Parameter.empty)]))
    expected = g.fits(mutated)
    assert is_valid(t.spec.parameters, {"x": mutated}) is expected
    assert accepts(t, {"x": mutated}) is expected


@SETTINGS
@given(data=st.data(), sig=signatures())
def test_missing_and_unexpected_arguments_are_rejected_by_both(
    data: st.DataObject, sig: tuple[Callable[..., Any], list[tuple[str, Gen, bool]]]
) -> None:
    fn, params = sig
    t = tool(fn)
    arguments = {n: data.draw(g.values, label=n) for n, g, _ in params}
    required = [n for n, _, req in params if req]
    if required:
        missing = dict(arguments)
        del missing[data.draw(st.sampled_from(required), label="drop")]
        assert not is_valid(t.spec.parameters, missing)
        assert not accepts(t, missing)
    unexpected = {**arguments, "zz_unknown": data.draw(json_values, label="extra")}
    assert not is_valid(t.spec.parameters, unexpected)
    assert not accepts(t, unexpected)


def test_generated_types_cover_every_kind() -> None:
    """Guard for the generator itself: nested records, enums and unions do come up."""
    seen: set[str] = set()

    @settings(max_examples=300, deadline=None)
    @given(types_)
    def collect(g: Gen) -> None:
        text = json.dumps(param_schema(g.hint))
        for marker in ("prefixItems", "anyOf", "enum", 'additionalProperties": false', "items"):
            if marker in text:
                seen.add(marker)

    collect()
    assert len(seen) == 5, seen
