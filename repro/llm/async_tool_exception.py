"""llm: a tool's own exception becomes an error result; its async siblings finish.

simonw/llm#1482 is cited for "the first failing tool raised out of the chain and the other
calls were abandoned". This control checks that claim's mechanism on the real releases:
the async model asks for `slow_lookup` (0.3 s) and `failing_lookup` (raises) at once.
The chain must finish with an error result for failing_lookup and the slow result, in
call order. Exit 1 when it does not, 0 when it does, 3 when the release has no tools.
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


CALLS = [tool_call(1, "slow_lookup", key="a"), tool_call(2, "failing_lookup", key="b")]
REPLIES = [{"role": "assistant", "content": None, "tool_calls": CALLS},
           {"role": "assistant", "content": "One of two lookups worked."}]


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



async def slow_lookup(key: str) -> str:
    """Look a key up in the slow index."""
    await asyncio.sleep(0.3)
    return f"slow:{key}"


async def failing_lookup(key: str) -> str:
    """Look a key up in the index that is down."""
    raise RuntimeError("lookup service down")


async def run(model):
    chain = model.chain("Look up a and b.", tools=[slow_lookup, failing_lookup])
    return await chain.text()


def main():
    os.environ.update(LLM_USER_PATH=tempfile.mkdtemp(), OPENAI_API_KEY="sk-test")
    if not hasattr(llm, "Tool"):
        return 3
    os.environ["OPENAI_BASE_URL"], bodies = serve(REPLIES)
    try:
        text = asyncio.run(run(llm.get_async_model("gpt-4o-mini")))
    except Exception as exc:
        print(f"BUG: the async chain raised {type(exc).__name__}: {exc}")
        return 1
    results = [m["content"] for b in bodies[1:2] for m in b["messages"] if m["role"] == "tool"]
    print(f"tool results sent back: {results}; answer {text!r}")
    ok = results == ["slow:a", "Error: lookup service down"] and text == REPLIES[1]["content"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
