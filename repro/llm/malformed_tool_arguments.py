"""llm: tool-call arguments that are not JSON make the chain raise JSONDecodeError.

Found by the llm-parity conformance suite (chain_malformed_arguments, sync and async), no
upstream issue known. A model may send arguments that do not parse (`{"city": "Be`, cut
short); the suite expects the chain to send an error result back to the model, as it
does for a tool that raises or is unknown, and go on. llm's OpenAI plugin parses the
arguments with a bare `json.loads(...)` while reading the response, so the chain (sync
and async) stops with `json.JSONDecodeError` before any tool runs.

Mechanism checked: a loopback OpenAI API answers first with a get_weather call whose
arguments are `{"city": "Be`, then with a text answer. Exit 1 when a chain raises, 0
when both chains answer, 3 when the release has no tools.

    python repro/llm/malformed_tool_arguments.py   # llm 0.36: exit 1
"""

import asyncio
import json
import os
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import llm

CALL = {"id": "call_0", "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Be'}}
REPLIES = [{"role": "assistant", "content": None, "tool_calls": [CALL]},
           {"role": "assistant", "content": "I could not check the weather."}]


def serve():
    """A loopback OpenAI chat-completions server answering REPLIES in turn (not streamed)."""
    bodies = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            message = REPLIES[min(len(bodies), len(REPLIES)) - 1]
            finish = "tool_calls" if message.get("tool_calls") else "stop"
            data = json.dumps({
                "id": "c1", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29},
            }).encode()
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


def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"


def main():
    os.environ.update(LLM_USER_PATH=tempfile.mkdtemp(), OPENAI_API_KEY="sk-test")
    if not hasattr(llm, "Tool"):
        print("this release has no tools")
        return 3
    failed = False
    for kind in ("sync", "async"):
        os.environ["OPENAI_BASE_URL"], bodies = serve()
        try:
            if kind == "sync":
                model = llm.get_model("gpt-4o-mini")
                text = model.chain("Weather in Bern?", tools=[get_weather], stream=False).text()
            else:
                model = llm.get_async_model("gpt-4o-mini")
                chain = model.chain("Weather in Bern?", tools=[get_weather], stream=False)
                text = asyncio.run(chain.text())
        except Exception as exc:
            print(f"{kind:5} chain raised {type(exc).__module__}.{type(exc).__name__}: {exc}"
                  f" ({len(bodies)} request(s))")
            failed = True
            continue
        results = [m for m in bodies[-1]["messages"] if m.get("role") == "tool"]
        print(f"{kind:5} chain answered {text!r} after {len(bodies)} requests; "
              f"tool results sent: {results}")
    if failed:
        print("BUG: malformed arguments end the chain instead of becoming an error result")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
