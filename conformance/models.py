"""The model names the specs ask for: real names, which registry-based clients accept.

Every spec distinguishes its clients by model: the scenario's client, the process default
(whose model no recorded answer in a context spec belongs to, so a mode that loses the
caller's context is caught), and, in the concurrency specs, one client per task. Each
such *role* has a fixed index into its provider's list below, the same in every mode, so
that a cassette recorded in one mode replays in all of them.
"""

from __future__ import annotations

MODELS: dict[str, tuple[str, ...]] = {
    "openai": (
        # the first eight are chat models in simonw/llm's registry (llm 0.36)
        "gpt-4o-mini",
        "gpt-4.1-nano",
        "gpt-4o",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-3.5-turbo",
        "gpt-4-turbo",
        "gpt-4",
        "gpt-3.5-turbo-16k",
        "gpt-4-turbo-2024-04-09",
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-nano",
        "gpt-5.1",
        "gpt-5.2",
        "o1",
        "o3",
        "o3-mini",
        "o4-mini",
        "gpt-5-2025-08-07",
        "gpt-5-mini-2025-08-07",
        "gpt-5-nano-2025-08-07",
    ),
    "anthropic": (
        "claude-sonnet-4-5",
        "claude-3-7-sonnet-latest",
        "claude-haiku-4-5",
        "claude-opus-4-1",
        "claude-opus-4-0",
        "claude-sonnet-4-0",
        "claude-3-5-haiku-latest",
        "claude-opus-4-5",
        "claude-sonnet-4-5-20250929",
        "claude-haiku-4-5-20251001",
        "claude-opus-4-1-20250805",
        "claude-opus-4-20250514",
        "claude-sonnet-4-20250514",
        "claude-3-7-sonnet-20250219",
        "claude-3-5-haiku-20241022",
        "claude-3-5-sonnet-20241022",
        "claude-3-5-sonnet-20240620",
        "claude-3-haiku-20240307",
        "claude-3-opus-20240229",
        "claude-3-sonnet-20240229",
        "claude-opus-4-5-20251101",
        "claude-3-opus-latest",
    ),
    "gemini": (
        "gemini-2.5-flash",
        "gemini-2.5-pro",
        "gemini-2.0-flash",
        "gemini-2.5-flash-lite",
        "gemini-2.0-flash-lite",
        "gemini-1.5-pro",
        "gemini-1.5-flash",
        "gemini-1.5-flash-8b",
        "gemini-2.0-flash-001",
        "gemini-2.0-flash-lite-001",
        "gemini-1.5-pro-002",
        "gemini-1.5-flash-002",
        "gemini-flash-latest",
        "gemini-flash-lite-latest",
        "gemini-pro-latest",
        "gemini-2.5-flash-preview-09-2025",
        "gemini-2.5-flash-lite-preview-09-2025",
        "gemini-3-pro-preview",
        "gemini-3-flash-preview",
        "gemini-1.5-pro-001",
        "gemini-1.5-flash-001",
        "gemini-2.0-flash-exp",
    ),
    "bedrock": (
        # Converse models (the suite records Converse bodies)
        "us.amazon.nova-micro-v1:0",
        "us.amazon.nova-lite-v1:0",
        "us.amazon.nova-pro-v1:0",
        "amazon.nova-micro-v1:0",
        "amazon.nova-lite-v1:0",
        "amazon.nova-pro-v1:0",
        "us.amazon.nova-premier-v1:0",
        "eu.amazon.nova-micro-v1:0",
        "eu.amazon.nova-lite-v1:0",
        "eu.amazon.nova-pro-v1:0",
        "apac.amazon.nova-micro-v1:0",
        "apac.amazon.nova-lite-v1:0",
        "apac.amazon.nova-pro-v1:0",
        "us.meta.llama3-1-8b-instruct-v1:0",
        "us.meta.llama3-1-70b-instruct-v1:0",
        "us.meta.llama3-2-1b-instruct-v1:0",
        "us.meta.llama3-2-3b-instruct-v1:0",
        "mistral.mistral-small-2402-v1:0",
        "mistral.mistral-large-2402-v1:0",
        "cohere.command-r-v1:0",
        "cohere.command-r-plus-v1:0",
        "us.deepseek.r1-v1:0",
    ),
}
"""Per provider: the scenario's model first, the process default's second (a name that is
no part of another name here, so a message can point it out), then more."""

SCENARIO = "scenario"
"""The role of the client a scenario (or a regression spec's main client) runs on."""
LOST = "lost"
"""The role of the process default in context specs: a request for its model means a mode
lost the caller's context."""
NAMED_ROLES = (
    "default",
    "scoped",
    "inner",
    "outer",
    "first",
    "second",
    "third",
    "override-a",
    "override-b",
    "slow",
)
"""The other roles the regression specs use, each with its own model."""
TASK_ROLES = 20
"""``task0`` .. ``task19``: one model per concurrent task (their indices overlap the named
roles': a spec uses task roles or named roles, never both)."""


def role_index(role: str) -> int:
    """The index of ``role``'s model in each provider's list."""
    if role == SCENARIO:
        return 0
    if role == LOST:
        return 1
    if role in NAMED_ROLES:
        return 2 + NAMED_ROLES.index(role)
    number = role.removeprefix("task")
    if role.startswith("task") and number.isdigit() and int(number) < TASK_ROLES:
        return 2 + int(number)
    raise ValueError(f"unknown role {role!r}: add it to conformance/models.py")


def model_for(provider: str, role: str = SCENARIO) -> str:
    """The model ``role``'s client uses on ``provider``."""
    return MODELS[provider][role_index(role)]
