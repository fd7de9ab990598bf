"""The calls whose request bodies ``capture.py`` records from real client libraries, as
plain data shared with ``tests/test_semantic_sdk_bodies.py`` (which builds the reference
client's body for the same call).

Every case mirrors a conformance scenario: the same prompt, tools and parameters.
"""

from __future__ import annotations

from typing import Any

SYSTEM = "You answer in French."
WEATHER_DESCRIPTION = "Current weather for a city."
WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "The city name."}},
    "required": ["city"],
}
SAMPLING: dict[str, Any] = {"temperature": 0.2, "top_p": 0.9, "max_tokens": 64, "stop": ["4"]}
CALL_ID = "call_0"
CALL_ARGUMENTS: dict[str, Any] = {"city": "Paris"}
RESULT = "Sunny in Paris, 21 C"

PROMPTS = {
    "system_prompt": "Say hello.",
    "sampling_parameters": "Count to ten.",
    "tool_choice_required": "Anything.",
    "tool_choice_named": "Weather?",
    "tool_call_single": "What is the weather in Paris?",
    "tool_result": "What is the weather in Paris?",
    "stream": "Say hello.",
}
"""Case name -> the user's prompt."""

CASES = tuple(PROMPTS)


def get_weather(city: str) -> str:
    """Current weather for a city.

    Args:
        city: The city name.
    """
    return f"Sunny in {city}, 21 C"


VARIANTS = {
    "tool_choice_required_openapi_schema": "tool_choice_required",
    "tool_result_function_schema": "tool_result",
}
"""Captured variants of a case (another spelling of the same call) -> the case."""


def base_case(name: str) -> str:
    """The case a captured file's ``case`` is a spelling of."""
    return VARIANTS.get(name, name)
