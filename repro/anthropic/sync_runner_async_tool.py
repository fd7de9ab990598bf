"""anthropic: the sync tool runner refuses an async tool.

Found by the conformance suite (anthropic-sdk adapter, issue 10). The suite's chains get
plain Python functions, sync and async mixed; the reference client's sync chain runs an
`async def` tool too, even from inside a running event loop. The SDK's sync
`client.beta.messages.tool_runner(...)` refuses any async tool (`beta_async_tool`) with a
TypeError when the runner is built, before any request; its message names the tool's
class (BetaAsyncFunctionTool), not the tool.

Mechanism checked: `Anthropic().beta.messages.tool_runner(tools=[get_weather (sync),
get_time (async)], thread=False)` against a loopback Messages API that asks for both
tools, then answers. Exit 1 when the runner refuses the async tool, 0 when both tools ran
and their results went back, 3 when the release has no tool runner.
"""

import asyncio
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anthropic


def tool_use(i, name, **arguments):
    return {"type": "tool_use", "id": f"toolu_{i}", "name": name, "input": arguments}


REPLIES = [
    ([tool_use(0, "get_time", city="Tokyo"), tool_use(1, "get_weather", city="Tokyo")], "tool_use"),
    ([{"type": "text", "text": "Sunny, and it is 14:05 in Tokyo."}], "end_turn"),
]


def serve(replies):
    """A loopback Anthropic Messages API answering `replies` in turn (not streamed)."""
    bodies = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            bodies.append(body)
            content, stop = replies[min(len(bodies), len(replies)) - 1]
            data = json.dumps(
                {
                    "id": f"msg_{len(bodies)}",
                    "type": "message",
                    "role": "assistant",
                    "model": body["model"],
                    "content": content,
                    "stop_reason": stop,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 20, "output_tokens": 9},
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
    return f"http://127.0.0.1:{server.server_port}", bodies


def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}, 21 C"


async def get_time(city: str) -> str:
    """Local time in a city."""
    await asyncio.sleep(0)
    return f"14:05 in {city}"


def main():
    if not hasattr(anthropic, "beta_async_tool"):
        return 3
    base_url, bodies = serve(REPLIES)
    client = anthropic.Anthropic(api_key="sk-ant-test", base_url=base_url, max_retries=0)
    try:
        runner = client.beta.messages.tool_runner(
            model="claude-sonnet-4-5",
            max_tokens=1024,
            messages=[{"role": "user", "content": "Weather and time in Tokyo?"}],
            tools=[anthropic.beta_tool(get_weather), anthropic.beta_async_tool(get_time)],
            thread=False,
        )
        final = runner.until_done()
    except TypeError as exc:
        print(
            f"DIFFERENCE: the sync tool runner refused the async tool, after "
            f"{len(bodies)} request(s): {exc}"
        )
        return 1
    results = [
        b.get("content")
        for m in bodies[1]["messages"]
        for b in m["content"]
        if isinstance(b, dict) and b.get("type") == "tool_result"
    ]
    print(f"tool results sent: {results}; answer {final.content[0].text!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
