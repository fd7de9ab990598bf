"""agno: the AwsBedrock model has an async path, and it answers what the sync path does.

agno-agi/agno#3914 ("implementation of bedrock ainvoke", released in agno 1.7.6). Before
it, AwsBedrock.ainvoke and ainvoke_stream raised NotImplementedError("Async not supported
on AwsBedrock."), so every `await agent.arun(...)` on Bedrock failed, and with it every
app serving agents asynchronously (agno's FastAPI/playground apps, `use_async=True` by
default). From 1.7.6 the async path goes through aioboto3.

Mechanism checked: one Agent on AwsBedrock against a loopback Converse server; `run` and
`await arun` must both answer "Hello from Bedrock.". Exit 1 when arun fails or differs,
0 when it matches, 3 when the release has no Bedrock model.
"""

import asyncio
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = "Hello from Bedrock."


def serve():
    """A loopback Bedrock runtime answering every Converse request with ANSWER."""
    bodies = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            data = json.dumps({
                "output": {"message": {"role": "assistant", "content": [{"text": ANSWER}]}},
                "stopReason": "end_turn",
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
    agent = Agent(model=AwsBedrock(id="anthropic.claude-3-5-haiku-20241022-v1:0"))
    sync = agent.run("Say hi").content
    print(f"run : {sync!r} ({len(bodies)} request(s))")
    try:
        asynced = asyncio.run(agent.arun("Say hi")).content
    except Exception as exc:
        print(f"BUG: arun raised {type(exc).__name__}: {exc}")
        return 1
    print(f"arun: {asynced!r} ({len(bodies)} request(s) in all)")
    return 0 if asynced == sync == ANSWER else 1


if __name__ == "__main__":
    sys.exit(main())
