"""litellm: a Gemini 500 before a streamed answer is not retried (MidStreamFallbackError).

Found by the llm-parity conformance suite (retry_after_5xx on Gemini, modes stream and
astream), no upstream issue known; the companion of gemini_stream_429_retry.py. With
`num_retries=2` (litellm's retries need the `tenacity` package), an HTTP 500 followed by
an answer is retried by `completion()` and the answer returned; `completion(stream=True)`
sends one request and raises `MidStreamFallbackError` (status 500), though no byte of
the stream had arrived.

Mechanism checked: a loopback Gemini API answers the first request of each call with
HTTP 500 INTERNAL and the next with "Hi."; both calls must return "Hi." after two
requests. Exit 1 when the streamed call does not, 0 when it does, 3 when the
non-streamed call does not retry either (no baseline: is tenacity installed?).

    python repro/litellm/gemini_stream_5xx_retry.py   # litellm 1.110.2: exit 1
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-list download
import litellm

FAULTS = {500: {"error": {"code": 500, "message": "internal failure", "status": "INTERNAL"}}}
ANSWER = {
    "candidates": [
        {
            "content": {"parts": [{"text": "Hi."}], "role": "model"},
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2, "totalTokenCount": 7},
    "modelVersion": "gemini-2.5-flash",
    "responseId": "r1",
}


def serve(status):
    """A loopback Gemini API: `status` on the first request, then the answer (JSON or SSE)."""
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            requests.append(self.path)
            if len(requests) == 1:
                code, data, kind = status, json.dumps(FAULTS[status]), "application/json"
            elif "streamGenerateContent" in self.path:
                code, data, kind = 200, f"data: {json.dumps(ANSWER)}\r\n\r\n", "text/event-stream"
            else:
                code, data, kind = 200, json.dumps(ANSWER), "application/json"
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data.encode())))
            self.end_headers()
            self.wfile.write(data.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/v1beta", requests


def ask(status, stream):
    url, requests = serve(status)
    args = {
        "model": "gemini/gemini-2.5-flash",
        "api_base": url,
        "api_key": "test",
        "messages": [{"role": "user", "content": "Hi"}],
        "num_retries": 2,
    }
    try:
        if stream:
            text = "".join(
                c.choices[0].delta.content or "" for c in litellm.completion(stream=True, **args)
            )
        else:
            text = litellm.completion(**args).choices[0].message.content
    except Exception as exc:
        text = f"{type(exc).__name__} (status {getattr(exc, 'status_code', None)})"
    return text, len(requests)


def main():
    litellm.suppress_debug_info = True
    failed = False
    for status in FAULTS:
        plain, streamed = ask(status, stream=False), ask(status, stream=True)
        print(
            f"HTTP {status} then an answer: completion -> {plain[0]!r} after {plain[1]} "
            f"request(s); stream=True -> {streamed[0]!r} after {streamed[1]} request(s)"
        )
        if plain != ("Hi.", 2):
            print("the non-streamed call did not retry: no baseline (is tenacity installed?)")
            return 3
        failed |= streamed != ("Hi.", 2)
    if failed:
        print("BUG: the streamed call was not retried")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
