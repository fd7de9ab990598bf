"""litellm: each event loop an async call ran in stays alive, with an open aiohttp session.

Found by the llm-parity conformance suite (successive_event_loops, mode two_loops, on all
four providers): the same `acompletion` made in two event loops one after the other (two
`asyncio.run` calls, as a script or a test suite does) answers both times, but once both
loops have ended, garbage collection frees neither. litellm caches its async HTTP clients
in `litellm.in_memory_llm_clients_cache` for an hour and never closes or drops a client
whose loop has ended; a new loop gets a new client. Each cached client owns an
`aiohttp.ClientSession`, still open, still holding its connection's socket transport, on
a closed loop. Known upstream as the client-cache/event-loop problem (BerriAI/litellm
issues 7667, 24230, 31245, 40490).

Checked on the OpenAI path (a cached `AsyncOpenAI` over litellm's aiohttp transport)
and the Anthropic path (litellm's own aiohttp handler), against a stdlib loopback server.
Exit 1 when the first loop is still alive after both runs and a `gc.collect()`.

    python repro/litellm/event_loops_kept_alive.py   # litellm 1.110.2: exit 1
"""

import asyncio
import gc
import json
import os
import sys
import threading
import weakref
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-list download
import aiohttp
import litellm

OPENAI = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 0,
    "model": "gpt-4o-mini",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Hi."}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
}
ANTHROPIC = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "Hi."}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 3, "output_tokens": 2},
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps(ANTHROPIC if "messages" in self.path else OPENAI).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def loops_kept(model, api_base):
    """Two asyncio.run calls of the same acompletion; whether the first loop survives."""
    first = []

    async def call():
        if not first:
            first.append(weakref.ref(asyncio.get_running_loop()))
        reply = await litellm.acompletion(
            model=model,
            api_base=api_base,
            api_key="test",
            messages=[{"role": "user", "content": "Say hello."}],
        )
        return reply.choices[0].message.content

    answers = [asyncio.run(call()), asyncio.run(call())]
    gc.collect()
    return answers, first[0]() is not None


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_port}"
    print(f"litellm {version('litellm')}")
    kept = False
    for model, api_base in (
        ("openai/gpt-4o-mini", origin + "/v1"),
        ("anthropic/claude-sonnet-4-5", origin),
    ):
        answers, alive = loops_kept(model, api_base)
        kept |= alive
        print(f"{model}: answers {answers}, first loop alive after both ended: {alive}")
    open_sessions = [
        o
        for o in gc.get_objects()
        if isinstance(o, aiohttp.ClientSession) and not o.closed and o._loop.is_closed()
    ]
    print(f"open aiohttp sessions on closed loops: {len(open_sessions)}")
    return 1 if kept else 0


if __name__ == "__main__":
    sys.exit(main())
