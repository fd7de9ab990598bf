"""llm: a sync chain in a running event loop sends the model an error, not the async tool result.

Found by the llm-parity conformance suite (regression spec sync_chain_in_running_loop),
no upstream issue known. `Response.execute_tool_calls` runs an `async def` tool with
`asyncio.run()` on the caller's thread and turns any exception into the tool's result.
When the caller is itself a coroutine (a notebook cell, a web handler), `asyncio.run()`
raises, and the model is sent "Error: asyncio.run() cannot be called from a running
event loop" as the result; nothing is raised to the caller.

Mechanism checked: a loopback OpenAI Chat Completions API asks for the async tool
`get_time`, then answers; `model.chain(...)` is called from inside a coroutine, and the
tool result sent in the second request must be the tool's answer. Exit 1 when it is an
error text, 0 when it is the answer, 3 when the release has no tools.

    python repro/llm/chain_async_tool_in_running_loop.py   # llm 0.36: exit 1
"""

import asyncio
import json
import os
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import llm

CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_time", "arguments": json.dumps({"city": "Tokyo"})},
}
REPLIES = [
    {"role": "assistant", "content": None, "tool_calls": [CALL]},
    {"role": "assistant", "content": "It is 14:05 in Tokyo."},
]


def serve():
    """A loopback Chat Completions API answering REPLIES in turn (non-streamed)."""
    bodies = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            bodies.append(body)
            message = REPLIES[min(len(bodies), len(REPLIES)) - 1]
            finish = "tool_calls" if message.get("tool_calls") else "stop"
            data = json.dumps(
                {
                    "id": "c1",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/v1", bodies


async def get_time(city: str) -> str:
    """Local time in a city."""
    await asyncio.sleep(0)
    return f"14:05 in {city}"


async def handler(model):
    """A coroutine calling sync code, as notebooks and web handlers do."""
    chain = model.chain("What time is it in Tokyo?", tools=[get_time], stream=False)
    return chain.text()


def main():
    os.environ["LLM_USER_PATH"] = tempfile.mkdtemp()  # no keys.json of the user's
    if not hasattr(llm, "Tool"):
        print("this release has no tools")
        return 3
    url, bodies = serve()
    os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = url, "sk-test"
    text = asyncio.run(handler(llm.get_model("gpt-4o-mini")))
    sent = [m["content"] for b in bodies[1:2] for m in b["messages"] if m["role"] == "tool"]
    print(f"tool result sent to the model: {sent}; answer {text!r}")
    if sent != ["14:05 in Tokyo"]:
        print("BUG: the async tool did not run; the model was sent an error instead")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
