"""anthropic: the async tool runner refuses a sync tool.

Found by the conformance suite (anthropic-sdk adapter, issue 10). The suite's async
chains get plain Python functions, mostly sync ones (`def get_weather`); the reference
client's async chain runs sync tools in worker threads. The SDK's async
`AsyncAnthropic().beta.messages.tool_runner(...)` refuses any sync tool (`beta_tool`)
with a TypeError when the runner is built, before any request, so an application with
sync tool functions must rewrite them as coroutines to use the async client.

Mechanism checked: `AsyncAnthropic().beta.messages.tool_runner(tools=[get_weather
(sync)], thread=False)` against a loopback Messages API that asks for the tool, then
answers. Exit 1 when the runner refuses the sync tool, 0 when it ran and its result went
back, 3 when the release has no tool runner.
"""

import asyncio
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anthropic

REPLIES = [
    (
        [{"type": "tool_use", "id": "toolu_0", "name": "get_weather", "input": {"city": "Paris"}}],
        "tool_use",
    ),
    ([{"type": "text", "text": "It is sunny in Paris."}], "end_turn"),
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


async def chain(base_url):
    async with anthropic.AsyncAnthropic(
        api_key="sk-ant-test", base_url=base_url, max_retries=0
    ) as client:
        runner = client.beta.messages.tool_runner(
            model="claude-sonnet-4-5",
            max_tokens=1024,
            messages=[{"role": "user", "content": "What is the weather in Paris?"}],
            tools=[anthropic.beta_tool(get_weather)],
            thread=False,
        )
        return await runner.until_done()


def main():
    if not hasattr(anthropic, "beta_tool"):
        return 3
    base_url, bodies = serve(REPLIES)
    try:
        final = asyncio.run(chain(base_url))
    except TypeError as exc:
        print(
            f"DIFFERENCE: the async tool runner refused the sync tool, after "
            f"{len(bodies)} request(s): {exc}"
        )
        return 1
    print(f"answer {final.content[0].text!r} after {len(bodies)} requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
