"""litellm: the same connection failure reads differently in completion and acompletion.

Found by the llm-parity conformance suite (connection_refused, connection_dropped_exhausted
and cut_mid_body_exhausted on Gemini and Bedrock, read_timeout on OpenAI, mode async
against its sync baseline), no upstream issue known. No provider said anything: the
message is the client's own, and litellm passes on its transport's wording, httpx's on
the sync path and aiohttp's on the async one:

- refused: "[Errno 111] Connection refused" vs "Cannot connect to host 127.0.0.1:PORT
  ssl:<ssl.SSLContext object at 0x...> [Connect call failed ('127.0.0.1', PORT)]";
- closed without an answer: "Server disconnected without sending a response." vs
  "Server disconnected";
- a body cut mid-way: "peer closed connection without sending complete message body
  (incomplete chunked read)" vs "Response payload is not completed: <TransferEncodingError
  ...>";
- a timeout (OpenAI too): "Request timed out. Error_str: Request timed out." vs the same
  followed by " - timeout value=0.05, time taken=0.16 seconds".

Mechanism checked (the first two, and the timeout): Anthropic through `api_base` on
loopback, `num_retries=0`, not streamed: a bound, never-listening port, a server that
reads the request and closes the connection; OpenAI (`max_retries=0`, `timeout=0.05`)
against a server that answers after 1 s. Exit 1 when a failure's sync and async
messages differ (object addresses and measured times aside), 0 when they are equal.

    python repro/litellm/connection_error_wording.py   # litellm 1.110.2: exit 1
"""

import asyncio
import os
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-list download
import litellm

ARGS = {
    "model": "anthropic/claude-sonnet-4-5",
    "api_key": "test",
    "num_retries": 0,
    "messages": [{"role": "user", "content": "Say hello."}],
}


def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # bound, never listening: every connection is refused
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


def server(wait):
    """A loopback server that reads each request, waits ``wait`` seconds and closes
    without answering."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(wait)
            self.close_connection = True

        def log_message(self, *args):
            pass

    running = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    running.daemon_threads = True
    threading.Thread(target=running.serve_forever, daemon=True).start()
    return running, f"http://127.0.0.1:{running.server_port}"


def message(exc):
    text = re.sub(r"0x[0-9a-f]+", "0x...", str(getattr(exc, "message", exc)))
    return re.sub(r"[0-9.]+ seconds", "N seconds", text)


def both(**args):
    found = []
    try:
        litellm.completion(**args)
    except Exception as exc:
        found.append(message(exc))
    try:
        asyncio.run(litellm.acompletion(**args))
    except Exception as exc:
        found.append(message(exc))
    return found


def main():
    litellm.suppress_debug_info = True
    sock, refused = closed_port()
    dropping, dropping_base = server(0)
    slow, slow_base = server(1)
    cases = {
        "refused": dict(ARGS, api_base=refused),
        "dropped": dict(ARGS, api_base=dropping_base),
        "timeout": dict(
            ARGS,
            model="openai/gpt-4o-mini",
            num_retries=None,
            max_retries=0,
            timeout=0.05,
            api_base=slow_base + "/v1",
        ),
    }
    differ = False
    for label, args in cases.items():
        sync, asynced = both(**{k: v for k, v in args.items() if v is not None})
        print(f"{label}\n  completion : {sync}\n  acompletion: {asynced}")
        differ |= sync != asynced
    sock.close()
    dropping.shutdown()
    slow.shutdown()
    if differ:
        print("VERDICT: BUG (one failure, two wordings: completion and acompletion)")
        return 1
    print("VERDICT: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
