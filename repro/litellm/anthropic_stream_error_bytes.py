"""litellm: an Anthropic error raised from a stream carries the body's bytes repr.

Found by the llm-parity conformance suite (every error_* scenario on Anthropic, modes
stream and astream), no upstream issue known. The same HTTP error answered to
`completion(model="anthropic/...")` and to `completion(..., stream=True)`: the
non-streamed exception's message holds the body's text (`AnthropicException - {"type":
"error", ...}`), the streamed one its bytes repr (`AnthropicException - b'{"type": ...}'`),
so a caller parsing the provider's message gets it only when not streaming.

Mechanism checked: a loopback Anthropic API answers HTTP 400 invalid_request_error to
both calls; neither message may hold a bytes repr. Exit 1 when one does, 0 otherwise.

    python repro/litellm/anthropic_stream_error_bytes.py   # litellm 1.110.2: exit 1
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-list download
import litellm

ERROR = {
    "type": "error",
    "error": {"type": "invalid_request_error", "message": "max_tokens: must be positive"},
}


def serve():
    """A loopback Anthropic API answering every request with HTTP 400."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            data = json.dumps(ERROR).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def message_of(stream):
    try:
        result = litellm.completion(
            model="anthropic/claude-sonnet-4-5",
            api_base=serve(),
            api_key="test",
            stream=stream,
            max_tokens=1,
            messages=[{"role": "user", "content": "x"}],
        )
        for _ in result if stream else ():
            pass
    except Exception as exc:
        return str(getattr(exc, "message", exc))
    return "no exception"


def main():
    litellm.suppress_debug_info = True
    plain, streamed = message_of(stream=False), message_of(stream=True)
    print(f"completion            : {plain!r}")
    print(f"completion(stream=True): {streamed!r}")
    if "b'" in plain + streamed:
        print("BUG: the error message carries a bytes repr instead of the provider's text")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
