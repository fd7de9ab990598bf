"""anthropic: the same refused connection reads differently in the sync and async clients.

Found by the llm-parity conformance suite (connection_refused, modes async and astream
against their sync baseline), no upstream issue known. Nothing listens on the port, no
provider said anything: the message is the SDK's own. `Anthropic` says
"Connection to HOST:PORT failed: [Errno 111] Connection refused", `AsyncAnthropic`
"... [Errno 111] Connect call failed ('HOST', PORT)": the async path passes on asyncio's
wording of the OSError, the sync path the socket's. Code that matches on the message, or
logs deduplicated by it, sees two failures where there is one.

Mechanism checked: a bound, never-listening loopback port, `max_retries=0`, one
`messages.create` through each client. Exit 1 when the two `APIConnectionError`
messages differ, 0 when they are equal.

    python repro/anthropic/connection_error_wording.py   # anthropic 2.17.0: exit 1
"""

import asyncio
import socket
import sys

import anthropic

ARGS = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "Say hello."}],
}


def main():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: every connection is refused
    base_url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    options = {"api_key": "test", "base_url": base_url, "max_retries": 0}
    messages = []
    try:
        anthropic.Anthropic(**options).messages.create(**ARGS)
    except anthropic.APIConnectionError as exc:
        messages.append(exc.message)

    async def call():
        async with anthropic.AsyncAnthropic(**options) as client:
            await client.messages.create(**ARGS)

    try:
        asyncio.run(call())
    except anthropic.APIConnectionError as exc:
        messages.append(exc.message)
    closed.close()
    print(f"anthropic {anthropic.__version__}")
    print(f"sync : {messages[0]!r}")
    print(f"async: {messages[1]!r}")
    if messages[0] != messages[1]:
        print("VERDICT: BUG (the same refused connection is worded differently sync and async)")
        return 1
    print("VERDICT: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
