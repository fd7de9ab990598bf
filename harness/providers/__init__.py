"""Provider codecs, chosen by the prefix of a model string (``openai/gpt-4o``)."""

from __future__ import annotations

import inspect
from typing import Any

from harness.providers.base import Codec, HttpRequest, StreamDecoder
from harness.types import ConfigurationError

PROVIDERS = ("openai", "anthropic", "gemini", "bedrock")

__all__ = ["PROVIDERS", "Codec", "HttpRequest", "StreamDecoder", "make_codec", "split_model"]


def split_model(model: str) -> tuple[str, str]:
    """``"openai/gpt-4o"`` -> ``("openai", "gpt-4o")``; raises on an unknown provider."""
    provider, sep, name = model.partition("/")
    if not sep or not name:
        raise ConfigurationError(
            f"model {model!r} has no provider prefix: write it as 'PROVIDER/MODEL' "
            f"with PROVIDER one of {', '.join(PROVIDERS)}"
        )
    if provider not in PROVIDERS:
        raise ConfigurationError(
            f"unknown provider {provider!r} in model {model!r}: "
            f"choose one of {', '.join(PROVIDERS)}"
        )
    return provider, name


def make_codec(provider: str, **options: Any) -> Codec:
    """The codec for ``provider``; ``options`` go to its constructor (api_key, base_url...).

    Codecs are imported on demand, so botocore is only imported for Bedrock.
    """
    codec_class: type[Any]
    if provider == "openai":
        from harness.providers.openai import OpenAICodec as codec_class
    elif provider == "anthropic":
        from harness.providers.anthropic import AnthropicCodec as codec_class
    elif provider == "gemini":
        from harness.providers.gemini import GeminiCodec as codec_class
    elif provider == "bedrock":
        from harness.providers.bedrock import BedrockCodec as codec_class
    else:
        raise ConfigurationError(
            f"unknown provider {provider!r}: choose one of {', '.join(PROVIDERS)}"
        )
    accepted = [
        name
        for name, parameter in inspect.signature(codec_class).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        or parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigurationError(
            f"{provider} does not take option(s) {', '.join(unknown)}: "
            f"its options are {', '.join(accepted)}"
        )
    codec: Codec = codec_class(**options)
    return codec
