"""litellm: a timeout names "litellm-httpx-handler" as its provider, not the provider.

Found by the llm-parity conformance suite (read_timeout: Gemini and Bedrock in every
mode, Anthropic streamed), no upstream issue known. A request to a provider that does not
answer within `timeout` raises `litellm.Timeout` whose `llm_provider` is
"litellm-httpx-handler", litellm's own HTTP layer, instead of the provider called (the
other errors of the same calls name it: "gemini"/"vertex_ai_beta", "bedrock",
"anthropic"). Code that routes or reports errors by `llm_provider` loses the provider.

Mechanism checked: Gemini through `api_base` on a loopback server that answers only
after 1 s, `timeout=0.05`, `num_retries=0`, not streamed. Exit 1 when the timeout's
`llm_provider` is not the provider's, 0 when it is.

    python repro/litellm/timeout_names_handler.py   # litellm 1.110.2: exit 1
"""

import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-list download
import litellm


def slow_server():
    """A loopback server that waits 1 s before answering anything (never in time)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(1)
            self.close_connection = True

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def main():
    litellm.suppress_debug_info = True
    server, base = slow_server()
    try:
        litellm.completion(
            model="gemini/gemini-2.5-flash",
            api_key="test",
            api_base=base,
            timeout=0.05,
            num_retries=0,
            messages=[{"role": "user", "content": "Say hello."}],
        )
        exc = None
    except Exception as raised:
        exc = raised
    server.shutdown()
    provider = getattr(exc, "llm_provider", None)
    print(
        f"litellm {version('litellm')}: {type(exc).__name__}, "
        f"llm_provider {provider!r}: {str(getattr(exc, 'message', exc))[:90]}"
    )
    if not isinstance(exc, litellm.Timeout):
        print("VERDICT: BLOCKED (no timeout raised)")
        return 2
    if provider not in ("gemini", "vertex_ai_beta", "vertex_ai"):
        print("VERDICT: BUG (the timeout names litellm's HTTP handler, not the provider)")
        return 1
    print("VERDICT: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
