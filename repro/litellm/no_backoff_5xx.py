"""litellm: on Anthropic, `num_retries` retries a 5xx at once, with no backoff.

Found by the llm-parity conformance suite (backoff_without_retry_after on Anthropic,
sync and async), no upstream issue known. The 500 names no Retry-After, so the client's
own backoff decides the wait; litellm's `num_retries` loop (used for Anthropic; on
OpenAI the OpenAI SDK retries, and waits) sends the retry 10-40 ms later, so a
failing server gets the same request again at once.

Mechanism checked: a loopback Anthropic Messages API answers the first request of each
call with HTTP 500 `api_error` and no Retry-After, the next with an answer; with
`num_retries=2` the second request must come at least 0.1 s after the first. Exit 1
when one comes sooner, 0 otherwise (3 when a call does not retry at all: is tenacity
installed?).

    python repro/litellm/no_backoff_5xx.py   # litellm 1.110.2: exit 1
"""

import asyncio
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-list download
import litellm

FAILURE = {"type": "error", "error": {"type": "api_error", "message": "internal failure"}}
ANSWER = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "Hi."}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 3, "output_tokens": 2},
}
LEAST_BACKOFF = 0.1


def serve(times):
    """A loopback Messages API: 500 without Retry-After first, then an answer."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            times.append(time.monotonic())
            first = len(times) == 1
            data = json.dumps(FAILURE if first else ANSWER).encode()
            self.send_response(500 if first else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def main():
    litellm.suppress_debug_info = True
    hammered = False
    for mode in ("sync", "async"):
        times = []
        args = {
            "model": "anthropic/claude-sonnet-4-5",
            "api_key": "test",
            "api_base": serve(times),
            "num_retries": 2,
            "messages": [{"role": "user", "content": "Hi"}],
        }
        if mode == "sync":
            litellm.completion(**args)
        else:
            asyncio.run(litellm.acompletion(**args))
        if len(times) != 2:
            print(f"{mode}: {len(times)} request(s), no retry")
            return 3
        waited = times[1] - times[0]
        print(f"{mode:5}: 500 without Retry-After, retried after {waited * 1000:.0f} ms")
        hammered |= waited < LEAST_BACKOFF
    if hammered:
        print(f"BUG: retried sooner than {LEAST_BACKOFF * 1000:.0f} ms, with no backoff")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
