"""openai-python: AsyncOpenAI retries HTTP 5xx answers as often as OpenAI does (control).

Control for openai/openai-python#1803: the catalogue said status-code retries were broken
in the async client before 1.52.1. Mechanism checked: HTTP 500, then 503, then an answer;
with max_retries=2 both clients must make 3 attempts and get the answer. Exit 1 when the
async client makes fewer attempts than the sync one, 0 otherwise.
"""

import asyncio
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai

ANSWER = {"id": "c1", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
          "choices": [{"index": 0, "finish_reason": "stop",
                       "message": {"role": "assistant", "content": "Hello."}}]}
STEPS = [500, 503, 200]
FAILURES = 2


def serve():
    """Answer attempt n as STEPS[n] says (the last step repeats)."""
    attempts = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            attempts.append(self.path)
            step = STEPS[min(len(attempts), len(STEPS)) - 1]
            if step == "slow":
                time.sleep(1)  # longer than the client's timeout
                return
            data = json.dumps(ANSWER if step == 200 else {"error": {"message": "x"}}).encode()
            self.send_response(step)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/v1", attempts


def ask(client):
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hi"}])


def outcome(call):
    try:
        return call().choices[0].message.content
    except openai.APIError as exc:
        return f"{type(exc).__name__}: {exc}"


def main():
    url, sync_attempts = serve()
    client = openai.OpenAI(base_url=url, api_key="sk-test", max_retries=FAILURES,
                           http_client=openai.DefaultHttpxClient())
    sync = outcome(lambda: ask(client))
    print(f"sync : {len(sync_attempts)} attempt(s) -> {sync}")

    url, async_attempts = serve()
    aclient = openai.AsyncOpenAI(base_url=url, api_key="sk-test", max_retries=FAILURES,
                                 http_client=openai.DefaultAsyncHttpxClient())
    asynced = outcome(lambda: asyncio.run(ask(aclient)))
    print(f"async: {len(async_attempts)} attempt(s) -> {asynced}")
    if len(async_attempts) < len(sync_attempts):
        print("BUG: the async client retried fewer times than the sync one")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
