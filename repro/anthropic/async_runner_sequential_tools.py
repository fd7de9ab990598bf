"""anthropic: the async tool runner runs one turn's tool calls one after another.

Found by the conformance suite (anthropic-sdk adapter, regression spec
async_tools_concurrent, issue 10). When the model asks for several async tools in one
turn, the reference client's async chain runs them concurrently (results kept in call
order, one failure abandoning no other). The SDK's async runner awaits each call before
starting the next, so a slow tool delays every later one; results and error handling
are otherwise right (call order, the failure as an is_error result).

Mechanism checked: three async tools asked for in one turn: `slow_lookup` waits up to
0.5 s for `fast_lookup` to finish alongside it, `failing_lookup` raises. Exit 1 when
`slow_lookup` finished without seeing `fast_lookup` run (sequential), 0 when they
overlapped, 3 when the release has no tool runner.
"""

import asyncio
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anthropic

STATE = {"fast_done": False, "overlapped": False}


def tool_use(i, name, **arguments):
    return {"type": "tool_use", "id": f"toolu_{i}", "name": name, "input": arguments}


REPLIES = [
    (
        [
            tool_use(0, "slow_lookup", key="a"),
            tool_use(1, "failing_lookup", key="b"),
            tool_use(2, "fast_lookup", key="c"),
        ],
        "tool_use",
    ),
    ([{"type": "text", "text": "Two of three lookups worked."}], "end_turn"),
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


async def slow_lookup(key: str) -> str:
    """Look a key up in the slow index."""
    for _ in range(50):
        if STATE["fast_done"]:
            STATE["overlapped"] = True
            break
        await asyncio.sleep(0.01)
    return f"slow:{key}"


async def failing_lookup(key: str) -> str:
    """Look a key up in the index that is down."""
    raise RuntimeError("lookup service down")


async def fast_lookup(key: str) -> str:
    """Look a key up in the fast index."""
    await asyncio.sleep(0.01)
    STATE["fast_done"] = True
    return f"fast:{key}"


LOOKUPS = (slow_lookup, failing_lookup, fast_lookup)


async def chain(base_url):
    async with anthropic.AsyncAnthropic(
        api_key="sk-ant-test", base_url=base_url, max_retries=0
    ) as client:
        runner = client.beta.messages.tool_runner(
            model="claude-sonnet-4-5",
            max_tokens=1024,
            messages=[{"role": "user", "content": "Look up a, b and c."}],
            tools=[anthropic.beta_async_tool(f) for f in LOOKUPS],
            thread=False,
        )
        return await runner.until_done()


def main():
    if not hasattr(anthropic, "beta_async_tool"):
        return 3
    base_url, bodies = serve(REPLIES)
    final = asyncio.run(chain(base_url))
    results = [
        (b.get("content"), bool(b.get("is_error")))
        for m in bodies[1]["messages"]
        for b in m["content"]
        if isinstance(b, dict) and b.get("type") == "tool_result"
    ]
    print(f"tool results sent: {results}; answer {final.content[0].text!r}")
    if not STATE["overlapped"]:
        print("DIFFERENCE: the async tools of one turn ran one after another, not concurrently")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
