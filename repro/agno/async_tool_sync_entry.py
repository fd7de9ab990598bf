"""agno: an async-only tool given to the sync Agent.run runs, or is refused before any request.

agno-agi/agno#3296 is the catalogue's citation; the behaviour changed in
agno-agi/agno#3252 ("raise if async tools in sync agent run", released in 1.5.2). Before
it, Agent.run called the `async def` tool without awaiting it and sent the coroutine's
repr to the model as the tool result; the run "succeeded" with a wrong answer. From
1.5.2 on, run() refuses before any request, naming the tool (it raises; later releases
return the refusal as the run's content instead).

Mechanism checked: Agent on AwsBedrock (loopback Converse server) with the async tool
`get_time`; the model asks for it. Exit 1 when a request went out and the tool's real
result never reached the model, 0 when the tool ran or run() refused before any request
naming the tool, 3 when the release has no Bedrock model.
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USE = {"toolUse": {"toolUseId": "t1", "name": "get_time", "input": {"city": "Oslo"}}}
REPLIES = [([USE], "tool_use"), ([{"text": "It is 14:05 in Oslo."}], "end_turn")]


def serve():
    """A loopback Bedrock runtime answering Converse requests with REPLIES in turn."""
    bodies = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            content, stop = REPLIES[min(len(bodies), len(REPLIES)) - 1]
            data = json.dumps({
                "output": {"message": {"role": "assistant", "content": content}},
                "stopReason": stop,
                "usage": {"inputTokens": 5, "outputTokens": 4, "totalTokens": 9},
                "metrics": {"latencyMs": 1}}).encode()
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


async def get_time(city: str) -> str:
    """The current time in a city.

    Args:
        city: The city name.
    """
    return f"14:05 in {city}"


def tool_results(bodies):
    return [block["toolResult"]["content"] for body in bodies for message in body["messages"]
            for block in message["content"] if "toolResult" in block]


def main():
    url, bodies = serve()
    os.environ.update(
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME=url, AWS_EC2_METADATA_DISABLED="true",
        AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret", AWS_REGION="us-east-1",
        AGNO_TELEMETRY="false", AGNO_MONITOR="false")
    from agno.agent import Agent

    try:
        from agno.models.aws import AwsBedrock
    except ImportError:  # the first releases had only the Converse-based Claude
        try:
            from agno.models.aws.claude import Claude as AwsBedrock
        except ImportError as exc:
            print(f"no Bedrock model: {exc}")
            return 3
    agent = Agent(model=AwsBedrock(id="anthropic.claude-3-5-haiku-20241022-v1:0"),
                  tools=[get_time])
    try:
        answer = agent.run("What time is it in Oslo?").content
    except Exception as exc:
        print(f"run raised after {len(bodies)} request(s): {type(exc).__name__}: {exc}")
        return 0 if not bodies and "get_time" in str(exc) else 1
    if not bodies:  # newer releases return the refusal as the run's content
        print(f"run refused before any request, returning: {answer!r}")
        return 0 if "get_time" in str(answer) else 1
    results = tool_results(bodies)
    print(f"{len(bodies)} request(s); tool results sent: {results}; answer {answer!r}")
    if "14:05 in Oslo" not in json.dumps(results):
        print("BUG: the tool never ran; the model was sent something else as its result")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
