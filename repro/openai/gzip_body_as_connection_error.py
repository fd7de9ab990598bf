"""openai: a 200 body labelled gzip that is not gzip is retried, then raised as a connection error.

Found by the llm-parity conformance suite (malformed_answer_encoding), no upstream issue
known. The server answered, whole, with `Content-Encoding: gzip` on a body that is not
gzip (a misconfigured proxy). The HTTP library's decoding error is caught by the SDK's
retry loop as if the connection had failed: the request is sent again `max_retries`
times (each attempt meets the same body) and the caller gets `APIConnectionError`
("Connection error."), which says nothing about a body that could not be decoded.

Mechanism checked: a loopback server answers every request 200 with
`Content-Encoding: gzip` and a plain JSON body; `max_retries=2`, one
`chat.completions.create`. Exit 1 when the request is sent more than once or the error
is an `APIConnectionError`, 0 otherwise.

    python repro/openai/gzip_body_as_connection_error.py   # openai 3.63.0: exit 1
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai

BODY = json.dumps(
    {"id": "c1", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini", "choices": []}
).encode()


def serve():
    attempts = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            attempts.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")  # it is not
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/v1", attempts


def main():
    server, base_url, attempts = serve()
    client = openai.OpenAI(api_key="sk-test", base_url=base_url, max_retries=2)
    error = None
    try:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}]
        )
    except Exception as exc:  # the point is which error it is
        error = exc
    server.shutdown()
    print(f"openai {openai.__version__}")
    print(f"attempts: {len(attempts)}")
    print(f"error: {type(error).__name__}: {error}")
    print(f"  __cause__: {type(error.__cause__).__name__}: {error.__cause__}" if error else "")
    if len(attempts) > 1 or isinstance(error, openai.APIConnectionError):
        print("VERDICT: BUG (an undecodable answer retried and reported as a connection error)")
        return 1
    print("VERDICT: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
