"""llm: a sync chain called inside a running event loop runs its async tool.

No upstream issue known (found by this project's recording, issue 10). The sync
executor runs an `async def` tool with asyncio.run() on the caller's thread and turns any
exception into the tool's result, so when the caller is itself a coroutine (a notebook
cell, a web handler) the model is silently sent the result "Error: asyncio.run() cannot
be called from a running event loop" instead of the tool's answer; nothing is raised.

Mechanism checked: `model.chain(...)` (sync) with the async tool `get_time`, called from
inside a coroutine; the tool result sent back must be the tool's answer. Exit 1 when the
model got an error result instead, 0 when it got the answer, 3 when the release has no tools.
"""

import asyncio
import json
import os
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import llm


def tool_call(i, name, **arguments):
    return {"id": f"call_{i}", "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)}}


REPLIES = [{"role": "assistant", "content": None,
            "tool_calls": [tool_call(1, "get_time", city="Tokyo")]},
           {"role": "assistant", "content": "It is 14:05 in Tokyo."}]


def serve(replies):
    """A loopback OpenAI chat-completions server answering `replies` in turn."""
    bodies = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            bodies.append(body)
            message = replies[min(len(bodies), len(replies)) - 1]
            finish = "tool_calls" if message.get("tool_calls") else "stop"
            base = {"id": "c1", "created": 0, "model": body["model"]}
            if body.get("stream"):  # as OpenAI streams: the call first, its arguments after
                calls = message.get("tool_calls", [])
                deltas = [{"role": "assistant", "content": message["content"], "tool_calls": [
                    {**c, "index": i, "function": {**c["function"], "arguments": ""}}
                    for i, c in enumerate(calls)] or None}]
                deltas += [{"tool_calls": [{"index": i, "function": c["function"]}]}
                           for i, c in enumerate(calls)]
                chunks = [{"index": 0, "delta": d, "finish_reason": None} for d in deltas]
                chunks.append({"index": 0, "delta": {}, "finish_reason": finish})
                events = [{**base, "object": "chat.completion.chunk", "choices": [c]}
                          for c in chunks]
                data = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
                kind = "text/event-stream"
            else:
                choice = {"index": 0, "message": message, "finish_reason": finish}
                data = json.dumps({**base, "object": "chat.completion", "choices": [choice]})
                kind = "application/json"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data.encode())))
            self.end_headers()
            self.wfile.write(data.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/v1", bodies



async def get_time(city: str) -> str:
    """The current time in a city."""
    await asyncio.sleep(0)
    return f"14:05 in {city}"


async def handler(model):
    """A coroutine calling sync code, as notebooks and web handlers do."""
    return model.chain("What time is it in Tokyo?", tools=[get_time]).text()


def main():
    os.environ.update(LLM_USER_PATH=tempfile.mkdtemp(), OPENAI_API_KEY="sk-test")
    if not hasattr(llm, "Tool"):
        return 3
    os.environ["OPENAI_BASE_URL"], bodies = serve(REPLIES)
    text = asyncio.run(handler(llm.get_model("gpt-4o-mini")))
    results = [m["content"] for b in bodies[1:2] for m in b["messages"] if m["role"] == "tool"]
    print(f"tool result sent to the model: {results}; answer {text!r}")
    if results != ["14:05 in Tokyo"]:
        print("BUG: the async tool did not run; the model got an error result instead")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
