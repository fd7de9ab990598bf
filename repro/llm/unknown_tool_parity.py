"""llm: an unknown tool gets the same error result in the async chain as in the sync one.

simonw/llm#1483 (commit "Async tool calls to missing tools now produce error results",
first released in 0.32a3). Mechanism checked: when the model calls a tool that was not
offered, the sync executor sends back an 'Error: tool "..." does not exist' result; the
async executor did not: 0.26 raised CancelToolCall out of the chain; 0.27 to 0.32a2
dropped the call (alone, the chain then ends after one request with an empty answer;
beside other calls, the next request carries a tool call without its result).

Exit 1 when the async chain differs from the sync one, 0 when it matches, 3 when the
release has no tools.
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
            "tool_calls": [tool_call(1, "calculator", expression="1+1")]},
           {"role": "assistant", "content": "I have no calculator."}]


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


def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"


def tool_messages(bodies):
    return [m for b in bodies[1:2] for m in b["messages"] if m.get("role") == "tool"]


def main():
    os.environ.update(LLM_USER_PATH=tempfile.mkdtemp(), OPENAI_API_KEY="sk-test")
    if not hasattr(llm, "Tool"):
        print(f"llm {llm.__version__ if hasattr(llm, '__version__') else ''}: no tools")
        return 3
    os.environ["OPENAI_BASE_URL"], sync_bodies = serve(REPLIES)
    model = llm.get_model("gpt-4o-mini")
    sync_text = model.chain("Use the calculator: 1+1.", tools=[get_weather]).text()
    print("sync  tool results:", tool_messages(sync_bodies), "answer:", repr(sync_text),
          f"({len(sync_bodies)} request(s))")

    os.environ["OPENAI_BASE_URL"], async_bodies = serve(REPLIES)
    amodel = llm.get_async_model("gpt-4o-mini")

    async def run():
        return await amodel.chain("Use the calculator: 1+1.", tools=[get_weather]).text()

    try:
        async_text = asyncio.run(run())
    except Exception as exc:
        print(f"async chain raised {type(exc).__name__}: {exc}")
        return 1
    print("async tool results:", tool_messages(async_bodies), "answer:", repr(async_text),
          f"({len(async_bodies)} request(s))")
    same = tool_messages(async_bodies) == tool_messages(sync_bodies) and async_text == sync_text
    print("same as sync" if same else "DIFFERENT from sync: the unknown tool call got no result")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
