"""The model a provider names in its answer, for the model a request asked for.

Real services answer an alias with the snapshot that served it: OpenAI a dated snapshot
(``gpt-4o-mini`` -> ``gpt-4o-mini-2024-07-18``), Anthropic the dated id
(``claude-sonnet-4-5`` -> ``claude-sonnet-4-5-20250929``), Gemini the resolved version in
``modelVersion`` (the ``-latest`` aliases name a preview release; a stable name answers
as itself). Bedrock Converse bodies name no model at all.

A name the tables do not hold (already dated, or unknown) is answered as itself.
"""

from __future__ import annotations

SNAPSHOTS: dict[str, dict[str, str]] = {
    "openai": {
        "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
        "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
        "gpt-4o": "gpt-4o-2024-08-06",
        "gpt-4.1": "gpt-4.1-2025-04-14",
        "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
        "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
        "gpt-4-turbo": "gpt-4-turbo-2024-04-09",
        "gpt-4": "gpt-4-0613",
        "gpt-3.5-turbo-16k": "gpt-3.5-turbo-16k-0613",
        "gpt-5": "gpt-5-2025-08-07",
        "gpt-5-mini": "gpt-5-mini-2025-08-07",
        "gpt-5-nano": "gpt-5-nano-2025-08-07",
        "o1": "o1-2024-12-17",
        "o3": "o3-2025-04-16",
        "o3-mini": "o3-mini-2025-01-31",
        "o4-mini": "o4-mini-2025-04-16",
    },
    "anthropic": {
        "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
        "claude-3-7-sonnet-latest": "claude-3-7-sonnet-20250219",
        "claude-haiku-4-5": "claude-haiku-4-5-20251001",
        "claude-opus-4-1": "claude-opus-4-1-20250805",
        "claude-opus-4-0": "claude-opus-4-20250514",
        "claude-sonnet-4-0": "claude-sonnet-4-20250514",
        "claude-3-5-haiku-latest": "claude-3-5-haiku-20241022",
        "claude-opus-4-5": "claude-opus-4-5-20251101",
        "claude-3-opus-latest": "claude-3-opus-20240229",
    },
    "gemini": {
        "gemini-flash-latest": "gemini-2.5-flash-preview-09-2025",
        "gemini-flash-lite-latest": "gemini-2.5-flash-lite-preview-09-2025",
    },
}
"""Per provider: requested name -> the name the answer carries."""

UNNAMED = frozenset({("bedrock", "converse")})
"""``(provider, api)`` pairs whose answers name no model."""


def returned_model(provider: str, requested: str, api: str = "") -> str | None:
    """The model ``provider`` names when answering a request for ``requested`` (through
    ``api`` where a provider has several: Bedrock ``converse`` or ``invoke``); None when
    its answers name none (Bedrock Converse)."""
    if (provider, api or _DEFAULT_API.get(provider, "")) in UNNAMED:
        return None
    return SNAPSHOTS.get(provider, {}).get(requested, requested)


_DEFAULT_API = {"bedrock": "converse"}
