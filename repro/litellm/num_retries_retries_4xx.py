"""litellm: with num_retries, a 4xx error (bad request, bad key, no access, no model) is retried.

Found by the llm-parity conformance suite (error_bad_request, error_authentication,
error_permission, error_not_found on Anthropic, Gemini and Bedrock), no upstream issue
known. `completion(num_retries=N)` hands every `openai.APIError` to
`completion_with_retries`, which retries it N times: a request that can never succeed
(HTTP 400, 401, 403, 404) is sent N+1 times. (On OpenAI the SDK's own retries stop at
4xx, but the same litellm loop still runs.)

Mechanism checked: a loopback Anthropic Messages API answers every request with HTTP 400
invalid_request_error; `completion(num_retries=2)` must send it once. Exit 1 when it sent
it more than once, 0 when once. Needs `tenacity` (litellm's retries import it).

    python repro/litellm/num_retries_retries_4xx.py    # litellm 1.110.2: exit 1 (3 requests)
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
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            requests.append(self.path)
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
    return f"http://127.0.0.1:{server.server_port}", requests


def main():
    litellm.suppress_debug_info = True
    url, requests = serve()
    try:
        litellm.completion(
            model="anthropic/claude-sonnet-4-5",
            api_base=url,
            api_key="test",
            messages=[{"role": "user", "content": "x"}],
            max_tokens=1,
            num_retries=2,
        )
    except Exception as exc:
        print(f"raised {type(exc).__name__} (status {getattr(exc, 'status_code', None)})")
    print(f"HTTP 400 answered to {len(requests)} request(s)")
    if len(requests) != 1:
        print("BUG: a request that cannot succeed was retried")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
