"""The vcrpy serializer for ``cassettes/<provider>/<scenario>.yaml``: readable, diff-friendly.

Still vcrpy YAML (``interactions:`` + ``version: 1``), with bodies stored for people:

- a JSON object body as a YAML mapping under ``json:``; on load it becomes
  ``json.dumps(value, separators=(",", ":"))`` again (request: ``body: {json: ...}``,
  response: ``body: {json: ...}`` in place of ``body: {string: ...}``);
- any other text verbatim as a string, multi-line ones as literal blocks (``|``): SSE,
  and JSON arrays such as Gemini's non-SSE stream ``[{...}\n,\r\n{...}\n]``, whose
  separators a client may depend on (``json:`` arrays written before are still read);
- binary bodies (AWS eventstream) as ``!!binary``.

Header names are lower-case and sorted, values lists; long lines are never folded, so
one changed value is one changed line. ``content-length`` is set from the body on load.
Secrets are scrubbed again on the way out (see ``harness.cassettes.scrub``).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

import yaml

from harness.cassettes.bodies import body_bytes
from harness.cassettes.scrub import Scrubber, scrub_body, scrub_text

__all__ = ["CassetteSerializer", "clear_cache", "plain_copy"]

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


class _Dumper(yaml.SafeDumper):
    """The pure-Python emitter (same output with or without libyaml): block style,
    multi-line strings as literal blocks."""


_FOLDED_BREAKS = ("\r", "\x85", "\u2028", "\u2029")
"""Line breaks YAML would turn into ``\n`` or a space unless escaped."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if any(character in value for character in _FOLDED_BREAKS):
        style: str | None = '"'
    else:
        style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _as_text(body: Any) -> str | bytes | None:
    if isinstance(body, (bytes, bytearray)):
        try:
            return bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(body)
    return body if body is None or isinstance(body, str) else str(body)


def _stored_body(body: Any) -> Any:
    """A body as written: ``{"json": value}`` for a JSON object, else text or bytes."""
    content = _as_text(body)
    if isinstance(content, str) and content.lstrip()[:1] == "{":
        try:
            value = json.loads(content)
        except ValueError:
            return content
        if isinstance(value, dict):
            return {"json": value}
    return content


def _loaded_body(stored: Any) -> Any:
    if isinstance(stored, dict) and "json" in stored:
        return _compact(stored["json"])
    return stored


def _stored_headers(headers: Any, scrubber: Scrubber) -> dict[str, list[Any]]:
    merged: dict[str, list[Any]] = {}
    for name, value in (headers or {}).items():
        values = value if isinstance(value, list) else [value]
        merged.setdefault(str(name).lower(), []).extend(values)
    return dict(sorted(scrubber.headers(merged).items()))


def _fix_length(headers: Any, body: Any) -> None:
    if not isinstance(headers, dict):
        return
    size = len(body.encode("utf-8") if isinstance(body, str) else body or b"")
    for name in headers:
        if str(name).lower() == "content-length":
            headers[name] = [str(size)]


class CassetteSerializer:
    """vcrpy serializer (``serialize``/``deserialize``); also reads plain vcrpy YAML."""

    def __init__(self, scrubber: Scrubber | None = None) -> None:
        self.scrubber = scrubber or Scrubber()

    def serialize(self, cassette_dict: dict[str, Any]) -> str:
        """vcrpy's cassette dict -> YAML text (secrets scrubbed once more)."""
        document: dict[str, Any] = {
            "interactions": [self._interaction(item) for item in cassette_dict["interactions"]]
        }
        if cassette_dict.get("metadata"):
            document["metadata"] = cassette_dict["metadata"]
        document["version"] = cassette_dict.get("version", 1)
        return yaml.dump(
            document,
            Dumper=_Dumper,
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
            width=2**31 - 1,
        )

    def _interaction(self, item: dict[str, Any]) -> dict[str, Any]:
        request, response = item["request"], item["response"]
        known = sorted(self.scrubber.known, key=len, reverse=True)
        stored_request = {
            "method": request["method"],
            "uri": self._scrub(request["uri"], known),
            "headers": _stored_headers(request.get("headers"), self.scrubber),
            "body": _stored_body(self._scrub(request.get("body"), known)),
        }
        body = response.get("body")
        stored_response = {key: value for key, value in response.items() if key != "body"}
        stored_response["headers"] = _stored_headers(response.get("headers"), self.scrubber)
        if isinstance(body, dict):
            content = _stored_body(self._scrub(body.get("string"), known))
            if isinstance(content, dict):
                body = {**{k: v for k, v in body.items() if k != "string"}, **content}
            else:
                body = {**body, "string": content}
        stored_response["body"] = body
        return {"request": stored_request, "response": stored_response}

    @staticmethod
    def _scrub(value: Any, known: list[str]) -> Any:
        """``value`` scrubbed; a body in another form than text or bytes (aiohttp's
        ``json=``/``data={...}`` mapping, a file, chunks) becomes bytes first."""
        if value is None:
            return None
        if isinstance(value, str):
            return scrub_text(value, known)
        return scrub_body(body_bytes(value), known)

    def deserialize(self, cassette_string: str) -> dict[str, Any]:
        """YAML text -> vcrpy's cassette dict (JSON bodies rebuilt, lengths fixed).

        The suite replays each cassette once per mode, so results are cached by text
        (a few recent cassettes); every call gets its own copy.
        """
        cached = _CACHE.get(cassette_string)
        if cached is None:
            cached = _CACHE[cassette_string] = self._parse(cassette_string)
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
        else:
            _CACHE.move_to_end(cassette_string)
        copied: dict[str, Any] = plain_copy(cached)
        return copied

    @staticmethod
    def _parse(cassette_string: str) -> dict[str, Any]:
        document = yaml.load(cassette_string, Loader=_Loader)
        if not isinstance(document, dict) or not isinstance(document.get("interactions"), list):
            raise ValueError("not a vcrpy cassette: no 'interactions' list")
        for item in document.get("interactions") or ():
            request, response = item.get("request", {}), item.get("response", {})
            request["body"] = _loaded_body(request.get("body"))
            _fix_length(request.get("headers"), request["body"] or b"")
            body = response.get("body")
            if isinstance(body, dict) and "json" in body:
                body["string"] = _loaded_body({"json": body.pop("json")})
            if isinstance(body, dict):
                _fix_length(response.get("headers"), body.get("string") or b"")
        return dict(document)


def plain_copy(value: Any) -> Any:
    """A deep copy of plain YAML data (strings and bytes are immutable: shared)."""
    if isinstance(value, dict):
        return {key: plain_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_copy(item) for item in value]
    if isinstance(value, set):
        return set(value)
    return value


CACHE_SIZE = 32
_CACHE: OrderedDict[str, dict[str, Any]] = OrderedDict()


def clear_cache() -> None:
    """Forget the parsed cassettes kept by ``CassetteSerializer.deserialize``."""
    _CACHE.clear()
