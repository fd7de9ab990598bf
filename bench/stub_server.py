"""A minimal, fast HTTP/1.1 keep-alive stub on loopback that answers like each provider.

Run in its own process by the benchmarks (``python bench/stub_server.py PORT_FILE``) so
the client under test has a core of its own. It parses just enough HTTP for keep-alive
POSTs with a content-length, and never touches anything but 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from harness.emulator import Emulator, Reply

PATHS = {
    "openai": "/v1/chat/completions",
    "anthropic": "/v1/messages",
    "gemini": "/v1beta/models/gemini-test:generateContent",
    "bedrock": "/model/amazon.nova-micro-v1%3A0/converse",
}
ASKED = json.dumps({"model": "m", "messages": [{"role": "user", "content": "ping"}]}).encode()


def provider_of(path: str) -> str:
    """Which provider a request path belongs to."""
    for provider, suffix in (("openai", "/chat/completions"), ("anthropic", "/messages")):
        if path.endswith(suffix):
            return provider
    return "gemini" if ":generateContent" in path else "bedrock"


def rendered(provider: str) -> bytes:
    """A whole HTTP response: the emulator's answer "pong" in ``provider``'s format,
    rendered once so the stub costs nothing per request."""
    answer = Emulator([Reply("pong")]).handle(
        "POST", f"http://stub{PATHS[provider]}", {"content-type": "application/json"}, ASKED
    )
    body = b"".join(answer.chunks)
    if answer.status != 200:
        raise SystemExit(f"the emulator refused the {provider} request: {body!r}")
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )


RESPONSES = {provider: rendered(provider) for provider in PATHS}


class StubProtocol(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            path = head.split(" ", 2)[1]
            self.buffer = self.buffer[end:]
            self.transport.write(RESPONSES[provider_of(path.split("?")[0])])


async def serve(port_file: str) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(StubProtocol, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    Path(port_file).write_text(str(port))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
