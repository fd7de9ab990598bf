"""anthropic: a stream answered 200 by an HTML page ends without an event or an error.

Found by the llm-parity conformance suite (stream_answer_html, stream_answer_unlabelled),
no upstream issue known. A captive portal or a proxy answers a streamed `messages`
request 200 with an HTML page, labelled `text/html` or with no content type. The SDK's
SSE decoder finds no event in it: the stream ends at once without an `anthropic` error,
and `MessageStream.get_final_message()` (the `messages.stream()` helper) raises a bare
`AssertionError`. Nothing says what arrived.

Mechanism checked: a loopback server answers 200 with an HTML page, labelled and
unlabelled; `max_retries=0`, one `messages.stream(...)` each, read to the end, then
`get_final_message()`. Exit 1 when a stream ends without an `anthropic` error, 0 when
both raise one.

    python repro/anthropic/stream_html_answer.py   # anthropic 2.17.0: exit 1
"""

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anthropic

PAGE = b"<html><body><h1>Welcome to the guest network</h1></body></html>"


def serve(content_type):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            if content_type:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def main():
    print(f"anthropic {anthropic.__version__}")
    silent = False
    for content_type in ("text/html; charset=utf-8", None):
        server, base_url = serve(content_type)
        client = anthropic.Anthropic(api_key="test", base_url=base_url, max_retries=0)
        events = 0
        try:
            with client.messages.stream(
                model="claude-sonnet-4-5",
                max_tokens=16,
                messages=[{"role": "user", "content": "Say hello."}],
            ) as stream:
                for _ in stream:
                    events += 1
                try:
                    stream.get_final_message()
                    after = "a message"
                except AssertionError:
                    after = "AssertionError"
        except anthropic.AnthropicError as exc:
            print(f"{content_type}: an anthropic error: {type(exc).__name__}: {exc}")
            server.shutdown()
            continue
        print(
            f"{content_type}: the stream ended without an error, {events} events; "
            f"get_final_message(): {after}"
        )
        silent = True
        server.shutdown()
    if silent:
        print("VERDICT: BUG (an HTML page read as an empty stream, without an error)")
        return 1
    print("VERDICT: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
