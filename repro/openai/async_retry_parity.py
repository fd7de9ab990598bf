"""openai-python: AsyncOpenAI retries a connection error as often as OpenAI does.

openai/openai-python#1803 ("fix(client/async): correctly retry in all cases", released in
1.52.1). The retry-count header change of 1.47.0 made the async client retry a
non-timeout transport error only `if retries_taken > 0`, so the FIRST connection error
of a request raised APIConnectionError at once; the sync client tested the remaining
retries. Status-code retries and timeouts were not affected (async_retry_status.py,
async_retry_timeout.py).

Mechanism checked: a loopback server closes the first two connections without an answer,
then answers; with max_retries=2 both clients must make 3 attempts and get the answer.
Exit 1 when the async client makes fewer attempts than the sync one, 0 otherwise.
"""

import asyncio
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai

ANSWER = {"id": "c1", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
          "choices": [{"index": 0, "finish_reason": "stop",
                       "message": {"role": "assistant", "content": "Hello."}}]}
FAILURES = 2


def serve():
    """Drop the first FAILURES connections without a response, then answer."""
    attempts = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            attempts.append(self.path)
            if len(attempts) <= FAILURES:
                return  # the connection closes: "Server disconnected without a response"
            data = json.dumps(ANSWER).encode()
            self.send_response(200)
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
        print("BUG: the async client gave up on a connection error the sync client retried")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
