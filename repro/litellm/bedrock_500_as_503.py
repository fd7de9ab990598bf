"""litellm: a Bedrock HTTP 500 is raised as a 503 (ServiceUnavailableError).

Found by the llm-parity conformance suite (error_server_exhausted on Bedrock, every mode),
no upstream issue known. Bedrock Converse answers HTTP 500 InternalServerException;
litellm raises `ServiceUnavailableError` with `status_code` 503, so a caller (or a retry
policy) that looks at the status sees an outage where the service reported a failure.

Mechanism checked: a loopback Bedrock Converse API answers HTTP 500 with
x-amzn-errortype InternalServerException; the exception litellm raises must say 500.
Exit 1 when it says something else, 0 when 500.

    python repro/litellm/bedrock_500_as_503.py   # litellm 1.110.2: exit 1 (503)
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-list download
import litellm


def serve():
    """A loopback Bedrock Converse API answering every request with HTTP 500."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            data = json.dumps({"message": "internal failure"}).encode()
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header(
                "x-amzn-errortype", "InternalServerException:http://internal.amazon.com/"
            )
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
    try:
        litellm.completion(
            model="bedrock/converse/us.amazon.nova-micro-v1:0",
            api_base=serve(),
            messages=[{"role": "user", "content": "x"}],
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="x",
            aws_region_name="us-east-1",
        )
    except Exception as exc:
        status = getattr(exc, "status_code", None)
        print(f"HTTP 500 raised as {type(exc).__name__}, status_code {status}")
        if status != 500:
            print("BUG: the status the provider answered is not the one raised")
            return 1
        return 0
    print("no exception raised for HTTP 500")
    return 1


if __name__ == "__main__":
    sys.exit(main())
