"""litellm: a refused or cut connection is raised as HTTP 500, not as a connection error.

Found by the llm-parity conformance suite (connection_refused and cut_mid_stream on every
provider), no upstream issue known. No HTTP status was ever received, and litellm has a
class for this (`litellm.APIConnectionError`); yet a refused connection raises
`litellm.InternalServerError` with `status_code` 500 ("Connection error.", "[Errno 111]
Connection refused", "Cannot connect to host"), and so does a streamed body cut before
its end ("peer closed connection without sending complete message body", "Response
payload is not completed"). A caller cannot tell these from a provider's HTTP 500.

Mechanism checked: a closed loopback port (OpenAI and Anthropic, not streamed), and a
loopback OpenAI API that sends two chunks of a stream, then closes the connection before
the chunked body ends. Each exception must be a litellm.APIConnectionError. Exit 1 when
one is not, 0 when all are.

    python repro/litellm/connection_errors_as_500.py   # litellm 1.110.2: exit 1
"""

import json
import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-list download
import litellm


def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def cutting_server():
    """A loopback OpenAI API whose streamed answer stops after two chunks."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for text in ("Hel", "lo"):
                chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0,
                         "model": "gpt-4o-mini", "choices": [
                             {"index": 0, "delta": {"content": text}, "finish_reason": None}]}
                data = f"data: {json.dumps(chunk)}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
            self.close_connection = True  # no terminating chunk: the body is cut

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def raised(stream, **args):
    try:
        result = litellm.completion(stream=stream, api_key="test", max_retries=0,
                                    messages=[{"role": "user", "content": "Hi"}], **args)
        if stream:
            list(result)
    except Exception as exc:
        return exc
    return None


def main():
    litellm.suppress_debug_info = True
    cases = [
        ("OpenAI, refused", raised(False, model="openai/gpt-4o-mini",
                                   api_base=closed_port() + "/v1")),
        ("Anthropic, refused", raised(False, model="anthropic/claude-sonnet-4-5",
                                      api_base=closed_port())),
        ("OpenAI stream, cut", raised(True, model="openai/gpt-4o-mini",
                                      api_base=cutting_server() + "/v1")),
    ]
    wrong = False
    for label, exc in cases:
        print(f"{label:19}: {type(exc).__name__}, status_code "
              f"{getattr(exc, 'status_code', None)}: {getattr(exc, 'message', exc)!s:.90}")
        wrong |= not isinstance(exc, litellm.APIConnectionError)
    if wrong:
        print("BUG: a connection failure is raised as an HTTP error (status 500)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
