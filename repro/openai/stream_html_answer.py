"""openai: a stream answered 200 by an HTML page ends without a chunk or an error.

Found by the llm-parity conformance suite (stream_answer_html, stream_answer_unlabelled),
no upstream issue known. A captive portal or a proxy answers a `stream=True` request 200
with an HTML page, with `Content-Type: text/html` or with no content type. The SDK's
SSE decoder finds no `data:` line in it: iterating the stream yields no chunk and raises
nothing, so the caller sees an empty answer (llm, litellm's OpenAI path), and the SDK's
own accumulator, `ChatCompletionStreamState`, fed that empty stream, raises a bare
`AssertionError` from `current_completion_snapshot`. Nothing says what arrived.

Mechanism checked: a loopback server answers every request 200 with an HTML page,
labelled `text/html` and unlabelled; `max_retries=0`, one
`chat.completions.create(stream=True)` each. Exit 1 when a stream ends without raising
an `openai` error, 0 when both raise one.

    python repro/openai/stream_html_answer.py   # openai 3.63.0: exit 1
"""

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai

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
    return server, f"http://127.0.0.1:{server.server_port}/v1"


def main():
    from openai.lib.streaming.chat import ChatCompletionStreamState

    print(f"openai {openai.__version__}")
    silent = False
    for content_type in ("text/html; charset=utf-8", None):
        server, base_url = serve(content_type)
        client = openai.OpenAI(api_key="sk-test", base_url=base_url, max_retries=0)
        state = ChatCompletionStreamState()
        chunks = 0
        try:
            with client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "Hello"}],
                stream=True,
            ) as stream:
                for chunk in stream:
                    chunks += 1
                    state.handle_chunk(chunk)
        except openai.OpenAIError as exc:
            print(f"{content_type}: an openai error: {type(exc).__name__}: {exc}")
            server.shutdown()
            continue
        print(f"{content_type}: the stream ended without an error, {chunks} chunks")
        try:
            snapshot = state.current_completion_snapshot
            print(f"  ChatCompletionStreamState: {snapshot!r:.60}")
        except AssertionError:
            print("  ChatCompletionStreamState.current_completion_snapshot: AssertionError")
        silent = True
        server.shutdown()
    if silent:
        print("VERDICT: BUG (an HTML page read as an empty stream, without an error)")
        return 1
    print("VERDICT: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
