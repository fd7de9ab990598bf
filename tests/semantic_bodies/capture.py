"""Record the request bodies real client libraries send, as fixtures for the semantic matcher.

Not run by the tests. Run it in a throwaway venv holding the libraries and this project:

    python3 -m venv /tmp/sdkvenv
    /tmp/sdkvenv/bin/pip install openai anthropic litellm 'llm==0.36' google-genai boto3
    /tmp/sdkvenv/bin/pip install -e '.[bedrock]'
    /tmp/sdkvenv/bin/python tests/semantic_bodies/capture.py [CLIENT ...]

Each client makes the calls of ``cases.py`` against the project's emulator served on a
loopback port (``harness.emulator.serve``), so the libraries parse real-shaped answers; the
request each call sends is written to ``<client>/<case>.json`` as
``{"client", "version", "provider", "case", "method", "path", "query", "body"}``, with
the body parsed from the bytes sent (key order kept). For follow-up turns the library's own
objects from the first answer are sent back where that is how the library is used (the
openai SDK's message, llm's chain), so the capture shows what the library itself adds.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cases import (  # noqa: E402  (the directory is put on sys.path above)
    CALL_ARGUMENTS,
    CALL_ID,
    PROMPTS,
    RESULT,
    SAMPLING,
    SYSTEM,
    WEATHER_DESCRIPTION,
    WEATHER_SCHEMA,
    get_weather,
)

from harness.emulator import Emulator, Reply, Step, serve  # noqa: E402
from harness.types import ToolCall  # noqa: E402

MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-sonnet-4-5",
    "gemini": "gemini-2.5-flash",
    "bedrock": "us.amazon.nova-micro-v1:0",
}
HELLO = Reply("Bonjour !")
ASKS = Reply(tool_calls=(ToolCall(CALL_ID, "get_weather", dict(CALL_ARGUMENTS)),))
Action = Callable[[str], Any]
"""Makes one case's call(s) against the emulator's base URL."""


def capture(client: str, provider: str, case: str, steps: Sequence[Step], action: Action) -> None:
    """Serve ``steps``, run ``action``, and save the LAST request it sent."""
    emulator = Emulator(list(steps))
    with serve(emulator) as base_url:
        result = action(base_url)
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    if not emulator.requests:
        raise RuntimeError(f"{client}/{case}: no request was sent")
    request = emulator.requests[-1]
    parts = urlsplit(request.url)
    try:
        body: Any = json.loads(request.body)
        key = "body"
    except ValueError:
        body, key = request.body.decode("utf-8", "replace"), "body_text"
    record = {
        "client": client,
        "version": VERSIONS[client](),
        "provider": provider,
        "case": case,
        "method": request.method,
        "path": parts.path,
        "query": parts.query,
        key: body,
    }
    target = HERE / client / f"{case}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{target.relative_to(HERE)}: {request.method} {parts.path}")


def _version(*packages: str) -> Callable[[], str]:
    def version() -> str:
        return ", ".join(f"{p} {importlib.metadata.version(p)}" for p in packages)

    return version


VERSIONS: dict[str, Callable[[], str]] = {
    "openai-sdk": _version("openai"),
    "anthropic-sdk": _version("anthropic"),
    "google-genai": _version("google-genai"),
    "llm": _version("llm", "openai"),
    "litellm-openai": _version("litellm"),
    "litellm-anthropic": _version("litellm"),
    "litellm-gemini": _version("litellm"),
    "litellm-bedrock": _version("litellm", "botocore"),
}


# --- the official openai SDK ----------------------------------------------------------


def openai_sdk() -> None:
    import openai

    def client(base: str) -> Any:
        return openai.OpenAI(api_key="sk-test", base_url=f"{base}/v1", max_retries=0)

    model = MODELS["openai"]
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": WEATHER_DESCRIPTION,
            "parameters": WEATHER_SCHEMA,
        },
    }

    def user(case: str) -> list[dict[str, Any]]:
        return [{"role": "user", "content": PROMPTS[case]}]

    def run(case: str, steps: Sequence[Step], **kwargs: Any) -> None:
        def action(base: str) -> Any:
            return client(base).chat.completions.create(model=model, **kwargs)

        capture("openai-sdk", "openai", case, steps, action)

    system = [{"role": "system", "content": SYSTEM}, *user("system_prompt")]
    run("system_prompt", [HELLO], messages=system)
    run("sampling_parameters", [HELLO], messages=user("sampling_parameters"), **SAMPLING)
    run(
        "tool_choice_required",
        [ASKS],
        messages=user("tool_choice_required"),
        tools=[tool],
        tool_choice="required",
    )
    run(
        "tool_choice_named",
        [ASKS],
        messages=user("tool_choice_named"),
        tools=[tool],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )

    def tool_result(base: str) -> None:
        # The usual loop: the SDK's own message object goes back in the history.
        messages: list[Any] = user("tool_result")
        first = client(base).chat.completions.create(model=model, messages=messages, tools=[tool])
        message = first.choices[0].message
        messages.append(message)
        for call in message.tool_calls or ():
            messages.append({"role": "tool", "tool_call_id": call.id, "content": RESULT})
        client(base).chat.completions.create(model=model, messages=messages, tools=[tool])

    capture("openai-sdk", "openai", "tool_result", [ASKS, HELLO], tool_result)

    def stream(base: str) -> None:
        chunks = client(base).chat.completions.create(
            model=model,
            messages=user("stream"),
            stream=True,
            stream_options={"include_usage": True},
        )
        for _ in chunks:
            pass

    capture("openai-sdk", "openai", "stream", [HELLO], stream)


# --- the official anthropic SDK -------------------------------------------------------


def anthropic_sdk() -> None:
    import anthropic

    def client(base: str) -> Any:
        return anthropic.Anthropic(api_key="sk-ant-test", base_url=base, max_retries=0)

    model = MODELS["anthropic"]
    tool = {
        "name": "get_weather",
        "description": WEATHER_DESCRIPTION,
        "input_schema": WEATHER_SCHEMA,
    }

    def user(case: str) -> list[dict[str, Any]]:
        return [{"role": "user", "content": PROMPTS[case]}]

    def run(case: str, steps: Sequence[Step], **kwargs: Any) -> None:
        kwargs.setdefault("max_tokens", 1024)

        def action(base: str) -> Any:
            return client(base).messages.create(model=model, **kwargs)

        capture("anthropic-sdk", "anthropic", case, steps, action)

    run("system_prompt", [HELLO], system=SYSTEM, messages=user("system_prompt"))
    run(
        "sampling_parameters",
        [HELLO],
        messages=user("sampling_parameters"),
        # anthropic 2.x's messages.create takes no temperature or top_p: extra_body.
        extra_body={"temperature": SAMPLING["temperature"], "top_p": SAMPLING["top_p"]},
        max_tokens=SAMPLING["max_tokens"],
        stop_sequences=SAMPLING["stop"],
    )
    run(
        "tool_choice_required",
        [ASKS],
        messages=user("tool_choice_required"),
        tools=[tool],
        tool_choice={"type": "any"},
    )
    run(
        "tool_choice_named",
        [ASKS],
        messages=user("tool_choice_named"),
        tools=[tool],
        tool_choice={"type": "tool", "name": "get_weather"},
    )

    def tool_result(base: str) -> None:
        # The usual loop: the SDK's own content blocks go back as the assistant turn.
        messages: list[Any] = user("tool_result")
        first = client(base).messages.create(
            model=model, max_tokens=1024, messages=messages, tools=[tool]
        )
        messages.append({"role": "assistant", "content": first.content})
        results = [
            {"type": "tool_result", "tool_use_id": block.id, "content": RESULT}
            for block in first.content
            if block.type == "tool_use"
        ]
        messages.append({"role": "user", "content": results})
        client(base).messages.create(model=model, max_tokens=1024, messages=messages, tools=[tool])

    capture("anthropic-sdk", "anthropic", "tool_result", [ASKS, HELLO], tool_result)

    def stream(base: str) -> None:
        with client(base).messages.stream(
            model=model, max_tokens=1024, messages=user("stream")
        ) as events:
            for _ in events:
                pass

    capture("anthropic-sdk", "anthropic", "stream", [HELLO], stream)


# --- google-genai ---------------------------------------------------------------------


def google_genai() -> None:
    from google import genai
    from google.genai import types

    clients: list[Any] = []  # a Client closes its connections when collected: keep them

    def client(base: str) -> Any:
        made = genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=base))
        clients.append(made)
        return made

    model = MODELS["gemini"]
    declaration = types.FunctionDeclaration(
        name="get_weather", description=WEATHER_DESCRIPTION, parameters_json_schema=WEATHER_SCHEMA
    )
    tools = [types.Tool(function_declarations=[declaration])]

    def run(case: str, steps: Sequence[Step], contents: Any = None, **config: Any) -> None:
        def action(base: str) -> Any:
            return client(base).models.generate_content(
                model=model,
                contents=PROMPTS[case] if contents is None else contents,
                config=types.GenerateContentConfig(**config),
            )

        capture("google-genai", "gemini", case, steps, action)

    run("system_prompt", [HELLO], system_instruction=SYSTEM)
    run(
        "sampling_parameters",
        [HELLO],
        temperature=SAMPLING["temperature"],
        top_p=SAMPLING["top_p"],
        max_output_tokens=SAMPLING["max_tokens"],
        stop_sequences=SAMPLING["stop"],
    )
    run(
        "tool_choice_required",
        [ASKS],
        tools=tools,
        tool_config=types.ToolConfig(
            function_calling_config=types.FunctionCallingConfig(mode="ANY")
        ),
    )
    run(
        "tool_choice_named",
        [ASKS],
        tools=tools,
        tool_config=types.ToolConfig(
            function_calling_config=types.FunctionCallingConfig(
                mode="ANY", allowed_function_names=["get_weather"]
            )
        ),
    )
    # The OpenAPI-subset spelling of the same schema: ``parameters`` with a Schema object.
    schema = types.Schema(
        type=types.Type.OBJECT,
        properties={"city": types.Schema(type=types.Type.STRING, description="The city name.")},
        required=["city"],
    )
    openapi = types.FunctionDeclaration(
        name="get_weather", description=WEATHER_DESCRIPTION, parameters=schema
    )
    capture(
        "google-genai",
        "gemini",
        "tool_choice_required_openapi_schema",
        [ASKS],
        lambda base: client(base).models.generate_content(
            model=model,
            contents=PROMPTS["tool_choice_required"],
            config=types.GenerateContentConfig(
                tools=[types.Tool(function_declarations=[openapi])],
                tool_config=types.ToolConfig(
                    function_calling_config=types.FunctionCallingConfig(mode="ANY")
                ),
            ),
        ),
    )

    def tool_result(base: str) -> None:
        # The usual loop: the SDK's own candidate content goes back in the history.
        config = types.GenerateContentConfig(
            tools=tools,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )
        contents: list[Any] = [
            types.Content(role="user", parts=[types.Part(text=PROMPTS["tool_result"])])
        ]
        first = client(base).models.generate_content(model=model, contents=contents, config=config)
        content = first.candidates[0].content
        contents.append(content)
        responses = [
            types.Part.from_function_response(
                name=part.function_call.name, response={"result": RESULT}
            )
            for part in content.parts
            if part.function_call
        ]
        contents.append(types.Content(role="user", parts=responses))
        client(base).models.generate_content(model=model, contents=contents, config=config)

    capture("google-genai", "gemini", "tool_result", [ASKS, HELLO], tool_result)

    def stream(base: str) -> None:
        for _ in client(base).models.generate_content_stream(
            model=model, contents=PROMPTS["stream"]
        ):
            pass

    capture("google-genai", "gemini", "stream", [HELLO], stream)


# --- simonw's llm ---------------------------------------------------------------------


def llm_library() -> None:
    import llm

    def model(base: str) -> Any:
        os.environ["OPENAI_BASE_URL"] = f"{base}/v1"  # read by the openai SDK llm uses
        found = llm.get_model(MODELS["openai"])
        found.key = "sk-test"
        return found

    tool = llm.Tool(
        name="get_weather",
        description=WEATHER_DESCRIPTION,
        input_schema=WEATHER_SCHEMA,
        implementation=get_weather,
    )

    def run(case: str, steps: Sequence[Step], **kwargs: Any) -> None:
        def action(base: str) -> Any:
            return model(base).prompt(PROMPTS[case], stream=False, **kwargs).text()

        capture("llm", "openai", case, steps, action)

    run("system_prompt", [HELLO], system=SYSTEM)
    # llm's ``stop`` option is one string.
    options = {**SAMPLING, "stop": SAMPLING["stop"][0]}
    run("sampling_parameters", [HELLO], **options)
    run("tool_call_single", [ASKS], tools=[tool])

    def tool_result(base: str) -> None:
        model(base).chain(PROMPTS["tool_result"], tools=[tool], stream=False).text()

    capture("llm", "openai", "tool_result", [ASKS, HELLO], tool_result)

    def tool_result_function(base: str) -> None:
        # llm's own schema, from the Python function.
        model(base).chain(PROMPTS["tool_result"], tools=[get_weather], stream=False).text()

    capture("llm", "openai", "tool_result_function_schema", [ASKS, HELLO], tool_result_function)

    def stream(base: str) -> None:
        for _ in model(base).prompt(PROMPTS["stream"], stream=True):
            pass

    capture("llm", "openai", "stream", [HELLO], stream)


# --- litellm, four providers ----------------------------------------------------------


def litellm_library(provider: str) -> None:
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # no download at import
    import litellm

    litellm.telemetry = False
    client = f"litellm-{provider}"
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": WEATHER_DESCRIPTION,
            "parameters": WEATHER_SCHEMA,
        },
    }

    def options(base: str) -> dict[str, Any]:
        if provider == "openai":
            return {"model": f"openai/{MODELS['openai']}", "api_base": f"{base}/v1", "api_key": "k"}
        if provider == "anthropic":
            return {"model": f"anthropic/{MODELS['anthropic']}", "api_base": base, "api_key": "k"}
        if provider == "gemini":
            return {
                "model": f"gemini/{MODELS['gemini']}",
                "api_base": f"{base}/v1beta",
                "api_key": "k",
            }
        return {
            "model": f"bedrock/converse/{MODELS['bedrock']}",
            "aws_bedrock_runtime_endpoint": base,
            "aws_access_key_id": "AKIDEXAMPLEKEY000000",
            "aws_secret_access_key": "secret-for-tests-only",
            "aws_region_name": "us-east-1",
        }

    def user(case: str) -> list[dict[str, Any]]:
        return [{"role": "user", "content": PROMPTS[case]}]

    def run(case: str, steps: Sequence[Step], **kwargs: Any) -> None:
        def action(base: str) -> Any:
            return litellm.completion(**options(base), num_retries=0, **kwargs)

        capture(client, provider, case, steps, action)

    system = [{"role": "system", "content": SYSTEM}, *user("system_prompt")]
    run("system_prompt", [HELLO], messages=system)
    run("sampling_parameters", [HELLO], messages=user("sampling_parameters"), **SAMPLING)
    run(
        "tool_choice_required",
        [ASKS],
        messages=user("tool_choice_required"),
        tools=[tool],
        tool_choice="required",
    )
    run(
        "tool_choice_named",
        [ASKS],
        messages=user("tool_choice_named"),
        tools=[tool],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )

    def tool_result(base: str) -> None:
        # The usual loop: litellm's own message object goes back in the history.
        messages: list[Any] = user("tool_result")
        first = litellm.completion(**options(base), messages=messages, tools=[tool])
        message = first.choices[0].message
        messages.append(message)
        for call in message.tool_calls or ():
            messages.append({"role": "tool", "tool_call_id": call.id, "content": RESULT})
        litellm.completion(**options(base), messages=messages, tools=[tool])

    capture(client, provider, "tool_result", [ASKS, HELLO], tool_result)

    def stream(base: str) -> None:
        for _ in litellm.completion(**options(base), messages=user("stream"), stream=True):
            pass

    capture(client, provider, "stream", [HELLO], stream)


CLIENTS: dict[str, Callable[[], None]] = {
    "openai-sdk": openai_sdk,
    "anthropic-sdk": anthropic_sdk,
    "google-genai": google_genai,
    "llm": llm_library,
    "litellm-openai": lambda: litellm_library("openai"),
    "litellm-anthropic": lambda: litellm_library("anthropic"),
    "litellm-gemini": lambda: litellm_library("gemini"),
    "litellm-bedrock": lambda: litellm_library("bedrock"),
}


def main(argv: Sequence[str]) -> int:
    for name in argv or CLIENTS:
        CLIENTS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
