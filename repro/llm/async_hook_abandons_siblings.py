"""llm: an exception raised by a tool hook does not abandon the sibling async tools.

simonw/llm#1482 (PauseChain and chain resume, first released in 0.32a3), which defined
the failure semantics of concurrent async tools: sibling tasks run to completion before a
hook exception propagates (gather with return_exceptions). Before it, the async executor
gathered the tool tasks without return_exceptions, so an exception raised by a
before_call hook for one call left the chain while the other tools were still running;
asyncio.run then cancelled them. (A tool's own exception was always turned into an
error result: see async_tool_exception.py.)

Mechanism checked: `before_call` raises for `fast_lookup`; `slow_lookup` (0.3 s) must have
finished when the exception reaches the caller. Exit 1 when it had not, 0 when it had,
3 when the release has no tools.
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


CALLS = [tool_call(1, "slow_lookup", key="a"), tool_call(2, "fast_lookup", key="b")]
REPLIES = [{"role": "assistant", "content": None, "tool_calls": CALLS},
           {"role": "assistant", "content": "Done."}]
STATE = {}


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
    STATE["slow"] = "running"
    await asyncio.sleep(0.3)
    STATE["slow"] = "finished"
    return f"slow:{key}"


async def fast_lookup(key: str) -> str:
    """Look a key up in the fast index."""
    return f"fast:{key}"


def before_call(tool, tool_call):
    if tool_call.name == "fast_lookup":
        raise PermissionError("fast_lookup is not allowed")


async def run(model):
    chain = model.chain("Look up a and b.", tools=[slow_lookup, fast_lookup],
                        before_call=before_call)
    try:
        await chain.text()
    except PermissionError as exc:
        return f"raised {exc!r}; slow_lookup was {STATE.get('slow', 'never started')}"
    return "no exception"


def main():
    os.environ.update(LLM_USER_PATH=tempfile.mkdtemp(), OPENAI_API_KEY="sk-test")
    if not hasattr(llm, "Tool"):
        return 3
    os.environ["OPENAI_BASE_URL"], _ = serve(REPLIES)
    seen = asyncio.run(run(llm.get_async_model("gpt-4o-mini")))
    print(f"async chain: {seen}; after asyncio.run: slow_lookup {STATE.get('slow')}")
    if seen.endswith("was running"):
        print("BUG: the hook's exception left the chain while slow_lookup was mid-flight")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
