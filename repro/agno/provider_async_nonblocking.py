"""agno: the AwsBedrock async path does not block the event loop.

Second half of the catalogue's provider_async_path entry: an async path that waits on a
blocking call (or on a worker thread it joins) stalls every other task of the loop.
agno's AwsBedrock got an async path in 1.7.6 (agno-agi/agno#3914, through aioboto3).

Mechanism checked: the loopback Converse server answers after 0.3 s; while `await
agent.arun(...)` waits, a heartbeat task ticking every 5 ms must never be kept waiting
0.15 s or more. One warm-up arun comes first: the first call builds the aioboto3 client
and loads botocore's service model synchronously, which alone stalls the loop about
0.17 s (measured on 1.7.6 to 3.1.10). Exit 1 when it was, 0 when not, 3 when arun
raises NotImplementedError (no async path: see provider_async_path.py) or there is no
Bedrock model.
"""

import asyncio
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = "Hello from Bedrock."


def serve():
    """A loopback Bedrock runtime answering every Converse request with ANSWER."""
    bodies = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            time.sleep(0.3)
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


async def probe(agent):
    """Run agent.arun beside a heartbeat; the answer and the heartbeat's longest wait."""
    gaps, done = [], asyncio.Event()

    async def heartbeat():
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            gaps.append(time.perf_counter() - last)
            last = time.perf_counter()

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0)
    try:
        return (await agent.arun("Say hi")).content, max(gaps, default=0.0)
    finally:
        done.set()
        await beat


def main():
    url, _ = serve()
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
    try:
        asyncio.run(agent.arun("Say hi"))  # warm-up: the first call loads botocore's models
        answer, stall = asyncio.run(probe(agent))
    except NotImplementedError as exc:
        print(f"no async path: {exc}")
        return 3
    print(f"arun: {answer!r}; longest event-loop stall {stall:.3f} s")
    if stall >= 0.15:
        print("BUG: arun blocked the event loop while waiting for Bedrock")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
