"""litellm: a Gemini error raised from a stream names another provider and carries a bytes repr.

Found by the llm-parity conformance suite (every error_* scenario on Gemini, modes stream
and astream), no upstream issue known. The same HTTP error answered to
`completion(model="gemini/...")` and to `completion(..., stream=True)` comes out of two
code paths: streamed, the exception's `llm_provider` is `vertex_ai_beta` (not `gemini`)
and its message holds the body's bytes repr (`b'{"error": ...}'`) where the non-streamed
one holds the body's text.

Mechanism checked: a loopback Gemini API answers HTTP 400 INVALID_ARGUMENT to both calls;
both exceptions must name the same provider, and neither message may hold a bytes repr.
Exit 1 when they differ, 0 when they agree.

    python repro/litellm/gemini_stream_errors.py   # litellm 1.110.2: exit 1
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-list download
import litellm

ERROR = {
    "error": {"code": 400, "message": "max_tokens: must be positive", "status": "INVALID_ARGUMENT"}
}


def serve():
    """A loopback Gemini API answering every request with HTTP 400."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            data = json.dumps(ERROR).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/v1beta"


def error_of(stream):
    try:
        result = litellm.completion(
            model="gemini/gemini-2.5-flash",
            api_base=serve(),
            api_key="test",
            stream=stream,
            messages=[{"role": "user", "content": "x"}],
        )
        for _ in result if stream else ():
            pass
    except Exception as exc:
        return getattr(exc, "llm_provider", None), str(getattr(exc, "message", exc))
    return None, "no exception"


def main():
    litellm.suppress_debug_info = True
    plain, streamed = error_of(stream=False), error_of(stream=True)
    print(f"completion            : provider {plain[0]!r}, message {plain[1]!r}")
    print(f"completion(stream=True): provider {streamed[0]!r}, message {streamed[1]!r}")
    if plain[0] != streamed[0] or "b'" in plain[1] + streamed[1]:
        print("BUG: the streamed error names another provider or carries a bytes repr")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
