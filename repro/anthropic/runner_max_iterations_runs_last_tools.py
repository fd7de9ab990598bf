"""anthropic: a tool runner stopped by max_iterations still runs the last reply's tools.

Found by the conformance suite (anthropic-sdk adapter, scenarios chain_turn_limit and
chain_turn_limit_one, feature max_turns). `max_iterations` bounds the replies the runner
asks for, and it does ask for exactly that many; but after the last one allowed, the
runner's loop runs that reply's tool calls (`generate_tool_call_response()`) before it
checks the limit and stops. The tools run (their side effects happen) and their results
are never sent to the model. The reference client's chain stops at `max_turns` without
running them (`ChainLimitError`, its transcript ending with the unanswered calls).

Mechanism checked: `Anthropic().beta.messages.tool_runner(tools=[get_weather],
max_iterations=1, thread=False)` against a loopback Messages API whose every reply asks
for the tool; the runner is iterated to its end without the caller asking for tool
results. Exit 1 when the tool ran anyway, 0 when it did not, 3 when the release has no
tool runner or no max_iterations.
"""

import inspect
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anthropic

ASKS = [{"type": "tool_use", "id": "toolu_0", "name": "get_weather", "input": {"city": "Quito"}}]
RAN = []


def serve():
    """A loopback Anthropic Messages API whose every reply asks for get_weather."""
    bodies = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            bodies.append(body)
            data = json.dumps(
                {
                    "id": f"msg_{len(bodies)}",
                    "type": "message",
                    "role": "assistant",
                    "model": body["model"],
                    "content": ASKS,
                    "stop_reason": "tool_use",
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
    RAN.append(city)
    return f"Sunny in {city}, 21 C"


def main():
    if not hasattr(anthropic, "beta_tool"):
        return 3
    runner_of = anthropic.Anthropic(api_key="k").beta.messages.tool_runner
    if "max_iterations" not in inspect.signature(runner_of).parameters:
        return 3
    base_url, bodies = serve()
    client = anthropic.Anthropic(api_key="sk-ant-test", base_url=base_url, max_retries=0)
    extra = {"thread": False} if "thread" in inspect.signature(runner_of).parameters else {}
    runner = client.beta.messages.tool_runner(
        model="claude-sonnet-4-5",
        max_tokens=1024,
        messages=[{"role": "user", "content": "Weather in Quito?"}],
        tools=[anthropic.beta_tool(get_weather)],
        max_iterations=1,
        **extra,
    )
    replies = list(runner)
    print(f"{len(replies)} reply(ies), {len(bodies)} request(s); the tool ran {len(RAN)} time(s)")
    if RAN:
        print("VERDICT: BUG (the last reply's tools ran though the runner stopped there)")
        return 1
    print("VERDICT: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
